package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/registry"
)

var (
	_ resource.ResourceWithConfigure   = &serviceRepositoryResource{}
	_ resource.ResourceWithImportState = &serviceRepositoryResource{}
)

func init() { registerResource(NewServiceRepositoryResource) }

// NewServiceRepositoryResource returns the pivot_service_repository resource.
func NewServiceRepositoryResource() resource.Resource { return &serviceRepositoryResource{} }

type serviceRepositoryResource struct {
	data *providerData
}

func (r *serviceRepositoryResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_repository"
}

func (r *serviceRepositoryResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A service's image repository in the registry account (Amazon ECR): scan on push, immutable tags, " +
			"a lifecycle policy that never expires an image whose tag a release names (`keep_tags`, one rule per tag, since " +
			"ECR selects only images carrying every tag of a rule's list), expires untagged images after `untagged_days` and " +
			"keeps the newest `keep_last` of the rest, and a repository policy statement (`Sid = \"" + registry.DeploySid + "\"`) " +
			"letting the accounts that deploy the service pull. `pivot_registry_access` adds the tenants' accounts in a statement " +
			"of its own. A repository of that name that pivot did not create is refused (import it); one an interrupted apply " +
			"left is adopted.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The repository name, the import identifier.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Repository name, e.g. `messenger` or `pivot/messenger`. Changing it replaces the repository.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.LengthBetween(2, 256), stringvalidator.RegexMatches(ecrRepositoryRe, "must be an ECR repository name, e.g. pivot/messenger")}},
			"service": schema.StringAttribute{Optional: true, MarkdownDescription: "The service whose images it holds (a tag of the repository)."},
			"scan_on_push": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Scan every pushed image for vulnerabilities. Default true."},
			"immutable_tags": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "A tag, once pushed, always names the same image. Default true: a release's tag can never be overwritten."},
			"keep_tags": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: fmt.Sprintf("Tags never to expire: every tag a release record names, e.g. "+
					"`compact([data.pivot_release.staging.images[\"messenger\"], data.pivot_release.prod.images[\"messenger\"]])`. "+
					"Exact tags without wildcards; at most %d (ECR allows %d rules per lifecycle policy).", registry.MaxLifecycleRules-2, registry.MaxLifecycleRules),
				Validators: []validator.Set{setvalidator.SizeAtMost(registry.MaxLifecycleRules - 2),
					setvalidator.ValueStringsAre(stringvalidator.RegexMatches(imageTagRe, "must be an image tag: letters, digits, '_', '.', '-', without wildcards"))}},
			"keep_last": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(30),
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: "Images kept besides `keep_tags`: the newest this many. Default 30."},
			"untagged_days": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(7),
				Validators:          []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: "Days after which an untagged image expires. Default 7."},
			"pull_account_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Accounts that deploy the service (staging, production) and may pull its images. Their execution roles allow the pull on their side.",
				Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.RegexMatches(accountIDRe, "must be a 12-digit AWS account ID"))}},
			"force_delete": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Delete the repository's images on destroy. Default false: a repository holding images is refused and kept."},
			"tags": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Extra tags. `pivot:managed-by` and `pivot:service` are set by the provider."},
			"arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the repository.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"repository_url": schema.StringAttribute{Computed: true, MarkdownDescription: "Where CI pushes: `<account>.dkr.ecr.<region>.amazonaws.com/<name>`; `pivot_service`'s `image.repository`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *serviceRepositoryResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceRepositoryResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceRepositoryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.ensure(ctx, &plan, false, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceRepositoryResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceRepositoryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state, &resp.Diagnostics)
	if c == nil {
		return
	}
	repo, err := c.ReadRepository(ctx, state.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Repository", fmt.Sprintf("Reading repository %s failed: %s", state.Name.ValueString(), err))
		return
	}
	if repo == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	state.ID, state.ARN, state.RepositoryURL = types.StringValue(repo.Name), types.StringValue(repo.ARN), types.StringValue(repo.URI)
	state.ScanOnPush, state.ImmutableTags = types.BoolValue(repo.ScanOnPush), types.BoolValue(!repo.MutableTags)
	if v := repo.Tags["pivot:service"]; v != "" {
		state.Service = types.StringValue(v)
	}
	// A policy changed out of band reads as the settings it now holds, so
	// the plan writes it again.
	lp, _ := registry.ParseLifecyclePolicy(repo.LifecyclePolicy)
	keep, keepLast, untaggedDays := lp.Settings()
	state.KeepTags = svcSetLike(state.KeepTags, keep)
	state.KeepLast, state.UntaggedDays = types.Int64Value(int64(keepLast)), types.Int64Value(int64(untaggedDays))
	state.PullAccountIDs = svcSetLike(state.PullAccountIDs, repo.PullAccounts)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *serviceRepositoryResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceRepositoryModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The state holds the repository (created or imported): it is ours.
	r.ensure(ctx, &plan, true, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceRepositoryResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceRepositoryModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state, &resp.Diagnostics)
	if c == nil {
		return
	}
	if err := c.DeleteRepository(ctx, state.Name.ValueString(), state.ForceDelete.ValueBool()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Repository", err.Error()+".")
	}
}

func (r *serviceRepositoryResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !ecrRepositoryRe.MatchString(req.ID) {
		resp.Diagnostics.AddError("Unexpected Import Identifier", fmt.Sprintf("Unexpected format of ID (%q), expected the repository name, e.g. pivot/messenger.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_delete"), false)...)
}

func (r *serviceRepositoryResource) ensure(ctx context.Context, m *serviceRepositoryModel, owned bool, diags *diag.Diagnostics) {
	c := r.client(ctx, *m, diags)
	if c == nil {
		return
	}
	spec := registry.RepositorySpec{
		Name: m.Name.ValueString(), Service: m.Service.ValueString(), ScanOnPush: m.ScanOnPush.ValueBool(),
		MutableTags: !m.ImmutableTags.ValueBool(), KeepTags: svcStrings(ctx, m.KeepTags, diags),
		KeepLast: int(m.KeepLast.ValueInt64()), UntaggedDays: int(m.UntaggedDays.ValueInt64()),
		PullAccounts: svcStrings(ctx, m.PullAccountIDs, diags), Tags: svcStringMap(ctx, m.Tags, diags), Owned: owned,
	}
	repo, err := c.EnsureRepository(ctx, spec)
	if err != nil {
		if errors.Is(err, registry.ErrNotOurs) {
			diags.AddAttributeError(path.Root("name"), "Repository Already Exists", err.Error()+".")
			return
		}
		diags.AddError("Unable To Create Or Update Repository", fmt.Sprintf("Repository %s: %s. Apply again; every step is repeated safely.", spec.Name, err))
		return
	}
	m.ID, m.ARN, m.RepositoryURL = types.StringValue(repo.Name), types.StringValue(repo.ARN), types.StringValue(repo.URI)
}

func (r *serviceRepositoryResource) client(ctx context.Context, m serviceRepositoryModel, diags *diag.Diagnostics) *registry.Client {
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The pivot provider was not configured; this is a bug in the provider or in Terraform.")
		return nil
	}
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		diags.AddError("AWS Configuration Failed", err.Error()+". Check the provider's aws block and the resource's target block.")
		return nil
	}
	return registry.New(cfg)
}

type serviceRepositoryModel struct {
	ID             types.String `tfsdk:"id"`
	Name           types.String `tfsdk:"name"`
	Service        types.String `tfsdk:"service"`
	ScanOnPush     types.Bool   `tfsdk:"scan_on_push"`
	ImmutableTags  types.Bool   `tfsdk:"immutable_tags"`
	KeepTags       types.Set    `tfsdk:"keep_tags"`
	KeepLast       types.Int64  `tfsdk:"keep_last"`
	UntaggedDays   types.Int64  `tfsdk:"untagged_days"`
	PullAccountIDs types.Set    `tfsdk:"pull_account_ids"`
	ForceDelete    types.Bool   `tfsdk:"force_delete"`
	Tags           types.Map    `tfsdk:"tags"`
	ARN            types.String `tfsdk:"arn"`
	RepositoryURL  types.String `tfsdk:"repository_url"`
	Target         *targetModel `tfsdk:"target"`
}
