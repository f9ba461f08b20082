package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-exec/tfexec"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// BenchmarkServiceNoopPlan25 plans an environment of 25 services that is
// already up to date, once with reads coalesced into batched calls and once
// with coalescing off (PIVOT_DISABLE_COALESCING=1), and reports AWS API
// calls per service and wall time. Terraform refreshes ten resources at a
// time, so what is measured is the batcher coalescing across concurrent
// Read and ModifyPlan calls of one provider process.
func BenchmarkServiceNoopPlan25(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run benchmarks against the local stack")
	}
	const services = 25
	a := acctest.NewAWS(b)
	cfg := a.Config(b)
	env := ecsdeploytest.NewEnv(b, cfg, "staging")

	var config strings.Builder
	config.WriteString("terraform {\n  required_providers {\n    pivot = { source = \"pivotapp/pivot\" }\n  }\n}\n")
	config.WriteString(acctest.ProviderConfig(a.ProviderBlock()))
	for i := range services {
		name := fmt.Sprintf("svc-%02d", i+1)
		for _, key := range []string{"JWT_KEY", "DATABASE_URL"} {
			ecsdeploytest.PutSecret(b, cfg, "/staging/"+name+"/"+key, "x")
		}
		config.WriteString(svcTestService{
			Name: name, Env: map[string]string{"LOG_LEVEL": "info"}, Secrets: []string{"JWT_KEY", "DATABASE_URL"},
			Extra: `  tracing = { otlp_endpoint = "http://otel-collector.staging.pivot.local:4318" }`,
		}.hcl(env, name))
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	// Cleanups run last-in first-out: destroy, then stop the provider server.
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	tf, reattach := benchTerraform(ctx, b, dir)
	if err := tf.Init(ctx, reattach); err != nil {
		b.Fatalf("terraform init: %v", err)
	}
	if err := tf.Apply(ctx, reattach); err != nil {
		b.Fatalf("terraform apply: %v", err)
	}
	b.Cleanup(func() {
		if err := tf.Destroy(ctx, reattach); err != nil {
			b.Errorf("terraform destroy: %v", err)
		}
	})

	plan := func(disable bool) (callsPerService float64, wall time.Duration) {
		if disable {
			os.Setenv(ecsdeploy.DisableCoalescingEnv, "1")
			defer os.Unsetenv(ecsdeploy.DisableCoalescingEnv)
		}
		// Each terraform command configures the provider afresh, so every
		// run starts with empty batchers and caches, as a new process would.
		ecsdeploy.Calls.Reset()
		start := time.Now()
		changed, err := tf.Plan(ctx, reattach)
		wall = time.Since(start)
		if err != nil {
			b.Fatalf("terraform plan: %v", err)
		}
		if changed {
			b.Fatal("the no-op plan has changes")
		}
		b.Logf("coalescing disabled=%v: %v", disable, ecsdeploy.Calls.ByOperation())
		return float64(ecsdeploy.Calls.Total()) / services, wall
	}

	b.ResetTimer()
	calls, wall := plan(false)
	baseCalls, baseWall := plan(true)
	b.StopTimer()
	fmt.Printf("bench: service_noop_plan25_aws_calls_per_service %.2f calls baseline %.2f calls ratio %.2f\n", calls, baseCalls, calls/baseCalls)
	fmt.Printf("bench: service_noop_plan25_wall_time %.2f s baseline %.2f s ratio %.2f\n", wall.Seconds(), baseWall.Seconds(), wall.Seconds()/baseWall.Seconds())

	// What the plan no longer reads must not hide drift: out of band, one
	// service is scaled, three move to revisions registered by hand (another
	// image, another env value, a command no attribute shows). A plan with
	// coalescing and read-ahead on shows exactly those four.
	benchDriftOutOfBand(b, cfg, env.Cluster)
	ecsdeploy.Calls.Reset()
	planFile := filepath.Join(dir, "drift.tfplan")
	if _, err := tf.Plan(ctx, reattach, tfexec.Out(planFile)); err != nil {
		b.Fatalf("terraform plan: %v", err)
	}
	b.Logf("drift plan: %v", ecsdeploy.Calls.ByOperation())
	shown, err := tf.ShowPlanFile(ctx, planFile, reattach)
	if err != nil {
		b.Fatalf("terraform show: %v", err)
	}
	var updated []string
	for _, rc := range shown.ResourceChanges {
		if !rc.Change.Actions.NoOp() {
			updated = append(updated, rc.Address)
		}
	}
	slices.Sort(updated)
	want := []string{`pivot_service.svc-01`, `pivot_service.svc-02`, `pivot_service.svc-03`, `pivot_service.svc-04`}
	if !slices.Equal(updated, want) {
		b.Fatalf("drift plan changes %v, want %v", updated, want)
	}
}

// benchDriftOutOfBand changes svc-01..04 the way someone with the AWS CLI
// would: svc-01's desired count, and a hand-registered copy of the running
// revision for svc-02 (image), svc-03 (an env value) and svc-04 (a command).
func benchDriftOutOfBand(b *testing.B, cfg aws.Config, cluster string) {
	b.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(cfg)
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String("svc-01"), DesiredCount: aws.Int32(3)}); err != nil {
		b.Fatal(err)
	}
	for name, change := range map[string]func(*ecstypes.ContainerDefinition){
		"svc-02": func(c *ecstypes.ContainerDefinition) { c.Image = aws.String(aws.ToString(c.Image) + "-hotfix") },
		"svc-03": func(c *ecstypes.ContainerDefinition) {
			for i := range c.Environment {
				if aws.ToString(c.Environment[i].Name) == "LOG_LEVEL" {
					c.Environment[i].Value = aws.String("debug")
				}
			}
		},
		"svc-04": func(c *ecstypes.ContainerDefinition) { c.Command = []string{"sleep", "infinity"} },
	} {
		svcs, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
		if err != nil || len(svcs.Services) != 1 {
			b.Fatalf("describe %s: %v", name, err)
		}
		out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svcs.Services[0].TaskDefinition})
		if err != nil {
			b.Fatal(err)
		}
		td := out.TaskDefinition
		cds := slices.Clone(td.ContainerDefinitions)
		for i := range cds {
			if aws.ToString(cds[i].Name) == ecsdeploy.AppContainer {
				change(&cds[i])
			}
		}
		reg, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: td.Family, ContainerDefinitions: cds, Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode,
			RequiresCompatibilities: td.RequiresCompatibilities, TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn,
			RuntimePlatform: td.RuntimePlatform,
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTerraform runs the pinned Terraform against this test process's
// provider, served in reattach mode, the way terraform-plugin-testing does.
func benchTerraform(ctx context.Context, b *testing.B, dir string) (*tfexec.Terraform, *tfexec.ReattachOption) {
	b.Helper()
	reattach := make(chan *plugin.ReattachConfig)
	closed := make(chan struct{})
	go func() {
		err := tf6server.Serve(Address, NewServer("bench"),
			tf6server.WithDebug(ctx, reattach, closed),
			tf6server.WithGoPluginLogger(hclog.NewNullLogger()),
			// The sink keeps provider logs off stderr unless TF_LOG asks.
			tf6server.WithLoggingSink(benchT{b}),
			tf6server.WithoutLogStderrOverride())
		if err != nil {
			b.Errorf("serve provider: %v", err)
		}
	}()
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-time.After(30 * time.Second):
		b.Fatal("provider server did not start")
	}
	tf, err := tfexec.NewTerraform(dir, acctest.TerraformPath())
	if err != nil {
		b.Fatal(err)
	}
	return tf, tfexec.Reattach(tfexec.ReattachInfo{Address: tfexec.ReattachConfig{
		Protocol: string(rc.Protocol), ProtocolVersion: rc.ProtocolVersion, Pid: rc.Pid, Test: rc.Test,
		Addr: tfexec.ReattachConfigAddr{Network: rc.Addr.Network(), String: rc.Addr.String()},
	}})
}

// benchT lets a benchmark stand in for the testing.T the logging sink
// takes; benchmarks have no Parallel.
type benchT struct{ *testing.B }

func (benchT) Parallel() {}
