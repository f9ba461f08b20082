package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/release"
)

var _ datasource.DataSourceWithConfigure = &releaseDataSource{}

func init() { registerDataSource(NewReleaseDataSource) }

// NewReleaseDataSource returns the pivot_release data source.
func NewReleaseDataSource() datasource.DataSource { return &releaseDataSource{} }

type releaseDataSource struct {
	data *providerData
}

func (d *releaseDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release"
}

func (d *releaseDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a release record written by `pivot_release`: production reads staging's, tenants read production's.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Release name.",
				Validators: []validator.String{stringvalidator.RegexMatches(releaseNameRe, "must be lowercase letters, digits and hyphens, starting with a letter")}},
			"images":     schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Image tag per service."},
			"source":     schema.StringAttribute{Computed: true, MarkdownDescription: "The release this one was promoted from."},
			"version":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Version of the record."},
			"updated_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When the record was written (RFC 3339)."},
		},
		Blocks: map[string]schema.Block{"target": targetDataSourceBlock()},
	}
}

func (d *releaseDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *releaseDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m releaseDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := d.data.AWS(ctx, m.Target.target())
	if err != nil {
		resp.Diagnostics.AddError("AWS Configuration Failed", err.Error())
		return
	}
	rec, err := release.NewStore(cfg).Get(ctx, m.Name.ValueString())
	if errors.Is(err, release.ErrNotFound) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Release Not Found",
			fmt.Sprintf("No release %q has been recorded in this account. Apply the environment that writes it first (staging writes \"staging\", production writes \"prod\").", m.Name.ValueString()))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Release", err.Error())
		return
	}
	images, diags := types.MapValueFrom(ctx, types.StringType, rec.Images)
	resp.Diagnostics.Append(diags...)
	m.Images = images
	m.Source = types.StringValue(rec.Source)
	m.Version = types.Int64Value(rec.Version)
	m.UpdatedAt = types.StringValue(rec.UpdatedAt.Format("2006-01-02T15:04:05Z07:00"))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

type releaseDataSourceModel struct {
	Name      types.String `tfsdk:"name"`
	Images    types.Map    `tfsdk:"images"`
	Source    types.String `tfsdk:"source"`
	Version   types.Int64  `tfsdk:"version"`
	UpdatedAt types.String `tfsdk:"updated_at"`
	Target    *targetModel `tfsdk:"target"`
}
