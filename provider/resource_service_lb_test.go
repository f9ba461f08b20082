package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// A public service's tasks register in its endpoint's target group; the
// attachment changes in place and is read back from the service.
func TestAccService_targetGroup(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ctx := context.Background()
	subnets, err := ec2.NewFromConfig(cfg).DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{env.Subnet}})
	if err != nil || len(subnets.Subnets) == 0 {
		t.Fatalf("describe subnet %s: %v", env.Subnet, err)
	}
	tg, err := elbv2.NewFromConfig(cfg).CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("staging-friend"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: subnets.Subnets[0].VpcId, TargetType: elbtypes.TargetTypeEnumIp,
	})
	if err != nil {
		t.Fatalf("create target group: %v", err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	attached := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			out, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"messenger"}})
			if err != nil || len(out.Services) != 1 {
				return fmt.Errorf("describe service: %v", err)
			}
			got := ""
			for _, lb := range out.Services[0].LoadBalancers {
				if aws.ToString(lb.ContainerName) == "app" && aws.ToInt32(lb.ContainerPort) == 8080 {
					got = aws.ToString(lb.TargetGroupArn)
				}
			}
			if got != want {
				return fmt.Errorf("service is attached to %q, want %q", got, want)
			}
			return nil
		}
	}
	withTG := svcTestService{Extra: fmt.Sprintf("  target_group_arn = %q", tgARN)}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccServiceConfig(a, env, svcTestService{Extra: `  target_group_arn = "arn:aws:elasticloadbalancing:us-east-1:123:loadbalancer/x"`}),
				ExpectError: acctest.ErrorText("Invalid Target Group ARN", "is not a target group ARN"),
			},
			{Config: testAccServiceConfig(a, env, withTG), Check: attached(tgARN)},
			{
				Config: testAccServiceConfig(a, env, svcTestService{}),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: attached(""),
			},
		},
	})
}
