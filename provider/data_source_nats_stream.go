package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

var _ datasource.DataSourceWithConfigure = &natsStreamDataSource{}

func init() { registerDataSource(NewNATSStreamDataSource) }

// NewNATSStreamDataSource returns the pivot_nats_stream data source.
func NewNATSStreamDataSource() datasource.DataSource {
	return &natsStreamDataSource{}
}

type natsStreamDataSource struct {
	data *providerData
}

func (d *natsStreamDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nats_stream"
}

func (d *natsStreamDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an existing JetStream stream, e.g. one another configuration or team manages. " +
			"Every attribute of `pivot_nats_stream` is available.",
		Attributes: jsDataSourceAttributes(natsStreamAttributes(), map[string]bool{"name": true}),
		Blocks:     map[string]schema.Block{natsBlockName: natsDataSourceBlock()},
	}
}

func (d *natsStreamDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *natsStreamDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg natsStreamModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, d.data, cfg.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	got, err := js.Stream(ctx, name)
	if jsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Stream Not Found",
			fmt.Sprintf("No stream named %q exists in the account the connection reaches. Check the name and the connection.", name))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Stream", err.Error())
		return
	}
	state := streamModelFromConfig(ctx, got, cfg)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}
