package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/environment"
	"github.com/pivotapp/platform/internal/pgdb"
)

var (
	_ resource.ResourceWithConfigure   = &serviceDatabaseResource{}
	_ resource.ResourceWithModifyPlan  = &serviceDatabaseResource{}
	_ resource.ResourceWithImportState = &serviceDatabaseResource{}
)

func init() { registerResource(NewServiceDatabaseResource) }

// NewServiceDatabaseResource returns the pivot_service_database resource.
func NewServiceDatabaseResource() resource.Resource { return &serviceDatabaseResource{} }

type serviceDatabaseResource struct {
	data *providerData
}

// serviceNameCheck checks a service name, which is a DNS label (Service Connect,
// public hostnames) and a path segment (Parameter Store).
var serviceNameCheck = stringCheck{summary: "Invalid Service Name", desc: "a lowercase DNS label", check: func(s string) error {
	if !regexp.MustCompile(`^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`).MatchString(s) {
		return fmt.Errorf("%q must be lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (at most 63)", s)
	}
	return nil
}}

func (r *serviceDatabaseResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service_database"
}

func (r *serviceDatabaseResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	derived := func(what string) planmodifier.String {
		return derivedName{desc: "defaults to <environment>_<service> (" + what + ")"}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One service's own PostgreSQL database on the environment's cluster: a login role that owns " +
			"the database, with CONNECT revoked from PUBLIC (and from any other role), so no other service's role can " +
			"reach it. The writer and reader connection URLs are stored as SecureString parameters at " +
			"`/<environment>/<service>/DATABASE_URL` and `DATABASE_READER_URL`, which `pivot_service` injects as secrets.\n\n" +
			"The password is generated here, set on the role as a SCRAM verifier (so it is not in server logs either) and " +
			"written only to those parameters: plans and state hold a fingerprint (`password_version`), never the " +
			"password. Change `rotation_trigger` to rotate it in place; running tasks keep their open connections and pick " +
			"up the new URL when they next start.\n\n" +
			"The provider connects with the `postgres` block's `admin_url` (the cluster's master user, which on Aurora has " +
			"CREATEROLE and CREATEDB but is not a superuser; the local stack's admin is the same), or this resource's own `admin_url`. Refresh checks the database, its owner and its privileges: " +
			"a grant made out of band plans an in-place update that revokes it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<environment>/<service>`.", PlanModifiers: stable},
			"environment": schema.StringAttribute{Required: true, MarkdownDescription: "Environment name (the parameter root `/<environment>/`).",
				Validators:    []validator.String{stringCheck{summary: "Invalid Environment Name", desc: "an environment name", check: environment.ValidateName}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"service": schema.StringAttribute{Required: true, MarkdownDescription: "Service name (the parameter folder `/<environment>/<service>/`).",
				Validators:    []validator.String{serviceNameCheck},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"database_name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Database name. Default `<environment>_<service>` with hyphens as underscores, so environments may share a cluster. A change renames the database in place (PostgreSQL refuses while sessions are open).",
				Validators:          []validator.String{stringCheck{summary: "Invalid Database Name", desc: "a PostgreSQL identifier", check: pgdb.ValidateIdentifier}},
				PlanModifiers:       []planmodifier.String{derived("database")}},
			"role_name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Login role that owns the database. Default: as `database_name`. A change renames the role in place and rotates its password.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Role Name", desc: "a PostgreSQL identifier", check: pgdb.ValidateIdentifier}},
				PlanModifiers:       []planmodifier.String{derived("role")}},
			"writer_endpoint": schema.StringAttribute{Required: true,
				MarkdownDescription: "Writer `host:port` services connect to, e.g. `pivot_aurora_cluster.this.writer_endpoint`.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Endpoint", desc: "host:port", check: pgdb.ValidateEndpoint}}},
			"reader_endpoint": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Reader `host:port`. Default: `writer_endpoint`.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Endpoint", desc: "host:port", check: pgdb.ValidateEndpoint}},
				PlanModifiers:       []planmodifier.String{stringDefaultFrom{from: path.Root("writer_endpoint"), derive: func(s string) string { return s }, desc: "defaults to writer_endpoint"}}},
			"ssl_mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("require"),
				MarkdownDescription: "`sslmode` of the connection URLs. Default `require` (Aurora); `disable` on the local stack.",
				Validators:          []validator.String{stringvalidator.OneOf(pgdb.SSLModes...)}},
			"connection_limit": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(-1),
				MarkdownDescription: "Most connections the role may hold at once; -1 (default) is no limit.",
				Validators:          []validator.Int64{int64validator.AtLeast(-1)}},
			"kms_key_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "KMS key for the SecureString parameters. Default: the account's `aws/ssm` key."},
			"admin_url": schema.StringAttribute{Optional: true, Sensitive: true,
				MarkdownDescription: "Administrative connection URL for this database's cluster, instead of the provider's `postgres.admin_url`.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Postgres Admin URL", desc: "a postgres:// URL", check: validatePostgresURL}}},
			"rotation_trigger": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Any value; changing it rotates the password in place (e.g. a date, or `time_rotating`'s id)."},
			"isolated": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the role owns the database and is the only role (besides superusers) allowed to connect. Always planned true: a refresh that finds it false plans the repair.",
				PlanModifiers:       []planmodifier.Bool{alwaysTrue{}}},
			"password_version": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Fingerprint of the current password; it changes when the password does and reveals nothing about it.",
				PlanModifiers:       stable},
			"writer_url_parameter":     schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the writer URL parameter, `/<environment>/<service>/DATABASE_URL`.", PlanModifiers: stable},
			"reader_url_parameter":     schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the reader URL parameter, `/<environment>/<service>/DATABASE_READER_URL`.", PlanModifiers: stable},
			"writer_url_parameter_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the writer URL parameter.", PlanModifiers: stable},
			"reader_url_parameter_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the reader URL parameter.", PlanModifiers: stable},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

// ModifyPlan announces a new password when one will be set: on rotation
// and on a role rename.
func (r *serviceDatabaseResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state serviceDatabaseResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.RotationTrigger.Equal(state.RotationTrigger) || !plan.RoleName.Equal(state.RoleName) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("password_version"), types.StringUnknown())...)
	}
}

func (r *serviceDatabaseResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceDatabaseResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceDatabaseResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, &plan, &resp.Diagnostics)
	if m == nil {
		return
	}
	st, err := m.Ensure(ctx, plan.spec(), false)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Create Service Database", err.Error())
		return
	}
	plan.fromState(st)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceDatabaseResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceDatabaseResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, &state, &resp.Diagnostics)
	if m == nil {
		return
	}
	st, err := m.Read(ctx, state.spec())
	if errors.Is(err, pgdb.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Service Database", err.Error())
		return
	}
	state.fromState(st)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *serviceDatabaseResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state serviceDatabaseResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, &plan, &resp.Diagnostics)
	if m == nil {
		return
	}
	// Names in state are always the configured ones (refresh does not read
	// them back), so a difference is a rename the configuration asks for.
	if err := m.Rename(ctx, state.spec(), plan.spec()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("database_name"), "Unable To Rename Service Database", err.Error())
		return
	}
	rotate := !plan.RotationTrigger.Equal(state.RotationTrigger) || !plan.RoleName.Equal(state.RoleName)
	st, err := m.Ensure(ctx, plan.spec(), rotate)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Update Service Database", err.Error())
		return
	}
	plan.fromState(st)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *serviceDatabaseResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceDatabaseResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, &state, &resp.Diagnostics)
	if m == nil {
		return
	}
	if err := m.Delete(ctx, state.spec()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Service Database", err.Error())
	}
}

// ImportState takes <environment>/<service>, optionally followed by
// /<database_name>/<role_name> when they are not the defaults.
func (r *serviceDatabaseResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) < 2 || len(parts) > 4 || environment.ValidateName(parts[0]) != nil || parts[1] == "" {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected <environment>/<service>[/<database_name>/<role_name>], e.g. staging/messenger; got %q.", req.ID))
		return
	}
	db, role := pgdb.DefaultName(parts[0], parts[1]), pgdb.DefaultName(parts[0], parts[1])
	if len(parts) > 2 {
		db, role = parts[2], parts[2]
	}
	if len(parts) > 3 {
		role = parts[3]
	}
	for attr, v := range map[string]string{"environment": parts[0], "service": parts[1], "database_name": db, "role_name": role, "ssl_mode": "require"} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("connection_limit"), -1)...)
}

func (r *serviceDatabaseResource) manager(ctx context.Context, m *serviceDatabaseResourceModel, diags *diag.Diagnostics) *pgdb.Manager {
	admin := m.AdminURL.ValueString()
	if admin == "" {
		var err error
		if admin, err = r.data.PostgresAdminURL(); err != nil {
			diags.AddAttributeError(path.Root("admin_url"), "No Postgres Admin Access", err.Error()+", or this resource's admin_url.")
			return nil
		}
	}
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		awsConfigError(diags, err)
		return nil
	}
	return &pgdb.Manager{AdminURL: admin, SSM: ssm.NewFromConfig(cfg)}
}

// derivedName plans database_name/role_name from environment and service
// when not configured.
type derivedName struct{ desc string }

func (d derivedName) Description(context.Context) string             { return d.desc }
func (d derivedName) MarkdownDescription(ctx context.Context) string { return d.desc }

func (d derivedName) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var env, svc types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("environment"), &env)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("service"), &svc)...)
	if env.IsUnknown() || svc.IsUnknown() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	resp.PlanValue = types.StringValue(pgdb.DefaultName(env.ValueString(), svc.ValueString()))
}

// alwaysTrue plans true, so a refresh that read false plans an update.
type alwaysTrue struct{}

func (alwaysTrue) Description(context.Context) string               { return "always planned true" }
func (a alwaysTrue) MarkdownDescription(ctx context.Context) string { return a.Description(ctx) }
func (alwaysTrue) PlanModifyBool(_ context.Context, _ planmodifier.BoolRequest, resp *planmodifier.BoolResponse) {
	resp.PlanValue = types.BoolValue(true)
}

type serviceDatabaseResourceModel struct {
	ID                    types.String `tfsdk:"id"`
	Environment           types.String `tfsdk:"environment"`
	Service               types.String `tfsdk:"service"`
	DatabaseName          types.String `tfsdk:"database_name"`
	RoleName              types.String `tfsdk:"role_name"`
	WriterEndpoint        types.String `tfsdk:"writer_endpoint"`
	ReaderEndpoint        types.String `tfsdk:"reader_endpoint"`
	SSLMode               types.String `tfsdk:"ssl_mode"`
	ConnectionLimit       types.Int64  `tfsdk:"connection_limit"`
	KMSKeyID              types.String `tfsdk:"kms_key_id"`
	AdminURL              types.String `tfsdk:"admin_url"`
	RotationTrigger       types.String `tfsdk:"rotation_trigger"`
	Target                *targetModel `tfsdk:"target"`
	Isolated              types.Bool   `tfsdk:"isolated"`
	PasswordVersion       types.String `tfsdk:"password_version"`
	WriterURLParameter    types.String `tfsdk:"writer_url_parameter"`
	ReaderURLParameter    types.String `tfsdk:"reader_url_parameter"`
	WriterURLParameterARN types.String `tfsdk:"writer_url_parameter_arn"`
	ReaderURLParameterARN types.String `tfsdk:"reader_url_parameter_arn"`
}

func (m *serviceDatabaseResourceModel) spec() pgdb.Spec {
	return pgdb.Spec{
		Environment: m.Environment.ValueString(), Service: m.Service.ValueString(),
		Database: m.DatabaseName.ValueString(), Role: m.RoleName.ValueString(),
		WriterEndpoint: m.WriterEndpoint.ValueString(), ReaderEndpoint: m.ReaderEndpoint.ValueString(),
		SSLMode: m.SSLMode.ValueString(), ConnectionLimit: int(m.ConnectionLimit.ValueInt64()), KMSKeyID: m.KMSKeyID.ValueString(),
	}
}

// fromState fills the model from what exists. The names stay as
// configured: the database's owner being another role shows as isolated =
// false rather than as a rename.
func (m *serviceDatabaseResourceModel) fromState(st pgdb.State) {
	m.ID = types.StringValue(m.Environment.ValueString() + "/" + m.Service.ValueString())
	m.DatabaseName = types.StringValue(st.Database)
	m.Isolated = types.BoolValue(st.Isolated && st.Role == m.RoleName.ValueString())
	m.ConnectionLimit = types.Int64Value(int64(st.ConnectionLimit))
	m.WriterEndpoint, m.ReaderEndpoint = types.StringValue(st.WriterEndpoint), types.StringValue(st.ReaderEndpoint)
	if st.SSLMode != "" {
		m.SSLMode = types.StringValue(st.SSLMode)
	}
	m.PasswordVersion = types.StringValue(st.PasswordVersion)
	m.WriterURLParameter, m.ReaderURLParameter = types.StringValue(st.Writer.Name), types.StringValue(st.Reader.Name)
	m.WriterURLParameterARN, m.ReaderURLParameterARN = types.StringValue(st.Writer.ARN), types.StringValue(st.Reader.ARN)
}
