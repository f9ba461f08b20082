package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/release"
)

var (
	_ resource.ResourceWithConfigure   = &releaseResource{}
	_ resource.ResourceWithImportState = &releaseResource{}
)

func init() { registerResource(NewReleaseResource) }

// NewReleaseResource returns the pivot_release resource.
func NewReleaseResource() resource.Resource { return &releaseResource{} }

type releaseResource struct {
	data *providerData
}

var (
	releaseNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	imageTagRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	serviceNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
)

func (r *releaseResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_release"
}

func (r *releaseResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A release record: the image set (service -> tag) an environment verified. Staging writes one " +
			"after every service reached steady state on its image (`verify`); production deploys staging's record and " +
			"tenants deploy production's (read them with the `pivot_release` data source), so promotion moves a verified " +
			"image set, never an untested HEAD. Stored as a String parameter at `/pivot/releases/<name>`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The release name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Release name, usually the environment (`staging`, `prod`).",
				Validators:    []validator.String{stringvalidator.RegexMatches(releaseNameRe, "must be lowercase letters, digits and hyphens, starting with a letter")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"images": schema.MapAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "Image tag per service.",
				Validators: []validator.Map{
					mapvalidator.SizeAtLeast(1),
					mapvalidator.KeysAre(stringvalidator.RegexMatches(serviceNameRe, "must be a service name: lowercase letters, digits and hyphens")),
					mapvalidator.ValueStringsAre(stringvalidator.RegexMatches(imageTagRe, "must be a valid image tag (letters, digits, _ . -; at most 128)")),
				}},
			"source": schema.StringAttribute{Optional: true, MarkdownDescription: "The release this one was promoted from, e.g. `staging@12`; recorded for audit."},
			"verify_cluster": schema.StringAttribute{Optional: true,
				MarkdownDescription: "ECS cluster to verify before writing: every service must be ACTIVE, steady (one deployment, running = desired) " +
					"and on a task definition whose image carries its tag. When verification fails nothing is written and the apply fails, naming each service."},
			"version": schema.Int64Attribute{Computed: true, MarkdownDescription: "Version of the record; increases with every write."},
			"parameter_name": schema.StringAttribute{Computed: true, MarkdownDescription: "Parameter Store name of the record.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *releaseResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *releaseResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan releaseResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.write(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *releaseResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state releaseResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, state.Target.target())
	if err != nil {
		resp.Diagnostics.AddError("AWS Configuration Failed", err.Error())
		return
	}
	rec, err := release.NewStore(cfg).Get(ctx, state.Name.ValueString())
	if errors.Is(err, release.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Release", err.Error())
		return
	}
	resp.Diagnostics.Append(state.fromRecord(ctx, rec)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *releaseResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan releaseResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.write(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *releaseResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state releaseResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, state.Target.target())
	if err != nil {
		resp.Diagnostics.AddError("AWS Configuration Failed", err.Error())
		return
	}
	if err := release.NewStore(cfg).Delete(ctx, state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Release", err.Error())
	}
}

func (r *releaseResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !releaseNameRe.MatchString(req.ID) {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected a release name such as staging, got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

// write verifies (when asked) and then records the image set.
func (r *releaseResource) write(ctx context.Context, m *releaseResourceModel, diags interface {
	AddError(string, string)
	AddAttributeError(path.Path, string, string)
}) {
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		diags.AddError("AWS Configuration Failed", err.Error())
		return
	}
	images := map[string]string{}
	for k, v := range m.Images.Elements() {
		images[k] = v.(types.String).ValueString()
	}
	if cluster := m.VerifyCluster.ValueString(); cluster != "" {
		if err := release.Verify(ctx, ecs.NewFromConfig(cfg), cluster, images); err != nil {
			diags.AddAttributeError(path.Root("images"), "Release Not Verified",
				err.Error()+". Nothing was recorded, so no other environment can pick up this image set; fix the services and apply again.")
			return
		}
	}
	rec, err := release.NewStore(cfg).Put(ctx, release.Record{Name: m.Name.ValueString(), Images: images, Source: m.Source.ValueString()})
	if err != nil {
		diags.AddError("Unable To Write Release", err.Error())
		return
	}
	m.ID = types.StringValue(rec.Name)
	m.Version = types.Int64Value(rec.Version)
	m.ParameterName = types.StringValue(release.ParameterName(rec.Name))
}

type releaseResourceModel struct {
	ID            types.String `tfsdk:"id"`
	Name          types.String `tfsdk:"name"`
	Images        types.Map    `tfsdk:"images"`
	Source        types.String `tfsdk:"source"`
	VerifyCluster types.String `tfsdk:"verify_cluster"`
	Version       types.Int64  `tfsdk:"version"`
	ParameterName types.String `tfsdk:"parameter_name"`
	Target        *targetModel `tfsdk:"target"`
}

func (m *releaseResourceModel) fromRecord(ctx context.Context, rec release.Record) diag.Diagnostics {
	images, diags := types.MapValueFrom(ctx, types.StringType, rec.Images)
	m.ID = types.StringValue(rec.Name)
	m.Name = types.StringValue(rec.Name)
	m.Images = images
	if rec.Source != "" || !m.Source.IsNull() {
		m.Source = types.StringValue(rec.Source)
	}
	m.Version = types.Int64Value(rec.Version)
	m.ParameterName = types.StringValue(release.ParameterName(rec.Name))
	return diags
}
