package provider

import (
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// targetModel is the `target` block every AWS-backed resource carries to act
// in another account: tenants are data, not provider configurations.
type targetModel struct {
	RoleARN    types.String `tfsdk:"role_arn"`
	ExternalID types.String `tfsdk:"external_id"`
	Region     types.String `tfsdk:"region"`
}

const targetDescription = "Act in another AWS account or region by assuming `role_arn` (with `external_id`), " +
	"instead of using the provider's own AWS configuration."

func (t *targetModel) target() awsx.Target {
	if t == nil {
		return awsx.Target{}
	}
	return awsx.Target{RoleARN: t.RoleARN.ValueString(), ExternalID: t.ExternalID.ValueString(), Region: t.Region.ValueString()}
}

func targetResourceBlock() rschema.SingleNestedBlock {
	return rschema.SingleNestedBlock{
		MarkdownDescription: targetDescription + " Changing the target replaces the resource, since it moves to another account.",
		Attributes: map[string]rschema.Attribute{
			"role_arn": rschema.StringAttribute{
				Optional: true, MarkdownDescription: "Role to assume, `arn:aws:iam::<account>:role/<name>`.",
				Validators:    []validator.String{roleARNValidator{}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"external_id": rschema.StringAttribute{Optional: true, MarkdownDescription: "External ID required by the role's trust policy."},
			"region": rschema.StringAttribute{
				Optional: true, MarkdownDescription: "Region to act in; defaults to the provider's.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
		},
	}
}

func targetDataSourceBlock() dschema.SingleNestedBlock {
	return dschema.SingleNestedBlock{
		MarkdownDescription: targetDescription,
		Attributes: map[string]dschema.Attribute{
			"role_arn":    dschema.StringAttribute{Optional: true, MarkdownDescription: "Role to assume.", Validators: []validator.String{roleARNValidator{}}},
			"external_id": dschema.StringAttribute{Optional: true, MarkdownDescription: "External ID required by the role's trust policy."},
			"region":      dschema.StringAttribute{Optional: true, MarkdownDescription: "Region to act in; defaults to the provider's."},
		},
	}
}
