package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/vpc"
)

func testAccVPCConfig(a acctest.AWS, extra string) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_vpc" "this" {
  environment = "acme"
%s
}
`, extra)
}

// TestAccVPC_lifecycle: create, a route removed out of band shows in the
// next plan and is restored, a third zone is added in place, import by
// environment name, validation, destroy.
func TestAccVPC_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(a.Config(t))
	var privateRoutes string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			st, err := vpc.New(a.Config(t)).Read(ctx, vpc.Spec{Environment: "acme"})
			if err != nil || st != nil {
				return fmt.Errorf("after destroy the network reads %+v, %v", st, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      testAccVPCConfig(a, `  cidr = "10.0.0.0/8"`),
				ExpectError: acctest.ErrorText("between /16 and /24"),
			},
			{
				Config:      testAccVPCConfig(a, `  zones = 1`),
				ExpectError: acctest.ErrorText("zones"),
			},
			{
				Config: testAccVPCConfig(a, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pivot_vpc.this", tfjsonpath.New("cidr"), knownvalue.StringExact(vpc.DefaultCIDR)),
					statecheck.ExpectKnownValue("pivot_vpc.this", tfjsonpath.New("private_subnet_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue("pivot_vpc.this", tfjsonpath.New("public_subnet_ids"), knownvalue.ListSizeExact(2)),
					statecheck.ExpectKnownValue("pivot_vpc.this", tfjsonpath.New("drift"), knownvalue.ListSizeExact(0)),
				},
				Check: func(*terraform.State) error {
					st, err := vpc.New(a.Config(t)).Read(ctx, vpc.Spec{Environment: "acme"})
					if err != nil || st == nil {
						return fmt.Errorf("read the network: %+v, %v", st, err)
					}
					privateRoutes = st.PrivateRouteTable
					return nil
				},
			},
			// Out of band: the services' IPv6 egress route goes.
			{
				PreConfig: func() {
					if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(privateRoutes), DestinationIpv6CidrBlock: aws.String("::/0")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccVPCConfig(a, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_vpc.this", plancheck.ResourceActionUpdate),
				}},
			},
			{
				Config:             testAccVPCConfig(a, ""),
				PlanOnly:           true,
				ExpectNonEmptyPlan: false,
			},
			{
				Config: testAccVPCConfig(a, `  zones = 3`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_vpc.this", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("pivot_vpc.this", tfjsonpath.New("private_subnet_ids"), knownvalue.ListSizeExact(3)),
				},
			},
			{
				ResourceName:            "pivot_vpc.this",
				ImportState:             true,
				ImportStateId:           "acme",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"target"},
			},
		},
	})
}
