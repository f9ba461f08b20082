package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Helpers shared by pivot_environment, pivot_aurora_cluster,
// pivot_service_database, pivot_public_endpoint and pivot_dns_record.

// stringCheck validates a known string with a building block's check, so
// plan-time rules and the building block's own never drift apart.
type stringCheck struct {
	summary string
	desc    string
	check   func(string) error
}

func (v stringCheck) Description(context.Context) string             { return v.desc }
func (v stringCheck) MarkdownDescription(ctx context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, err.Error())
	}
}

// stringDefaultFrom plans another attribute's value (passed through
// derive) when this one is not configured, so a derived default is known at
// plan time and drift against it shows.
type stringDefaultFrom struct {
	from   path.Path
	derive func(string) string
	desc   string
}

func (m stringDefaultFrom) Description(context.Context) string             { return m.desc }
func (m stringDefaultFrom) MarkdownDescription(ctx context.Context) string { return m.desc }

func (m stringDefaultFrom) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var src types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, m.from, &src)...)
	switch {
	case src.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case src.IsNull():
		resp.PlanValue = types.StringNull()
	default:
		resp.PlanValue = types.StringValue(m.derive(src.ValueString()))
	}
}

// setOf builds a set of strings.
func setOf(values []string) types.Set {
	elems := make([]attr.Value, len(values))
	for i, v := range values {
		elems[i] = types.StringValue(v)
	}
	return types.SetValueMust(types.StringType, elems)
}

// stringsOf reads a set or list of known strings; ok is false when the
// collection or an element is unknown.
func stringsOf(ctx context.Context, v interface {
	IsNull() bool
	IsUnknown() bool
	ElementsAs(context.Context, any, bool) diag.Diagnostics
}) ([]string, bool) {
	if v.IsUnknown() {
		return nil, false
	}
	if v.IsNull() {
		return nil, true
	}
	var out []types.String
	if v.ElementsAs(ctx, &out, false).HasError() {
		return nil, false
	}
	s := make([]string, 0, len(out))
	for _, e := range out {
		if e.IsUnknown() {
			return nil, false
		}
		s = append(s, e.ValueString())
	}
	return s, true
}

// awsConfigError is the diagnostic for a failed AWS configuration.
func awsConfigError(diags *diag.Diagnostics, err error) {
	diags.AddError("AWS Configuration Failed",
		fmt.Sprintf("%v. Check the provider's aws block and the resource's target block.", err))
}
