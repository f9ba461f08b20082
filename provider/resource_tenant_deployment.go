package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/environment"
	"github.com/pivotapp/platform/internal/release"
	"github.com/pivotapp/platform/internal/tenant"
)

var (
	_ resource.ResourceWithConfigure      = &tenantDeploymentResource{}
	_ resource.ResourceWithImportState    = &tenantDeploymentResource{}
	_ resource.ResourceWithValidateConfig = &tenantDeploymentResource{}
	_ resource.ResourceWithModifyPlan     = &tenantDeploymentResource{}
)

func init() { registerResource(NewTenantDeploymentResource) }

// NewTenantDeploymentResource returns the pivot_tenant_deployment resource.
func NewTenantDeploymentResource() resource.Resource { return &tenantDeploymentResource{} }

type tenantDeploymentResource struct {
	data *providerData
}

var tenantNameRe = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`)

func (r *tenantDeploymentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant_deployment"
}

func (r *tenantDeploymentResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		DeprecationMessage: "Deploy tenants with modules/environment and modules/service acting in the tenant's account " +
			"(their `target`; envs/tenants/tenant), which give a tenant what production has: its own VPC, Aurora with a " +
			"database per service, NATS streams and consumers, public endpoints. This resource's smaller service schema " +
			"remains so existing states can move: a `removed` block with `destroy = false` leaves them without destroying anything.",
		MarkdownDescription: "**Deprecated**: envs/tenants deploys each tenant with modules/environment and modules/service and their " +
			"`target` (see envs/tenants/README.md).\n\n" +
			"A single-tenant private deployment: the whole stack (an environment and every service at a " +
			"release) inside the tenant's own AWS account, reached by assuming `role_arn`. Because the account is an " +
			"attribute and not provider configuration, tenants are data: `for_each` over a tenants map, and adding a " +
			"tenant is one entry.\n\nEvery setting of every service converges, not only its tag: a change of env, secrets, size, " +
			"ports, count or health check is deployed, and a change made out of band in the tenant's account shows in the next " +
			"plan. Plans check, in the tenant's account, that every secret parameter exists (and, with `required_env` or " +
			"`env_schema_json`, that every variable a service needs is set), on create as on update, so a tenant that cannot " +
			"start is refused before anything is created.\n\nA failing service does not stop the others: state records what each " +
			"service actually runs, so the next plan retries exactly what failed. Destroying requires `deletion_protection = false`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Tenant name, a DNS label; also the environment's name in the tenant's account.",
				Validators:    []validator.String{stringvalidator.RegexMatches(tenantNameRe, "must be 1-32 lowercase letters, digits and hyphens, starting with a letter")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"role_arn": schema.StringAttribute{Required: true, MarkdownDescription: "Role in the tenant's account to deploy through.",
				Validators:    []validator.String{roleARNValidator{}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"external_id": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "External ID the tenant's role trust policy requires."},
			"region": schema.StringAttribute{Optional: true, MarkdownDescription: "Region of the deployment; defaults to the provider's.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"deletion_protection": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "While true (the default), destroying the deployment fails. Set it to false and apply before removing a tenant."},
			"managed_nats": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Run NATS JetStream inside the tenant's account (default), so the deployment is self-contained."},
			"services": schema.MapNestedAttribute{Required: true,
				MarkdownDescription: "Every service of the stack, by name. Image tags come from `images`.",
				Validators:          []validator.Map{mapvalidator.SizeAtLeast(1), mapvalidator.KeysAre(stringvalidator.RegexMatches(serviceNameRe, "must be a service name"))},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"image_repository": schema.StringAttribute{Required: true, MarkdownDescription: "Image repository, without tag."},
					"cpu":              schema.Int64Attribute{Required: true, MarkdownDescription: "Task CPU units."},
					"memory":           schema.Int64Attribute{Required: true, MarkdownDescription: "Task memory (MiB)."},
					"desired_count": schema.Int64Attribute{Optional: true, MarkdownDescription: "Tasks to run. Default 1.",
						Validators: []validator.Int64{int64validator.AtLeast(0)}},
					"ports": schema.ListNestedAttribute{Optional: true, MarkdownDescription: "Named ports published through Service Connect.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"name":           schema.StringAttribute{Required: true, MarkdownDescription: "Port name."},
							"container_port": schema.Int64Attribute{Required: true, MarkdownDescription: "Container port."},
							"protocol": schema.StringAttribute{Optional: true, MarkdownDescription: "grpc (default), http or http2.",
								Validators: []validator.String{stringvalidator.OneOf(ecsdeploy.PortProtocols...)}},
						}}},
					"env":               schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Plain environment variables."},
					"secrets":           schema.SetAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "SecureString parameters under /<tenant>/<service>/ injected as variables."},
					"health_check_path": schema.StringAttribute{Optional: true, MarkdownDescription: "Path of the HTTP health check on the first port. Default `/health`."},
					"health_check_command": schema.ListAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Container health check command, e.g. `[\"CMD\", \"/app\", \"--health-check\"]` for images without curl. Overrides the HTTP check."},
					"required_env": schema.SetAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Variables the service needs. The plan fails when one comes from none of `env`, `secrets` or the platform's injected variables."},
					"env_schema_json": schema.StringAttribute{Optional: true,
						MarkdownDescription: "The service binary's env contract, the output of `<binary> --print-env-schema`. Required variables are checked like `required_env`; a variable marked secret but set in `env` is a warning."},
				}},
			},
			"images": schema.MapAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "The release: image tag per service, usually `data.pivot_release.prod.images`. The plan shows each service whose tag changes.",
				Validators:          []validator.Map{mapvalidator.ValueStringsAre(stringvalidator.RegexMatches(imageTagRe, "must be a valid image tag"))}},
			"account_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant's AWS account, as STS reports it after assuming the role.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"cluster_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant environment's ECS cluster.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"deployed": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The tag each service actually runs, after the last apply."},
		},
	}
}

func (r *tenantDeploymentResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m tenantDeploymentModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Services.IsUnknown() || m.Images.IsUnknown() || m.Services.IsNull() || m.Images.IsNull() {
		return
	}
	tenantName := "this tenant"
	if known(m.Name) {
		tenantName = "tenant " + m.Name.ValueString()
	}
	images := map[string]bool{}
	for k := range m.Images.Elements() {
		images[k] = true
	}
	for name := range m.Services.Elements() {
		if !images[name] {
			resp.Diagnostics.AddAttributeError(path.Root("images"), "Service Missing From Release",
				fmt.Sprintf("Service %q is deployed to %s but has no tag in images. Add it to the release (staging must verify it first) or remove the service.", name, tenantName))
		}
	}
	for name := range images {
		if _, ok := m.Services.Elements()[name]; !ok {
			resp.Diagnostics.AddAttributeError(path.Root("images"), "Unknown Service In Release",
				fmt.Sprintf("The release names %q, which is not among the services of %s. Remove it from images or add the service.", name, tenantName))
		}
	}
	// Each service must be deployable: the same rules pivot_service checks,
	// applied now rather than when the tenant's tasks fail to start.
	var services map[string]tenantServiceModel
	if d := m.Services.ElementsAs(ctx, &services, false); d.HasError() {
		return
	}
	contracts := tenant.Spec{Environment: environment.Spec{Name: m.Name.ValueString()}, Images: tenantStringMap(m.Images)}
	for name, s := range services {
		if s.ImageRepository.IsUnknown() || s.CPU.IsUnknown() || s.Memory.IsUnknown() {
			continue
		}
		svc, err := tenantService(name, s)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("services").AtMapKey(name).AtName("env_schema_json"), "Invalid Env Schema",
				fmt.Sprintf("Service %s: %s. Paste the output of `<binary> --print-env-schema`, e.g. with file().", name, err))
			continue
		}
		if !s.EnvSchemaJSON.IsUnknown() {
			contracts.Services = append(contracts.Services, svc)
		}
		spec := ecsdeploy.Spec{Name: name, Environment: "validate", Cluster: "validate", Namespace: "validate",
			Image: ecsdeploy.Image{Repository: svc.ImageRepository, Tag: "validate"}, CPU: svc.CPU, Memory: svc.Memory,
			Ports: svc.Ports, DesiredCount: svc.DesiredCount, Env: svc.Env, Secrets: svc.Secrets, HealthCheck: svc.HealthCheck,
			// The environment decides placement; a stand-in keeps its rules out of this check.
			Network: ecsdeploy.Network{Subnets: []string{"subnet-00000000"}}}
		for _, fe := range spec.WithDefaults().Validate() {
			if fe.Warning {
				continue
			}
			resp.Diagnostics.AddAttributeError(path.Root("services").AtMapKey(name), "Invalid Service In Tenant Deployment",
				fmt.Sprintf("Service %s: %s", name, fe.Error()))
		}
	}
	if known(m.Name) {
		addTenantProblems(&resp.Diagnostics, m.Name.ValueString(), tenant.CheckContracts(contracts))
	}
}

// ModifyPlan checks, in the tenant's account, what the services depend on,
// on create as on update: a missing secret would otherwise surface only
// after the whole environment was created and the resource tainted. It
// also spells out, per tenant, which services change version (the map diff
// shows it too, but a one-line summary reads better across twenty tenants).
func (r *tenantDeploymentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// Plan does not need to be modified when the resource is being destroyed.
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan tenantDeploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	creating := req.State.Raw.IsNull()
	if !creating {
		var state tenantDeploymentModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		summariseVersions(ctx, plan, state, &resp.Diagnostics)
		unmanaged, d := req.Private.GetKey(ctx, tenantUnmanagedKey)
		resp.Diagnostics.Append(d...)
		if len(unmanaged) > 0 {
			// Refresh found settings no attribute shows (a revision set by
			// hand, say): an apply must deploy over them.
			plan.Deployed = types.MapUnknown(types.StringType)
			resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		}
	}
	// The checks need the API and a known configuration; without them the
	// plan carries on and apply checks instead.
	if resp.Diagnostics.HasError() || r.data == nil || !known(plan.Name) || !known(plan.RoleARN) ||
		plan.Region.IsUnknown() || plan.ExternalID.IsUnknown() || !svcFullyKnown(plan.Services) || !svcFullyKnown(plan.Images) {
		return
	}
	name := plan.Name.ValueString()
	cfg, err := r.data.AWS(ctx, plan.target())
	if err != nil {
		// One tenant's broken role must not stop the plan of every other
		// tenant; its apply fails on its own.
		resp.Diagnostics.AddWarning("Tenant "+name+" Not Checked",
			fmt.Sprintf("Could not assume %s: %v. The secrets of tenant %s are checked when it is applied.", plan.RoleARN.ValueString(), err, name))
		return
	}
	spec, d := plan.spec(ctx)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	problems, err := tenant.Check(ctx, cfg, spec, !creating)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Check Tenant "+name, fmt.Sprintf("Checking the secrets of tenant %s failed: %s", name, err))
		return
	}
	addTenantProblems(&resp.Diagnostics, name, problems)
}

func summariseVersions(ctx context.Context, plan, state tenantDeploymentModel, diags *diag.Diagnostics) {
	if plan.Images.IsUnknown() {
		return
	}
	changes := release.Diff(tenantStringMap(state.Deployed), tenantStringMap(plan.Images))
	if len(changes) == 0 {
		return
	}
	var parts []string
	for _, c := range changes {
		switch {
		case c.From == "":
			parts = append(parts, fmt.Sprintf("%s: new at %s", c.Service, c.To))
		case c.To == "":
			parts = append(parts, fmt.Sprintf("%s: removed (was %s)", c.Service, c.From))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s -> %s", c.Service, c.From, c.To))
		}
	}
	tflog.Info(ctx, "tenant release changes", map[string]any{"tenant": plan.Name.ValueString(), "changes": parts})
	diags.AddWarning("Tenant "+plan.Name.ValueString()+" Changes Version",
		fmt.Sprintf("Tenant %s: %s.", plan.Name.ValueString(), strings.Join(parts, "; ")))
}

// addTenantProblems reports each problem on the service attribute it is
// about.
func addTenantProblems(diags *diag.Diagnostics, name string, problems []tenant.Problem) {
	for _, p := range problems {
		at := path.Root("services").AtMapKey(p.Service)
		switch p.Field {
		case "secrets", "env", "required_env", "env_schema_json":
			at = at.AtName(p.Field)
		}
		detail := fmt.Sprintf("Tenant %s: %s", name, p.Detail)
		if p.Warning {
			diags.AddAttributeWarning(at, p.Summary, detail)
		} else {
			diags.AddAttributeError(at, p.Summary, detail)
		}
	}
}

func (r *tenantDeploymentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *tenantDeploymentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tenantDeploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	records := r.apply(ctx, &plan, nil, nil, &resp.Diagnostics)
	if plan.ID.IsUnknown() {
		return // nothing was created
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setTenantRecords(ctx, resp.Private, records)...)
}

func (r *tenantDeploymentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tenantDeploymentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, state.target())
	if err != nil {
		// One tenant's broken role must not stop the plan of every other
		// tenant: keep what is known and say so.
		resp.Diagnostics.AddWarning("Tenant "+state.Name.ValueString()+" Not Refreshed",
			fmt.Sprintf("Could not assume %s: %v. The plan uses the last known state of this tenant.", state.RoleARN.ValueString(), err))
		return
	}
	records, d := tenantRecords(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	prior, d := state.prior(ctx, records)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := tenant.Read(ctx, cfg, state.Name.ValueString(), prior)
	if errors.Is(err, tenant.ErrGone) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Tenant Deployment", err.Error())
		return
	}
	state.ClusterARN = types.StringValue(obs.ClusterARN)
	deployed, diags := types.MapValueFrom(ctx, types.StringType, obs.Tags)
	resp.Diagnostics.Append(diags...)
	state.Deployed = deployed
	// What runs is what this tenant is at: a service changed, rolled back or
	// deleted out of band shows as a change of services or images in the
	// next plan.
	state.Services, diags = tenantServicesLike(ctx, state.Services, obs.Services)
	resp.Diagnostics.Append(diags...)
	if !state.Images.IsNull() {
		images := tenantStringMap(state.Images)
		for n := range images {
			if tag, ok := obs.Tags[n]; ok {
				images[n] = tag
			} else {
				delete(images, n)
			}
		}
		state.Images, diags = types.MapValueFrom(ctx, types.StringType, images)
		resp.Diagnostics.Append(diags...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	resp.Diagnostics.Append(setTenantRecords(ctx, resp.Private, obs.Records)...)
	var unmanaged []byte
	if len(obs.Unmanaged) > 0 {
		unmanaged, _ = json.Marshal(slices.Sorted(maps.Keys(obs.Unmanaged)))
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, tenantUnmanagedKey, unmanaged)...)
}

func (r *tenantDeploymentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state tenantDeploymentModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	records, d := tenantRecords(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	plan.ID, plan.AccountID, plan.ClusterARN = state.ID, state.AccountID, state.ClusterARN
	records = r.apply(ctx, &plan, &state, records, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(setTenantRecords(ctx, resp.Private, records)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, tenantUnmanagedKey, nil)...)
}

func (r *tenantDeploymentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tenantDeploymentModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.DeletionProtection.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("deletion_protection"), "Deletion Protection Enabled",
			fmt.Sprintf("Tenant %s is protected. To remove it, set deletion_protection = false for it, apply, and then remove it.", state.Name.ValueString()))
		return
	}
	cfg, err := r.data.AWS(ctx, state.target())
	if err != nil {
		resp.Diagnostics.AddError("Unable To Reach Tenant Account", fmt.Sprintf("Could not assume %s: %v.", state.RoleARN.ValueString(), err))
		return
	}
	spec := tenant.Spec{Tenant: state.Name.ValueString(), Environment: environment.Spec{Name: state.Name.ValueString()}}
	for n := range state.Services.Elements() {
		spec.Services = append(spec.Services, tenant.Service{Name: n})
	}
	if err := tenant.Destroy(ctx, cfg, spec, tenantProgress(ctx)); err != nil {
		resp.Diagnostics.AddError("Unable To Destroy Tenant Deployment", err.Error())
	}
}

func (r *tenantDeploymentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name, role, ok := strings.Cut(req.ID, ",")
	if !ok || !tenantNameRe.MatchString(name) || awsx.ValidateRoleARN(role) != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected <tenant>,<role_arn> (e.g. acme,arn:aws:iam::222222222222:role/pivot-deployer), got %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("role_arn"), role)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("deletion_protection"), true)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("managed_nats"), true)...)
}

// apply deploys the plan over state (nil on create) and records what
// actually runs in m, adding one error per failed service. It returns the
// records of the services known to run what m says.
func (r *tenantDeploymentResource) apply(ctx context.Context, m, state *tenantDeploymentModel, records map[string]tenant.Record, diags *diag.Diagnostics) map[string]tenant.Record {
	name := m.Name.ValueString()
	cfg, err := r.data.AWS(ctx, m.target())
	if err != nil {
		diags.AddAttributeError(path.Root("role_arn"), "Unable To Reach Tenant Account",
			fmt.Sprintf("Tenant %s: could not assume %s: %v. Check that the role exists in the tenant's account and trusts the platform's deployer with the right external_id. Other tenants are not affected.", name, m.RoleARN.ValueString(), err))
		return records
	}
	id, err := r.data.aws.CallerIdentity(ctx, m.target())
	if err != nil {
		diags.AddAttributeError(path.Root("role_arn"), "Unable To Reach Tenant Account", fmt.Sprintf("Tenant %s: %v.", name, err))
		return records
	}
	if want := awsx.AccountOfRoleARN(m.RoleARN.ValueString()); id.AccountID != want {
		diags.AddAttributeError(path.Root("role_arn"), "Wrong Tenant Account",
			fmt.Sprintf("Tenant %s: assuming %s acts in account %s, not %s.", name, m.RoleARN.ValueString(), id.AccountID, want))
		return records
	}
	spec, d := m.spec(ctx)
	diags.Append(d...)
	var prior tenant.Prior
	if state != nil {
		prior, d = state.prior(ctx, records)
		diags.Append(d...)
	}
	if diags.HasError() {
		return records
	}
	res, err := tenant.Apply(ctx, cfg, spec, prior, tenantProgress(ctx))
	if res.Environment.ClusterARN == "" && err != nil {
		diags.AddError("Unable To Deploy Tenant "+name, err.Error())
		return records
	}
	m.ID = types.StringValue(name)
	m.AccountID = types.StringValue(id.AccountID)
	m.ClusterARN = types.StringValue(res.Environment.ClusterARN)
	deployed, d := types.MapValueFrom(ctx, types.StringType, res.Deployed)
	diags.Append(d...)
	m.Deployed = deployed
	// Record the release and the services as far as they got, so the next
	// plan retries only what failed.
	actual := tenantStringMap(m.Images)
	for svc := range res.Failed {
		if tag, ok := res.Deployed[svc]; ok {
			actual[svc] = tag
		} else {
			delete(actual, svc)
		}
	}
	m.Images, d = types.MapValueFrom(ctx, types.StringType, actual)
	diags.Append(d...)
	if len(res.Failed) > 0 {
		var planned, before map[string]tenantServiceModel
		diags.Append(m.Services.ElementsAs(ctx, &planned, false)...)
		if state != nil && !state.Services.IsNull() {
			diags.Append(state.Services.ElementsAs(ctx, &before, false)...)
		}
		for svc := range res.Failed {
			if b, ok := before[svc]; ok {
				planned[svc] = b
			} else {
				delete(planned, svc)
			}
		}
		m.Services, d = types.MapValueFrom(ctx, tenantServiceType(), planned)
		diags.Append(d...)
	}
	names := make([]string, 0, len(res.Failed))
	for n := range res.Failed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		diags.AddAttributeError(path.Root("images").AtMapKey(n), "Service Deployment Failed",
			fmt.Sprintf("Tenant %s, service %s: %v. The other services were deployed; apply again to retry.", name, n, res.Failed[n]))
	}
	return res.Records
}

type tenantDeploymentModel struct {
	ID                 types.String `tfsdk:"id"`
	Name               types.String `tfsdk:"name"`
	RoleARN            types.String `tfsdk:"role_arn"`
	ExternalID         types.String `tfsdk:"external_id"`
	Region             types.String `tfsdk:"region"`
	DeletionProtection types.Bool   `tfsdk:"deletion_protection"`
	ManagedNATS        types.Bool   `tfsdk:"managed_nats"`
	Services           types.Map    `tfsdk:"services"`
	Images             types.Map    `tfsdk:"images"`
	AccountID          types.String `tfsdk:"account_id"`
	ClusterARN         types.String `tfsdk:"cluster_arn"`
	Deployed           types.Map    `tfsdk:"deployed"`
}

type tenantServiceModel struct {
	ImageRepository types.String      `tfsdk:"image_repository"`
	CPU             types.Int64       `tfsdk:"cpu"`
	Memory          types.Int64       `tfsdk:"memory"`
	DesiredCount    types.Int64       `tfsdk:"desired_count"`
	Ports           []tenantPortModel `tfsdk:"ports"`
	Env             map[string]string `tfsdk:"env"`
	Secrets         []string          `tfsdk:"secrets"`
	HealthCheckPath types.String      `tfsdk:"health_check_path"`
	HealthCheckCmd  []string          `tfsdk:"health_check_command"`
	RequiredEnv     []string          `tfsdk:"required_env"`
	EnvSchemaJSON   types.String      `tfsdk:"env_schema_json"`
}

type tenantPortModel struct {
	Name          types.String `tfsdk:"name"`
	ContainerPort types.Int64  `tfsdk:"container_port"`
	Protocol      types.String `tfsdk:"protocol"`
}

func (m *tenantDeploymentModel) target() awsx.Target {
	return awsx.Target{RoleARN: m.RoleARN.ValueString(), ExternalID: m.ExternalID.ValueString(), Region: m.Region.ValueString()}
}

func (m *tenantDeploymentModel) spec(ctx context.Context) (tenant.Spec, diag.Diagnostics) {
	var services map[string]tenantServiceModel
	diags := m.Services.ElementsAs(ctx, &services, false)
	name := m.Name.ValueString()
	spec := tenant.Spec{
		Tenant:      name,
		Environment: environment.Spec{Name: name, NATS: environment.NATS{Managed: m.ManagedNATS.ValueBool()}},
		Images:      tenantStringMap(m.Images),
	}
	for _, n := range slices.Sorted(maps.Keys(services)) {
		svc, err := tenantService(n, services[n])
		if err != nil {
			diags.AddAttributeError(path.Root("services").AtMapKey(n).AtName("env_schema_json"), "Invalid Env Schema", fmt.Sprintf("Service %s: %s.", n, err))
		}
		spec.Services = append(spec.Services, svc)
	}
	return spec, diags
}

// prior is what the state says the tenant runs.
func (m *tenantDeploymentModel) prior(ctx context.Context, records map[string]tenant.Record) (tenant.Prior, diag.Diagnostics) {
	p := tenant.Prior{Services: map[string]tenant.Service{}, Tags: tenantStringMap(m.Deployed), Records: records}
	var diags diag.Diagnostics
	if m.Services.IsNull() || m.Services.IsUnknown() {
		return p, diags
	}
	var services map[string]tenantServiceModel
	diags.Append(m.Services.ElementsAs(ctx, &services, false)...)
	for n, s := range services {
		// A contract already in state was valid when it was applied.
		svc, _ := tenantService(n, s)
		p.Services[n] = svc
	}
	return p, diags
}

func tenantService(name string, s tenantServiceModel) (tenant.Service, error) {
	svc := tenant.Service{
		Name: name, ImageRepository: s.ImageRepository.ValueString(), CPU: int(s.CPU.ValueInt64()), Memory: int(s.Memory.ValueInt64()),
		DesiredCount: 1, Env: s.Env, Secrets: s.Secrets,
	}
	if !s.DesiredCount.IsNull() {
		svc.DesiredCount = int(s.DesiredCount.ValueInt64())
	}
	for _, p := range s.Ports {
		svc.Ports = append(svc.Ports, ecsdeploy.Port{Name: p.Name.ValueString(), ContainerPort: int(p.ContainerPort.ValueInt64()), Protocol: p.Protocol.ValueString()})
	}
	if !s.HealthCheckPath.IsNull() {
		svc.HealthCheck.Path = s.HealthCheckPath.ValueString()
	}
	svc.HealthCheck.Command = s.HealthCheckCmd
	svc.Contract.Required = s.RequiredEnv
	if js := s.EnvSchemaJSON.ValueString(); js != "" {
		vars, err := ecsdeploy.ParseEnvSchema(js)
		if err != nil {
			return svc, err
		}
		svc.Contract.Schema = vars
	}
	return svc, nil
}

// tenantServicesLike is the services attribute for what runs, in prior's
// shape: a value left unset stays null while what runs is its default.
// The env contract exists only in configuration and is kept.
func tenantServicesLike(ctx context.Context, prior types.Map, running map[string]tenant.Service) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	before := map[string]tenantServiceModel{}
	if !prior.IsNull() && !prior.IsUnknown() {
		diags.Append(prior.ElementsAs(ctx, &before, false)...)
	}
	out := make(map[string]tenantServiceModel, len(running))
	for name, svc := range running {
		p, had := before[name]
		m := tenantServiceModel{
			ImageRepository: types.StringValue(svc.ImageRepository),
			CPU:             types.Int64Value(int64(svc.CPU)),
			Memory:          types.Int64Value(int64(svc.Memory)),
			DesiredCount:    types.Int64Value(int64(svc.DesiredCount)),
			Env:             svc.Env,
			Secrets:         svc.Secrets,
			HealthCheckPath: types.StringValue(svc.HealthCheck.Path),
			HealthCheckCmd:  svc.HealthCheck.Command,
			RequiredEnv:     p.RequiredEnv,
			EnvSchemaJSON:   p.EnvSchemaJSON,
		}
		if !had {
			m.EnvSchemaJSON = types.StringNull()
		}
		if p.DesiredCount.IsNull() && svc.DesiredCount == 1 {
			m.DesiredCount = types.Int64Null()
		}
		if p.HealthCheckPath.IsNull() && (svc.HealthCheck.Path == "" || svc.HealthCheck.Path == ecsdeploy.DefaultHealthPath) {
			m.HealthCheckPath = types.StringNull()
		}
		if len(m.Env) == 0 {
			m.Env = p.Env
			if len(p.Env) > 0 {
				m.Env = nil
			}
		}
		if len(m.Secrets) == 0 {
			m.Secrets = p.Secrets
			if len(p.Secrets) > 0 {
				m.Secrets = nil
			}
		}
		if len(m.HealthCheckCmd) == 0 && len(p.HealthCheckCmd) == 0 {
			m.HealthCheckCmd = p.HealthCheckCmd
		}
		for _, port := range svc.Ports {
			pm := tenantPortModel{Name: types.StringValue(port.Name), ContainerPort: types.Int64Value(int64(port.ContainerPort)), Protocol: types.StringValue(port.Protocol)}
			for _, pp := range p.Ports {
				if pp.Name.ValueString() == port.Name && pp.Protocol.IsNull() && (port.Protocol == "" || port.Protocol == ecsdeploy.DefaultPortProtocol) {
					pm.Protocol = types.StringNull()
				}
			}
			m.Ports = append(m.Ports, pm)
		}
		if len(m.Ports) == 0 && p.Ports != nil {
			m.Ports = []tenantPortModel{}
		}
		out[name] = m
	}
	v, d := types.MapValueFrom(ctx, tenantServiceType(), out)
	diags.Append(d...)
	return v, diags
}

// tenantServiceType is the element type of the services attribute.
func tenantServiceType() attr.Type {
	var resp resource.SchemaResponse
	(&tenantDeploymentResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	return resp.Schema.Attributes["services"].GetType().(types.MapType).ElemType
}

// Private state: each service's revision and roles, and the services a
// refresh found running settings no attribute shows.
const (
	tenantRecordsKey   = "records"
	tenantUnmanagedKey = "unmanaged"
)

type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateStateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func tenantRecords(ctx context.Context, p privateState) (map[string]tenant.Record, diag.Diagnostics) {
	raw, diags := p.GetKey(ctx, tenantRecordsKey)
	records := map[string]tenant.Record{}
	if len(raw) > 0 {
		// Unreadable records only cost a revision fetch per service.
		_ = json.Unmarshal(raw, &records)
	}
	return records, diags
}

func setTenantRecords(ctx context.Context, p privateStateSetter, records map[string]tenant.Record) diag.Diagnostics {
	if p == nil {
		return nil
	}
	raw, err := json.Marshal(records)
	if err != nil {
		return nil
	}
	return p.SetKey(ctx, tenantRecordsKey, raw)
}

func tenantProgress(ctx context.Context) tenant.Progress {
	return func(msg string, keyvals ...any) {
		fields := map[string]any{}
		for i := 0; i+1 < len(keyvals); i += 2 {
			fields[fmt.Sprint(keyvals[i])] = keyvals[i+1]
		}
		tflog.Info(ctx, msg, fields)
	}
}

func tenantStringMap(m types.Map) map[string]string {
	out := map[string]string{}
	if m.IsNull() || m.IsUnknown() {
		return out
	}
	for k, v := range m.Elements() {
		if s, ok := v.(types.String); ok && !s.IsUnknown() {
			out[k] = s.ValueString()
		}
	}
	return out
}
