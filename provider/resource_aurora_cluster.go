package provider

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/aurora"
	"github.com/pivotapp/platform/internal/pgdb"
)

var (
	_ resource.ResourceWithConfigure   = &auroraClusterResource{}
	_ resource.ResourceWithImportState = &auroraClusterResource{}
)

func init() { registerResource(NewAuroraClusterResource) }

// NewAuroraClusterResource returns the pivot_aurora_cluster resource.
func NewAuroraClusterResource() resource.Resource { return &auroraClusterResource{} }

type auroraClusterResource struct {
	data *providerData
}

func (r *auroraClusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_aurora_cluster"
}

func (r *auroraClusterResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An environment's Aurora PostgreSQL cluster: the cluster, a writer instance and `reader_count` " +
			"readers (named `<identifier>-<n>`), storage encrypted, and a master password RDS generates and keeps in " +
			"Secrets Manager (`master_user_secret_arn`), so it never appears in a plan or in state. `pivot_service_database` " +
			"creates each service's database on it.\n\n" +
			"With `global_cluster_identifier` the cluster joins an Aurora global database: the first cluster to name a " +
			"global cluster creates it and becomes its primary; clusters in other regions (see the `target` block's " +
			"`region`) that name it later join as secondaries. Destroying the last member deletes the global cluster.\n\n" +
			"On the local platform stack the cluster's endpoints resolve nowhere; `endpoint_override` points " +
			"`writer_endpoint` and `reader_endpoint` at the PostgreSQL that stands in for Aurora.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The cluster identifier.", PlanModifiers: stable},
			"identifier": schema.StringAttribute{Required: true,
				MarkdownDescription: "Cluster identifier: lowercase letters, digits and hyphens, at most 60 characters.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Cluster Identifier", desc: "an RDS cluster identifier", check: aurora.ValidateIdentifier}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"engine_version": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Aurora PostgreSQL version, e.g. `16.4` (or `16` for RDS's latest minor). Default: RDS's default. Raising it upgrades in place.",
				Validators: []validator.String{stringCheck{summary: "Invalid Engine Version", desc: "a version number", check: func(s string) error {
					return aurora.Spec{Identifier: "x", EngineVersion: s}.Validate()
				}}},
				PlanModifiers: stable},
			"instance_class": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(aurora.DefaultInstanceClass),
				MarkdownDescription: "Class of every instance, e.g. `db.r6g.large` (default) or `db.serverless`. Changes apply in place.",
				Validators: []validator.String{stringCheck{summary: "Invalid Instance Class", desc: "an RDS instance class", check: func(s string) error {
					return aurora.Spec{Identifier: "x", InstanceClass: s}.Validate()
				}}}},
			"reader_count": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(0),
				MarkdownDescription: "Reader instances besides the writer (0 to 15). Default 0. Changes add or remove readers in place.",
				Validators:          []validator.Int64{int64validator.Between(0, aurora.MaxReaders)}},
			"master_username": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(aurora.DefaultMasterUsername),
				MarkdownDescription: "Master user name. Default `pivot_admin`. Its password is managed by RDS in Secrets Manager.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Master Username", desc: "a PostgreSQL role name", check: aurora.ValidateMasterUsername}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"db_subnet_group_name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "DB subnet group. Default: the account's default. RDS cannot move a cluster, so a change replaces it.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()}},
			"security_group_ids": schema.SetAttribute{Optional: true, Computed: true, ElementType: types.StringType,
				MarkdownDescription: "VPC security groups of the cluster, besides the one made for `client_security_group_ids`. Default: RDS's choice (the VPC's default group, which admits only its own members). Changes apply in place.",
				PlanModifiers:       []planmodifier.Set{setplanmodifier.UseStateForUnknown()}},
			"subnet_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Subnets of the cluster, when `db_subnet_group_name` is not set: a DB subnet group named after the cluster is made from them, so the cluster is in the services' VPC (without either, RDS uses the default VPC). Later changes update that group in place.",
				Validators:          []validator.Set{setvalidator.SizeAtLeast(2)}},
			"client_security_group_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Security groups that may connect, e.g. the services'. The cluster gets a group of its own, `<identifier>-database` in its VPC, admitting them on 5432 (rules changed out of band are restored). Changes apply in place."},
			"database_security_group_id": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The group made for `client_security_group_ids`; empty without them."},
			"serverless_min_capacity": schema.Float64Attribute{Optional: true, Computed: true,
				MarkdownDescription: "Least Aurora capacity units of a `db.serverless` instance, in steps of 0.5 (0 pauses an idle instance on versions that support it). Default 0.5 with `db.serverless`; null for a provisioned cluster."},
			"serverless_max_capacity": schema.Float64Attribute{Optional: true, Computed: true,
				MarkdownDescription: "Most Aurora capacity units of a `db.serverless` instance, above 0.5 and at most 256 (128 on older versions). Default 16 with `db.serverless`. RDS needs this range on the cluster before it creates a `db.serverless` instance; the provider sets it."},
			"kms_key_id": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "KMS key encrypting storage. Default: the account's RDS key. A change replaces the cluster.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplaceIfConfigured()}},
			"deletion_protection": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Refuse to delete the cluster. Set it in production; turn it off and apply before destroying."},
			"final_snapshot_identifier": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Snapshot taken when the cluster is destroyed. Default: none."},
			"global_cluster_identifier": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Aurora global database to create (as its primary) or join (as a secondary). Adding it to a standalone cluster starts a global database in place; removing it detaches the cluster in place; moving between two global databases replaces the cluster.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Global Cluster Identifier", desc: "an RDS global cluster identifier", check: aurora.ValidateIdentifier}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
					resp.RequiresReplace = req.StateValue.ValueString() != "" && req.PlanValue.ValueString() != "" && req.StateValue.ValueString() != req.PlanValue.ValueString()
				}, "moving between two global databases replaces the cluster", "moving between two global databases replaces the cluster")}},
			"endpoint_override": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "Endpoints to publish instead of the cluster's, for the local platform stack (whose PostgreSQL stands in for Aurora) or a connection proxy.",
				Attributes: map[string]schema.Attribute{
					"writer": schema.StringAttribute{Required: true, MarkdownDescription: "Writer `host:port`, e.g. `127.0.0.1:5432`.",
						Validators: []validator.String{stringCheck{summary: "Invalid Endpoint", desc: "host:port", check: pgdb.ValidateEndpoint}}},
					"reader": schema.StringAttribute{Optional: true, MarkdownDescription: "Reader `host:port`. Default: `writer`.",
						Validators: []validator.String{stringCheck{summary: "Invalid Endpoint", desc: "host:port", check: pgdb.ValidateEndpoint}}},
				}},

			"arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the cluster.", PlanModifiers: stable},
			"writer_endpoint": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Writer `host:port` services connect to (`endpoint_override.writer` when set), for `pivot_service_database`.",
				PlanModifiers:       []planmodifier.String{endpointOverridePlan{reader: false}}},
			"reader_endpoint": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Reader `host:port` (load-balanced across readers; the writer when there are none).",
				PlanModifiers:       []planmodifier.String{endpointOverridePlan{reader: true}}},
			"cluster_endpoint":        schema.StringAttribute{Computed: true, MarkdownDescription: "The cluster's own writer hostname.", PlanModifiers: stable},
			"cluster_reader_endpoint": schema.StringAttribute{Computed: true, MarkdownDescription: "The cluster's own reader hostname.", PlanModifiers: stable},
			"port":                    schema.Int64Attribute{Computed: true, MarkdownDescription: "Port of the cluster's endpoints."},
			"master_user_secret_arn": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Secrets Manager secret holding the master credentials (empty on a global secondary, which uses the primary's)."},
			"global_primary": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the cluster is its global database's primary."},
			"instance_ids":   schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Instance identifiers, writer first."},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *auroraClusterResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *auroraClusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan auroraClusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, plan.Target, &resp.Diagnostics)
	if m == nil {
		return
	}
	spec, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	st, err := m.Create(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Create Aurora Cluster", err.Error()+". Parts created so far remain; destroy or import them.")
		return
	}
	resp.Diagnostics.Append(plan.fromState(ctx, st)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *auroraClusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state auroraClusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, state.Target, &resp.Diagnostics)
	if m == nil {
		return
	}
	st, err := m.Read(ctx, state.Identifier.ValueString())
	if errors.Is(err, aurora.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Aurora Cluster", err.Error())
		return
	}
	resp.Diagnostics.Append(state.fromState(ctx, st)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *auroraClusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan auroraClusterResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, plan.Target, &resp.Diagnostics)
	if m == nil {
		return
	}
	spec, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	st, err := m.Update(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Update Aurora Cluster", err.Error())
		return
	}
	resp.Diagnostics.Append(plan.fromState(ctx, st)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *auroraClusterResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state auroraClusterResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m := r.manager(ctx, state.Target, &resp.Diagnostics)
	if m == nil {
		return
	}
	spec, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if err := m.Delete(ctx, spec); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Aurora Cluster", err.Error())
	}
}

func (r *auroraClusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := aurora.ValidateIdentifier(req.ID); err != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier", "Expected a cluster identifier such as staging: "+err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("identifier"), req.ID)...)
}

func (r *auroraClusterResource) manager(ctx context.Context, t *targetModel, diags *diag.Diagnostics) *aurora.Manager {
	cfg, err := r.data.AWS(ctx, t.target())
	if err != nil {
		awsConfigError(diags, err)
		return nil
	}
	return &aurora.Manager{RDS: rds.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)}
}

// endpointOverridePlan plans writer_endpoint/reader_endpoint: the override
// when one is configured, else the prior value (a cluster's endpoints do
// not change).
type endpointOverridePlan struct{ reader bool }

func (endpointOverridePlan) Description(context.Context) string {
	return "endpoint_override when set, else the cluster's endpoint"
}
func (m endpointOverridePlan) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (m endpointOverridePlan) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	var o types.Object
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("endpoint_override"), &o)...)
	if o.IsUnknown() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	if !o.IsNull() {
		var ov endpointOverrideModel
		resp.Diagnostics.Append(o.As(ctx, &ov, objectAsOptions)...)
		v := ov.Writer
		if m.reader && !ov.Reader.IsNull() {
			v = ov.Reader
		}
		resp.PlanValue = v
		return
	}
	// Leaving an override publishes the cluster's own endpoints again.
	var prior types.Object
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("endpoint_override"), &prior)...)
	if !req.StateValue.IsNull() && prior.IsNull() {
		resp.PlanValue = req.StateValue
	}
}

type auroraClusterResourceModel struct {
	ID                      types.String  `tfsdk:"id"`
	Identifier              types.String  `tfsdk:"identifier"`
	EngineVersion           types.String  `tfsdk:"engine_version"`
	InstanceClass           types.String  `tfsdk:"instance_class"`
	ReaderCount             types.Int64   `tfsdk:"reader_count"`
	MasterUsername          types.String  `tfsdk:"master_username"`
	DBSubnetGroupName       types.String  `tfsdk:"db_subnet_group_name"`
	SecurityGroupIDs        types.Set     `tfsdk:"security_group_ids"`
	KMSKeyID                types.String  `tfsdk:"kms_key_id"`
	DeletionProtection      types.Bool    `tfsdk:"deletion_protection"`
	FinalSnapshotIdentifier types.String  `tfsdk:"final_snapshot_identifier"`
	GlobalClusterIdentifier types.String  `tfsdk:"global_cluster_identifier"`
	EndpointOverride        types.Object  `tfsdk:"endpoint_override"`
	Target                  *targetModel  `tfsdk:"target"`
	ARN                     types.String  `tfsdk:"arn"`
	WriterEndpoint          types.String  `tfsdk:"writer_endpoint"`
	ReaderEndpoint          types.String  `tfsdk:"reader_endpoint"`
	ClusterEndpoint         types.String  `tfsdk:"cluster_endpoint"`
	ClusterReaderEndpoint   types.String  `tfsdk:"cluster_reader_endpoint"`
	Port                    types.Int64   `tfsdk:"port"`
	MasterUserSecretARN     types.String  `tfsdk:"master_user_secret_arn"`
	GlobalPrimary           types.Bool    `tfsdk:"global_primary"`
	InstanceIDs             types.List    `tfsdk:"instance_ids"`
	SubnetIDs               types.Set     `tfsdk:"subnet_ids"`
	ClientSecurityGroupIDs  types.Set     `tfsdk:"client_security_group_ids"`
	DatabaseSecurityGroupID types.String  `tfsdk:"database_security_group_id"`
	ServerlessMinCapacity   types.Float64 `tfsdk:"serverless_min_capacity"`
	ServerlessMaxCapacity   types.Float64 `tfsdk:"serverless_max_capacity"`
}

type endpointOverrideModel struct {
	Writer types.String `tfsdk:"writer"`
	Reader types.String `tfsdk:"reader"`
}

func (m *auroraClusterResourceModel) spec(ctx context.Context) (aurora.Spec, diag.Diagnostics) {
	sgs, _ := stringsOf(ctx, m.SecurityGroupIDs)
	subnets, _ := stringsOf(ctx, m.SubnetIDs)
	clients, _ := stringsOf(ctx, m.ClientSecurityGroupIDs)
	return aurora.Spec{
		SubnetIDs: subnets, ClientSecurityGroupIDs: clients,
		ServerlessMinCapacity: m.ServerlessMinCapacity.ValueFloat64(), ServerlessMaxCapacity: m.ServerlessMaxCapacity.ValueFloat64(),
		Identifier: m.Identifier.ValueString(), EngineVersion: m.EngineVersion.ValueString(),
		InstanceClass: m.InstanceClass.ValueString(), ReaderCount: int(m.ReaderCount.ValueInt64()),
		MasterUsername: m.MasterUsername.ValueString(), DBSubnetGroupName: m.DBSubnetGroupName.ValueString(),
		SecurityGroupIDs: sgs, KMSKeyID: m.KMSKeyID.ValueString(), DeletionProtection: m.DeletionProtection.ValueBool(),
		GlobalClusterIdentifier: m.GlobalClusterIdentifier.ValueString(), FinalSnapshotIdentifier: m.FinalSnapshotIdentifier.ValueString(),
	}, nil
}

// fromState fills the model from the cluster as it is. The override and
// the final snapshot are configuration only and keep their values.
func (m *auroraClusterResourceModel) fromState(ctx context.Context, st aurora.State) diag.Diagnostics {
	var diags diag.Diagnostics
	m.ID, m.Identifier, m.ARN = types.StringValue(st.Identifier), types.StringValue(st.Identifier), types.StringValue(st.ARN)
	if !strings.HasPrefix(st.EngineVersion, m.EngineVersion.ValueString()+".") || m.EngineVersion.IsNull() || m.EngineVersion.IsUnknown() {
		m.EngineVersion = types.StringValue(st.EngineVersion)
	}
	m.InstanceClass, m.ReaderCount = types.StringValue(st.InstanceClass), types.Int64Value(int64(st.ReaderCount))
	if st.MasterUsername != "" {
		m.MasterUsername = types.StringValue(st.MasterUsername)
	}
	m.DBSubnetGroupName, m.KMSKeyID = types.StringValue(st.DBSubnetGroupName), types.StringValue(st.KMSKeyID)
	m.SecurityGroupIDs = setOf(st.SecurityGroupIDs)
	m.DatabaseSecurityGroupID = types.StringValue(st.DatabaseSecurityGroupID)
	// Only a configured value can drift; an unset one stays null.
	if !m.ClientSecurityGroupIDs.IsNull() || len(st.ClientSecurityGroupIDs) > 0 {
		m.ClientSecurityGroupIDs = setOf(st.ClientSecurityGroupIDs)
	}
	m.ServerlessMinCapacity, m.ServerlessMaxCapacity = types.Float64Null(), types.Float64Null()
	if st.ServerlessMaxCapacity != 0 {
		m.ServerlessMinCapacity, m.ServerlessMaxCapacity = types.Float64Value(st.ServerlessMinCapacity), types.Float64Value(st.ServerlessMaxCapacity)
	}
	m.DeletionProtection = types.BoolValue(st.DeletionProtection)
	m.GlobalClusterIdentifier = nullIfEmpty(st.GlobalClusterIdentifier)
	m.GlobalPrimary = types.BoolValue(st.GlobalPrimary)
	m.ClusterEndpoint, m.ClusterReaderEndpoint = types.StringValue(st.Endpoint), types.StringValue(st.ReaderEndpoint)
	m.Port = types.Int64Value(int64(st.Port))
	m.MasterUserSecretARN = types.StringValue(st.MasterUserSecretARN)
	ids := make([]attr.Value, 0, len(st.Instances))
	for _, in := range st.Instances {
		if in.Writer {
			ids = append([]attr.Value{types.StringValue(in.Identifier)}, ids...)
		} else {
			ids = append(ids, types.StringValue(in.Identifier))
		}
	}
	m.InstanceIDs = types.ListValueMust(types.StringType, ids)

	port := strconv.Itoa(st.Port)
	m.WriterEndpoint, m.ReaderEndpoint = types.StringValue(net.JoinHostPort(st.Endpoint, port)), types.StringValue(net.JoinHostPort(st.ReaderEndpoint, port))
	if !m.EndpointOverride.IsNull() && !m.EndpointOverride.IsUnknown() {
		var ov endpointOverrideModel
		diags.Append(m.EndpointOverride.As(ctx, &ov, objectAsOptions)...)
		m.WriterEndpoint, m.ReaderEndpoint = ov.Writer, ov.Writer
		if !ov.Reader.IsNull() {
			m.ReaderEndpoint = ov.Reader
		}
	}
	if m.FinalSnapshotIdentifier.IsUnknown() {
		m.FinalSnapshotIdentifier = types.StringNull()
	}
	return diags
}
