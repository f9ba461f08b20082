package ecsrt_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
)

const (
	account   = "210987654321"
	collector = "otel/opentelemetry-collector-contrib:0.116.1"
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

type env struct {
	rt  *ecsrt.Runtime
	ecs *ecs.Client
	cfg aws.Config
}

// start runs moto, a runtime and its proxy; the clients go through the
// proxy, as the provider does on the local stack.
func start(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the local ECS runtime needs root for network namespaces; CI runs as root")
	}
	ctx := context.Background()
	moto, err := localstack.StartMoto(ctx, localstack.MotoOptions{LogFile: filepath.Join(t.TempDir(), "moto.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)
	rt := ecsrt.New(ecsrt.Options{
		MotoEndpoint: moto.Endpoint, Region: localstack.Region, AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
		SourceDir: repoRoot(), Dir: t.TempDir(), PollInterval: time.Second, Logf: t.Logf,
	})
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)
	proxy, err := ecsrt.StartProxy(rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	sess := awsx.NewSessions(awsx.Config{
		Region: localstack.Region, Endpoint: proxy.URL, AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
		AssumeRole: &awsx.AssumeRole{RoleARN: "arn:aws:iam::" + account + ":role/deployer", SessionName: "ecsrt-test"},
	})
	cfg, err := sess.For(ctx, awsx.Target{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{rt: rt, ecs: ecs.NewFromConfig(cfg), cfg: cfg}
	if _, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("test")}); err != nil {
		t.Fatal(err)
	}
	return e
}

// executionRole creates a role allowed to read parameters under prefix.
func (e *env) executionRole(t *testing.T, name, prefix string) string {
	t.Helper()
	ctx := context.Background()
	client := iam.NewFromConfig(e.cfg)
	out, err := client.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:GetParameters"],"Resource":"arn:aws:ssm:us-east-1:` + account + `:parameter` + prefix + `*"}]}`
	if _, err := client.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("secrets"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Role.Arn)
}

type svcOpts struct {
	name, image, role, namespace string
	count                        int32
	secrets                      map[string]string
	health                       []string
	alias                        string
}

func (e *env) service(t *testing.T, o svcOpts) {
	t.Helper()
	ctx := context.Background()
	tdARN := e.register(t, o)
	in := &ecs.CreateServiceInput{
		Cluster: aws.String("test"), ServiceName: aws.String(o.name), TaskDefinition: aws.String(tdARN),
		DesiredCount: aws.Int32(o.count),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	}
	if o.namespace != "" {
		sc := &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String(o.namespace)}
		if o.alias != "" {
			sc.Services = []ecstypes.ServiceConnectService{{PortName: aws.String("otlp-http"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(4318), DnsName: aws.String(o.alias)}}}}
		}
		in.ServiceConnectConfiguration = sc
	}
	if _, err := e.ecs.CreateService(ctx, in); err != nil {
		t.Fatal(err)
	}
}

// register registers a revision of o's task definition.
func (e *env) register(t *testing.T, o svcOpts) string {
	t.Helper()
	ctx := context.Background()
	c := ecstypes.ContainerDefinition{
		Name: aws.String("app"), Image: aws.String(o.image), Essential: aws.Bool(true), Memory: aws.Int32(128),
		PortMappings: []ecstypes.PortMapping{{Name: aws.String("otlp-http"), ContainerPort: aws.Int32(4318)}},
	}
	for k, v := range o.secrets {
		c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(v)})
	}
	if o.health != nil {
		c.HealthCheck = &ecstypes.HealthCheck{Command: o.health, Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(2)}
	}
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(o.name), ContainerDefinitions: []ecstypes.ContainerDefinition{c},
		NetworkMode: ecstypes.NetworkModeAwsvpc, ExecutionRoleArn: aws.String(o.role),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(td.TaskDefinition.TaskDefinitionArn)
}

// waitFor polls DescribeServices through the proxy until ok.
func (e *env) waitFor(t *testing.T, name string, d time.Duration, ok func(ecstypes.Service) bool) ecstypes.Service {
	t.Helper()
	deadline := time.Now().Add(d)
	var last ecstypes.Service
	for time.Now().Before(deadline) {
		out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("test"), Services: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Services) == 1 {
			last = out.Services[0]
			if ok(last) {
				return last
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("service %s: condition not met within %s; last: running %d pending %d deployments %d; tasks: %+v", name, d, last.RunningCount, last.PendingCount, len(last.Deployments), e.rt.Status())
	return last
}

func steady(want int32) func(ecstypes.Service) bool {
	return func(s ecstypes.Service) bool {
		return s.RunningCount == want && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted
	}
}

func (e *env) stoppedReasons(t *testing.T, name string) []string {
	t.Helper()
	ctx := context.Background()
	list, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("test"), ServiceName: aws.String(name), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	out, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("test"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, task := range out.Tasks {
		reasons = append(reasons, aws.ToString(task.StoppedReason))
	}
	return reasons
}

// TestRunsServicesAsProcesses covers the runtime's main promises on one
// moto: desiredCount healthy tasks, Service Connect names within a
// namespace, a killed task replaced with its reason, secrets read as the
// execution role allows, and an image it cannot map.
func TestRunsServicesAsProcesses(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	role := e.executionRole(t, "exec", "/test/")
	if _, err := ssm.NewFromConfig(e.cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/test/sink/TOKEN"), Value: aws.String("s3cret"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(e.cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/other/TOKEN"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	paramARN := func(name string) string { return "arn:aws:ssm:us-east-1:" + account + ":parameter" + name }

	// A server publishing sink:4318 with two tasks, and a client whose
	// health check reaches the server only through Service Connect.
	e.service(t, svcOpts{name: "sink", image: collector, role: role, count: 2, namespace: "ns", alias: "sink",
		secrets: map[string]string{"TOKEN": paramARN("/test/sink/TOKEN")},
		health:  []string{"CMD-SHELL", "curl -fsS http://localhost:4318/health"}})
	e.service(t, svcOpts{name: "client", image: collector, role: role, count: 1, namespace: "ns",
		health: []string{"CMD-SHELL", "curl -fsS http://sink:4318/health"}})
	e.waitFor(t, "sink", 90*time.Second, steady(2))
	e.waitFor(t, "client", 90*time.Second, steady(1))

	t.Run("killed task is replaced", func(t *testing.T) {
		var victim ecsrt.TaskStatus
		for _, ts := range e.rt.Status() {
			if ts.Service == "sink" && ts.LastStatus == "RUNNING" {
				victim = ts
				break
			}
		}
		pid := pidOf(t, victim.TaskID)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "sink", 90*time.Second, func(s ecstypes.Service) bool {
			return steady(2)(s) && len(e.stoppedReasons(t, "sink")) >= 1
		})
		reasons := e.stoppedReasons(t, "sink")
		if !contains(reasons, "Essential container in task exited") {
			t.Errorf("stopped reasons = %q, want the essential container's exit", reasons)
		}
	})

	t.Run("create is idempotent only with its client token", func(t *testing.T) {
		// As ECS: a second CreateService of a live service is refused
		// (moto would overwrite it), the same call again is not.
		td := e.register(t, svcOpts{name: "client", image: collector, role: role})
		in := &ecs.CreateServiceInput{Cluster: aws.String("test"), ServiceName: aws.String("client"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1), ClientToken: aws.String("other-call")}
		if _, err := e.ecs.CreateService(ctx, in); awsx.ErrorMessage(err) != "Creation of service was not idempotent." {
			t.Fatalf("second create of a live service: %v", err)
		}
		in.ServiceName, in.ClientToken = aws.String("again"), aws.String("token-1")
		if _, err := e.ecs.CreateService(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ecs.CreateService(ctx, in); err != nil {
			t.Fatalf("the same create again: %v", err)
		}
		if _, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("test"), Service: aws.String("again"), Force: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("secret the role may not read", func(t *testing.T) {
		e.service(t, svcOpts{name: "denied", image: collector, role: role, count: 1,
			secrets: map[string]string{"TOKEN": paramARN("/other/TOKEN")}})
		e.waitFor(t, "denied", 60*time.Second, func(s ecstypes.Service) bool {
			return len(s.Deployments) > 0 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
		})
		if r := e.stoppedReasons(t, "denied"); !contains(r, "ResourceInitializationError: unable to pull secrets") || !contains(r, "not authorized to perform: ssm:GetParameters") {
			t.Errorf("stopped reasons = %q, want ECS's secrets error naming ssm:GetParameters", r)
		}
	})

	t.Run("image it cannot map", func(t *testing.T) {
		e.service(t, svcOpts{name: "unknown", image: "example.com/nobody/nothing-here:1", role: role, count: 1})
		e.waitFor(t, "unknown", 60*time.Second, func(s ecstypes.Service) bool {
			return len(s.Deployments) > 0 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
		})
		if r := e.stoppedReasons(t, "unknown"); !contains(r, "CannotPullContainerError") {
			t.Errorf("stopped reasons = %q, want CannotPullContainerError", r)
		}
	})

	t.Run("circuit breaker rolls back", func(t *testing.T) {
		before := e.waitFor(t, "sink", 10*time.Second, steady(2))
		// A revision whose secret the role may not read cannot start.
		bad := svcOpts{name: "sink", image: collector, role: role, secrets: map[string]string{"TOKEN": paramARN("/other/TOKEN")}}
		td := e.register(t, bad)
		if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("test"), Service: aws.String("sink"), TaskDefinition: aws.String(td)}); err != nil {
			t.Fatal(err)
		}
		after := e.waitFor(t, "sink", 90*time.Second, func(s ecstypes.Service) bool {
			for _, d := range s.Deployments {
				if aws.ToString(d.Status) != "PRIMARY" && d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
					return aws.ToString(s.TaskDefinition) == aws.ToString(before.TaskDefinition)
				}
			}
			return false
		})
		if after.RunningCount < 2 {
			t.Errorf("running = %d during the rollback, want the old tasks kept serving", after.RunningCount)
		}
		e.waitFor(t, "sink", 90*time.Second, steady(2))
	})

	t.Run("endpoints are fixed when a deployment starts", func(t *testing.T) {
		// As ECS: a task resolves only the Service Connect endpoints that
		// existed when its deployment started, replacement tasks included;
		// a server created after its client is reached only once the
		// client is deployed again.
		e.service(t, svcOpts{name: "early", image: collector, role: role, count: 1, namespace: "ns",
			health: []string{"CMD-SHELL", "curl -fsS http://late:4318/health"}})
		e.service(t, svcOpts{name: "late", image: collector, role: role, count: 1, namespace: "ns", alias: "late",
			health: []string{"CMD-SHELL", "curl -fsS http://localhost:4318/health"}})
		e.waitFor(t, "late", 90*time.Second, steady(1))
		e.waitFor(t, "early", 120*time.Second, func(s ecstypes.Service) bool {
			return len(s.Deployments) > 0 && s.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateFailed
		})
		if r := e.stoppedReasons(t, "early"); !contains(r, "Task failed container health checks") {
			t.Errorf("stopped reasons = %q, want failed health checks", r)
		}
		if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("test"), Service: aws.String("early"), ForceNewDeployment: true}); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "early", 90*time.Second, steady(1))
	})

	t.Run("scale and delete", func(t *testing.T) {
		if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("test"), Service: aws.String("client"), DesiredCount: aws.Int32(2)}); err != nil {
			t.Fatal(err)
		}
		e.waitFor(t, "client", 60*time.Second, func(s ecstypes.Service) bool { return s.RunningCount == 2 })
		if _, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("test"), Service: aws.String("client"), Force: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			live := 0
			for _, ts := range e.rt.Status() {
				if ts.Service == "client" && ts.LastStatus != "STOPPED" {
					live++
				}
			}
			if live == 0 {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Errorf("tasks of a deleted service still run: %+v", e.rt.Status())
	})
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// pidOf finds a task's process by the task folder it runs in.
func pidOf(t *testing.T, taskID string) int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && filepath.Base(cwd) == taskID {
			var pid int
			for _, c := range e.Name() {
				pid = pid*10 + int(c-'0')
			}
			return pid
		}
	}
	t.Fatalf("no process runs in task %s", taskID)
	return 0
}
