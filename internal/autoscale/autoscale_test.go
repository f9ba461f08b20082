package autoscale_test

import (
	"testing"

	"github.com/pivotapp/platform/internal/autoscale"
)

func TestResourceID(t *testing.T) {
	if got := autoscale.ResourceID("staging", "messenger"); got != "service/staging/messenger" {
		t.Errorf("ResourceID = %s", got)
	}
	if got := autoscale.ResourceID("arn:aws:ecs:us-east-1:111111111111:cluster/staging", "messenger"); got != "service/staging/messenger" {
		t.Errorf("ResourceID of a cluster ARN = %s", got)
	}
}

func TestValidate(t *testing.T) {
	ok := autoscale.Spec{MinCapacity: 1, MaxCapacity: 4, CPUTarget: 60, ScaleInCooldown: 300, ScaleOutCooldown: 60,
		Scheduled: []autoscale.Scheduled{{Name: "night", Schedule: "cron(0 22 ? * MON-FRI *)", MinCapacity: new(0)}}}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("valid spec refused: %v", errs)
	}
	for name, tc := range map[string]struct {
		mut   func(*autoscale.Spec)
		field string
	}{
		"min above max":         {func(s *autoscale.Spec) { s.MinCapacity = 5 }, "min_capacity"},
		"cpu above 100":         {func(s *autoscale.Spec) { s.CPUTarget = 101 }, "cpu_target"},
		"requests without a tg": {func(s *autoscale.Spec) { s.RequestsPerTarget = 100 }, "requests_per_target"},
		"cooldown too long":     {func(s *autoscale.Spec) { s.ScaleOutCooldown = autoscale.MaxCooldown + 1 }, "scale_out_cooldown"},
		"bad schedule":          {func(s *autoscale.Spec) { s.Scheduled[0].Schedule = "cron(0 22 * *)" }, "scheduled.0.schedule"},
		"duplicate name": {func(s *autoscale.Spec) {
			s.Scheduled = append(s.Scheduled, autoscale.Scheduled{Name: "night", Schedule: "rate(1 day)", MaxCapacity: new(2)})
		}, "scheduled.1.name"},
		"action changes nothing": {func(s *autoscale.Spec) { s.Scheduled[0].MinCapacity = nil }, "scheduled.0"},
	} {
		s := ok
		s.Scheduled = append([]autoscale.Scheduled(nil), ok.Scheduled...)
		tc.mut(&s)
		errs := s.Validate()
		if len(errs) == 0 || errs[0].Field != tc.field {
			t.Errorf("%s: errors %v, want one on %s", name, errs, tc.field)
		}
	}
}

func TestClamp(t *testing.T) {
	s := autoscale.Spec{MinCapacity: 2, MaxCapacity: 4}
	for in, want := range map[int]int{1: 2, 3: 3, 9: 4} {
		if got := s.Clamp(in); got != want {
			t.Errorf("Clamp(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestResourceLabel(t *testing.T) {
	got, err := autoscale.ResourceLabel("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/staging/50dc6c495c0c9188",
		"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/staging-friend/943f017f100becff")
	if err != nil || got != "app/staging/50dc6c495c0c9188/targetgroup/staging-friend/943f017f100becff" {
		t.Fatalf("ResourceLabel = %q, %v", got, err)
	}
	if _, err := autoscale.ResourceLabel("nonsense", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/y"); err == nil {
		t.Fatal("a malformed load balancer ARN was accepted")
	}
}
