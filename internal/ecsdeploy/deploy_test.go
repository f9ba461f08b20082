package ecsdeploy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/localstack/faults"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func needMoto(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("set TF_ACC=1 to run tests against the local stack's moto")
	}
}

func testSpec(e ecsdeploytest.Env) ecsdeploy.Spec {
	env := ecsdeploytest.RunnableEnv()
	env["LOG_LEVEL"] = "info"
	return ecsdeploy.Spec{
		Name: "messenger", Environment: "staging", Cluster: e.Cluster, Namespace: e.Namespace,
		// Friend's image, which the local ECS runtime behind the tests'
		// endpoint runs as the tree's friend binary, with what it needs.
		Image: ecsdeploy.Image{Repository: ecsdeploytest.RunnableRepository, Tag: "abc123"},
		CPU:   256, Memory: 512,
		Ports:        []ecsdeploy.Port{{Name: "grpc", ContainerPort: 8080, Protocol: "grpc"}},
		DesiredCount: 1,
		Env:          env,
		Secrets:      []string{"JWT_KEY"},
		HealthCheck:  ecsdeploy.HealthCheck{StartPeriod: 30},
		Logging:      ecsdeploy.Logging{RetentionDays: 30},
		Tracing:      ecsdeploy.Tracing{OTLPEndpoint: "http://otel-collector.staging.pivot.local:4318"},
		Network:      ecsdeploy.Network{Subnets: []string{e.Subnet}, SecurityGroups: []string{e.SecurityGroup}},
	}
}

func TestDeploy_lifecycle(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	c := ecsdeploy.New(cfg)
	c.PollInterval = 100 * time.Millisecond
	ctx := context.Background()
	spec := testSpec(env)

	// A missing secret stops the deployment before anything is created.
	_, err := c.Deploy(ctx, spec, nil)
	if err == nil || !strings.Contains(err.Error(), "aws ssm put-parameter --region us-east-1 --type SecureString --name /staging/messenger/JWT_KEY") {
		t.Fatalf("deploy without the secret: %v", err)
	}
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")

	d, err := c.Deploy(ctx, spec, nil)
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if !strings.HasSuffix(d.TaskDefinitionARN, ":task-definition/staging-messenger:1") {
		t.Fatalf("task definition = %s", d.TaskDefinitionARN)
	}
	// Creating it again, as an apply killed before it saved its state
	// would, adopts what is there: no new revision, same roles.
	if adopted, err := c.Deploy(ctx, spec, nil); err != nil || adopted.TaskDefinitionARN != d.TaskDefinitionARN || adopted.TaskRoleARN != d.TaskRoleARN {
		t.Fatalf("second create: %+v, %v", adopted, err)
	}

	// Reading back reproduces the spec that was deployed.
	got, err := c.Read(ctx, spec)
	if err != nil || got == nil {
		t.Fatalf("read: %v, %v", got, err)
	}
	if want := spec.WithDefaults(); !reflect.DeepEqual(got.Spec, want) {
		t.Fatalf("read back spec differs:\n got %+v\nwant %+v", got.Spec, want)
	}
	if got.TaskDefinitionARN != d.TaskDefinitionARN || got.TaskRoleARN != d.TaskRoleARN || got.Unmanaged {
		t.Fatalf("read = %+v, deployed %+v", got, d)
	}
	// With the revision known, reading back trusts it (revisions are immutable).
	if again, err := c.Refresh(ctx, *d); err != nil || !reflect.DeepEqual(again.Spec, spec.WithDefaults()) {
		t.Fatalf("read with known revision: %+v, %v", again, err)
	}

	// Import: only name and cluster known.
	imp, err := c.Read(ctx, ecsdeploy.Spec{Name: spec.Name, Cluster: spec.Cluster})
	if err != nil || imp == nil {
		t.Fatalf("import read: %v, %v", imp, err)
	}
	if imp.Spec.Environment != "staging" || imp.Spec.Image != spec.Image || !reflect.DeepEqual(imp.Spec.Env, spec.Env) || imp.Spec.Tracing != spec.Tracing {
		t.Fatalf("import read = %+v", imp.Spec)
	}

	// Same spec again: no new revision.
	again, err := c.Deploy(ctx, spec, got)
	if err != nil {
		t.Fatal(err)
	}
	if again.TaskDefinitionARN != d.TaskDefinitionARN {
		t.Fatalf("no-op deploy registered %s", again.TaskDefinitionARN)
	}

	// Image bump: exactly one new revision.
	bumped := spec
	bumped.Image.Tag = "def456"
	d2, err := c.Deploy(ctx, bumped, again)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d2.TaskDefinitionARN, ":2") {
		t.Fatalf("bump registered %s", d2.TaskDefinitionARN)
	}
	e := ecs.NewFromConfig(cfg)
	svc, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"messenger"}})
	if err != nil || aws.ToString(svc.Services[0].TaskDefinition) != d2.TaskDefinitionARN {
		t.Fatalf("service runs %v (%v), want %s", svc, err, d2.TaskDefinitionARN)
	}

	if err := c.Delete(ctx, bumped, time.Minute); err != nil {
		t.Fatal(err)
	}
	if gone, err := c.Refresh(ctx, *d2); err != nil || gone != nil {
		t.Fatalf("read after delete = %v, %v", gone, err)
	}
	tds, _ := e.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("staging-messenger"), Status: ecstypes.TaskDefinitionStatusActive})
	if len(tds.TaskDefinitionArns) != 0 {
		t.Fatalf("active task definitions left: %v", tds.TaskDefinitionArns)
	}
	_, err = iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-task")})
	if err == nil {
		t.Fatal("task role left behind")
	}
	// Deleting again is not an error.
	if err := c.Delete(ctx, bumped, time.Minute); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestCheck_problems(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	c := ecsdeploy.New(cfg)
	ctx := context.Background()
	problems, err := c.Check(ctx, ecsdeploy.CheckRequest{Name: "api", Environment: "staging", Cluster: "nope", Namespace: "nope.local", Secrets: []string{"A", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.Field)
	}
	if strings.Join(fields, ",") != "cluster,service_connect_namespace,secrets,secrets" {
		t.Fatalf("problems = %+v", problems)
	}
	problems, err = c.Check(ctx, ecsdeploy.CheckRequest{Name: "api", Environment: "staging", Cluster: env.Cluster, Namespace: env.NamespaceARN})
	if err != nil || len(problems) != 0 {
		t.Fatalf("problems = %+v, %v", problems, err)
	}

	// A secret stored as a plain String is a warning, not a failure.
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/staging/api/PLAIN"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString}); err != nil {
		t.Fatal(err)
	}
	problems, err = c.Check(ctx, ecsdeploy.CheckRequest{Name: "api", Environment: "staging", Secrets: []string{"PLAIN"}})
	if err != nil || len(problems) != 1 || !problems[0].Warning || !strings.Contains(problems[0].Detail, "is a String, so its value is stored unencrypted") {
		t.Fatalf("problems = %+v, %v", problems, err)
	}
}

func TestWaitForSteadyState_timesOut(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	c := ecsdeploy.New(cfg)
	c.PollInterval = 50 * time.Millisecond
	ctx := context.Background()
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	spec := testSpec(env)
	// The tasks start at once, but their container health check first runs
	// an interval (15s) after start, so within 10s no task is healthy and
	// the rollout cannot complete: the wait must give up on time.
	spec.DesiredCount = 3
	spec.Deployment.Timeout = 10 * time.Second
	start := time.Now()
	d, err := c.Deploy(ctx, spec, nil)
	var de *ecsdeploy.DeploymentError
	if !errors.As(err, &de) || !de.TimedOut {
		t.Fatalf("err = %v, want a timed-out DeploymentError", err)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Fatalf("wait ran %s past its 10s timeout", el)
	}
	if d == nil || d.ServiceARN == "" {
		t.Fatalf("a failed wait must still report what exists: %+v", d)
	}
	if !regexp.MustCompile(`[0-3] of 3 tasks running, 1 deployment\(s\), rollout IN_PROGRESS`).MatchString(err.Error()) {
		t.Fatalf("error does not say what was seen: %v", err)
	}
}

func TestDeploy_refusesAServiceNotOurs(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	ctx := context.Background()
	e := ecs.NewFromConfig(cfg)
	td, err := e.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("by-hand"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx"), Memory: aws.Int32(512)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(env.Cluster), ServiceName: aws.String("messenger"), TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	_, err = ecsdeploy.New(cfg).Deploy(ctx, testSpec(env), nil)
	if !errors.Is(err, ecsdeploy.ErrServiceExists) || !strings.Contains(err.Error(), "terraform import <address> "+env.Cluster+"/messenger") {
		t.Fatalf("create over a service made by hand: %v", err)
	}
	// Nothing was made for it.
	if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-task")}); err == nil {
		t.Fatal("a role was created for a refused service")
	}
}

// failCreateService makes every CreateService fail, as AWS does for a
// subnet it does not know.
func failCreateService(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("failCreateService",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if awsmiddleware.GetOperationName(ctx) == "CreateService" {
				return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "Error retrieving subnet information for [subnet-0]: The subnet ID 'subnet-0' does not exist"}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func TestDeploy_failedCreateLeavesNothing(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	ctx := context.Background()
	broken := cfg.Copy()
	broken.APIOptions = append(broken.APIOptions, failCreateService)
	c := ecsdeploy.New(broken)
	for range 2 {
		if _, err := c.Deploy(ctx, testSpec(env), nil); err == nil || !strings.Contains(err.Error(), "subnet-0") {
			t.Fatalf("create with a broken CreateService: %v", err)
		}
	}
	e := ecs.NewFromConfig(cfg)
	tds, err := e.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("staging-messenger"), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil || len(tds.TaskDefinitionArns) != 0 {
		t.Fatalf("active revisions left: %v, %v", tds, err)
	}
	for _, r := range []string{"staging-messenger-task", "staging-messenger-exec"} {
		if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r)}); err == nil {
			t.Fatalf("role %s left behind", r)
		}
	}
	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/staging/messenger")})
	if err != nil || len(groups.LogGroups) != 0 {
		t.Fatalf("log groups left: %v, %v", groups, err)
	}
	// The same create with CreateService working succeeds, with revision 3
	// the only ACTIVE one (the failed attempts' were deregistered).
	d, err := ecsdeploy.New(cfg).Deploy(ctx, testSpec(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	tds, _ = e.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("staging-messenger"), Status: ecstypes.TaskDefinitionStatusActive})
	if len(tds.TaskDefinitionArns) != 1 || tds.TaskDefinitionArns[0] != d.TaskDefinitionARN {
		t.Fatalf("active revisions %v, service runs %s", tds.TaskDefinitionArns, d.TaskDefinitionARN)
	}
}

// Through AWS's eventual consistency (the local stack's fault mode): new
// roles unusable for 5 s and a new cluster unknown for 12 s, with 5% of
// calls failing with a server error. The create converges. Throttling is
// left to the e2e release flow: its backoff can outlast the role's delay,
// and this test needs both propagation faults to happen.
func TestDeploy_survivesEventualConsistency(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	f, err := faults.Start(a.Endpoint, faults.Config{ServerErrorShare: 0.05, RoleDelay: 5 * time.Second, ClusterDelay: 12 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	env := ecsdeploytest.NewEnv(t, a.Config(t), "staging")
	ecsdeploytest.PutSecret(t, a.Config(t), "/staging/messenger/JWT_KEY", "s3cret")
	a.Endpoint = f.URL
	cfg := a.Config(t)
	cfg.Retryer = awsx.Retryer(0)
	ctx := context.Background()
	before := awsx.Retries.Snapshot()
	// The service goes into a cluster made a moment before.
	spec := testSpec(env)
	spec.Cluster = "staging-new"
	if _, err := ecs.NewFromConfig(cfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(spec.Cluster)}); err != nil {
		t.Fatal(err)
	}
	c := ecsdeploy.New(cfg)
	c.PollInterval = 100 * time.Millisecond
	if _, err := c.Deploy(ctx, spec, nil); err != nil {
		t.Fatalf("deploy under faults: %v (injected %v)", err, f.Counts())
	}
	got := f.Counts()
	if got["role not yet visible"] == 0 || got["cluster not yet visible"] == 0 {
		t.Fatalf("the propagation faults did not happen: %v", got)
	}
	after := awsx.Retries.Snapshot()
	var retried []string
	for k, v := range after {
		if n := v - before[k]; n > 0 {
			retried = append(retried, fmt.Sprintf("%s=%d", k, n))
		}
	}
	t.Logf("injected %v; retried %v", got, retried)
}

// A create refused because a role of the service's name belongs to someone
// else removes what it made itself, and never that role.
func TestDeploy_refusedRoleIsNotRemoved(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	ctx := context.Background()
	ic := iam.NewFromConfig(cfg)
	if _, err := ic.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("staging-messenger-exec"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err := ecsdeploy.New(cfg).Deploy(ctx, testSpec(env), nil)
	if err == nil || !strings.Contains(err.Error(), "was not created for service messenger") {
		t.Fatalf("create over someone else's role: %v", err)
	}
	if _, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-exec")}); err != nil {
		t.Fatalf("someone else's role was removed: %v", err)
	}
	if _, err := ic.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-task")}); err == nil {
		t.Fatal("the task role the failed create made was left behind")
	}
}
