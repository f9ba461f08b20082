package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/pivotapp/platform/internal/awsx"
)

// roleARNValidator checks IAM role ARNs at plan time.
type roleARNValidator struct{}

func (roleARNValidator) Description(context.Context) string {
	return "must be an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"
}

func (v roleARNValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (roleARNValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := awsx.ValidateRoleARN(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Role ARN", err.Error())
	}
}
