package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// tenantAWS is a tenant's account as the test sees it.
func tenantAWS(a acctest.AWS, account string) acctest.AWS {
	return acctest.AWS{Endpoint: a.Endpoint, AccountID: account}
}

func testAccTenantsConfig(a acctest.AWS, tenants map[string]string, images string, protection bool, allowed ...string) string {
	// One block per tenant rather than for_each: terraform-plugin-testing's
	// state shim behind Check functions cannot index for_each instances.
	var entries []string
	for name, account := range tenants {
		entries = append(entries, fmt.Sprintf(`
resource "pivot_tenant_deployment" %[1]q {
  name                = %[1]q
  role_arn            = %[2]q
  services            = local.services
  images              = local.images
  deletion_protection = %[3]t
}`, name, acctest.RoleARN(account), protection))
	}
	allowList := ""
	if len(allowed) > 0 {
		allowList = fmt.Sprintf("allowed_account_ids = [%q]", strings.Join(allowed, `", "`))
	}
	return fmt.Sprintf(`
provider "pivot" {
  aws {
    region     = "us-east-1"
    endpoint   = %[1]q
    access_key = "test"
    secret_key = "test"
    %[5]s
  }
}

locals {
  images = %[3]s
  # Both services run friend's image, which the local ECS runtime behind
  # the tests' endpoint runs as the tree's friend binary; run_env is what it
  # needs to start, under each service's own env.
  run_env = %[6]s
  declared = {
    messenger = {
      image_repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pivot/friend"
      cpu              = 256
      memory           = 512
      ports            = [{ name = "grpc", container_port = 8080, protocol = "grpc" }]
      env              = { LOG_LEVEL = "info" }
    }
    notifier = {
      image_repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/pivot/friend"
      cpu              = 256
      memory           = 512
      ports            = [{ name = "http", container_port = 8080, protocol = "http" }]
    }
  }
  services = { for name, svc in local.declared : name => merge(svc, { env = merge(local.run_env, try(svc.env, {})) }) }
}
%[2]s
`, a.Endpoint, strings.Join(entries, "\n"), images, protection, allowList, tenantRunEnv())
}

// tenantRunEnv renders ecsdeploytest.RunnableEnv as an HCL object.
func tenantRunEnv() string {
	env := ecsdeploytest.RunnableEnv()
	var b strings.Builder
	b.WriteString("{\n")
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&b, "    %s = %q\n", k, env[k])
	}
	b.WriteString("  }")
	return b.String()
}

// tagsIn returns the image tag each ECS service in a tenant's cluster runs.
func tagsIn(t *testing.T, a acctest.AWS, cluster string) map[string]string {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(a.Config(t))
	out := map[string]string{}
	for _, name := range []string{"messenger", "notifier"} {
		svcs, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
		if err != nil || len(svcs.Services) == 0 || aws.ToString(svcs.Services[0].Status) != "ACTIVE" {
			continue
		}
		td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svcs.Services[0].TaskDefinition})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range td.TaskDefinition.ContainerDefinitions {
			if aws.ToString(c.Name) == "app" {
				img := aws.ToString(c.Image)
				out[name] = img[strings.LastIndex(img, ":")+1:]
			}
		}
	}
	return out
}

func expectTags(t *testing.T, a acctest.AWS, cluster string, want map[string]string) error {
	got := tagsIn(t, a, cluster)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("account %s runs %v, want %v", a.AccountID, got, want)
	}
	return nil
}

func TestAccTenantDeployment_twoTenants(t *testing.T) {
	t.Parallel()
	platform := acctest.NewAWS(t)
	acme, globex := acctest.NewAccountID(t), acctest.NewAccountID(t)
	tenants := map[string]string{"acme": acme, "globex": globex}
	v1 := `{ messenger = "aaa111", notifier = "aaa111" }`
	v2 := `{ messenger = "bbb222", notifier = "aaa111" }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			for name, acct := range tenants {
				if got := tagsIn(t, tenantAWS(platform, acct), name); len(got) > 0 {
					return fmt.Errorf("tenant %s still runs %v after destroy", name, got)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: testAccTenantsConfig(platform, tenants, v1, true),
				Check: func(*terraform.State) error {
					for name, acct := range tenants {
						if err := expectTags(t, tenantAWS(platform, acct), name, map[string]string{"messenger": "aaa111", "notifier": "aaa111"}); err != nil {
							return err
						}
					}
					// Nothing landed in the platform's own account.
					if got := tagsIn(t, platform, "acme"); len(got) > 0 {
						return fmt.Errorf("the platform account runs tenant services: %v", got)
					}
					return nil
				},
			},
			// A release bump: both tenants update in place; only messenger moves.
			{
				Config: testAccTenantsConfig(platform, tenants, v2, true),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.acme", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("pivot_tenant_deployment.globex", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					for name, acct := range tenants {
						if err := expectTags(t, tenantAWS(platform, acct), name, map[string]string{"messenger": "bbb222", "notifier": "aaa111"}); err != nil {
							return err
						}
					}
					return nil
				},
			},
			// Protected tenants refuse to be destroyed.
			{
				Config:      testAccTenantsConfig(platform, tenants, v2, true),
				Destroy:     true,
				ExpectError: acctest.ErrorText("Deletion Protection Enabled", "set deletion_protection = false"),
			},
			// Lower the guard; the test's final destroy then removes both.
			{Config: testAccTenantsConfig(platform, tenants, v2, false)},
		},
	})
}

// A tenant whose account cannot be reached fails on its own: the other
// tenant is deployed.
func TestAccTenantDeployment_unreachableTenant(t *testing.T) {
	t.Parallel()
	platform := acctest.NewAWS(t)
	good, bad := acctest.NewAccountID(t), acctest.NewAccountID(t)
	images := `{ messenger = "aaa111", notifier = "aaa111" }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				// Moto lets any role be assumed, so the allow-list stands in
				// for a role that refuses the platform.
				Config:      testAccTenantsConfig(platform, map[string]string{"good": good, "bad": bad}, images, false, good),
				ExpectError: acctest.ErrorText("Unable To Reach Tenant Account", "Tenant bad", "Other tenants are not affected"),
			},
			{
				PreConfig: func() {
					if err := expectTags(t, tenantAWS(platform, good), "good", map[string]string{"messenger": "aaa111", "notifier": "aaa111"}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccTenantsConfig(platform, map[string]string{"good": good}, images, false, good),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_tenant_deployment.good", plancheck.ResourceActionNoop),
				}},
			},
		},
	})
}

func TestAccTenantDeployment_validation(t *testing.T) {
	t.Parallel()
	platform := acctest.NewAWS(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccTenantsConfig(platform, map[string]string{"acme": "111111111111"}, `{ messenger = "aaa" }`, true),
				ExpectError: acctest.ErrorText("Service Missing From Release", `Service "notifier" is deployed to tenant acme but has no tag in images`),
			},
			{
				Config: strings.Replace(testAccTenantsConfig(platform, map[string]string{"acme": "111111111111"}, `{ messenger = "a", notifier = "a" }`, true),
					`ports            = [{ name = "http", container_port = 8080, protocol = "http" }]`, "", 1),
				ExpectError: acctest.ErrorText("Invalid Service In Tenant Deployment", "Service notifier", "has no ports"),
			},
			{
				Config:      testAccTenantsConfig(platform, map[string]string{"acme": "111111111111"}, `{ messenger = "a", notifier = "a", billing = "a" }`, true),
				ExpectError: acctest.ErrorText("Unknown Service In Release", `The release names "billing"`),
			},
			// The env contract, as pivot_service checks it.
			{
				Config: strings.Replace(testAccTenantsConfig(platform, map[string]string{"acme": "111111111111"}, `{ messenger = "a", notifier = "a" }`, true),
					`env              = { LOG_LEVEL = "info" }`, `env              = { LOG_LEVEL = "info" }
      required_env     = ["LOG_LEVEL", "DATABASE_URL"]`, 1),
				ExpectError: acctest.ErrorText("Required Environment Variable Not Set", "Tenant acme", "Service messenger requires DATABASE_URL"),
			},
			{
				Config:      testAccTenantsConfig(platform, map[string]string{"Acme": "111111111111"}, `{ messenger = "a", notifier = "a" }`, true),
				ExpectError: acctest.ErrorText("must be 1-32 lowercase letters"),
			},
		},
	})
}
