package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/autoscale"
	"github.com/pivotapp/platform/internal/ecsdeploy"
)

// pivot_service's autoscaling block: schema, model and conversion to and
// from internal/autoscale. The resource calls svcAutoscaling* at the points
// where it validates, plans, applies, reads and deletes.

func svcAutoscalingAttribute() schema.Attribute {
	return schema.SingleNestedAttribute{Optional: true,
		MarkdownDescription: "Application Auto Scaling of the service's task count. With it, `desired_count` is only the count the " +
			"service starts with (raised to `min_capacity`, lowered to `max_capacity`); after that the scaler owns the count: " +
			"a count it changed never shows as drift and an apply never resets it. Removing the block deletes the scaling " +
			"policies, scheduled actions and scalable target, and the count returns to `desired_count`. Changes apply in place.",
		Attributes: map[string]schema.Attribute{
			"min_capacity": schema.Int64Attribute{Required: true, Validators: []validator.Int64{int64validator.AtLeast(0)},
				MarkdownDescription: "Fewest tasks, 0 or more, at most `max_capacity`."},
			"max_capacity": schema.Int64Attribute{Required: true, Validators: []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: "Most tasks, at least 1."},
			"cpu_target": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1, 100)},
				MarkdownDescription: "Target tracking on the service's average CPU utilisation (`ECSServiceAverageCPUUtilization`), in percent, 1–100."},
			"memory_target": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1, 100)},
				MarkdownDescription: "Target tracking on the service's average memory utilisation (`ECSServiceAverageMemoryUtilization`), in percent, 1–100."},
			"requests_per_target": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: "Target tracking on load balancer requests per task per minute (`ALBRequestCountPerTarget`). Needs `target_group_arn`."},
			"scale_in_cooldown": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(autoscale.DefaultScaleInCooldown),
				Validators:          []validator.Int64{int64validator.Between(0, autoscale.MaxCooldown)},
				MarkdownDescription: fmt.Sprintf("Seconds after a scale-in before the next, 0–%d. Default %d.", autoscale.MaxCooldown, autoscale.DefaultScaleInCooldown)},
			"scale_out_cooldown": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(autoscale.DefaultScaleOutCooldown),
				Validators:          []validator.Int64{int64validator.Between(0, autoscale.MaxCooldown)},
				MarkdownDescription: fmt.Sprintf("Seconds after a scale-out before the next, 0–%d. Default %d.", autoscale.MaxCooldown, autoscale.DefaultScaleOutCooldown)},
			"scheduled": schema.ListNestedAttribute{Optional: true, Validators: []validator.List{listvalidator.SizeAtLeast(1)},
				MarkdownDescription: "Scheduled changes of the capacity range, e.g. scale to zero at night.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the scheduled action, unique within the service."},
					"schedule": schema.StringAttribute{Required: true,
						MarkdownDescription: "`at(2026-12-24T18:00:00)`, `rate(5 minutes)` or `cron(0 20 ? * MON-FRI *)` (six fields)."},
					"timezone":     schema.StringAttribute{Optional: true, MarkdownDescription: "IANA time zone of the schedule, e.g. `Europe/Berlin`. Default UTC."},
					"min_capacity": schema.Int64Attribute{Optional: true, MarkdownDescription: "New `min_capacity` from that time."},
					"max_capacity": schema.Int64Attribute{Optional: true, MarkdownDescription: "New `max_capacity` from that time."},
				}},
			},
		},
	}
}

type svcAutoscalingModel struct {
	MinCapacity       types.Int64 `tfsdk:"min_capacity"`
	MaxCapacity       types.Int64 `tfsdk:"max_capacity"`
	CPUTarget         types.Int64 `tfsdk:"cpu_target"`
	MemoryTarget      types.Int64 `tfsdk:"memory_target"`
	RequestsPerTarget types.Int64 `tfsdk:"requests_per_target"`
	ScaleInCooldown   types.Int64 `tfsdk:"scale_in_cooldown"`
	ScaleOutCooldown  types.Int64 `tfsdk:"scale_out_cooldown"`
	Scheduled         types.List  `tfsdk:"scheduled"`
}

type svcScheduledModel struct {
	Name        types.String `tfsdk:"name"`
	Schedule    types.String `tfsdk:"schedule"`
	Timezone    types.String `tfsdk:"timezone"`
	MinCapacity types.Int64  `tfsdk:"min_capacity"`
	MaxCapacity types.Int64  `tfsdk:"max_capacity"`
}

var (
	svcScheduledAttrTypes = map[string]attr.Type{
		"name": types.StringType, "schedule": types.StringType, "timezone": types.StringType,
		"min_capacity": types.Int64Type, "max_capacity": types.Int64Type,
	}
	svcAutoscalingAttrTypes = map[string]attr.Type{
		"min_capacity": types.Int64Type, "max_capacity": types.Int64Type, "cpu_target": types.Int64Type,
		"memory_target": types.Int64Type, "requests_per_target": types.Int64Type,
		"scale_in_cooldown": types.Int64Type, "scale_out_cooldown": types.Int64Type,
		"scheduled": types.ListType{ElemType: types.ObjectType{AttrTypes: svcScheduledAttrTypes}},
	}
)

// svcAutoscalingSpec converts the block; ok is false when it is null or not
// yet known.
func svcAutoscalingSpec(ctx context.Context, o types.Object, targetGroupARN string, diags *diag.Diagnostics) (autoscale.Spec, bool) {
	var m svcAutoscalingModel
	if !svcFullyKnown(o) || !svcAs(ctx, o, &m, diags) {
		return autoscale.Spec{}, false
	}
	s := autoscale.Spec{
		MinCapacity: int(m.MinCapacity.ValueInt64()), MaxCapacity: int(m.MaxCapacity.ValueInt64()),
		CPUTarget: int(m.CPUTarget.ValueInt64()), MemoryTarget: int(m.MemoryTarget.ValueInt64()),
		RequestsPerTarget: int(m.RequestsPerTarget.ValueInt64()), TargetGroupARN: targetGroupARN,
		ScaleInCooldown: autoscale.DefaultScaleInCooldown, ScaleOutCooldown: autoscale.DefaultScaleOutCooldown,
	}
	if !m.ScaleInCooldown.IsNull() {
		s.ScaleInCooldown = int(m.ScaleInCooldown.ValueInt64())
	}
	if !m.ScaleOutCooldown.IsNull() {
		s.ScaleOutCooldown = int(m.ScaleOutCooldown.ValueInt64())
	}
	if !m.Scheduled.IsNull() {
		var items []svcScheduledModel
		diags.Append(m.Scheduled.ElementsAs(ctx, &items, false)...)
		for _, it := range items {
			a := autoscale.Scheduled{Name: it.Name.ValueString(), Schedule: it.Schedule.ValueString(), Timezone: it.Timezone.ValueString()}
			if !it.MinCapacity.IsNull() {
				a.MinCapacity = new(int(it.MinCapacity.ValueInt64()))
			}
			if !it.MaxCapacity.IsNull() {
				a.MaxCapacity = new(int(it.MaxCapacity.ValueInt64()))
			}
			s.Scheduled = append(s.Scheduled, a)
		}
	}
	return s, true
}

// svcValidateAutoscaling reports the block's cross-field problems at plan
// time (single-field ranges are schema validators).
func svcValidateAutoscaling(ctx context.Context, m serviceModel, diags *diag.Diagnostics) {
	if !svcFullyKnown(m.TargetGroupARN) {
		return
	}
	s, ok := svcAutoscalingSpec(ctx, m.Autoscaling, m.TargetGroupARN.ValueString(), diags)
	if !ok {
		return
	}
	for _, e := range s.Validate() {
		p := svcFieldPath("autoscaling." + e.Field)
		diags.AddAttributeError(p, "Invalid Autoscaling", e.Detail)
	}
}

// svcScaledSpec hands the count to the scaler: the service starts with
// desired_count within the range and updates leave the count alone.
func svcScaledSpec(ctx context.Context, m serviceModel, s *ecsdeploy.Spec, diags *diag.Diagnostics) {
	a, ok := svcAutoscalingSpec(ctx, m.Autoscaling, m.TargetGroupARN.ValueString(), diags)
	if !ok {
		return
	}
	s.ScaledCount = true
	s.DesiredCount = a.Clamp(s.DesiredCount)
}

func svcAutoscaleService(s ecsdeploy.Spec) autoscale.Service {
	return autoscale.Service{Cluster: s.Cluster, Name: s.Name, Family: s.Family()}
}

// svcModelAutoscaling is the block as read, in prior's shape: the order of
// prior's scheduled actions, null where prior left a value unset and the
// API reports its default.
func svcModelAutoscaling(ctx context.Context, s *autoscale.Spec, prior types.Object, diags *diag.Diagnostics) types.Object {
	if s == nil {
		return types.ObjectNull(svcAutoscalingAttrTypes)
	}
	var pm svcAutoscalingModel
	svcAs(ctx, prior, &pm, diags)
	var priorItems []svcScheduledModel
	if !pm.Scheduled.IsNull() && !pm.Scheduled.IsUnknown() {
		diags.Append(pm.Scheduled.ElementsAs(ctx, &priorItems, false)...)
	}
	byName := map[string]autoscale.Scheduled{}
	for _, a := range s.Scheduled {
		byName[a.Name] = a
	}
	schedType := types.ObjectType{AttrTypes: svcScheduledAttrTypes}
	var elems []attr.Value
	add := func(a autoscale.Scheduled, prior *svcScheduledModel) {
		tz := svcStringOrNull(a.Timezone)
		if prior != nil && a.Timezone == "" && prior.Timezone.ValueString() == "UTC" {
			tz = prior.Timezone
		}
		elems = append(elems, types.ObjectValueMust(svcScheduledAttrTypes, map[string]attr.Value{
			"name": types.StringValue(a.Name), "schedule": types.StringValue(a.Schedule), "timezone": tz,
			"min_capacity": svcOptInt(a.MinCapacity), "max_capacity": svcOptInt(a.MaxCapacity),
		}))
	}
	for i := range priorItems {
		if a, ok := byName[priorItems[i].Name.ValueString()]; ok {
			add(a, &priorItems[i])
			delete(byName, a.Name)
		}
	}
	for _, a := range s.Scheduled {
		if _, ok := byName[a.Name]; ok {
			add(a, nil)
		}
	}
	scheduled := types.ListNull(schedType)
	if len(elems) > 0 {
		scheduled = types.ListValueMust(schedType, elems)
	}
	return types.ObjectValueMust(svcAutoscalingAttrTypes, map[string]attr.Value{
		"min_capacity": types.Int64Value(int64(s.MinCapacity)), "max_capacity": types.Int64Value(int64(s.MaxCapacity)),
		"cpu_target": svcInt64OrNull(s.CPUTarget), "memory_target": svcInt64OrNull(s.MemoryTarget),
		"requests_per_target": svcInt64OrNull(s.RequestsPerTarget),
		"scale_in_cooldown":   types.Int64Value(int64(s.ScaleInCooldown)), "scale_out_cooldown": types.Int64Value(int64(s.ScaleOutCooldown)),
		"scheduled": scheduled,
	})
}

func svcOptInt(v *int) types.Int64 {
	if v == nil {
		return types.Int64Null()
	}
	return types.Int64Value(int64(*v))
}

// svcApplyAutoscaling converges the scaler after a deploy: the block's
// settings, or none when the block is gone.
func (r *serviceResource) svcApplyAutoscaling(ctx context.Context, plan serviceModel, spec ecsdeploy.Spec, had bool, diags *diag.Diagnostics) {
	a, ok := svcAutoscalingSpec(ctx, plan.Autoscaling, spec.TargetGroupARN, diags)
	if !ok && !had {
		return
	}
	cfg, err := r.data.AWS(ctx, plan.Target.target())
	if err != nil {
		diags.AddError("AWS Configuration Failed", err.Error())
		return
	}
	c := autoscale.New(cfg)
	if !ok {
		err = c.Remove(ctx, svcAutoscaleService(spec))
	} else {
		err = c.Apply(ctx, svcAutoscaleService(spec), a)
	}
	if err != nil {
		diags.AddAttributeError(path.Root("autoscaling"), "Unable To Apply Autoscaling",
			fmt.Sprintf("Service %s is deployed, but its autoscaling failed: %s. Apply again; every step is repeated safely.", spec.Name, err))
	}
}
