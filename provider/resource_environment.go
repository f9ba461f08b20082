package provider

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/pivotapp/platform/internal/environment"
)

var (
	_ resource.ResourceWithConfigure      = &environmentResource{}
	_ resource.ResourceWithValidateConfig = &environmentResource{}
	_ resource.ResourceWithModifyPlan     = &environmentResource{}
	_ resource.ResourceWithImportState    = &environmentResource{}
)

func init() { registerResource(NewEnvironmentResource) }

// NewEnvironmentResource returns the pivot_environment resource.
func NewEnvironmentResource() resource.Resource { return &environmentResource{} }

type environmentResource struct {
	data *providerData
}

func (r *environmentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_environment"
}

func (r *environmentResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One environment (staging, prod, or a tenant's private deployment): the ECS cluster every " +
			"`pivot_service` runs in, with a Cloud Map HTTP namespace of the same name as its Service Connect default; the " +
			"Parameter Store root `/<name>/_platform/` holding what every service reads (`STAGE`, " +
			"`OTEL_EXPORTER_OTLP_ENDPOINT`, `NATS_URL`, and NATS credentials as SecureStrings); the OpenTelemetry " +
			"collector as an ECS service that services reach at `http://otel-collector:4318`; the log group `/pivot/<name>` " +
			"its platform tasks write to; NATS, either an existing system or a JetStream cluster run in the environment; and, " +
			"with `ingress`, the application load balancer that `pivot_public_endpoint` publishes API services on.\n\n" +
			"The collector is a REPLICA service on Fargate rather than a DAEMON: Fargate cannot schedule daemons (that needs " +
			"EC2 container instances the environment otherwise does not need), and Service Connect load-balances the " +
			"replicas behind one name. Without `network`, tasks run in the account's default VPC, and the environment " +
			"creates the security group they share.\n\n" +
			"Every part is checked on refresh: one that is missing or changed out of band drops out of `components`, and " +
			"the next apply puts it back in place.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The environment name.", PlanModifiers: stable},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Environment name: a DNS label of at most 32 characters (it names the cluster, the namespace, the load balancer and the parameter root).",
				Validators:          []validator.String{stringCheck{summary: "Invalid Environment Name", desc: "a lowercase DNS label of at most 32 characters", check: environment.ValidateName}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"stage": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Value of the `STAGE` parameter services read (`staging`, `production`, a tenant name). Default: `name`.",
				PlanModifiers:       []planmodifier.String{stringDefaultFrom{from: path.Root("name"), derive: func(s string) string { return s }, desc: "defaults to name"}}},
			"container_insights": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(environment.DefaultContainerInsights),
				MarkdownDescription: "CloudWatch Container Insights on the cluster: `enabled` (default), `enhanced` or `disabled`.",
				Validators:          []validator.String{stringvalidator.OneOf(environment.ContainerInsightsValues...)}},
			"log_retention_days": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(environment.DefaultLogRetentionDays),
				MarkdownDescription: "Retention of the `/pivot/<name>` log group, in days (a value CloudWatch Logs accepts; 0 keeps logs forever). Default 30.",
				Validators:          []validator.Int64{int64validator.OneOf(int64s(environment.LogRetentionDays)...)}},
			"network": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "Where the environment's tasks run. Omit to use the account's default VPC (its default subnets, with public IPs, since they have no NAT).",
				Attributes: map[string]schema.Attribute{
					"subnet_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Subnets (`subnet-...`) of one VPC."},
					"security_group_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Security groups (`sg-...`) of the tasks. Default: a group the environment creates, `<name>-services`, open between its tasks and from the load balancer. Groups you bring must admit `ingress_security_group_id` for public endpoints."},
					"assign_public_ip": schema.BoolAttribute{Optional: true, MarkdownDescription: "Give tasks public IPs. Default: true in the default VPC, false otherwise."},
				}},
			"collector": schema.SingleNestedAttribute{Optional: true, Computed: true,
				MarkdownDescription: "The OpenTelemetry collector, an ECS service named `otel-collector` reached through Service Connect.",
				Default:             objectdefault.StaticValue(defaultCollectorObject()),
				Attributes: map[string]schema.Attribute{
					"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(environment.DefaultCollectorImage),
						MarkdownDescription: "Collector image. Default `" + environment.DefaultCollectorImage + "`."},
					"config": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(environment.DefaultCollectorConfig),
						MarkdownDescription: "Collector configuration (YAML). The default receives OTLP on 4317 (gRPC) and 4318 (HTTP) and logs a summary; point `exporters` at your tracing backend.",
						Validators:          []validator.String{stringCheck{summary: "Invalid Collector Configuration", desc: "collector YAML with receivers, exporters and service", check: environment.ValidateCollectorConfig}}},
					"cpu": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(environment.DefaultCollectorCPU),
						MarkdownDescription: "Task CPU units (Fargate sizes). Default 256."},
					"memory": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(environment.DefaultCollectorMemory),
						MarkdownDescription: "Task memory in MiB, valid with `cpu` on Fargate. Default 512."},
					"desired_count": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(environment.DefaultCollectorCount),
						MarkdownDescription: "Collector replicas. Default 1.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
				}},
			"nats": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "NATS for the environment's services: an existing system (`url`, with `user`/`password` or `credentials`), " +
					"or `managed = true` to run a JetStream cluster as ECS services (`nats`, or `nats-1`..`nats-3` with `replicas = 3`) so a " +
					"tenant's account is self-contained. Either way the URL and credentials land in `/<name>/_platform/` (`NATS_URL`, " +
					"`NATS_USER`, and `NATS_PASSWORD` or `NATS_CREDENTIALS` as SecureStrings); a managed cluster's password is generated " +
					"there and never enters Terraform. Managed servers keep JetStream data on task storage: streams need `replicas = 3` " +
					"to survive a task replacement.",
				Attributes: map[string]schema.Attribute{
					"url":         schema.StringAttribute{Optional: true, MarkdownDescription: "URL(s) of an existing NATS system, comma-separated (`nats://nats.example.com:4222`)."},
					"user":        schema.StringAttribute{Optional: true, MarkdownDescription: "User name on the existing system, with `password`."},
					"password":    schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Password for `user`; stored as the SecureString `NATS_PASSWORD`."},
					"credentials": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Contents of a `.creds` file (user JWT and nkey seed); stored as the SecureString `NATS_CREDENTIALS`."},
					"managed": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
						MarkdownDescription: "Run NATS with JetStream in the environment. Default false."},
					"image": schema.StringAttribute{Optional: true, Computed: true,
						MarkdownDescription: "Managed server image; it needs a shell to write its configuration. Default `" + environment.DefaultNATSImage + "` when managed.",
						PlanModifiers:       []planmodifier.String{managedNATSDefault{str: environment.DefaultNATSImage}}},
					"replicas": schema.Int64Attribute{Optional: true, Computed: true,
						MarkdownDescription: "Managed servers: 1, or 3 for a JetStream cluster. Default 1 when managed.",
						Validators:          []validator.Int64{int64validator.OneOf(int64s(environment.NATSReplicaCounts)...)},
						PlanModifiers:       []planmodifier.Int64{managedNATSDefault{num: environment.DefaultNATSReplicas}}},
					"cpu": schema.Int64Attribute{Optional: true, Computed: true,
						MarkdownDescription: "Managed server CPU units. Default 512 when managed.",
						PlanModifiers:       []planmodifier.Int64{managedNATSDefault{num: environment.DefaultNATSCPU}}},
					"memory": schema.Int64Attribute{Optional: true, Computed: true,
						MarkdownDescription: "Managed server memory in MiB. Default 1024 when managed.",
						PlanModifiers:       []planmodifier.Int64{managedNATSDefault{num: environment.DefaultNATSMemory}}},
				}},
			"ingress": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "The environment's internet-facing application load balancer (named after the environment), answering 404 for hosts no `pivot_public_endpoint` claims. Remove the attribute to delete it.",
				Attributes: map[string]schema.Attribute{
					"certificate_arn": schema.StringAttribute{Optional: true,
						MarkdownDescription: "ACM (or IAM server) certificate for an HTTPS listener on 443, to which HTTP then redirects. Without it the load balancer serves HTTP on 80 (Cloudflare's proxy in Flexible mode, or the local stack)."},
					"subnet_ids": schema.SetAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Public subnets (two or more zones). Default: the network's subnets."},
				}},

			"cluster_arn":  schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the ECS cluster.", PlanModifiers: stable},
			"cluster_name": schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the ECS cluster (`pivot_service.cluster`).", PlanModifiers: stable},
			"namespace_arn": schema.StringAttribute{Computed: true,
				MarkdownDescription: "ARN of the Cloud Map HTTP namespace, the cluster's Service Connect default (`pivot_service.service_connect_namespace`)."},
			"namespace_id":            schema.StringAttribute{Computed: true, MarkdownDescription: "ID of the namespace (`ns-...`)."},
			"namespace_name":          schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the namespace: the environment's name.", PlanModifiers: stable},
			"log_group_name":          schema.StringAttribute{Computed: true, MarkdownDescription: "The environment's log group, `/pivot/<name>`; services log under `/pivot/<name>/<service>`.", PlanModifiers: stable},
			"log_group_arn":           schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the log group."},
			"otlp_endpoint":           schema.StringAttribute{Computed: true, MarkdownDescription: "OTLP/HTTP base URL of the collector inside the namespace, `http://otel-collector:4318` (`pivot_service.tracing.otlp_endpoint`).", PlanModifiers: stable},
			"parameter_root":          schema.StringAttribute{Computed: true, MarkdownDescription: "Parameter Store root of the environment, `/<name>`; each service's parameters live under `/<name>/<service>/`.", PlanModifiers: stable},
			"platform_parameter_path": schema.StringAttribute{Computed: true, MarkdownDescription: "Folder of the platform parameters, `/<name>/_platform`.", PlanModifiers: stable},
			"platform_parameters": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Platform parameter names by the environment variable they are meant for (`NATS_URL` => `/<name>/_platform/NATS_URL`), for a service's secrets."},
			"nats_url_parameter":        schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the `NATS_URL` parameter.", PlanModifiers: stable},
			"execution_role_arn":        schema.StringAttribute{Computed: true, MarkdownDescription: "Task execution role of the platform tasks (collector, NATS)."},
			"vpc_id":                    schema.StringAttribute{Computed: true, MarkdownDescription: "VPC the tasks run in."},
			"subnet_ids":                schema.SetAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Subnets the tasks run in (`pivot_service.network.subnets`)."},
			"security_group_ids":        schema.SetAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Security groups of the tasks (`pivot_service.network.security_groups`)."},
			"assign_public_ip":          schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether tasks get public IPs (`pivot_service.network.assign_public_ip`)."},
			"load_balancer_arn":         schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the load balancer, with `ingress`."},
			"load_balancer_dns_name":    schema.StringAttribute{Computed: true, MarkdownDescription: "DNS name of the load balancer, which public hostnames point to."},
			"load_balancer_zone_id":     schema.StringAttribute{Computed: true, MarkdownDescription: "Route 53 zone ID of the load balancer, for alias records."},
			"listener_arn":              schema.StringAttribute{Computed: true, MarkdownDescription: "Listener public endpoints add their rules to: HTTPS with a certificate, HTTP otherwise."},
			"ingress_security_group_id": schema.StringAttribute{Computed: true, MarkdownDescription: "Security group of the load balancer."},
			"components": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Every part of the environment that exists and is as the provider left it, by role (`cluster`, `namespace`, `service/otel-collector`, `parameter/NATS_URL`, ...), with its ID. A part missing or changed out of band is left out, which plans an in-place update that restores it."},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *environmentResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m environmentResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, known, diags := m.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if !known || diags.HasError() {
		return
	}
	// The name and the collector configuration have their own validators.
	addEnvironmentErrors(&resp.Diagnostics, spec.Validate(), "name", "collector.config")
}

// addEnvironmentErrors reports a Spec's field errors on their attributes,
// skipping fields already checked by attribute validators.
func addEnvironmentErrors(diags *diag.Diagnostics, err error, skip ...string) {
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe *environment.FieldError
		if !errors.As(e, &fe) {
			diags.AddError("Invalid Environment", e.Error())
			continue
		}
		if slices.Contains(skip, fe.Field) {
			continue
		}
		p := path.Empty()
		for _, part := range strings.Split(fe.Field, ".") {
			p = p.AtName(part)
		}
		diags.AddAttributeError(p, "Invalid Environment "+environmentSummaries[strings.Split(fe.Field, ".")[0]], fe.Err.Error()+".")
	}
}

var environmentSummaries = map[string]string{
	"name": "Name", "container_insights": "Setting", "log_retention_days": "Setting", "network": "Network",
	"collector": "Collector", "nats": "NATS", "ingress": "Ingress",
}

// ModifyPlan turns a refresh that found parts missing or changed (they
// drop out of components) into an in-place update, and marks the outputs
// an update may change as unknown.
func (r *environmentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state environmentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Components.IsUnknown() {
		return
	}
	spec, known, diags := plan.spec(ctx)
	if diags.HasError() || !known {
		return
	}
	have := slices.Sorted(maps.Keys(state.Components.Elements()))
	if slices.Equal(have, spec.ExpectedComponents()) {
		return
	}
	for _, p := range []string{"components", "platform_parameters"} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(p), types.MapUnknown(types.StringType))...)
	}
	for _, p := range []string{"namespace_arn", "namespace_id", "log_group_arn", "execution_role_arn", "vpc_id", "load_balancer_arn",
		"load_balancer_dns_name", "load_balancer_zone_id", "listener_arn", "ingress_security_group_id"} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(p), types.StringUnknown())...)
	}
	for _, p := range []string{"subnet_ids", "security_group_ids"} {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(p), types.SetUnknown(types.StringType))...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("assign_public_ip"), types.BoolUnknown())...)
}

func (r *environmentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *environmentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = svcProgress(ctx) // retries and progress reach the log
	var plan environmentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *environmentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state environmentResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, state.Target.target())
	if err != nil {
		awsConfigError(&resp.Diagnostics, err)
		return
	}
	st, err := environment.New(cfg).Read(ctx, state.Name.ValueString())
	if errors.Is(err, environment.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Environment", err.Error())
		return
	}
	resp.Diagnostics.Append(state.fromState(ctx, st)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *environmentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	ctx = svcProgress(ctx) // retries and progress reach the log
	var plan environmentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *environmentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx = svcProgress(ctx) // retries and progress reach the log
	var state environmentResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, state.Target.target())
	if err != nil {
		awsConfigError(&resp.Diagnostics, err)
		return
	}
	if err := environment.New(cfg).Delete(ctx, state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Environment", err.Error())
	}
}

func (r *environmentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := environment.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier", "Expected an environment name such as staging: "+err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

func (r *environmentResource) apply(ctx context.Context, m *environmentResourceModel, diags *diag.Diagnostics) {
	spec, _, d := m.spec(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		awsConfigError(diags, err)
		return
	}
	st, err := environment.New(cfg).Apply(ctx, spec)
	var fe *environment.FieldError
	if errors.As(err, &fe) {
		addEnvironmentErrors(diags, err)
		return
	}
	if err != nil {
		diags.AddError("Unable To Apply Environment", err.Error()+". Parts created so far are kept; apply again to finish, or destroy to remove them.")
		return
	}
	diags.Append(m.fromState(ctx, st)...)
}

// managedNATSDefault plans a managed-only NATS setting: its default when
// managed = true and it is not configured, null otherwise.
type managedNATSDefault struct {
	str string
	num int64
}

func (managedNATSDefault) Description(context.Context) string {
	return "defaults when nats.managed is true"
}
func (m managedNATSDefault) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (m managedNATSDefault) managed(ctx context.Context, cfg interface {
	GetAttribute(context.Context, path.Path, any) diag.Diagnostics
}) types.Bool {
	var v types.Bool
	cfg.GetAttribute(ctx, path.Root("nats").AtName("managed"), &v)
	return v
}

func (m managedNATSDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	switch v := m.managed(ctx, req.Config); {
	case v.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case v.ValueBool():
		resp.PlanValue = types.StringValue(m.str)
	default:
		resp.PlanValue = types.StringNull()
	}
}

func (m managedNATSDefault) PlanModifyInt64(ctx context.Context, req planmodifier.Int64Request, resp *planmodifier.Int64Response) {
	if !req.ConfigValue.IsNull() {
		return
	}
	switch v := m.managed(ctx, req.Config); {
	case v.IsUnknown():
		resp.PlanValue = types.Int64Unknown()
	case v.ValueBool():
		resp.PlanValue = types.Int64Value(m.num)
	default:
		resp.PlanValue = types.Int64Null()
	}
}

type environmentResourceModel struct {
	ID                     types.String `tfsdk:"id"`
	Name                   types.String `tfsdk:"name"`
	Stage                  types.String `tfsdk:"stage"`
	ContainerInsights      types.String `tfsdk:"container_insights"`
	LogRetentionDays       types.Int64  `tfsdk:"log_retention_days"`
	Network                types.Object `tfsdk:"network"`
	Collector              types.Object `tfsdk:"collector"`
	NATS                   types.Object `tfsdk:"nats"`
	Ingress                types.Object `tfsdk:"ingress"`
	Target                 *targetModel `tfsdk:"target"`
	ClusterARN             types.String `tfsdk:"cluster_arn"`
	ClusterName            types.String `tfsdk:"cluster_name"`
	NamespaceARN           types.String `tfsdk:"namespace_arn"`
	NamespaceID            types.String `tfsdk:"namespace_id"`
	NamespaceName          types.String `tfsdk:"namespace_name"`
	LogGroupName           types.String `tfsdk:"log_group_name"`
	LogGroupARN            types.String `tfsdk:"log_group_arn"`
	OTLPEndpoint           types.String `tfsdk:"otlp_endpoint"`
	ParameterRoot          types.String `tfsdk:"parameter_root"`
	PlatformParameterPath  types.String `tfsdk:"platform_parameter_path"`
	PlatformParameters     types.Map    `tfsdk:"platform_parameters"`
	NATSURLParameter       types.String `tfsdk:"nats_url_parameter"`
	ExecutionRoleARN       types.String `tfsdk:"execution_role_arn"`
	VPCID                  types.String `tfsdk:"vpc_id"`
	SubnetIDs              types.Set    `tfsdk:"subnet_ids"`
	SecurityGroupIDs       types.Set    `tfsdk:"security_group_ids"`
	AssignPublicIP         types.Bool   `tfsdk:"assign_public_ip"`
	LoadBalancerARN        types.String `tfsdk:"load_balancer_arn"`
	LoadBalancerDNSName    types.String `tfsdk:"load_balancer_dns_name"`
	LoadBalancerZoneID     types.String `tfsdk:"load_balancer_zone_id"`
	ListenerARN            types.String `tfsdk:"listener_arn"`
	IngressSecurityGroupID types.String `tfsdk:"ingress_security_group_id"`
	Components             types.Map    `tfsdk:"components"`
}

type envNetworkModel struct {
	SubnetIDs        types.Set  `tfsdk:"subnet_ids"`
	SecurityGroupIDs types.Set  `tfsdk:"security_group_ids"`
	AssignPublicIP   types.Bool `tfsdk:"assign_public_ip"`
}

type envCollectorModel struct {
	Image        types.String `tfsdk:"image"`
	Config       types.String `tfsdk:"config"`
	CPU          types.Int64  `tfsdk:"cpu"`
	Memory       types.Int64  `tfsdk:"memory"`
	DesiredCount types.Int64  `tfsdk:"desired_count"`
}

type envNATSModel struct {
	URL         types.String `tfsdk:"url"`
	User        types.String `tfsdk:"user"`
	Password    types.String `tfsdk:"password"`
	Credentials types.String `tfsdk:"credentials"`
	Managed     types.Bool   `tfsdk:"managed"`
	Image       types.String `tfsdk:"image"`
	Replicas    types.Int64  `tfsdk:"replicas"`
	CPU         types.Int64  `tfsdk:"cpu"`
	Memory      types.Int64  `tfsdk:"memory"`
}

type envIngressModel struct {
	CertificateARN types.String `tfsdk:"certificate_arn"`
	SubnetIDs      types.Set    `tfsdk:"subnet_ids"`
}

var (
	envCollectorTypes = map[string]attr.Type{"image": types.StringType, "config": types.StringType, "cpu": types.Int64Type, "memory": types.Int64Type, "desired_count": types.Int64Type}
	envNATSTypes      = map[string]attr.Type{"url": types.StringType, "user": types.StringType, "password": types.StringType, "credentials": types.StringType,
		"managed": types.BoolType, "image": types.StringType, "replicas": types.Int64Type, "cpu": types.Int64Type, "memory": types.Int64Type}
	envIngressTypes = map[string]attr.Type{"certificate_arn": types.StringType, "subnet_ids": types.SetType{ElemType: types.StringType}}
)

func defaultCollectorObject() types.Object {
	return types.ObjectValueMust(envCollectorTypes, map[string]attr.Value{
		"image": types.StringValue(environment.DefaultCollectorImage), "config": types.StringValue(environment.DefaultCollectorConfig),
		"cpu": types.Int64Value(environment.DefaultCollectorCPU), "memory": types.Int64Value(environment.DefaultCollectorMemory),
		"desired_count": types.Int64Value(environment.DefaultCollectorCount),
	})
}

// spec converts the model; known is false when a value is not known yet
// (the spec is then partial and must not be validated as a whole).
func (m *environmentResourceModel) spec(ctx context.Context) (environment.Spec, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	known := true
	str := func(v types.String) string {
		known = known && !v.IsUnknown()
		return v.ValueString()
	}
	num := func(v types.Int64) int {
		known = known && !v.IsUnknown()
		return int(v.ValueInt64())
	}
	spec := environment.Spec{
		Name: str(m.Name), Stage: str(m.Stage), ContainerInsights: str(m.ContainerInsights), LogRetentionDays: num(m.LogRetentionDays),
	}
	if m.LogRetentionDays.IsNull() {
		spec.LogRetentionDays = environment.DefaultLogRetentionDays
	}
	for _, o := range []types.Object{m.Network, m.Collector, m.NATS, m.Ingress} {
		known = known && !o.IsUnknown()
	}
	if !m.Network.IsNull() && !m.Network.IsUnknown() {
		var n envNetworkModel
		diags.Append(m.Network.As(ctx, &n, objectAsOptions)...)
		var ok bool
		spec.Network.Subnets, ok = stringsOf(ctx, n.SubnetIDs)
		known = known && ok
		spec.Network.SecurityGroups, ok = stringsOf(ctx, n.SecurityGroupIDs)
		known = known && ok && !n.AssignPublicIP.IsUnknown()
		if !n.AssignPublicIP.IsNull() {
			spec.Network.AssignPublicIP = n.AssignPublicIP.ValueBoolPointer()
		}
	}
	if !m.Collector.IsNull() && !m.Collector.IsUnknown() {
		var c envCollectorModel
		diags.Append(m.Collector.As(ctx, &c, objectAsOptions)...)
		spec.Collector = environment.Collector{Image: str(c.Image), Config: str(c.Config), CPU: num(c.CPU), Memory: num(c.Memory), DesiredCount: num(c.DesiredCount)}
	}
	if !m.NATS.IsNull() && !m.NATS.IsUnknown() {
		var n envNATSModel
		diags.Append(m.NATS.As(ctx, &n, objectAsOptions)...)
		known = known && !n.Managed.IsUnknown()
		spec.NATS = environment.NATS{
			URL: str(n.URL), User: str(n.User), Password: str(n.Password), Credentials: str(n.Credentials),
			Managed: n.Managed.ValueBool(), Image: str(n.Image), Replicas: num(n.Replicas), CPU: num(n.CPU), Memory: num(n.Memory),
		}
	}
	if !m.Ingress.IsNull() && !m.Ingress.IsUnknown() {
		var in envIngressModel
		diags.Append(m.Ingress.As(ctx, &in, objectAsOptions)...)
		subnets, ok := stringsOf(ctx, in.SubnetIDs)
		known = known && ok
		spec.Ingress = &environment.Ingress{CertificateARN: str(in.CertificateARN), Subnets: subnets}
	}
	return spec, known, diags
}

// fromState fills the model from what exists. Inputs are read back where
// AWS holds them (so drift shows as a diff); where a part is gone, its
// input keeps its prior value and the part's absence from components
// plans the repair.
func (m *environmentResourceModel) fromState(ctx context.Context, st environment.State) diag.Diagnostics {
	var diags diag.Diagnostics
	names := environment.NamesOf(st.Spec.Name)
	m.ID, m.Name = types.StringValue(st.Spec.Name), types.StringValue(st.Spec.Name)
	if st.Spec.Stage != "" {
		m.Stage = types.StringValue(st.Spec.Stage)
	}
	m.ContainerInsights = types.StringValue(st.Spec.ContainerInsights)
	if st.LogGroupExists {
		m.LogRetentionDays = types.Int64Value(int64(st.Spec.LogRetentionDays))
	}
	if c := st.Spec.Collector; c.Image != "" {
		obj, d := types.ObjectValueFrom(ctx, envCollectorTypes, envCollectorModel{
			Image: types.StringValue(c.Image), Config: types.StringValue(c.Config), CPU: types.Int64Value(int64(c.CPU)),
			Memory: types.Int64Value(int64(c.Memory)), DesiredCount: types.Int64Value(int64(c.DesiredCount)),
		})
		diags.Append(d...)
		m.Collector = obj
	}
	if m.Collector.IsNull() {
		m.Collector = defaultCollectorObject()
	}
	n := st.Spec.NATS
	switch {
	case n.Managed:
		obj, d := types.ObjectValueFrom(ctx, envNATSTypes, envNATSModel{
			URL: types.StringNull(), User: types.StringNull(), Password: types.StringNull(), Credentials: types.StringNull(),
			Managed: types.BoolValue(true), Image: types.StringValue(n.Image), Replicas: types.Int64Value(int64(n.Replicas)),
			CPU: types.Int64Value(int64(n.CPU)), Memory: types.Int64Value(int64(n.Memory)),
		})
		diags.Append(d...)
		m.NATS = obj
	case n.URL != "":
		obj, d := types.ObjectValueFrom(ctx, envNATSTypes, envNATSModel{
			URL: types.StringValue(n.URL), User: nullIfEmpty(n.User), Password: nullIfEmpty(n.Password), Credentials: nullIfEmpty(n.Credentials),
			Managed: types.BoolValue(false), Image: types.StringNull(), Replicas: types.Int64Null(), CPU: types.Int64Null(), Memory: types.Int64Null(),
		})
		diags.Append(d...)
		m.NATS = obj
	}
	if st.LoadBalancer == nil {
		m.Ingress = types.ObjectNull(envIngressTypes)
	} else {
		prior := envIngressModel{SubnetIDs: types.SetNull(types.StringType)}
		if !m.Ingress.IsNull() && !m.Ingress.IsUnknown() {
			diags.Append(m.Ingress.As(ctx, &prior, objectAsOptions)...)
		}
		subnets := types.SetNull(types.StringType)
		if !prior.SubnetIDs.IsNull() || !slices.Equal(st.LoadBalancer.Subnets, st.Subnets) {
			subnets = setOf(st.LoadBalancer.Subnets)
		}
		obj, d := types.ObjectValueFrom(ctx, envIngressTypes, envIngressModel{CertificateARN: nullIfEmpty(st.LoadBalancer.CertificateARN), SubnetIDs: subnets})
		diags.Append(d...)
		m.Ingress = obj
	}

	m.ClusterARN, m.ClusterName = types.StringValue(st.ClusterARN), types.StringValue(names.Cluster())
	m.NamespaceARN, m.NamespaceID, m.NamespaceName = types.StringValue(st.NamespaceARN), types.StringValue(st.NamespaceID), types.StringValue(names.Namespace())
	m.LogGroupName, m.LogGroupARN = types.StringValue(st.LogGroupName), types.StringValue(st.LogGroupARN)
	m.OTLPEndpoint = types.StringValue(st.OTLPEndpoint())
	m.ParameterRoot, m.PlatformParameterPath = types.StringValue(names.ParameterRoot()), types.StringValue(names.PlatformPath())
	m.NATSURLParameter = types.StringValue(names.Parameter(environment.ParamNATSURL))
	params := map[string]attr.Value{}
	for short, p := range st.Parameters {
		params[short] = types.StringValue(p.Name)
	}
	m.PlatformParameters = types.MapValueMust(types.StringType, params)
	m.ExecutionRoleARN, m.VPCID = types.StringValue(st.ExecutionRoleARN), types.StringValue(st.VPCID)
	m.SubnetIDs, m.SecurityGroupIDs, m.AssignPublicIP = setOf(st.Subnets), setOf(st.SecurityGroups), types.BoolValue(st.AssignPublicIP)
	m.LoadBalancerARN, m.LoadBalancerDNSName, m.LoadBalancerZoneID, m.ListenerARN = types.StringNull(), types.StringNull(), types.StringNull(), types.StringNull()
	if lb := st.LoadBalancer; lb != nil {
		m.LoadBalancerARN, m.LoadBalancerDNSName = types.StringValue(lb.ARN), types.StringValue(lb.DNSName)
		m.LoadBalancerZoneID, m.ListenerARN = types.StringValue(lb.ZoneID), types.StringValue(lb.ListenerARN())
	}
	m.IngressSecurityGroupID = nullIfEmpty(st.IngressSecurityGroup)
	comps := map[string]attr.Value{}
	for k, v := range st.Components {
		comps[k] = types.StringValue(v)
	}
	m.Components = types.MapValueMust(types.StringType, comps)
	return diags
}

func nullIfEmpty(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, n := range v {
		out[i] = int64(n)
	}
	return out
}

// objectAsOptions reads nested objects whose own values may be unknown.
var objectAsOptions = basetypes.ObjectAsOptions{}
