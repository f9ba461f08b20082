package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/release"
)

func testAccReleaseConfig(a acctest.AWS, images string, extra string) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_release" "staging" {
  name   = "staging"
  images = %[1]s
  %[2]s
}

data "pivot_release" "staging" {
  name       = pivot_release.staging.name
  depends_on = [pivot_release.staging]
}
`, images, extra)
}

func TestAccRelease_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	ctx := context.Background()
	store := release.NewStore(a.Config(t))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := store.Get(ctx, "staging"); err == nil {
				return fmt.Errorf("release staging still recorded after destroy")
			}
			return nil
		},
		Steps: []resource.TestStep{
			// Create and read back through the data source.
			{
				Config: testAccReleaseConfig(a, `{ messenger = "aaa111", friend = "bbb222" }`, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pivot_release.staging", tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("data.pivot_release.staging", tfjsonpath.New("images"),
						knownvalue.MapExact(map[string]knownvalue.Check{"messenger": knownvalue.StringExact("aaa111"), "friend": knownvalue.StringExact("bbb222")})),
				},
			},
			// Import by name.
			{ResourceName: "pivot_release.staging", ImportState: true, ImportStateId: "staging", ImportStateVerify: true,
				// The target block is configuration only; nothing in the record says which role wrote it.
				ImportStateVerifyIgnore: []string{"target"}},
			// A bump updates in place and raises the version.
			{
				Config: testAccReleaseConfig(a, `{ messenger = "ccc333", friend = "bbb222" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_release.staging", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pivot_release.staging", tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
				Check: func(*terraform.State) error {
					rec, err := store.Get(ctx, "staging")
					if err != nil || rec.Images["messenger"] != "ccc333" {
						return fmt.Errorf("record after bump: %+v, %w", rec, err)
					}
					return nil
				},
			},
			// Drift: a record edited out of band is put back.
			{
				PreConfig: func() {
					if _, err := store.Put(ctx, release.Record{Name: "staging", Images: map[string]string{"messenger": "tampered"}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccReleaseConfig(a, `{ messenger = "ccc333", friend = "bbb222" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_release.staging", plancheck.ResourceActionUpdate),
				}},
			},
			// Deleted out of band: plans as a create.
			{
				PreConfig: func() {
					if err := store.Delete(ctx, "staging"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccReleaseConfig(a, `{ messenger = "ccc333", friend = "bbb222" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_release.staging", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// A release is written only when every service runs its tag, steady: the
// services' tasks are real processes of the local ECS runtime, so a service
// whose tasks cannot start, or one still rolling out, does not verify.
func TestAccRelease_verify(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	ctx := context.Background()
	cfg := a.Config(t)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("staging")}); err != nil {
		t.Fatal(err)
	}
	var runnable []ecstypes.KeyValuePair
	for k, v := range ecsdeploytest.RunnableEnv() {
		runnable = append(runnable, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	// deploy registers a revision of image:tag and rolls service onto it,
	// creating the service (with the circuit breaker on) the first time.
	deploy := func(service, image, tag string, env []ecstypes.KeyValuePair) {
		t.Helper()
		td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family: aws.String("staging-" + service), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
			NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{
				Name: aws.String("app"), Image: aws.String("123.dkr.ecr.us-east-1.amazonaws.com/pivot/" + image + ":" + tag), Essential: aws.Bool(true),
				Environment:  env,
				PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Name: aws.String("grpc")}},
				// Checked first 30s after start: a rollout takes at least that.
				HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD", "/app", "--health-check"}, Interval: aws.Int32(30)},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := (svcInspector{t: t, cfg: cfg, env: ecsdeploytest.Env{Cluster: "staging"}}).service(service)
		if err != nil {
			t.Fatal(err)
		}
		if svc != nil {
			_, err = client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("staging"), Service: aws.String(service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
		} else {
			_, err = client.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster: aws.String("staging"), ServiceName: aws.String(service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
				DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}},
			})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// until waits for what ECS reports of the services to satisfy ok.
	until := func(what string, ok func(map[string]release.Running) bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			running, err := release.Observe(ctx, client, "staging", []string{"friend", "messenger"})
			if err == nil && ok(running) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %+v, %v", what, running, err)
			}
			time.Sleep(time.Second)
		}
	}
	// friend starts with the runnable environment; messenger, without its
	// database and NATS, exits at start-up until the circuit breaker stops
	// the rollout.
	deploy("friend", "friend", "aaa111", runnable)
	deploy("messenger", "messenger", "aaa111", nil)
	until("friend steady, messenger's rollout failed", func(r map[string]release.Running) bool {
		return r["friend"].Steady && strings.HasPrefix(r["messenger"].Reason, "deployment failed")
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: testAccReleaseConfig(a, `{ friend = "bbb222", messenger = "aaa111", notifier = "aaa111" }`, `verify_cluster = "staging"`),
				ExpectError: svcExpectError(`Release Not Verified.*friend: runs no image tagged bbb222.*` +
					`messenger: deployment failed: ECS deployment circuit breaker: tasks failed to start.*notifier: no active service in cluster staging.*Nothing was recorded`),
			},
			{
				Config: testAccReleaseConfig(a, `{ friend = "aaa111" }`, `verify_cluster = "staging"`),
				Check: func(*terraform.State) error {
					out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/pivot/releases/staging")})
					if err != nil || !regexp.MustCompile(`"friend":"aaa111"`).MatchString(aws.ToString(out.Parameter.Value)) {
						return fmt.Errorf("release parameter: %v %w", out, err)
					}
					return nil
				},
			},
			// While a rollout to a new revision runs, two deployments do.
			{
				PreConfig:   func() { deploy("friend", "friend", "ccc333", runnable) },
				Config:      testAccReleaseConfig(a, `{ friend = "ccc333" }`, `verify_cluster = "staging"`),
				ExpectError: svcExpectError(`Release Not Verified.*friend: not steady \(2 deployments`),
			},
			// Once it completed, the new tag verifies.
			{
				PreConfig: func() {
					until("friend's rollout to ccc333", func(r map[string]release.Running) bool { return r["friend"].Steady && r["friend"].App == "ccc333" })
				},
				Config: testAccReleaseConfig(a, `{ friend = "ccc333" }`, `verify_cluster = "staging"`),
			},
		},
	})
}

func TestAccRelease_validation(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cases := map[string]struct{ name, images, want string }{
		"name":        {"Staging", `{ messenger = "abc" }`, `(?s)name.*must be lowercase letters, digits and hyphens`},
		"empty":       {"staging", `{}`, `(?s)images.*at least 1`},
		"tag":         {"staging", `{ messenger = "has space" }`, `(?s)must be a valid image tag`},
		"service key": {"staging", `{ Messenger = "abc" }`, `(?s)must be a service name`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_release" "x" {
  name   = %[1]q
  images = %[2]s
}`, tc.name, tc.images),
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

func TestAccReleaseDataSource_missing(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      acctest.ProviderConfig(a.ProviderBlock()) + `data "pivot_release" "prod" { name = "prod" }`,
			ExpectError: regexp.MustCompile(`(?s)Release Not Found.*No release "prod" has been recorded`),
		}},
	})
}
