// Package autoscale manages an ECS service's Application Auto Scaling: the
// scalable target (min and max tasks), target-tracking policies on CPU,
// memory and ALB requests per target, and scheduled actions.
//
// Everything registered on the service's scalable target belongs to the
// service (the target is keyed by the service itself, which is ours), so
// Apply makes the policies and scheduled actions exactly those of the spec
// and removes any other. Every call is an upsert keyed by name, so an apply
// interrupted half-way is finished by the next one.
package autoscale

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// Dimension is what is scaled: an ECS service's desired count.
const Dimension = aastypes.ScalableDimensionECSServiceDesiredCount

// Defaults: ECS services get 300 s cooldowns from Application Auto Scaling
// when none is given; scale out sooner than in, as Copilot does.
const (
	DefaultScaleInCooldown  = 300
	DefaultScaleOutCooldown = 60
	// MaxCooldown bounds both cooldowns (one day).
	MaxCooldown = 86400
)

// Policy suffixes name the target-tracking policies: <family>-<suffix>.
const (
	PolicyCPU      = "cpu"
	PolicyMemory   = "memory"
	PolicyRequests = "requests"
)

// Spec is the autoscaling wanted for one service.
type Spec struct {
	MinCapacity int
	MaxCapacity int
	// Targets; zero means no policy of that kind.
	CPUTarget         int // average CPU utilisation, percent
	MemoryTarget      int // average memory utilisation, percent
	RequestsPerTarget int // ALB requests per target per minute
	// TargetGroupARN is needed for RequestsPerTarget.
	TargetGroupARN   string
	ScaleInCooldown  int
	ScaleOutCooldown int
	Scheduled        []Scheduled
}

// Scheduled is a scheduled change of the capacity range.
type Scheduled struct {
	Name string
	// Schedule is at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields).
	Schedule    string
	Timezone    string
	MinCapacity *int
	MaxCapacity *int
}

// FieldError is a problem with one field of the spec ("max_capacity",
// "scheduled.0.schedule").
type FieldError struct {
	Field  string
	Detail string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Detail }

var (
	scheduleRE = regexp.MustCompile(`^(at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$`)
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// Validate checks spec before any call: ranges, targets, names.
func (s Spec) Validate() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
	}
	if s.MinCapacity < 0 {
		add("min_capacity", "min_capacity is %d; it must be 0 or more.", s.MinCapacity)
	}
	if s.MaxCapacity < 1 {
		add("max_capacity", "max_capacity is %d; it must be at least 1.", s.MaxCapacity)
	}
	if s.MinCapacity > s.MaxCapacity {
		add("min_capacity", "min_capacity (%d) is greater than max_capacity (%d); raise max_capacity or lower min_capacity.", s.MinCapacity, s.MaxCapacity)
	}
	for _, t := range []struct {
		field string
		v     int
	}{{"cpu_target", s.CPUTarget}, {"memory_target", s.MemoryTarget}} {
		if t.v != 0 && (t.v < 1 || t.v > 100) {
			add(t.field, "%s is %d; a utilisation target is a percentage from 1 to 100.", t.field, t.v)
		}
	}
	if s.RequestsPerTarget < 0 {
		add("requests_per_target", "requests_per_target is %d; it must be at least 1.", s.RequestsPerTarget)
	}
	if s.RequestsPerTarget > 0 && s.TargetGroupARN == "" {
		add("requests_per_target", "requests_per_target scales on the requests the service's target group receives; set target_group_arn (the service is not behind a load balancer).")
	}
	for _, c := range []struct {
		field string
		v     int
	}{{"scale_in_cooldown", s.ScaleInCooldown}, {"scale_out_cooldown", s.ScaleOutCooldown}} {
		if c.v < 0 || c.v > MaxCooldown {
			add(c.field, "%s is %d seconds; it must be between 0 and %d.", c.field, c.v, MaxCooldown)
		}
	}
	seen := map[string]bool{}
	for i, a := range s.Scheduled {
		f := fmt.Sprintf("scheduled.%d", i)
		if !nameRE.MatchString(a.Name) {
			add(f+".name", "name %q: use 1 to 64 letters, digits, '-', '_' or '.'.", a.Name)
		}
		if seen[a.Name] {
			add(f+".name", "name %q is used twice; each scheduled action needs its own name.", a.Name)
		}
		seen[a.Name] = true
		if !scheduleRE.MatchString(a.Schedule) {
			add(f+".schedule", "schedule %q: use at(2026-12-24T18:00:00), rate(5 minutes) or cron(0 8 ? * MON-FRI *) (six fields).", a.Schedule)
		}
		if a.MinCapacity == nil && a.MaxCapacity == nil {
			add(f, "scheduled action %q changes nothing; set min_capacity, max_capacity or both.", a.Name)
		}
		if a.MinCapacity != nil && *a.MinCapacity < 0 {
			add(f+".min_capacity", "min_capacity is %d; it must be 0 or more.", *a.MinCapacity)
		}
		if a.MaxCapacity != nil && *a.MaxCapacity < 0 {
			add(f+".max_capacity", "max_capacity is %d; it must be 0 or more.", *a.MaxCapacity)
		}
		if a.MinCapacity != nil && a.MaxCapacity != nil && *a.MinCapacity > *a.MaxCapacity {
			add(f+".min_capacity", "min_capacity (%d) is greater than max_capacity (%d).", *a.MinCapacity, *a.MaxCapacity)
		}
	}
	return errs
}

// Clamp returns count raised to min and lowered to max: the count a service
// starts with when the scaler owns it.
func (s Spec) Clamp(count int) int {
	return max(s.MinCapacity, min(count, s.MaxCapacity))
}

// ResourceID is Application Auto Scaling's name of an ECS service:
// service/<cluster name>/<service name>. A cluster given as an ARN is
// reduced to its name.
func ResourceID(cluster, service string) string {
	if i := strings.LastIndex(cluster, "/"); i >= 0 && strings.HasPrefix(cluster, "arn:") {
		cluster = cluster[i+1:]
	}
	return "service/" + cluster + "/" + service
}

// API is the part of Application Auto Scaling this package uses.
type API interface {
	RegisterScalableTarget(context.Context, *aas.RegisterScalableTargetInput, ...func(*aas.Options)) (*aas.RegisterScalableTargetOutput, error)
	DeregisterScalableTarget(context.Context, *aas.DeregisterScalableTargetInput, ...func(*aas.Options)) (*aas.DeregisterScalableTargetOutput, error)
	DescribeScalableTargets(context.Context, *aas.DescribeScalableTargetsInput, ...func(*aas.Options)) (*aas.DescribeScalableTargetsOutput, error)
	PutScalingPolicy(context.Context, *aas.PutScalingPolicyInput, ...func(*aas.Options)) (*aas.PutScalingPolicyOutput, error)
	DescribeScalingPolicies(context.Context, *aas.DescribeScalingPoliciesInput, ...func(*aas.Options)) (*aas.DescribeScalingPoliciesOutput, error)
	DeleteScalingPolicy(context.Context, *aas.DeleteScalingPolicyInput, ...func(*aas.Options)) (*aas.DeleteScalingPolicyOutput, error)
	PutScheduledAction(context.Context, *aas.PutScheduledActionInput, ...func(*aas.Options)) (*aas.PutScheduledActionOutput, error)
	DescribeScheduledActions(context.Context, *aas.DescribeScheduledActionsInput, ...func(*aas.Options)) (*aas.DescribeScheduledActionsOutput, error)
	DeleteScheduledAction(context.Context, *aas.DeleteScheduledActionInput, ...func(*aas.Options)) (*aas.DeleteScheduledActionOutput, error)
}

// TargetGroups finds the load balancer of a target group (for the ALB
// request-count metric's resource label).
type TargetGroups interface {
	DescribeTargetGroups(context.Context, *elasticloadbalancingv2.DescribeTargetGroupsInput, ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetGroupsOutput, error)
}

// Client manages the autoscaling of services in one account and region.
type Client struct {
	api API
	elb TargetGroups
}

// New returns a Client acting with cfg.
func New(cfg aws.Config) *Client {
	return &Client{api: aas.NewFromConfig(cfg), elb: elasticloadbalancingv2.NewFromConfig(cfg)}
}

// NewWith returns a Client on the given APIs (tests).
func NewWith(api API, elb TargetGroups) *Client { return &Client{api: api, elb: elb} }

// Service names the ECS service whose count is scaled; Family prefixes
// the policy names (<environment>-<service>).
type Service struct {
	Cluster string
	Name    string
	Family  string
}

func (s Service) resourceID() string { return ResourceID(s.Cluster, s.Name) }

func (s Service) policyName(suffix string) string { return s.Family + "-" + suffix }

// Apply makes the service's autoscaling what spec says.
func (c *Client) Apply(ctx context.Context, svc Service, spec Spec) error {
	rid := svc.resourceID()
	if _, err := c.api.RegisterScalableTarget(ctx, &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
		MinCapacity: aws.Int32(int32(spec.MinCapacity)), MaxCapacity: aws.Int32(int32(spec.MaxCapacity)),
	}); err != nil {
		return fmt.Errorf("register scalable target %s: %w", rid, err)
	}
	want := map[string]*aastypes.TargetTrackingScalingPolicyConfiguration{}
	track := func(suffix string, target int, metric aastypes.MetricType, label string) {
		if target == 0 {
			return
		}
		pm := &aastypes.PredefinedMetricSpecification{PredefinedMetricType: metric}
		if label != "" {
			pm.ResourceLabel = aws.String(label)
		}
		want[svc.policyName(suffix)] = &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue:                   aws.Float64(float64(target)),
			PredefinedMetricSpecification: pm,
			ScaleInCooldown:               aws.Int32(int32(spec.ScaleInCooldown)),
			ScaleOutCooldown:              aws.Int32(int32(spec.ScaleOutCooldown)),
		}
	}
	track(PolicyCPU, spec.CPUTarget, aastypes.MetricTypeECSServiceAverageCPUUtilization, "")
	track(PolicyMemory, spec.MemoryTarget, aastypes.MetricTypeECSServiceAverageMemoryUtilization, "")
	if spec.RequestsPerTarget > 0 {
		label, err := c.resourceLabel(ctx, spec.TargetGroupARN)
		if err != nil {
			return err
		}
		track(PolicyRequests, spec.RequestsPerTarget, aastypes.MetricTypeALBRequestCountPerTarget, label)
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, err := c.api.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{
			PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid),
			ScalableDimension: Dimension, PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
			TargetTrackingScalingPolicyConfiguration: want[name],
		}); err != nil {
			return fmt.Errorf("put scaling policy %s: %w", name, err)
		}
	}
	have, err := c.policies(ctx, rid)
	if err != nil {
		return err
	}
	for _, p := range have {
		if _, ok := want[aws.ToString(p.PolicyName)]; !ok {
			if err := c.deletePolicy(ctx, rid, aws.ToString(p.PolicyName)); err != nil {
				return err
			}
		}
	}
	wantActions := map[string]bool{}
	for _, a := range spec.Scheduled {
		wantActions[a.Name] = true
		in := &aas.PutScheduledActionInput{
			ScheduledActionName: aws.String(a.Name), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid),
			ScalableDimension: Dimension, Schedule: aws.String(a.Schedule),
			ScalableTargetAction: &aastypes.ScalableTargetAction{},
		}
		if a.Timezone != "" {
			in.Timezone = aws.String(a.Timezone)
		}
		if a.MinCapacity != nil {
			in.ScalableTargetAction.MinCapacity = aws.Int32(int32(*a.MinCapacity))
		}
		if a.MaxCapacity != nil {
			in.ScalableTargetAction.MaxCapacity = aws.Int32(int32(*a.MaxCapacity))
		}
		if _, err := c.api.PutScheduledAction(ctx, in); err != nil {
			return fmt.Errorf("put scheduled action %s: %w", a.Name, err)
		}
	}
	actions, err := c.actions(ctx, rid)
	if err != nil {
		return err
	}
	for _, a := range actions {
		if !wantActions[aws.ToString(a.ScheduledActionName)] {
			if err := c.deleteAction(ctx, rid, aws.ToString(a.ScheduledActionName)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Read returns the service's autoscaling, or nil when it has no scalable
// target. Policies other than this package's are not shown.
func (c *Client) Read(ctx context.Context, svc Service) (*Spec, error) {
	rid := svc.resourceID()
	out, err := c.api.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{rid}, ScalableDimension: Dimension,
	})
	if err != nil {
		return nil, fmt.Errorf("describe scalable target %s: %w", rid, err)
	}
	if len(out.ScalableTargets) == 0 {
		return nil, nil
	}
	t := out.ScalableTargets[0]
	s := &Spec{MinCapacity: int(aws.ToInt32(t.MinCapacity)), MaxCapacity: int(aws.ToInt32(t.MaxCapacity)),
		ScaleInCooldown: DefaultScaleInCooldown, ScaleOutCooldown: DefaultScaleOutCooldown}
	policies, err := c.policies(ctx, rid)
	if err != nil {
		return nil, err
	}
	for _, p := range policies {
		cfg := p.TargetTrackingScalingPolicyConfiguration
		if cfg == nil || cfg.PredefinedMetricSpecification == nil {
			continue
		}
		v := int(aws.ToFloat64(cfg.TargetValue))
		switch aws.ToString(p.PolicyName) {
		case svc.policyName(PolicyCPU):
			s.CPUTarget = v
		case svc.policyName(PolicyMemory):
			s.MemoryTarget = v
		case svc.policyName(PolicyRequests):
			s.RequestsPerTarget = v
		default:
			continue
		}
		s.ScaleInCooldown = int(aws.ToInt32(cfg.ScaleInCooldown))
		s.ScaleOutCooldown = int(aws.ToInt32(cfg.ScaleOutCooldown))
	}
	actions, err := c.actions(ctx, rid)
	if err != nil {
		return nil, err
	}
	for _, a := range actions {
		sa := Scheduled{Name: aws.ToString(a.ScheduledActionName), Schedule: aws.ToString(a.Schedule), Timezone: aws.ToString(a.Timezone)}
		if sa.Timezone == "UTC" {
			sa.Timezone = ""
		}
		if ta := a.ScalableTargetAction; ta != nil {
			if ta.MinCapacity != nil {
				sa.MinCapacity = aws.Int(int(*ta.MinCapacity))
			}
			if ta.MaxCapacity != nil {
				sa.MaxCapacity = aws.Int(int(*ta.MaxCapacity))
			}
		}
		s.Scheduled = append(s.Scheduled, sa)
	}
	slices.SortFunc(s.Scheduled, func(a, b Scheduled) int { return strings.Compare(a.Name, b.Name) })
	return s, nil
}

// Remove deletes the service's policies, scheduled actions and scalable
// target; what is already gone is skipped. The service keeps the count the
// scaler last set.
func (c *Client) Remove(ctx context.Context, svc Service) error {
	rid := svc.resourceID()
	policies, err := c.policies(ctx, rid)
	if err != nil {
		return err
	}
	for _, p := range policies {
		if err := c.deletePolicy(ctx, rid, aws.ToString(p.PolicyName)); err != nil {
			return err
		}
	}
	actions, err := c.actions(ctx, rid)
	if err != nil {
		return err
	}
	for _, a := range actions {
		if err := c.deleteAction(ctx, rid, aws.ToString(a.ScheduledActionName)); err != nil {
			return err
		}
	}
	_, err = c.api.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("deregister scalable target %s: %w", rid, err)
	}
	return nil
}

// resourceLabel is the ALB request-count metric's label of a target group:
// app/<lb name>/<lb id>/targetgroup/<tg name>/<tg id>.
func (c *Client) resourceLabel(ctx context.Context, targetGroupARN string) (string, error) {
	out, err := c.elb.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{TargetGroupArns: []string{targetGroupARN}})
	if err != nil {
		return "", fmt.Errorf("describe target group %s: %w", targetGroupARN, err)
	}
	if len(out.TargetGroups) == 0 || len(out.TargetGroups[0].LoadBalancerArns) == 0 {
		return "", fmt.Errorf("target group %s is attached to no load balancer; requests_per_target needs one", targetGroupARN)
	}
	return ResourceLabel(out.TargetGroups[0].LoadBalancerArns[0], targetGroupARN)
}

// ResourceLabel is the ALBRequestCountPerTarget metric's label of a target
// group behind a load balancer.
func ResourceLabel(loadBalancerARN, targetGroupARN string) (string, error) {
	_, lbPart, ok1 := strings.Cut(loadBalancerARN, ":loadbalancer/")
	_, tgPart, ok2 := strings.Cut(targetGroupARN, ":targetgroup/")
	if !ok1 || !ok2 {
		return "", fmt.Errorf("resource label of target group %s and load balancer %s: unexpected ARN format", targetGroupARN, loadBalancerARN)
	}
	return lbPart + "/targetgroup/" + tgPart, nil
}

func (c *Client) policies(ctx context.Context, rid string) ([]aastypes.ScalingPolicy, error) {
	var out []aastypes.ScalingPolicy
	p := aas.NewDescribeScalingPoliciesPaginator(c.api, &aas.DescribeScalingPoliciesInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe scaling policies of %s: %w", rid, err)
		}
		out = append(out, page.ScalingPolicies...)
	}
	return out, nil
}

func (c *Client) actions(ctx context.Context, rid string) ([]aastypes.ScheduledAction, error) {
	var out []aastypes.ScheduledAction
	p := aas.NewDescribeScheduledActionsPaginator(c.api, &aas.DescribeScheduledActionsInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe scheduled actions of %s: %w", rid, err)
		}
		out = append(out, page.ScheduledActions...)
	}
	return out, nil
}

func (c *Client) deletePolicy(ctx context.Context, rid, name string) error {
	_, err := c.api.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{
		PolicyName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete scaling policy %s: %w", name, err)
	}
	return nil
}

func (c *Client) deleteAction(ctx context.Context, rid, name string) error {
	_, err := c.api.DeleteScheduledAction(ctx, &aas.DeleteScheduledActionInput{
		ScheduledActionName: aws.String(name), ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(rid), ScalableDimension: Dimension,
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete scheduled action %s: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf *aastypes.ObjectNotFoundException
	if errors.As(err, &nf) {
		return true
	}
	// Deregistering a target that is gone is a ValidationException.
	var ve *aastypes.ValidationException
	return errors.As(err, &ve) && strings.Contains(strings.ToLower(ve.ErrorMessage()), "no scalable target")
}
