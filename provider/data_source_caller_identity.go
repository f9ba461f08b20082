package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = &callerIdentityDataSource{}

func init() { registerDataSource(NewCallerIdentityDataSource) }

// NewCallerIdentityDataSource returns the pivot_caller_identity data source.
func NewCallerIdentityDataSource() datasource.DataSource {
	return &callerIdentityDataSource{}
}

type callerIdentityDataSource struct {
	data *providerData
}

func (d *callerIdentityDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_caller_identity"
}

func (d *callerIdentityDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The AWS account, principal ARN and region the provider acts in, after `assume_role` " +
			"and the optional `target`. Use it to check that a tenant's role leads where it should.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, MarkdownDescription: "The account ID."},
			"account_id": schema.StringAttribute{Computed: true, MarkdownDescription: "AWS account ID."},
			"arn":        schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the calling principal."},
			"user_id":    schema.StringAttribute{Computed: true, MarkdownDescription: "Unique ID of the calling principal."},
			"region":     schema.StringAttribute{Computed: true, MarkdownDescription: "Region calls are made in."},
		},
		Blocks: map[string]schema.Block{"target": targetDataSourceBlock()},
	}
}

func (d *callerIdentityDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *callerIdentityDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var data callerIdentityModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &data)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, err := d.data.aws.CallerIdentity(ctx, data.Target.target())
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Caller Identity",
			"STS GetCallerIdentity failed: "+err.Error()+". Check the provider's aws block (region, endpoint, assume_role) and the target block.")
		return
	}
	data.ID = types.StringValue(id.AccountID)
	data.AccountID = types.StringValue(id.AccountID)
	data.ARN = types.StringValue(id.ARN)
	data.UserID = types.StringValue(id.UserID)
	data.Region = types.StringValue(id.Region)
	resp.Diagnostics.Append(resp.State.Set(ctx, &data)...)
}

type callerIdentityModel struct {
	ID        types.String `tfsdk:"id"`
	AccountID types.String `tfsdk:"account_id"`
	ARN       types.String `tfsdk:"arn"`
	UserID    types.String `tfsdk:"user_id"`
	Region    types.String `tfsdk:"region"`
	Target    *targetModel `tfsdk:"target"`
}
