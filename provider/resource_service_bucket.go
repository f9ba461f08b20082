package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/bucket"
)

var (
	_ resource.ResourceWithConfigure      = &serviceBucketResource{}
	_ resource.ResourceWithModifyPlan     = &serviceBucketResource{}
	_ resource.ResourceWithValidateConfig = &serviceBucketResource{}
	_ resource.ResourceWithImportState    = &serviceBucketResource{}
)

func init() { registerResource(NewServiceBucketResource) }

// NewServiceBucketResource returns the pivot_service_bucket resource.
func NewServiceBucketResource() resource.Resource { return &serviceBucketResource{} }

type serviceBucketResource struct {
	data *providerData
}

var (
	bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	roleARNRe    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)
)

// bucketHardeningKey marks, in private state, a bucket whose public access
// block or encryption was turned off out of band: no attribute shows them,
// so the next plan updates the bucket to restore them.
const bucketHardeningKey = "hardening_lost"

func (r *serviceBucketResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_bucket"
}

func (r *serviceBucketResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A service's own S3 bucket: every public access blocked, encrypted at rest (SSE-S3 with a bucket key), " +
			"versioning optional, and a bucket policy that denies every action on the bucket and its objects to every principal " +
			"other than the service's task role and the deployer (by `aws:PrincipalArn`), and any request over plain HTTP. " +
			"Another service's role is refused even if its own IAM policy allows `s3:*`; pre-signed URLs made by the task role " +
			"still work, being the task role's requests. Pass the bucket's name to `pivot_service.s3_bucket` so the task role " +
			"may use it. A bucket of that name that pivot did not create is refused (import it instead); one an interrupted " +
			"apply left is adopted. Public access or encryption turned off out of band is restored by the next apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The bucket name, the import identifier.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Bucket name (global across AWS), 3–63 lowercase letters, digits, hyphens and dots. Changing it replaces the bucket.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators: []validator.String{stringvalidator.LengthBetween(3, 63),
					stringvalidator.RegexMatches(bucketNameRe, "must be lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit")}},
			"environment": schema.StringAttribute{Required: true, MarkdownDescription: "Environment of the service (a tag of the bucket)."},
			"service":     schema.StringAttribute{Required: true, MarkdownDescription: "Name of the service (a tag of the bucket)."},
			"task_role_arn": schema.StringAttribute{Required: true,
				MarkdownDescription: "The service's task role (`pivot_service.task_role_arn`): the one role that may use the bucket.",
				Validators:          []validator.String{stringvalidator.RegexMatches(roleARNRe, "must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/staging-messenger-task")}},
			"deployer_arns": schema.ListAttribute{Optional: true, Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Principals that may manage the bucket besides the task role. Default: the role the provider acts as " +
					"(read at create), so Terraform can still change and destroy the bucket. Whoever is not named here or in `task_role_arn` " +
					"cannot use the bucket at all, administrators included (the account's root user can still delete the policy).",
				PlanModifiers: []planmodifier.List{listplanmodifier.UseStateForUnknown()}},
			"versioning": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Keep every version of every object. Default false. Turning it off suspends versioning (S3 cannot unversion a bucket)."},
			"force_destroy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Delete the bucket's objects (every version) on destroy. Default false: a bucket holding objects is refused and kept."},
			"tags": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Extra tags. `pivot:managed-by`, `pivot:environment` and `pivot:service` are set by the provider."},
			"arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the bucket.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *serviceBucketResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m serviceBucketModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Name.IsUnknown() || m.TaskRoleARN.IsUnknown() {
		return
	}
	for _, p := range m.spec(ctx, &resp.Diagnostics).Validate() {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid Bucket", p+".")
	}
}

func (r *serviceBucketResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	lost, d := req.Private.GetKey(ctx, bucketHardeningKey)
	resp.Diagnostics.Append(d...)
	if len(lost) == 0 {
		return
	}
	resp.Diagnostics.AddAttributeWarning(path.Root("name"), "Bucket Hardening Changed Out Of Band",
		"The bucket's public access block or default encryption was turned off outside Terraform; this apply restores it.")
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("arn"), types.StringUnknown())...)
}

func (r *serviceBucketResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceBucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceBucketModel
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

func (r *serviceBucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceBucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state, &resp.Diagnostics)
	if c == nil {
		return
	}
	st, err := c.Read(ctx, state.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Bucket", fmt.Sprintf("Reading bucket %s failed: %s", state.Name.ValueString(), err))
		return
	}
	if st == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	state.ID, state.ARN = types.StringValue(st.Name), types.StringValue(st.ARN)
	state.Versioning = types.BoolValue(st.Versioning)
	if v := st.Tags["pivot:environment"]; v != "" {
		state.Environment = types.StringValue(v)
	}
	if v := st.Tags["pivot:service"]; v != "" {
		state.Service = types.StringValue(v)
	}
	// The policy's spared principals: the task role first, then the
	// deployers (a removed policy reads as no task role, which plans an
	// update that writes it again).
	state.TaskRoleARN = types.StringValue("")
	deployers := []string{}
	if len(st.Allowed) > 0 {
		state.TaskRoleARN = types.StringValue(st.Allowed[0])
		deployers = st.Allowed[1:]
	}
	list, d := types.ListValueFrom(ctx, types.StringType, deployers)
	resp.Diagnostics.Append(d...)
	state.DeployerARNs = list
	var lost []byte
	if !st.PublicAccessBlocked || !st.Encrypted {
		lost = []byte(`true`)
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, bucketHardeningKey, lost)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *serviceBucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan serviceBucketModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// The state holds the bucket (created or imported): it is ours.
	r.ensure(ctx, &plan, true, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, bucketHardeningKey, nil)...)
}

func (r *serviceBucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceBucketModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state, &resp.Diagnostics)
	if c == nil {
		return
	}
	if err := c.Delete(ctx, state.Name.ValueString(), state.ForceDestroy.ValueBool()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Bucket", err.Error()+".")
	}
}

func (r *serviceBucketResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !bucketNameRe.MatchString(req.ID) {
		resp.Diagnostics.AddError("Unexpected Import Identifier", fmt.Sprintf("Unexpected format of ID (%q), expected the bucket name, e.g. staging-messenger-files.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_destroy"), false)...)
}

// ensure creates or converges the bucket and fills the computed values.
func (r *serviceBucketResource) ensure(ctx context.Context, m *serviceBucketModel, owned bool, diags *diag.Diagnostics) {
	c := r.client(ctx, *m, diags)
	if c == nil {
		return
	}
	if m.DeployerARNs.IsUnknown() || m.DeployerARNs.IsNull() {
		cfg, err := r.data.AWS(ctx, m.Target.target())
		if err != nil {
			diags.AddError("AWS Configuration Failed", err.Error())
			return
		}
		arn, err := bucket.DeployerARN(ctx, cfg)
		if err != nil {
			diags.AddAttributeError(path.Root("deployer_arns"), "Unable To Find The Deployer",
				fmt.Sprintf("%s. Set deployer_arns to the role Terraform runs as.", err))
			return
		}
		list, d := types.ListValueFrom(ctx, types.StringType, []string{arn})
		diags.Append(d...)
		m.DeployerARNs = list
	}
	spec := m.spec(ctx, diags)
	spec.Owned = owned
	st, err := c.Ensure(ctx, spec)
	if err != nil {
		if errors.Is(err, bucket.ErrNotOurs) {
			diags.AddAttributeError(path.Root("name"), "Bucket Already Exists", err.Error()+".")
			return
		}
		diags.AddError("Unable To Create Or Update Bucket", fmt.Sprintf("Bucket %s: %s. Apply again; every step is repeated safely.", spec.Name, err))
		return
	}
	m.ID, m.ARN = types.StringValue(st.Name), types.StringValue(st.ARN)
}

func (r *serviceBucketResource) client(ctx context.Context, m serviceBucketModel, diags *diag.Diagnostics) *bucket.Client {
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The pivot provider was not configured; this is a bug in the provider or in Terraform.")
		return nil
	}
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		diags.AddError("AWS Configuration Failed", err.Error()+". Check the provider's aws block and the resource's target block.")
		return nil
	}
	return bucket.New(cfg)
}

type serviceBucketModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Environment  types.String `tfsdk:"environment"`
	Service      types.String `tfsdk:"service"`
	TaskRoleARN  types.String `tfsdk:"task_role_arn"`
	DeployerARNs types.List   `tfsdk:"deployer_arns"`
	Versioning   types.Bool   `tfsdk:"versioning"`
	ForceDestroy types.Bool   `tfsdk:"force_destroy"`
	Tags         types.Map    `tfsdk:"tags"`
	ARN          types.String `tfsdk:"arn"`
	Target       *targetModel `tfsdk:"target"`
}

func (m serviceBucketModel) spec(ctx context.Context, diags *diag.Diagnostics) bucket.Spec {
	return bucket.Spec{
		Name: m.Name.ValueString(), Environment: m.Environment.ValueString(), Service: m.Service.ValueString(),
		TaskRoleARN: m.TaskRoleARN.ValueString(), Deployers: svcStrings(ctx, m.DeployerARNs, diags),
		Versioning: m.Versioning.ValueBool(), Tags: svcStringMap(ctx, m.Tags, diags),
	}
}
