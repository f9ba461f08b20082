package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// testAccTenantConfigWith is the one-tenant configuration of
// testAccTenantsConfig with messenger's env line replaced by messenger.
func testAccTenantConfigWith(a acctest.AWS, account, messenger string) string {
	return strings.Replace(testAccTenantsConfig(a, map[string]string{"acme": account}, `{ messenger = "aaa111", notifier = "aaa111" }`, false),
		`env              = { LOG_LEVEL = "info" }`, messenger, 1)
}

// liveService is what the tenant's account runs for one service: the ECS
// service and its task definition.
func liveService(t *testing.T, a acctest.AWS, cluster, name string) (ecstypes.Service, *ecstypes.TaskDefinition) {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(a.Config(t))
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	if err != nil || len(out.Services) == 0 {
		t.Fatalf("describe service %s: %v (%d found)", name, err, len(out.Services))
	}
	td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	return out.Services[0], td.TaskDefinition
}

func appEnv(td *ecstypes.TaskDefinition) map[string]string {
	env := map[string]string{}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == "app" {
			for _, e := range c.Environment {
				env[aws.ToString(e.Name)] = aws.ToString(e.Value)
			}
		}
	}
	return env
}

// Every setting of a tenant's services converges: a change of env with
// the same tag reaches the tenant's task definition, and changes made in
// the tenant's account out of band (desired count, a revision set by hand)
// show in the next plan and are undone by its apply.
func TestAccTenantDeployment_converges(t *testing.T) {
	t.Parallel()
	platform := acctest.NewAWS(t)
	account := acctest.NewAccountID(t)
	acme := tenantAWS(platform, account)
	info := `env              = { LOG_LEVEL = "info" }`
	debug := `env              = { LOG_LEVEL = "debug" }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: testAccTenantConfigWith(platform, account, info)},
			// Same tags, new env: the plan updates the tenant and the apply
			// registers a revision that carries it.
			{
				Config: testAccTenantConfigWith(platform, account, debug),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					_, td := liveService(t, acme, "acme", "messenger")
					if got := appEnv(td)["LOG_LEVEL"]; got != "debug" {
						return fmt.Errorf("messenger's task definition has LOG_LEVEL=%q, want debug", got)
					}
					if err := expectTags(t, acme, "acme", map[string]string{"messenger": "aaa111", "notifier": "aaa111"}); err != nil {
						return err
					}
					return nil
				},
			},
			// Nothing changed: the next plan is empty.
			{
				Config: testAccTenantConfigWith(platform, account, debug),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionNoop),
				}},
			},
			// Out of band, in the tenant's account: messenger scaled to 3,
			// notifier moved to a hand-made revision with another env.
			{
				PreConfig: func() {
					ctx := context.Background()
					client := ecs.NewFromConfig(acme.Config(t))
					if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("acme"), Service: aws.String("messenger"), DesiredCount: aws.Int32(3)}); err != nil {
						t.Fatal(err)
					}
					_, td := liveService(t, acme, "acme", "notifier")
					containers := td.ContainerDefinitions
					for i := range containers {
						if aws.ToString(containers[i].Name) == "app" {
							containers[i].Environment = append(containers[i].Environment, ecstypes.KeyValuePair{Name: aws.String("HOTFIX"), Value: aws.String("1")})
						}
					}
					setRevision(t, acme, td, containers, "notifier")
				},
				Config: testAccTenantConfigWith(platform, account, debug),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					if svc, _ := liveService(t, acme, "acme", "messenger"); svc.DesiredCount != 1 {
						return fmt.Errorf("messenger runs %d tasks after the apply, want 1", svc.DesiredCount)
					}
					if _, td := liveService(t, acme, "acme", "notifier"); appEnv(td)["HOTFIX"] != "" {
						return fmt.Errorf("notifier still runs the hand-made revision %s", aws.ToString(td.TaskDefinitionArn))
					}
					return nil
				},
			},
			// A hand-made revision with a sidecar no attribute can show: the
			// plan still updates the tenant, and the apply removes it.
			{
				PreConfig: func() {
					_, td := liveService(t, acme, "acme", "messenger")
					containers := append(td.ContainerDefinitions, ecstypes.ContainerDefinition{
						Name: aws.String("sidecar"), Image: aws.String("public.ecr.aws/docker/library/busybox:stable"), Essential: aws.Bool(false),
					})
					setRevision(t, acme, td, containers, "messenger")
				},
				Config: testAccTenantConfigWith(platform, account, debug),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					_, td := liveService(t, acme, "acme", "messenger")
					for _, c := range td.ContainerDefinitions {
						if aws.ToString(c.Name) == "sidecar" {
							return fmt.Errorf("messenger still runs the hand-made revision %s", aws.ToString(td.TaskDefinitionArn))
						}
					}
					return nil
				},
			},
			{
				Config: testAccTenantConfigWith(platform, account, debug),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}

// setRevision registers a copy of td with containers and sets it on the
// service, as someone with console access would.
func setRevision(t *testing.T, a acctest.AWS, td *ecstypes.TaskDefinition, containers []ecstypes.ContainerDefinition, service string) {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(a.Config(t))
	reg, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: containers, Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, RuntimePlatform: td.RuntimePlatform,
		TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("acme"), Service: aws.String(service), TaskDefinition: reg.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
}

// A tenant whose service reads a secret that its account does not hold is
// refused at plan: nothing is created in the account. Once the secret is
// stored, the same configuration applies.
func TestAccTenantDeployment_missingSecretRefusedAtPlan(t *testing.T) {
	t.Parallel()
	platform := acctest.NewAWS(t)
	account := acctest.NewAccountID(t)
	acme := tenantAWS(platform, account)
	withSecret := `env              = { LOG_LEVEL = "info" }
      secrets          = ["JWT_KEY"]`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccTenantConfigWith(platform, account, withSecret),
				ExpectError: acctest.ErrorText("Secret Parameter Not Found", "Tenant acme", "/acme/messenger/JWT_KEY"),
			},
			{
				PreConfig: func() {
					if err := expectNothingIn(t, acme, "acme", "messenger"); err != nil {
						t.Fatal(err)
					}
					ecsdeploytest.PutSecret(t, acme.Config(t), "/acme/messenger/JWT_KEY", "x")
				},
				Config: testAccTenantConfigWith(platform, account, withSecret),
				Check: func(*terraform.State) error {
					return expectTags(t, acme, "acme", map[string]string{"messenger": "aaa111", "notifier": "aaa111"})
				},
			},
			// The same check guards updates: a secret deleted in the
			// tenant's account stops the next plan.
			{
				PreConfig: func() {
					if _, err := ssm.NewFromConfig(acme.Config(t)).DeleteParameter(context.Background(), &ssm.DeleteParameterInput{Name: aws.String("/acme/messenger/JWT_KEY")}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      testAccTenantConfigWith(platform, account, strings.Replace(withSecret, `"info"`, `"debug"`, 1)),
				ExpectError: acctest.ErrorText("Secret Parameter Not Found", "Tenant acme", "/acme/messenger/JWT_KEY"),
			},
		},
	})
}

// expectNothingIn checks with the SDK that the account holds no cluster,
// ECS service, IAM role or log group of the tenant's service.
func expectNothingIn(t *testing.T, a acctest.AWS, tenantName, service string) error {
	t.Helper()
	ctx := context.Background()
	cfg := a.Config(t)
	clusters, err := ecs.NewFromConfig(cfg).DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{tenantName}})
	if err != nil {
		return err
	}
	for _, c := range clusters.Clusters {
		if aws.ToString(c.Status) == "ACTIVE" {
			return fmt.Errorf("cluster %s exists", tenantName)
		}
	}
	svcs, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(tenantName), Services: []string{service}})
	if err == nil && len(svcs.Services) > 0 && aws.ToString(svcs.Services[0].Status) == "ACTIVE" {
		return fmt.Errorf("ECS service %s exists", service)
	}
	roles, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil {
		return err
	}
	for _, r := range roles.Roles {
		if strings.HasPrefix(aws.ToString(r.RoleName), tenantName+"-") {
			return fmt.Errorf("role %s exists", aws.ToString(r.RoleName))
		}
	}
	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/" + tenantName)})
	if err != nil {
		return err
	}
	if len(groups.LogGroups) > 0 {
		return fmt.Errorf("log group %s exists", aws.ToString(groups.LogGroups[0].LogGroupName))
	}
	return nil
}
