package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
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
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pivotapp/platform/internal/autoscale"
	"github.com/pivotapp/platform/internal/ecsdeploy"
)

var (
	_ resource.ResourceWithConfigure      = &serviceResource{}
	_ resource.ResourceWithValidateConfig = &serviceResource{}
	_ resource.ResourceWithModifyPlan     = &serviceResource{}
	_ resource.ResourceWithImportState    = &serviceResource{}
)

func init() { registerResource(NewServiceResource) }

// NewServiceResource returns the pivot_service resource.
func NewServiceResource() resource.Resource { return &serviceResource{} }

type serviceResource struct {
	data *providerData
}

func (r *serviceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (r *serviceResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "One containerised service in one environment on Amazon ECS with Service Connect. " +
			"A single declaration creates and keeps in step: the task definition (the app container and a FireLens/Fluent Bit " +
			"log router; a new revision only when its content changes), the ECS service with Service Connect (named ports, " +
			"discovery names, client aliases, gRPC app protocol), a deployment circuit breaker with rollback and a wait for " +
			"steady state, the service's own task and execution roles with least-privilege inline policies scoped to its " +
			"Parameter Store path `/<environment>/<name>/`, and its CloudWatch log group.\n\n" +
			"Plans check, with the AWS API, that the cluster, the Service Connect namespace and every secret parameter exist, " +
			"and (with `required_env` or `env_schema_json`) that every variable the service needs is set. Secret values never " +
			"pass through Terraform: only parameter names and ARNs are stored.\n\n" +
			"Image, environment, secrets, size, count and deployment settings update in place; only `name`, `cluster`, " +
			"`launch_type` and the `target` account replace the service.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<cluster>/<name>`, the import identifier.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the ECS service.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Service name: the ECS service name, the default Service Connect discovery name and part of the role names " +
					"and of the Parameter Store path. 2 to 32 lowercase letters, digits and hyphens, starting with a letter. Changing it replaces the service.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"environment": schema.StringAttribute{Required: true,
				MarkdownDescription: "Environment name (`staging`, `prod`, a tenant). Secrets are read from `/<environment>/<name>/<KEY>`; " +
					"roles are named `<environment>-<name>-task` and `<environment>-<name>-exec`; the task definition family is `<environment>-<name>`. " +
					"2 to 24 lowercase letters, digits and hyphens."},
			"cluster": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name or ARN of the environment's ECS cluster. Checked at plan time. Changing it replaces the service.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"service_connect_namespace": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name or ARN of the environment's Cloud Map namespace used by Service Connect. Checked at plan time."},
			"cpu": schema.Int64Attribute{Required: true,
				MarkdownDescription: "Task CPU units. On Fargate, with `memory`, one of Fargate's task sizes (checked at plan time): " +
					"256 (512–2048 MiB), 512 (1024–4096), 1024 (2048–8192), 2048 (4096–16384), 4096 (8192–30720), 8192 (16384–61440 in 4 GiB steps), 16384 (32768–122880 in 8 GiB steps)."},
			"memory": schema.Int64Attribute{Required: true, MarkdownDescription: "Task memory in MiB; see `cpu`."},
			"cpu_architecture": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultCPUArchitecture),
				MarkdownDescription: "`X86_64` (default) or `ARM64`."},
			"launch_type": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultLaunchType),
				MarkdownDescription: "`FARGATE` (default) or `EC2`. ECS cannot change it in place: changing it replaces the service.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"desired_count": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				MarkdownDescription: "Number of tasks to keep running. Default 1. A count changed outside Terraform shows in the plan, " +
					"except with `autoscaling`, where this is the starting count and the scaler owns it."},
			"ports": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Named container ports, each published through Service Connect. The first is the app port: " +
					"it is passed to the app as `PORT` and is where the default health check calls `/health`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":           schema.StringAttribute{Required: true, MarkdownDescription: "Port name (the port mapping name Service Connect refers to), e.g. `grpc`."},
					"container_port": schema.Int64Attribute{Required: true, MarkdownDescription: "Port the container listens on."},
					"protocol": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultPortProtocol),
						MarkdownDescription: "App protocol: `grpc` (default), `http` or `http2`. Service Connect's proxy uses it for retries and metrics."},
					"discovery_name": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Cloud Map service name. Default: the service name for the first port, `<name>-<port name>` for the others."},
					"client_alias": schema.SingleNestedAttribute{Optional: true,
						MarkdownDescription: "Name and port that clients in the namespace dial. Default: the discovery name and the container port.",
						Attributes: map[string]schema.Attribute{
							"port":     schema.Int64Attribute{Optional: true, MarkdownDescription: "Port clients dial. Default: `container_port`."},
							"dns_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Name clients dial. Default: the discovery name."},
						}},
				}},
			},
			"env": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Plain environment variables of the app container. Never put secrets here: use `secrets`. " +
					"They win over the variables the platform injects (`PORT`, `OTEL_*`)."},
			"secrets": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Names of secrets, each a SecureString parameter at `/<environment>/<name>/<NAME>` passed to the app as the " +
					"variable `NAME`. Plans fail while a parameter is missing. Only the parameter ARN reaches the task definition; values never pass through Terraform."},
			"platform_secrets": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Names of the environment's platform secrets, each a SecureString parameter at `/<environment>/_platform/<NAME>` " +
					"(for example `NATS_PASSWORD`, which `pivot_environment` stores) passed to the app as the variable `NAME`. The execution role may read " +
					"exactly these parameters of the folder. Plans fail while a parameter is missing."},
			"calls": schema.SetAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Names of the services of the same cluster this one calls through Service Connect (e.g. `[\"messenger\"]`). " +
					"ECS gives a task only the Service Connect endpoints that existed when its deployment started, so the service is created " +
					"only once each of these exists (waiting up to `deployment.timeout`), and an update redeploys it when one of them was " +
					"created after its current deployment. Not stored in AWS: import leaves it unset."},
			"required_env": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Variables the service needs. The plan fails when one comes from none of `env`, `secrets`, the injected variables or `injected_env`."},
			"env_schema_json": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The service binary's env contract, the JSON array printed by `<binary> --print-env-schema` " +
					"(`[{\"name\": ..., \"required\": ..., \"secret\": ...}]`). Required variables are checked like `required_env`; " +
					"a variable marked secret but set in `env` is a warning."},
			"injected_env": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Variables the environment provides by other means (for example `DATABASE_URL` and `DATABASE_READER_URL` " +
					"when a database is attached). They satisfy the env contract; this resource does not set them."},
			"health_check": schema.SingleNestedAttribute{Optional: true, Computed: true,
				Default:             objectdefault.StaticValue(svcDefaultHealthCheck()),
				MarkdownDescription: "Container health check. By default `GET /health` on the app port (with `curl`, which the image must contain; set `command` otherwise).",
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: "Whether the container has a health check. Default true."},
					"path":    schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultHealthPath), MarkdownDescription: "HTTP path. Default `/health`."},
					"port":    schema.Int64Attribute{Optional: true, MarkdownDescription: "Port to call. Default: the first port's `container_port`."},
					"interval": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultHealthInterval),
						MarkdownDescription: "Seconds between checks, 5–300. Default 15."},
					"timeout": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultHealthTimeout),
						MarkdownDescription: "Seconds before a check fails, 2–60 and shorter than `interval`. Default 5."},
					"retries": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultHealthRetries),
						MarkdownDescription: "Failures before the container is unhealthy, 1–10. Default 3."},
					"start_period": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultHealthStartPeriod),
						MarkdownDescription: "Grace seconds after start, 0–300. Default 30."},
					"command": schema.ListAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Own command instead of the HTTP check, starting with `CMD` or `CMD-SHELL`, e.g. `[\"CMD\", \"/app\", \"-healthcheck\"]`."},
				}},
			"logging": schema.SingleNestedAttribute{Optional: true, Computed: true,
				Default: objectdefault.StaticValue(svcDefaultLogging()),
				MarkdownDescription: "Log routing through a FireLens (Fluent Bit) sidecar named `log_router`. By default to a CloudWatch log group " +
					"`/pivot/<environment>/<name>` that this resource creates and deletes.",
				Attributes: map[string]schema.Attribute{
					"destination": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultLogDestination),
						MarkdownDescription: "`cloudwatch` (default) or `fluentbit` (any Fluent Bit output, see `output`)."},
					"log_group": schema.StringAttribute{Optional: true,
						MarkdownDescription: "CloudWatch log group, created and owned by this resource. Default `/pivot/<environment>/<name>`. Only with `cloudwatch`."},
					"retention_in_days": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultLogRetentionDays),
						MarkdownDescription: "Retention of the log group: 0 (never expire) or a value CloudWatch accepts (1, 3, 5, 7, 14, 30, ...). Default 30."},
					"output": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Fluent Bit output plugin for `fluentbit`, e.g. `loki`, `datadog`, `http`."},
					"options": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Extra Fluent Bit output options (for `fluentbit` the plugin's settings, e.g. `host`)."},
					"router_image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ecsdeploy.DefaultRouterImage),
						MarkdownDescription: "Fluent Bit image of the log router. Default AWS's `aws-for-fluent-bit:stable`."},
				}},
			"tracing": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "OpenTelemetry: the app gets `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME` (the service name) and " +
					"`OTEL_RESOURCE_ATTRIBUTES` (environment and image tag).",
				Attributes: map[string]schema.Attribute{
					"otlp_endpoint": schema.StringAttribute{Required: true,
						MarkdownDescription: "OTLP/HTTP base URL of the environment's collector, e.g. `http://otel-collector.staging.pivot.local:4318`."},
				}},
			"deployment": schema.SingleNestedAttribute{Optional: true, Computed: true,
				Default:             objectdefault.StaticValue(svcDefaultDeployment()),
				MarkdownDescription: "Rolling deployment settings and the wait for steady state.",
				Attributes: map[string]schema.Attribute{
					"circuit_breaker": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Stop a deployment whose tasks keep failing. Default true."},
					"rollback": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Roll back to the previous revision when the circuit breaker trips. Default true."},
					"minimum_healthy_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultMinimumHealthyPercent),
						MarkdownDescription: "Lower limit of running tasks during a deployment, in percent of `desired_count`, 0–100. Default 100."},
					"maximum_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ecsdeploy.DefaultMaximumPercent),
						MarkdownDescription: "Upper limit of running tasks during a deployment, 100–200. Default 200."},
					"wait_for_steady_state": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Wait until the deployment completes, and fail with the reason (stopped tasks, rollback) when it does not. Default true."},
					"timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("10m"),
						MarkdownDescription: "Longest wait for steady state (and for draining on destroy), a Go duration between 10s and 3h. Default `10m`."},
				}},
			"network": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "awsvpc placement of the tasks.",
				Attributes: map[string]schema.Attribute{
					"subnets":          schema.SetAttribute{Required: true, ElementType: types.StringType, MarkdownDescription: "Subnet IDs (`subnet-...`)."},
					"security_groups":  schema.SetAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Security group IDs (`sg-...`)."},
					"assign_public_ip": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Give tasks public IPs (public subnets without NAT). Default false."},
				}},
			"target_group_arn": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Load balancer target group (e.g. `pivot_public_endpoint.target_group_arn`) the app container's first port is registered in. Changes in place."},
			"autoscaling": svcAutoscalingAttribute(),
			"s3_bucket": schema.StringAttribute{Optional: true,
				MarkdownDescription: "An S3 bucket the service owns: its task role may list it and get, put and delete its objects, and nothing else."},
			"tags": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Tags for the service, task definition, roles and log group (propagated to tasks). Keys starting with `pivot:` or `aws:` are reserved."},
			"task_definition_arn": schema.StringAttribute{Computed: true,
				MarkdownDescription: "ARN of the task definition revision the service runs. Known at plan time when the task definition does not change."},
			"task_role_arn":      schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the service's task role.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"execution_role_arn": schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the service's task execution role.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"log_group_name": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The CloudWatch log group the service writes to; null when logs go to another Fluent Bit output."},
		},
		Blocks: map[string]schema.Block{
			"image": schema.SingleNestedBlock{
				MarkdownDescription: "The container image. A block, so CI can bump `tag` with an HCL edit; a tag change is an in-place update " +
					"that registers one new task definition revision.",
				Attributes: map[string]schema.Attribute{
					"repository": schema.StringAttribute{Required: true,
						MarkdownDescription: "Image repository without a tag, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger`. An ECR repository gets pull rights on itself only."},
					"tag": schema.StringAttribute{Required: true, MarkdownDescription: "Image tag (e.g. the Git SHA CI built) or digest `sha256:...`."},
				},
				Validators: []validator.Object{objectvalidator.IsRequired()},
			},
			"target": targetResourceBlock(),
		},
	}
}

func (r *serviceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m serviceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, contract, unknown, diags := m.spec(ctx)
	resp.Diagnostics.Append(diags...)
	// Unknown values are checked again at plan time, once Terraform knows
	// them; only rules whose inputs are all known can be judged here.
	for _, e := range spec.Validate() {
		if svcDependsOnUnknown(e.Field, unknown) {
			continue
		}
		svcAddFieldError(&resp.Diagnostics, e)
	}
	svcValidateAutoscaling(ctx, m, &resp.Diagnostics)
	for _, k := range svcContractInputs {
		if unknown[k] {
			return
		}
	}
	errs, warnings := spec.CheckEnvContract(contract)
	for _, e := range append(errs, warnings...) {
		svcAddFieldError(&resp.Diagnostics, e)
	}
}

func (r *serviceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// Plan does not need to be modified when the resource is being destroyed.
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _, unknown, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !unknown["cluster"] && !unknown["name"] {
		plan.ID = types.StringValue(svcID(spec.Cluster, spec.Name))
	}
	if !unknown["logging"] && !unknown["name"] && !unknown["environment"] {
		plan.LogGroupName = svcStringOrNull(spec.EffectiveLogGroup())
	}
	if !req.State.Raw.IsNull() {
		var state serviceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		prior, _, _, _ := state.spec(ctx)
		plan.TaskDefinitionARN = types.StringUnknown()
		unmanaged, d := req.Private.GetKey(ctx, svcUnmanagedKey)
		resp.Diagnostics.Append(d...)
		// The state describes the running revision (revisions are immutable
		// and Read reads back any other), so comparing what the plan and the
		// state would register tells whether apply registers a new one.
		if !svcAnyUnknown(unknown, svcTaskDefinitionInputs) && len(unmanaged) == 0 && svcSameTaskDefinition(spec, prior, state) {
			plan.TaskDefinitionARN = state.TaskDefinitionARN
		}
		if unknown["environment"] || spec.Environment != prior.Environment {
			plan.TaskRoleARN, plan.ExecutionRoleARN = types.StringUnknown(), types.StringUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	// A plan that changes nothing leaves the service alone at apply, so
	// there is nothing to check: every no-op plan of an environment would
	// otherwise ask for its cluster, namespace and secrets again.
	if !req.State.Raw.IsNull() && resp.Plan.Raw.Equal(req.State.Raw) {
		return
	}
	// The checks need the API; without it (no provider data yet, a target
	// known only at apply) the plan carries on and apply checks instead.
	if resp.Diagnostics.HasError() || r.data == nil || (plan.Target != nil && !svcTargetKnown(plan.Target)) {
		return
	}
	cfg, err := r.data.AWS(ctx, plan.Target.target())
	if err != nil {
		resp.Diagnostics.AddError("AWS Configuration Failed", "Cannot check what service "+spec.Name+" depends on: "+err.Error())
		return
	}
	client := ecsdeploy.For(cfg)
	// Values unknown until apply (a cluster created in the same apply) are
	// left out here; Create and Update check them again.
	check := ecsdeploy.CheckRequest{}
	if !unknown["name"] && !unknown["environment"] {
		check.Name, check.Environment = spec.Name, spec.Environment
		if !unknown["secrets"] {
			check.Secrets = spec.Secrets
		}
		if !unknown["platform_secrets"] {
			check.PlatformSecrets = spec.PlatformSecrets
		}
	}
	if !unknown["cluster"] {
		check.Cluster = spec.Cluster
	}
	if !unknown["service_connect_namespace"] {
		check.Namespace = spec.Namespace
	}
	if !unknown["network"] {
		check.Subnets, check.SecurityGroups = spec.Network.Subnets, spec.Network.SecurityGroups
	}
	problems, err := client.Check(ctx, check)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Check Service Dependencies", fmt.Sprintf("Checking the cluster, namespace and secrets of service %s failed: %s", spec.Name, err))
		return
	}
	for _, p := range problems {
		svcAddFieldError(&resp.Diagnostics, p)
	}
}

func (r *serviceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *serviceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _, _, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	client := r.client(ctx, plan.Target, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	d, err := client.Deploy(svcProgress(ctx), spec, nil)
	if d != nil {
		plan.setDeployed(d)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
	if err != nil {
		svcAddDeployError(&resp.Diagnostics, "Create", spec, err)
		return
	}
	r.svcApplyAutoscaling(ctx, plan, spec, false, &resp.Diagnostics)
}

func (r *serviceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	prior, _, _, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	client := r.client(ctx, state.Target, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	d, err := client.Refresh(ctx, state.deployed(prior))
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Service", fmt.Sprintf("Reading service %s in cluster %s failed: %s", prior.Name, prior.Cluster, err))
		return
	}
	if d == nil {
		// Deleted out of band (or INACTIVE/DRAINING): plan it as a create.
		resp.State.RemoveResource(ctx)
		return
	}
	next, diags := svcModelFromDeployed(ctx, d, state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Only a service that has autoscaling reads it: the scaler's calls
	// would otherwise cost every plan of every service (see "Cheap reads").
	if !state.Autoscaling.IsNull() {
		cfg, err := r.data.AWS(ctx, state.Target.target())
		if err != nil {
			resp.Diagnostics.AddError("AWS Configuration Failed", err.Error())
			return
		}
		a, err := autoscale.New(cfg).Read(ctx, svcAutoscaleService(prior))
		if err != nil {
			resp.Diagnostics.AddError("Unable To Read Autoscaling", fmt.Sprintf("Reading the autoscaling of service %s failed: %s", prior.Name, err))
			return
		}
		next.Autoscaling = svcModelAutoscaling(ctx, a, state.Autoscaling, &resp.Diagnostics)
		if a != nil {
			// The scaler owns the count: what it set is not drift.
			next.DesiredCount = state.DesiredCount
		}
	}
	if d.Unmanaged {
		// Settings no attribute shows (an extra container, say) changed out
		// of band; remembered so the plan replaces the revision.
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, svcUnmanagedKey, []byte(`true`))...)
	} else if d.TaskDefinitionARN != state.TaskDefinitionARN.ValueString() {
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, svcUnmanagedKey, nil)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &next)...)
}

func (r *serviceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _, _, diags := plan.spec(ctx)
	resp.Diagnostics.Append(diags...)
	prior, _, _, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	client := r.client(ctx, plan.Target, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	priorDeployed := state.deployed(prior)
	// Settings of the running revision no attribute shows (Read marked
	// them): Deploy must look at the revision itself, not the state.
	unmanaged, diags := req.Private.GetKey(ctx, svcUnmanagedKey)
	resp.Diagnostics.Append(diags...)
	priorDeployed.Unmanaged = len(unmanaged) > 0
	hadScaler, scalerChanged := !state.Autoscaling.IsNull(), !plan.Autoscaling.Equal(state.Autoscaling)
	if hadScaler && plan.Autoscaling.IsNull() {
		// The scaler goes first, or it would move the count the deploy
		// hands back to desired_count.
		r.svcApplyAutoscaling(ctx, plan, prior, true, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		scalerChanged = false
	}
	d, err := client.Deploy(svcProgress(ctx), spec, &priorDeployed)
	if d != nil {
		plan.setDeployed(d)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, svcUnmanagedKey, nil)...)
	}
	if err != nil {
		svcAddDeployError(&resp.Diagnostics, "Update", spec, err)
		return
	}
	if scalerChanged {
		r.svcApplyAutoscaling(ctx, plan, spec, hadScaler, &resp.Diagnostics)
	}
}

func (r *serviceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec, _, _, diags := state.spec(ctx)
	resp.Diagnostics.Append(diags...)
	client := r.client(ctx, state.Target, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.Autoscaling.IsNull() {
		noScaler := state
		noScaler.Autoscaling = types.ObjectNull(svcAutoscalingAttrTypes)
		r.svcApplyAutoscaling(ctx, noScaler, spec, true, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	if err := client.Delete(svcProgress(ctx), spec, spec.Deployment.Timeout); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Service",
			fmt.Sprintf("Deleting service %s of environment %s failed: %s. Run the destroy again; what is already gone is skipped.", spec.Name, spec.Environment, err))
	}
}

func (r *serviceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	// The cluster may be an ARN, which has a slash of its own: split at the last.
	i := strings.LastIndex(req.ID, "/")
	if i <= 0 || i == len(req.ID)-1 {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Unexpected format of ID (%q), expected <cluster>/<service>, e.g. staging/messenger.", req.ID))
		return
	}
	cluster, name := req.ID[:i], req.ID[i+1:]
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("cluster"), cluster)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

func (r *serviceResource) client(ctx context.Context, t *targetModel, diags *diag.Diagnostics) *ecsdeploy.Client {
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The pivot provider was not configured; this is a bug in the provider or in Terraform.")
		return nil
	}
	cfg, err := r.data.AWS(ctx, t.target())
	if err != nil {
		diags.AddError("AWS Configuration Failed", err.Error()+". Check the provider's aws block and the resource's target block.")
		return nil
	}
	return ecsdeploy.For(cfg)
}

// svcUnmanagedKey marks, in private state, a running revision with
// out-of-band settings the schema cannot show.
const svcUnmanagedKey = "unmanaged_task_definition"

// serviceModel is the resource's data.
type serviceModel struct {
	ID                      types.String `tfsdk:"id"`
	ARN                     types.String `tfsdk:"arn"`
	Name                    types.String `tfsdk:"name"`
	Environment             types.String `tfsdk:"environment"`
	Cluster                 types.String `tfsdk:"cluster"`
	ServiceConnectNamespace types.String `tfsdk:"service_connect_namespace"`
	Image                   types.Object `tfsdk:"image"`
	CPU                     types.Int64  `tfsdk:"cpu"`
	Memory                  types.Int64  `tfsdk:"memory"`
	CPUArchitecture         types.String `tfsdk:"cpu_architecture"`
	LaunchType              types.String `tfsdk:"launch_type"`
	DesiredCount            types.Int64  `tfsdk:"desired_count"`
	Ports                   types.List   `tfsdk:"ports"`
	Env                     types.Map    `tfsdk:"env"`
	Secrets                 types.Set    `tfsdk:"secrets"`
	PlatformSecrets         types.Set    `tfsdk:"platform_secrets"`
	Calls                   types.Set    `tfsdk:"calls"`
	RequiredEnv             types.List   `tfsdk:"required_env"`
	EnvSchemaJSON           types.String `tfsdk:"env_schema_json"`
	InjectedEnv             types.List   `tfsdk:"injected_env"`
	HealthCheck             types.Object `tfsdk:"health_check"`
	Logging                 types.Object `tfsdk:"logging"`
	Tracing                 types.Object `tfsdk:"tracing"`
	Deployment              types.Object `tfsdk:"deployment"`
	Network                 types.Object `tfsdk:"network"`
	S3Bucket                types.String `tfsdk:"s3_bucket"`
	Autoscaling             types.Object `tfsdk:"autoscaling"`
	TargetGroupARN          types.String `tfsdk:"target_group_arn"`
	Tags                    types.Map    `tfsdk:"tags"`
	TaskDefinitionARN       types.String `tfsdk:"task_definition_arn"`
	TaskRoleARN             types.String `tfsdk:"task_role_arn"`
	ExecutionRoleARN        types.String `tfsdk:"execution_role_arn"`
	LogGroupName            types.String `tfsdk:"log_group_name"`
	Target                  *targetModel `tfsdk:"target"`
}

type svcImageModel struct {
	Repository types.String `tfsdk:"repository"`
	Tag        types.String `tfsdk:"tag"`
}

type svcPortModel struct {
	Name          types.String `tfsdk:"name"`
	ContainerPort types.Int64  `tfsdk:"container_port"`
	Protocol      types.String `tfsdk:"protocol"`
	DiscoveryName types.String `tfsdk:"discovery_name"`
	ClientAlias   types.Object `tfsdk:"client_alias"`
}

type svcClientAliasModel struct {
	Port    types.Int64  `tfsdk:"port"`
	DNSName types.String `tfsdk:"dns_name"`
}

type svcHealthCheckModel struct {
	Enabled     types.Bool   `tfsdk:"enabled"`
	Path        types.String `tfsdk:"path"`
	Port        types.Int64  `tfsdk:"port"`
	Interval    types.Int64  `tfsdk:"interval"`
	Timeout     types.Int64  `tfsdk:"timeout"`
	Retries     types.Int64  `tfsdk:"retries"`
	StartPeriod types.Int64  `tfsdk:"start_period"`
	Command     types.List   `tfsdk:"command"`
}

type svcLoggingModel struct {
	Destination     types.String `tfsdk:"destination"`
	LogGroup        types.String `tfsdk:"log_group"`
	RetentionInDays types.Int64  `tfsdk:"retention_in_days"`
	Output          types.String `tfsdk:"output"`
	Options         types.Map    `tfsdk:"options"`
	RouterImage     types.String `tfsdk:"router_image"`
}

type svcTracingModel struct {
	OTLPEndpoint types.String `tfsdk:"otlp_endpoint"`
}

type svcDeploymentModel struct {
	CircuitBreaker        types.Bool   `tfsdk:"circuit_breaker"`
	Rollback              types.Bool   `tfsdk:"rollback"`
	MinimumHealthyPercent types.Int64  `tfsdk:"minimum_healthy_percent"`
	MaximumPercent        types.Int64  `tfsdk:"maximum_percent"`
	WaitForSteadyState    types.Bool   `tfsdk:"wait_for_steady_state"`
	Timeout               types.String `tfsdk:"timeout"`
}

type svcNetworkModel struct {
	Subnets        types.Set  `tfsdk:"subnets"`
	SecurityGroups types.Set  `tfsdk:"security_groups"`
	AssignPublicIP types.Bool `tfsdk:"assign_public_ip"`
}

var (
	svcImageAttrTypes       = map[string]attr.Type{"repository": types.StringType, "tag": types.StringType}
	svcClientAliasAttrTypes = map[string]attr.Type{"port": types.Int64Type, "dns_name": types.StringType}
	svcPortAttrTypes        = map[string]attr.Type{
		"name": types.StringType, "container_port": types.Int64Type, "protocol": types.StringType,
		"discovery_name": types.StringType, "client_alias": types.ObjectType{AttrTypes: svcClientAliasAttrTypes},
	}
	svcHealthCheckAttrTypes = map[string]attr.Type{
		"enabled": types.BoolType, "path": types.StringType, "port": types.Int64Type, "interval": types.Int64Type,
		"timeout": types.Int64Type, "retries": types.Int64Type, "start_period": types.Int64Type,
		"command": types.ListType{ElemType: types.StringType},
	}
	svcLoggingAttrTypes = map[string]attr.Type{
		"destination": types.StringType, "log_group": types.StringType, "retention_in_days": types.Int64Type,
		"output": types.StringType, "options": types.MapType{ElemType: types.StringType}, "router_image": types.StringType,
	}
	svcTracingAttrTypes    = map[string]attr.Type{"otlp_endpoint": types.StringType}
	svcDeploymentAttrTypes = map[string]attr.Type{
		"circuit_breaker": types.BoolType, "rollback": types.BoolType, "minimum_healthy_percent": types.Int64Type,
		"maximum_percent": types.Int64Type, "wait_for_steady_state": types.BoolType, "timeout": types.StringType,
	}
	svcNetworkAttrTypes = map[string]attr.Type{
		"subnets": types.SetType{ElemType: types.StringType}, "security_groups": types.SetType{ElemType: types.StringType},
		"assign_public_ip": types.BoolType,
	}
)

func svcDefaultHealthCheck() types.Object {
	return types.ObjectValueMust(svcHealthCheckAttrTypes, map[string]attr.Value{
		"enabled": types.BoolValue(true), "path": types.StringValue(ecsdeploy.DefaultHealthPath), "port": types.Int64Null(),
		"interval": types.Int64Value(ecsdeploy.DefaultHealthInterval), "timeout": types.Int64Value(ecsdeploy.DefaultHealthTimeout),
		"retries": types.Int64Value(ecsdeploy.DefaultHealthRetries), "start_period": types.Int64Value(ecsdeploy.DefaultHealthStartPeriod),
		"command": types.ListNull(types.StringType),
	})
}

func svcDefaultLogging() types.Object {
	return types.ObjectValueMust(svcLoggingAttrTypes, map[string]attr.Value{
		"destination": types.StringValue(ecsdeploy.DefaultLogDestination), "log_group": types.StringNull(),
		"retention_in_days": types.Int64Value(ecsdeploy.DefaultLogRetentionDays), "output": types.StringNull(),
		"options": types.MapNull(types.StringType), "router_image": types.StringValue(ecsdeploy.DefaultRouterImage),
	})
}

func svcDefaultDeployment() types.Object {
	return types.ObjectValueMust(svcDeploymentAttrTypes, map[string]attr.Value{
		"circuit_breaker": types.BoolValue(true), "rollback": types.BoolValue(true),
		"minimum_healthy_percent": types.Int64Value(ecsdeploy.DefaultMinimumHealthyPercent),
		"maximum_percent":         types.Int64Value(ecsdeploy.DefaultMaximumPercent),
		"wait_for_steady_state":   types.BoolValue(true), "timeout": types.StringValue("10m"),
	})
}

// Inputs of the env contract check and of the task definition: rules over
// them wait until all are known.
var (
	svcContractInputs       = []string{"name", "environment", "env", "secrets", "platform_secrets", "ports", "tracing", "image", "required_env", "env_schema_json", "injected_env"}
	svcTaskDefinitionInputs = []string{"name", "environment", "image", "cpu", "memory", "cpu_architecture", "launch_type", "ports", "env", "secrets", "platform_secrets", "health_check", "logging", "tracing"}
	// svcFieldInputs lists, for rules spanning attributes, every attribute
	// the rule reads; other rules read only their own attribute.
	svcFieldInputs = map[string][]string{
		"memory":           {"cpu", "memory", "launch_type"},
		"health_check":     {"health_check", "ports", "name"},
		"ports":            {"ports", "name"},
		"secrets":          {"secrets", "env", "name", "environment"},
		"platform_secrets": {"platform_secrets", "secrets", "env", "environment"},
		"logging":          {"logging", "name", "environment"},
	}
)

// spec converts the model to a deployment spec (with defaults) and its env
// contract. unknown holds the top-level attributes that are not fully
// known; their parts of the spec are zero.
func (m serviceModel) spec(ctx context.Context) (ecsdeploy.Spec, ecsdeploy.EnvContract, map[string]bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	unknown := map[string]bool{}
	for name, v := range map[string]attr.Value{
		"name": m.Name, "environment": m.Environment, "cluster": m.Cluster, "service_connect_namespace": m.ServiceConnectNamespace,
		"image": m.Image, "cpu": m.CPU, "memory": m.Memory, "cpu_architecture": m.CPUArchitecture, "launch_type": m.LaunchType,
		"desired_count": m.DesiredCount, "ports": m.Ports, "env": m.Env, "secrets": m.Secrets, "platform_secrets": m.PlatformSecrets, "required_env": m.RequiredEnv,
		"env_schema_json": m.EnvSchemaJSON, "injected_env": m.InjectedEnv, "health_check": m.HealthCheck, "logging": m.Logging,
		"tracing": m.Tracing, "deployment": m.Deployment, "network": m.Network, "s3_bucket": m.S3Bucket, "target_group_arn": m.TargetGroupARN, "tags": m.Tags,
		"autoscaling": m.Autoscaling, "calls": m.Calls,
	} {
		if !svcFullyKnown(v) {
			unknown[name] = true
		}
	}
	// A missing image block is reported by its own validator; its empty
	// fields would only add noise.
	if m.Image.IsNull() {
		unknown["image"] = true
	}
	s := ecsdeploy.Spec{
		Name:            m.Name.ValueString(),
		Environment:     m.Environment.ValueString(),
		Cluster:         m.Cluster.ValueString(),
		Namespace:       m.ServiceConnectNamespace.ValueString(),
		CPU:             int(m.CPU.ValueInt64()),
		Memory:          int(m.Memory.ValueInt64()),
		CPUArchitecture: m.CPUArchitecture.ValueString(),
		LaunchType:      m.LaunchType.ValueString(),
		DesiredCount:    int(m.DesiredCount.ValueInt64()),
		Env:             svcStringMap(ctx, m.Env, &diags),
		Secrets:         svcStrings(ctx, m.Secrets, &diags),
		PlatformSecrets: svcStrings(ctx, m.PlatformSecrets, &diags),
		Calls:           svcStrings(ctx, m.Calls, &diags),
		Bucket:          m.S3Bucket.ValueString(),
		TargetGroupARN:  m.TargetGroupARN.ValueString(),
		Tags:            svcStringMap(ctx, m.Tags, &diags),
	}
	if m.DesiredCount.IsNull() {
		s.DesiredCount = 1
	}
	svcScaledSpec(ctx, m, &s, &diags)
	var img svcImageModel
	if svcAs(ctx, m.Image, &img, &diags) {
		s.Image = ecsdeploy.Image{Repository: img.Repository.ValueString(), Tag: img.Tag.ValueString()}
	}
	if !m.Ports.IsNull() && !m.Ports.IsUnknown() {
		var ports []svcPortModel
		diags.Append(m.Ports.ElementsAs(ctx, &ports, false)...)
		for _, p := range ports {
			port := ecsdeploy.Port{Name: p.Name.ValueString(), ContainerPort: int(p.ContainerPort.ValueInt64()), Protocol: p.Protocol.ValueString(), DiscoveryName: p.DiscoveryName.ValueString()}
			var a svcClientAliasModel
			if svcAs(ctx, p.ClientAlias, &a, &diags) {
				port.ClientAlias = &ecsdeploy.ClientAlias{Port: int(a.Port.ValueInt64()), DNSName: a.DNSName.ValueString()}
			}
			s.Ports = append(s.Ports, port)
		}
	}
	s.HealthCheck.StartPeriod = ecsdeploy.DefaultHealthStartPeriod
	var hc svcHealthCheckModel
	if svcAs(ctx, m.HealthCheck, &hc, &diags) {
		s.HealthCheck = ecsdeploy.HealthCheck{
			Disabled: !hc.Enabled.IsNull() && !hc.Enabled.ValueBool(),
			Path:     hc.Path.ValueString(), Port: int(hc.Port.ValueInt64()),
			Interval: int(hc.Interval.ValueInt64()), Timeout: int(hc.Timeout.ValueInt64()), Retries: int(hc.Retries.ValueInt64()),
			StartPeriod: int(hc.StartPeriod.ValueInt64()),
			Command:     svcStrings(ctx, hc.Command, &diags),
		}
		if hc.StartPeriod.IsNull() {
			s.HealthCheck.StartPeriod = ecsdeploy.DefaultHealthStartPeriod
		}
	}
	s.Logging.RetentionDays = ecsdeploy.DefaultLogRetentionDays
	var lg svcLoggingModel
	if svcAs(ctx, m.Logging, &lg, &diags) {
		s.Logging = ecsdeploy.Logging{
			Destination: lg.Destination.ValueString(), LogGroup: lg.LogGroup.ValueString(),
			RetentionDays: int(lg.RetentionInDays.ValueInt64()), Output: lg.Output.ValueString(),
			Options: svcStringMap(ctx, lg.Options, &diags), RouterImage: lg.RouterImage.ValueString(),
		}
		if lg.RetentionInDays.IsNull() {
			s.Logging.RetentionDays = ecsdeploy.DefaultLogRetentionDays
		}
	}
	var tr svcTracingModel
	if svcAs(ctx, m.Tracing, &tr, &diags) {
		s.Tracing.OTLPEndpoint = tr.OTLPEndpoint.ValueString()
	}
	var dp svcDeploymentModel
	if svcAs(ctx, m.Deployment, &dp, &diags) {
		s.Deployment = ecsdeploy.Deployment{
			DisableCircuitBreaker: !dp.CircuitBreaker.IsNull() && !dp.CircuitBreaker.ValueBool(),
			DisableRollback:       !dp.Rollback.IsNull() && !dp.Rollback.ValueBool(),
			MaximumPercent:        int(dp.MaximumPercent.ValueInt64()),
			SkipWait:              !dp.WaitForSteadyState.IsNull() && !dp.WaitForSteadyState.ValueBool(),
		}
		if !dp.MinimumHealthyPercent.IsNull() && !dp.MinimumHealthyPercent.IsUnknown() {
			s.Deployment.MinimumHealthyPercent = new(int(dp.MinimumHealthyPercent.ValueInt64()))
		}
		if t := dp.Timeout.ValueString(); t != "" {
			d, err := time.ParseDuration(t)
			if err != nil {
				diags.AddAttributeError(path.Root("deployment").AtName("timeout"), "Invalid Deployment Timeout",
					fmt.Sprintf("%q is not a duration; use a Go duration such as \"10m\" or \"1h30m\".", t))
			}
			s.Deployment.Timeout = d
		}
	}
	var nw svcNetworkModel
	if svcAs(ctx, m.Network, &nw, &diags) {
		s.Network = ecsdeploy.Network{
			Subnets: svcStrings(ctx, nw.Subnets, &diags), SecurityGroups: svcStrings(ctx, nw.SecurityGroups, &diags),
			AssignPublicIP: nw.AssignPublicIP.ValueBool(),
		}
	}
	contract := ecsdeploy.EnvContract{
		Required: svcStrings(ctx, m.RequiredEnv, &diags),
		Injected: svcStrings(ctx, m.InjectedEnv, &diags),
	}
	if js := m.EnvSchemaJSON.ValueString(); js != "" {
		schemaVars, err := ecsdeploy.ParseEnvSchema(js)
		if err != nil {
			diags.AddAttributeError(path.Root("env_schema_json"), "Invalid Env Schema", err.Error()+". Paste the output of `<binary> --print-env-schema`, e.g. with file().")
		}
		contract.Schema = schemaVars
	}
	return s.WithDefaults(), contract, unknown, diags
}

// deployed is what the state says runs.
func (m serviceModel) deployed(s ecsdeploy.Spec) ecsdeploy.Deployed {
	return ecsdeploy.Deployed{
		Spec:              s,
		ServiceARN:        m.ARN.ValueString(),
		TaskDefinitionARN: m.TaskDefinitionARN.ValueString(),
		TaskRoleARN:       m.TaskRoleARN.ValueString(),
		ExecutionRoleARN:  m.ExecutionRoleARN.ValueString(),
	}
}

// setDeployed fills the values only a deployment knows.
func (m *serviceModel) setDeployed(d *ecsdeploy.Deployed) {
	m.ID = types.StringValue(svcID(d.Spec.Cluster, d.Spec.Name))
	m.ARN = types.StringValue(d.ServiceARN)
	m.TaskDefinitionARN = types.StringValue(d.TaskDefinitionARN)
	m.TaskRoleARN = types.StringValue(d.TaskRoleARN)
	m.ExecutionRoleARN = types.StringValue(d.ExecutionRoleARN)
	m.LogGroupName = svcStringOrNull(d.Spec.EffectiveLogGroup())
}

// svcModelFromDeployed is what Read stores: the observed service in the
// prior state's shape (null stays null where the value is the default).
// Attributes that exist only in configuration are kept from prior.
func svcModelFromDeployed(ctx context.Context, d *ecsdeploy.Deployed, prior serviceModel) (serviceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := d.Spec
	m := prior
	m.setDeployed(d)
	m.Name = types.StringValue(s.Name)
	m.Environment = types.StringValue(s.Environment)
	if m.Cluster.ValueString() == "" {
		m.Cluster = types.StringValue(s.Cluster)
	}
	m.ServiceConnectNamespace = svcStringOrNull(s.Namespace)
	m.Image = types.ObjectValueMust(svcImageAttrTypes, map[string]attr.Value{
		"repository": types.StringValue(s.Image.Repository), "tag": types.StringValue(s.Image.Tag),
	})
	m.CPU = types.Int64Value(int64(s.CPU))
	m.Memory = types.Int64Value(int64(s.Memory))
	m.CPUArchitecture = types.StringValue(s.CPUArchitecture)
	m.LaunchType = types.StringValue(s.LaunchType)
	m.DesiredCount = types.Int64Value(int64(s.DesiredCount))

	var priorPorts []svcPortModel
	if !prior.Ports.IsNull() && !prior.Ports.IsUnknown() {
		diags.Append(prior.Ports.ElementsAs(ctx, &priorPorts, false)...)
	}
	portType := types.ObjectType{AttrTypes: svcPortAttrTypes}
	if len(s.Ports) == 0 && prior.Ports.IsNull() {
		m.Ports = types.ListNull(portType)
	} else {
		var elems []attr.Value
		for _, p := range s.Ports {
			alias := types.ObjectNull(svcClientAliasAttrTypes)
			if a := p.ClientAlias; a != nil {
				alias = types.ObjectValueMust(svcClientAliasAttrTypes, map[string]attr.Value{
					"port": svcInt64OrNull(a.Port), "dns_name": svcStringOrNull(a.DNSName),
				})
			}
			elems = append(elems, types.ObjectValueMust(svcPortAttrTypes, map[string]attr.Value{
				"name": types.StringValue(p.Name), "container_port": types.Int64Value(int64(p.ContainerPort)),
				"protocol": types.StringValue(p.Protocol), "discovery_name": svcStringOrNull(p.DiscoveryName), "client_alias": alias,
			}))
		}
		m.Ports = types.ListValueMust(portType, elems)
	}
	m.Env = svcMapLike(prior.Env, s.Env)
	m.Secrets = svcSetLike(prior.Secrets, s.Secrets)
	m.PlatformSecrets = svcSetLike(prior.PlatformSecrets, s.PlatformSecrets)

	var priorHC svcHealthCheckModel
	svcAs(ctx, prior.HealthCheck, &priorHC, &diags)
	h := s.HealthCheck
	m.HealthCheck = types.ObjectValueMust(svcHealthCheckAttrTypes, map[string]attr.Value{
		"enabled": types.BoolValue(!h.Disabled), "path": types.StringValue(h.Path), "port": svcInt64OrNull(h.Port),
		"interval": types.Int64Value(int64(h.Interval)), "timeout": types.Int64Value(int64(h.Timeout)),
		"retries": types.Int64Value(int64(h.Retries)), "start_period": types.Int64Value(int64(h.StartPeriod)),
		"command": svcListLike(priorHC.Command, h.Command),
	})
	var priorLog svcLoggingModel
	svcAs(ctx, prior.Logging, &priorLog, &diags)
	l := s.Logging
	m.Logging = types.ObjectValueMust(svcLoggingAttrTypes, map[string]attr.Value{
		"destination": types.StringValue(l.Destination), "log_group": svcStringOrNull(l.LogGroup),
		"retention_in_days": types.Int64Value(int64(l.RetentionDays)), "output": svcStringOrNull(l.Output),
		"options": svcMapLike(priorLog.Options, l.Options), "router_image": types.StringValue(l.RouterImage),
	})
	if s.Tracing.OTLPEndpoint == "" {
		m.Tracing = types.ObjectNull(svcTracingAttrTypes)
	} else {
		m.Tracing = types.ObjectValueMust(svcTracingAttrTypes, map[string]attr.Value{"otlp_endpoint": types.StringValue(s.Tracing.OTLPEndpoint)})
	}
	var priorDep svcDeploymentModel
	svcAs(ctx, prior.Deployment, &priorDep, &diags)
	dp := s.Deployment
	timeout := types.StringValue(svcFormatDuration(dp.Timeout))
	if pd, err := time.ParseDuration(priorDep.Timeout.ValueString()); err == nil && pd == dp.Timeout {
		timeout = priorDep.Timeout
	}
	m.Deployment = types.ObjectValueMust(svcDeploymentAttrTypes, map[string]attr.Value{
		"circuit_breaker":         types.BoolValue(!dp.DisableCircuitBreaker),
		"rollback":                types.BoolValue(!dp.DisableRollback),
		"minimum_healthy_percent": types.Int64Value(int64(*dp.MinimumHealthyPercent)),
		"maximum_percent":         types.Int64Value(int64(dp.MaximumPercent)),
		"wait_for_steady_state":   types.BoolValue(!dp.SkipWait),
		"timeout":                 timeout,
	})
	var priorNet svcNetworkModel
	svcAs(ctx, prior.Network, &priorNet, &diags)
	m.Network = types.ObjectValueMust(svcNetworkAttrTypes, map[string]attr.Value{
		"subnets":          svcSetLike(priorNet.Subnets, s.Network.Subnets),
		"security_groups":  svcSetLike(priorNet.SecurityGroups, s.Network.SecurityGroups),
		"assign_public_ip": types.BoolValue(s.Network.AssignPublicIP),
	})
	m.S3Bucket = svcStringOrNull(s.Bucket)
	m.TargetGroupARN = svcStringOrNull(s.TargetGroupARN)
	m.Tags = svcMapLike(prior.Tags, s.Tags)
	return m, diags
}

// svcSameTaskDefinition reports whether the planned spec needs no new
// revision over the state's, comparing the canonical task definitions both
// would register with the state's roles.
func svcSameTaskDefinition(plan, prior ecsdeploy.Spec, state serviceModel) bool {
	if state.TaskDefinitionARN.ValueString() == "" {
		return false
	}
	return ecsdeploy.SameTaskDefinitionSpec(plan, prior, state.TaskRoleARN.ValueString(), state.ExecutionRoleARN.ValueString())
}

func svcID(cluster, name string) string { return cluster + "/" + name }

func svcProgress(ctx context.Context) context.Context {
	return ecsdeploy.WithProgress(ctx, func(msg string, keyvals ...any) {
		fields := map[string]any{}
		for i := 0; i+1 < len(keyvals); i += 2 {
			fields[fmt.Sprint(keyvals[i])] = keyvals[i+1]
		}
		tflog.Info(ctx, msg, fields)
	})
}

func svcAddDeployError(diags *diag.Diagnostics, op string, spec ecsdeploy.Spec, err error) {
	var de *ecsdeploy.DeploymentError
	if errors.As(err, &de) {
		summary := "Service Did Not Reach Steady State"
		if de.RolledBack {
			summary = "Service Deployment Rolled Back"
		}
		diags.AddError(summary, fmt.Sprintf("%s. The service exists and is tracked in the state; fix the cause (the stopped tasks' reasons above, "+
			"the app's logs in %s) and apply again, or raise deployment.timeout if it only needs longer.", err, svcOr(spec.EffectiveLogGroup(), "its log destination")))
		return
	}
	if errors.Is(err, ecsdeploy.ErrServiceExists) {
		diags.AddAttributeError(path.Root("name"), "Service Already Exists", err.Error()+".")
		return
	}
	diags.AddError("Unable To "+op+" Service", fmt.Sprintf("%s of service %s in environment %s failed: %s", op, spec.Name, spec.Environment, err))
}

// svcAddFieldError reports a building-block problem on its attribute.
func svcAddFieldError(diags *diag.Diagnostics, e ecsdeploy.FieldError) {
	p := svcFieldPath(e.Field)
	if e.Warning {
		diags.AddAttributeWarning(p, e.Summary, e.Detail)
		return
	}
	diags.AddAttributeError(p, e.Summary, e.Detail)
}

// svcFieldPath turns "ports.1.client_alias.port" into an attribute path.
func svcFieldPath(field string) path.Path {
	parts := strings.Split(field, ".")
	p := path.Root(parts[0])
	for _, part := range parts[1:] {
		if i, err := strconv.Atoi(part); err == nil {
			p = p.AtListIndex(i)
		} else {
			p = p.AtName(part)
		}
	}
	return p
}

func svcDependsOnUnknown(field string, unknown map[string]bool) bool {
	root := strings.SplitN(field, ".", 2)[0]
	inputs, ok := svcFieldInputs[root]
	if !ok {
		inputs = []string{root}
	}
	return svcAnyUnknown(unknown, inputs)
}

func svcAnyUnknown(unknown map[string]bool, names []string) bool {
	for _, n := range names {
		if unknown[n] {
			return true
		}
	}
	return false
}

func svcTargetKnown(t *targetModel) bool {
	return !t.RoleARN.IsUnknown() && !t.ExternalID.IsUnknown() && !t.Region.IsUnknown()
}

// svcFullyKnown reports whether v and everything inside it is known.
func svcFullyKnown(v attr.Value) bool {
	if v == nil || v.IsUnknown() {
		return false
	}
	if v.IsNull() {
		return true
	}
	switch t := v.(type) {
	case basetypes.ObjectValue:
		for _, a := range t.Attributes() {
			if !svcFullyKnown(a) {
				return false
			}
		}
	case basetypes.ListValue:
		for _, e := range t.Elements() {
			if !svcFullyKnown(e) {
				return false
			}
		}
	case basetypes.SetValue:
		for _, e := range t.Elements() {
			if !svcFullyKnown(e) {
				return false
			}
		}
	case basetypes.MapValue:
		for _, e := range t.Elements() {
			if !svcFullyKnown(e) {
				return false
			}
		}
	}
	return true
}

// svcAs decodes a known, non-null object; false leaves target untouched.
func svcAs(ctx context.Context, o types.Object, target any, diags *diag.Diagnostics) bool {
	if o.IsNull() || o.IsUnknown() {
		return false
	}
	diags.Append(o.As(ctx, target, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})...)
	return true
}

// svcStrings returns the known elements of a list or set of strings.
func svcStrings(ctx context.Context, v interface {
	attr.Value
	ElementsAs(context.Context, any, bool) diag.Diagnostics
}, diags *diag.Diagnostics) []string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	var elems []types.String
	diags.Append(v.ElementsAs(ctx, &elems, false)...)
	var out []string
	for _, e := range elems {
		if !e.IsUnknown() && !e.IsNull() {
			out = append(out, e.ValueString())
		}
	}
	return out
}

func svcStringMap(ctx context.Context, v types.Map, diags *diag.Diagnostics) map[string]string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	var elems map[string]types.String
	diags.Append(v.ElementsAs(ctx, &elems, false)...)
	out := make(map[string]string, len(elems))
	for k, e := range elems {
		out[k] = e.ValueString()
	}
	return out
}

func svcStringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func svcInt64OrNull(v int) types.Int64 {
	if v == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(v))
}

// svcMapLike keeps null for an empty map when prior was null, so reading
// back an unset attribute does not turn it into {}.
func svcMapLike(prior types.Map, m map[string]string) types.Map {
	if len(m) == 0 && prior.IsNull() {
		return types.MapNull(types.StringType)
	}
	elems := map[string]attr.Value{}
	for k, v := range m {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

func svcSetLike(prior types.Set, s []string) types.Set {
	if len(s) == 0 && prior.IsNull() {
		return types.SetNull(types.StringType)
	}
	elems := []attr.Value{}
	for _, v := range s {
		elems = append(elems, types.StringValue(v))
	}
	return types.SetValueMust(types.StringType, elems)
}

func svcListLike(prior types.List, s []string) types.List {
	if len(s) == 0 && prior.IsNull() {
		return types.ListNull(types.StringType)
	}
	elems := []attr.Value{}
	for _, v := range s {
		elems = append(elems, types.StringValue(v))
	}
	return types.ListValueMust(types.StringType, elems)
}

// svcFormatDuration writes 10m rather than Go's 10m0s.
func svcFormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func svcOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
