package provider

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// svcScaling is what the test reads back with the SDK.
type svcScaling struct {
	min, max  int32
	policies  map[string]float64 // name -> target value
	cooldowns map[string][2]int32
	actions   []string
}

func svcReadScaling(cfg aws.Config, cluster, service string) (*svcScaling, error) {
	ctx := context.Background()
	c := aas.NewFromConfig(cfg)
	rid := "service/" + cluster + "/" + service
	t, err := c.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{rid}})
	if err != nil {
		return nil, err
	}
	if len(t.ScalableTargets) == 0 {
		return nil, nil
	}
	st := t.ScalableTargets[0]
	if st.ScalableDimension != aastypes.ScalableDimensionECSServiceDesiredCount {
		return nil, fmt.Errorf("scalable dimension %s", st.ScalableDimension)
	}
	out := &svcScaling{min: aws.ToInt32(st.MinCapacity), max: aws.ToInt32(st.MaxCapacity), policies: map[string]float64{}, cooldowns: map[string][2]int32{}}
	p, err := c.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid)})
	if err != nil {
		return nil, err
	}
	for _, pol := range p.ScalingPolicies {
		tt := pol.TargetTrackingScalingPolicyConfiguration
		out.policies[aws.ToString(pol.PolicyName)] = aws.ToFloat64(tt.TargetValue)
		out.cooldowns[aws.ToString(pol.PolicyName)] = [2]int32{aws.ToInt32(tt.ScaleInCooldown), aws.ToInt32(tt.ScaleOutCooldown)}
	}
	a, err := c.DescribeScheduledActions(ctx, &aas.DescribeScheduledActionsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid)})
	if err != nil {
		return nil, err
	}
	for _, act := range a.ScheduledActions {
		out.actions = append(out.actions, aws.ToString(act.ScheduledActionName)+" "+aws.ToString(act.Schedule))
	}
	sort.Strings(out.actions)
	return out, nil
}

func TestAccServiceAutoscaling_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}

	// Each deployment waits for steady state: as many tasks running and
	// healthy as the service's desired count, whoever set it.
	scaled := svcTestService{Extra: `
  desired_count = 1
  autoscaling = {
    min_capacity = 2
    max_capacity = 4
    cpu_target   = 60
    scheduled = [
      { name = "night", schedule = "cron(0 22 * * ? *)", timezone = "Europe/Berlin", min_capacity = 0, max_capacity = 1 },
    ]
  }
`}
	changed := svcTestService{Tag: "bbb222", Extra: `
  desired_count = 1
  autoscaling = {
    min_capacity       = 1
    max_capacity       = 6
    cpu_target         = 50
    memory_target      = 75
    scale_in_cooldown  = 600
    scale_out_cooldown = 30
  }
`}
	removed := svcTestService{Tag: "bbb222", Extra: `
  desired_count = 1
`}
	setCount := func(n int32) {
		if _, err := ecs.NewFromConfig(cfg).UpdateService(context.Background(), &ecs.UpdateServiceInput{
			Cluster: aws.String(env.Cluster), Service: aws.String("messenger"), DesiredCount: aws.Int32(n),
		}); err != nil {
			t.Fatalf("scale out of band: %v", err)
		}
	}
	var td string
	revision := func() string { return td }
	desired := func(want int32) error {
		svc, err := in.service("messenger")
		if err != nil || svc == nil {
			return fmt.Errorf("service: %v", err)
		}
		if svc.DesiredCount != want {
			return fmt.Errorf("desired count %d, want %d", svc.DesiredCount, want)
		}
		td = aws.ToString(svc.TaskDefinition)
		return in.runningTasks("messenger", int(want), revision)(nil)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(in.nothingLeft("messenger"), func(*terraform.State) error {
			if s, err := svcReadScaling(cfg, env.Cluster, "messenger"); err != nil || s != nil {
				return fmt.Errorf("scalable target left after destroy: %+v, %v", s, err)
			}
			return nil
		}),
		Steps: []resource.TestStep{
			// Created: target 2-4, a CPU policy with the default cooldowns,
			// the scheduled action; the service starts at min_capacity.
			{
				Config: testAccServiceConfig(a, env, scaled),
				Check: func(*terraform.State) error {
					s, err := svcReadScaling(cfg, env.Cluster, "messenger")
					if err != nil || s == nil {
						return fmt.Errorf("scalable target: %+v, %v", s, err)
					}
					if s.min != 2 || s.max != 4 || len(s.policies) != 1 || s.policies["staging-messenger-cpu"] != 60 ||
						s.cooldowns["staging-messenger-cpu"] != [2]int32{300, 60} || len(s.actions) != 1 || s.actions[0] != "night cron(0 22 * * ? *)" {
						return fmt.Errorf("autoscaling = %+v", s)
					}
					return desired(2)
				},
			},
			// The scaler moves the count: no diff.
			{
				PreConfig: func() { setCount(3) },
				Config:    testAccServiceConfig(a, env, scaled),
				PlanOnly:  true,
			},
			// Changed in place together with an image bump; the scaler's
			// count survives the deployment.
			{
				Config: testAccServiceConfig(a, env, changed),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					s, err := svcReadScaling(cfg, env.Cluster, "messenger")
					if err != nil || s == nil {
						return fmt.Errorf("scalable target: %+v, %v", s, err)
					}
					if s.min != 1 || s.max != 6 || len(s.policies) != 2 || s.policies["staging-messenger-cpu"] != 50 || s.policies["staging-messenger-memory"] != 75 ||
						s.cooldowns["staging-messenger-memory"] != [2]int32{600, 30} || len(s.actions) != 0 {
						return fmt.Errorf("autoscaling after change = %+v", s)
					}
					return desired(3)
				},
			},
			// Removed: target, policies and actions gone; the count is
			// Terraform's again.
			{
				Config: testAccServiceConfig(a, env, removed),
				Check: func(*terraform.State) error {
					if s, err := svcReadScaling(cfg, env.Cluster, "messenger"); err != nil || s != nil {
						return fmt.Errorf("autoscaling after removal = %+v, %v", s, err)
					}
					return desired(1)
				},
			},
		},
	})
}

func TestAccServiceAutoscaling_validation(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	env := ecsdeploytest.Env{Cluster: "staging", Namespace: "staging.pivot.local", Subnet: "subnet-1", SecurityGroup: "sg-1"}
	step := func(block, pattern string) resource.TestStep {
		return resource.TestStep{
			Config:      testAccServiceConfig(a, env, svcTestService{Extra: "\n  autoscaling = {\n" + block + "\n  }\n"}),
			PlanOnly:    true,
			ExpectError: svcExpectError(pattern),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(`min_capacity = 5
    max_capacity = 2`, `min_capacity \(5\) is greater than max_capacity \(2\); raise max_capacity or lower min_capacity`),
			step(`min_capacity = 1
    max_capacity = 2
    cpu_target   = 150`, `autoscaling.cpu_target.*value must be between 1 and 100, got: 150`),
			step(`min_capacity = 1
    max_capacity = 0`, `autoscaling.max_capacity.*value must be at least 1, got: 0`),
			step(`min_capacity        = 1
    max_capacity        = 2
    requests_per_target = 100`, `requests_per_target scales on the requests the service's target group receives; set target_group_arn`),
			step(`min_capacity      = 1
    max_capacity      = 2
    scale_in_cooldown = 90000`, `value must be between 0 and 86400, got: 90000`),
			step(`min_capacity = 1
    max_capacity = 2
    scheduled = [{ name = "x", schedule = "every night", min_capacity = 0 }]`, `schedule "every night": use at\(`),
			step(`min_capacity = 1
    max_capacity = 2
    scheduled = [{ name = "x", schedule = "rate(1 day)", min_capacity = 3, max_capacity = 2 }]`, `min_capacity \(3\) is greater than max_capacity \(2\)`),
		},
	})
}
