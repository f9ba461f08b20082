package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

var _ datasource.DataSourceWithConfigure = &natsConsumerDataSource{}

func init() { registerDataSource(NewNATSConsumerDataSource) }

// NewNATSConsumerDataSource returns the pivot_nats_consumer data source.
func NewNATSConsumerDataSource() datasource.DataSource {
	return &natsConsumerDataSource{}
}

type natsConsumerDataSource struct {
	data *providerData
}

func (d *natsConsumerDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nats_consumer"
}

func (d *natsConsumerDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads an existing durable JetStream consumer. Every attribute of `pivot_nats_consumer` is available.",
		Attributes:          jsDataSourceAttributes(natsConsumerAttributes(), map[string]bool{"stream": true, "durable_name": true}),
		Blocks:              map[string]schema.Block{natsBlockName: natsDataSourceBlock()},
	}
}

func (d *natsConsumerDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *natsConsumerDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg natsConsumerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, d.data, cfg.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	stream, name := cfg.Stream.ValueString(), cfg.DurableName.ValueString()
	got, err := js.Consumer(ctx, stream, name)
	if jsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("durable_name"), "Consumer Not Found",
			fmt.Sprintf("Stream %q has no consumer named %q in the account the connection reaches (or the stream does not exist). Check the names and the connection.", stream, name))
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Consumer", err.Error())
		return
	}
	state := consumerModelFromConfig(got, cfg)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}
