package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/environment"
	"github.com/pivotapp/platform/internal/ingress"
)

var (
	_ resource.ResourceWithConfigure      = &publicEndpointResource{}
	_ resource.ResourceWithValidateConfig = &publicEndpointResource{}
	_ resource.ResourceWithImportState    = &publicEndpointResource{}
)

func init() { registerResource(NewPublicEndpointResource) }

// NewPublicEndpointResource returns the pivot_public_endpoint resource.
func NewPublicEndpointResource() resource.Resource { return &publicEndpointResource{} }

type publicEndpointResource struct {
	data *providerData
}

func (r *publicEndpointResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_public_endpoint"
}

func (r *publicEndpointResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Publishes an API service on the internet through its environment's load balancer (a " +
			"`pivot_environment` with `ingress`): a target group of the service's tasks (IP targets, health-checked on " +
			"`/health`), a listener rule sending the service's hostname to it, and a Cloudflare CNAME from the hostname to " +
			"the load balancer, proxied by default. Give the `target_group_arn` to the service's ECS load balancer " +
			"configuration so its tasks register.\n\n" +
			"The hostname is `<service>.<subdomain>.<zone>` (tenants get their own subdomain: `friend.acme.pivot.app`), " +
			"`<service>.<zone>` without a subdomain, or `hostname` itself; it is checked at plan time to be a DNS name " +
			"inside the zone.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<environment>/<service>`.", PlanModifiers: stable},
			"environment": schema.StringAttribute{Required: true, MarkdownDescription: "Environment whose load balancer publishes the service.",
				Validators: []validator.String{stringCheck{summary: "Invalid Environment Name", desc: "an environment name", check: environment.ValidateName}}, PlanModifiers: replace},
			"service": schema.StringAttribute{Required: true, MarkdownDescription: "Service name; it names the target group and, by default, the hostname.",
				Validators: []validator.String{serviceNameCheck}, PlanModifiers: replace},
			"zone": schema.StringAttribute{Required: true, MarkdownDescription: "Cloudflare zone holding the hostname, e.g. `pivot.app`.",
				Validators: []validator.String{stringCheck{summary: "Invalid Zone", desc: "a DNS name", check: func(s string) error { return ingress.ValidateHostname(s, "") }}}, PlanModifiers: replace},
			"subdomain": schema.StringAttribute{Optional: true, MarkdownDescription: "Subdomain between the service and the zone, e.g. a tenant's name or `staging`.",
				Validators: []validator.String{stringCheck{summary: "Invalid Subdomain", desc: "DNS labels", check: ingress.ValidateLabel}}},
			"hostname": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Public hostname. Default: `<service>.<subdomain>.<zone>`, or `<service>.<zone>` without a subdomain.",
				PlanModifiers:       []planmodifier.String{endpointHostname{}}},
			"port": schema.Int64Attribute{Required: true, MarkdownDescription: "Container port the load balancer sends traffic to. A target group's port is fixed, so a change replaces the endpoint.",
				Validators: []validator.Int64{int64validator.Between(1, 65535)}, PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()}},
			"health_check_path": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(ingress.DefaultHealthCheckPath),
				MarkdownDescription: "Path the load balancer checks, expecting 200. Default `/health`.",
				Validators:          []validator.String{stringvalidator.RegexMatches(regexp.MustCompile(`^/[\x21-\x7e]*$`), "must be a URL path starting with /")}},
			"priority": schema.Int64Attribute{Optional: true, Computed: true,
				MarkdownDescription: "Listener rule priority (1 to 50000). Default: the lowest free one.",
				Validators:          []validator.Int64{int64validator.Between(1, ingress.MaxPriority)},
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
			"proxied": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Send traffic through Cloudflare's proxy. Default true."},
			"ttl": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ingress.AutomaticTTL),
				MarkdownDescription: "DNS TTL in seconds: 1 (automatic, default; required when proxied) or 60 to 86400.",
				Validators:          []validator.Int64{ttlValidator{}}},

			"target_group_arn":       schema.StringAttribute{Computed: true, MarkdownDescription: "Target group of the service's tasks, for the ECS service's load balancer configuration.", PlanModifiers: stable},
			"target_group_name":      schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the target group, `<environment>-<service>` (shortened with a hash past 32 characters).", PlanModifiers: stable},
			"rule_arn":               schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the listener rule.", PlanModifiers: stable},
			"listener_arn":           schema.StringAttribute{Computed: true, MarkdownDescription: "Listener the rule belongs to.", PlanModifiers: stable},
			"zone_id":                schema.StringAttribute{Computed: true, MarkdownDescription: "Cloudflare zone ID.", PlanModifiers: stable},
			"dns_record_id":          schema.StringAttribute{Computed: true, MarkdownDescription: "Cloudflare DNS record ID.", PlanModifiers: stable},
			"load_balancer_dns_name": schema.StringAttribute{Computed: true, MarkdownDescription: "The load balancer's DNS name.", PlanModifiers: stable},
			"cname_target": schema.StringAttribute{Computed: true,
				MarkdownDescription: "What the DNS record points to. Planned as the load balancer's DNS name, so a record changed out of band plans its repair.",
				PlanModifiers:       []planmodifier.String{cnameTarget{}}},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *publicEndpointResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m publicEndpointResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// An unset proxied is the default, true.
	proxied := m.Proxied.IsNull() || m.Proxied.ValueBool()
	if !m.Proxied.IsUnknown() && known(m.TTL) && proxied && m.TTL.ValueInt64() != ingress.AutomaticTTL {
		resp.Diagnostics.AddAttributeError(path.Root("ttl"), "Invalid TTL",
			"A proxied record's TTL is automatic: set ttl = 1, or proxied = false to choose a TTL.")
	}
	if !known(m.Zone) || m.Zone.ValueString() == "" {
		return
	}
	zone := m.Zone.ValueString()
	switch {
	case known(m.Hostname):
		if err := ingress.ValidateHostname(m.Hostname.ValueString(), zone); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("hostname"), "Invalid Hostname", err.Error())
		}
	case m.Hostname.IsNull() && known(m.Service) && !m.Subdomain.IsUnknown():
		host := ingress.Hostname(m.Service.ValueString(), m.Subdomain.ValueString(), zone)
		if err := ingress.ValidateHostname(host, zone); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("subdomain"), "Invalid Hostname", "The derived hostname "+err.Error())
		}
	}
}

func (r *publicEndpointResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *publicEndpointResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan publicEndpointResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, &plan, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *publicEndpointResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state publicEndpointResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state.Target, &resp.Diagnostics)
	if c == nil {
		return
	}
	lb, err := c.ReadLoadBalancer(ctx, environment.NamesOf(state.Environment.ValueString()).LoadBalancer())
	if errors.Is(err, ingress.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Public Endpoint", err.Error())
		return
	}
	var ep ingress.Endpoint
	importing := state.TargetGroupARN.IsNull()
	if importing {
		ep, err = c.FindEndpoint(ctx, lb.ListenerARN(), ingress.TargetGroupName(state.Environment.ValueString(), state.Service.ValueString()), state.Zone.ValueString())
	} else {
		ep, err = c.ReadEndpoint(ctx, state.ref())
	}
	if errors.Is(err, ingress.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Public Endpoint", err.Error())
		return
	}
	state.fromEndpoint(ep, lb)
	if importing {
		state.Subdomain = subdomainOf(ep.Hostname, state.Service.ValueString(), state.Zone.ValueString())
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *publicEndpointResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state publicEndpointResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cur := ingress.Endpoint{TargetGroupARN: state.TargetGroupARN.ValueString(), RuleARN: state.RuleARN.ValueString(),
		ZoneID: state.ZoneID.ValueString(), Record: ingress.Record{ID: state.DNSRecordID.ValueString()}}
	r.apply(ctx, &plan, &cur, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *publicEndpointResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state publicEndpointResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(ctx, state.Target, &resp.Diagnostics)
	if c == nil {
		return
	}
	if err := c.DeleteEndpoint(ctx, state.ref()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Public Endpoint", err.Error())
	}
}

// ImportState takes <environment>/<service>/<zone>; the hostname is found
// through the rule forwarding to the service's target group.
func (r *publicEndpointResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) != 3 || environment.ValidateName(parts[0]) != nil || parts[1] == "" || parts[2] == "" {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected <environment>/<service>/<zone>, e.g. staging/friend/pivot.app; got %q.", req.ID))
		return
	}
	for attr, v := range map[string]string{"environment": parts[0], "service": parts[1], "zone": parts[2]} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
}

func (r *publicEndpointResource) client(ctx context.Context, t *targetModel, diags *diag.Diagnostics) *ingress.Client {
	cf, err := r.data.Cloudflare()
	if err != nil {
		diags.AddError("Cloudflare Configuration Failed", err.Error()+". Set the provider's cloudflare block.")
		return nil
	}
	cfg, err := r.data.AWS(ctx, t.target())
	if err != nil {
		awsConfigError(diags, err)
		return nil
	}
	return ingress.New(cfg, ingress.Cloudflare(cf))
}

func (r *publicEndpointResource) apply(ctx context.Context, m *publicEndpointResourceModel, cur *ingress.Endpoint, diags *diag.Diagnostics) {
	c := r.client(ctx, m.Target, diags)
	if c == nil {
		return
	}
	env := m.Environment.ValueString()
	lb, err := c.ReadLoadBalancer(ctx, environment.NamesOf(env).LoadBalancer())
	if errors.Is(err, ingress.ErrNotFound) {
		diags.AddAttributeError(path.Root("environment"), "Environment Has No Load Balancer",
			fmt.Sprintf("Environment %s has no load balancer; set ingress = {} on its pivot_environment first.", env))
		return
	}
	if err != nil {
		diags.AddError("Unable To Read Load Balancer", err.Error())
		return
	}
	spec := ingress.EndpointSpec{
		Name: ingress.TargetGroupName(env, m.Service.ValueString()), ListenerARN: lb.ListenerARN(), VPCID: lb.VPCID,
		Hostname: m.Hostname.ValueString(), Port: int(m.Port.ValueInt64()), HealthCheckPath: m.HealthCheckPath.ValueString(),
		Priority: int(m.Priority.ValueInt64()), Zone: m.Zone.ValueString(), Target: lb.DNSName,
		Proxied: m.Proxied.ValueBool(), TTL: int(m.TTL.ValueInt64()),
		Comment: "pivot: " + env + "/" + m.Service.ValueString(),
		Tags:    map[string]string{"pivot:environment": env, "pivot:service": m.Service.ValueString()},
	}
	ep, err := c.ApplyEndpoint(ctx, spec, cur)
	if err != nil {
		diags.AddError("Unable To Publish Endpoint", err.Error())
		return
	}
	m.fromEndpoint(ep, lb)
}

// endpointHostname plans the derived hostname when none is configured.
type endpointHostname struct{}

func (endpointHostname) Description(context.Context) string {
	return "defaults to <service>.<subdomain>.<zone>"
}
func (e endpointHostname) MarkdownDescription(ctx context.Context) string { return e.Description(ctx) }

func (endpointHostname) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return
	}
	var svc, sub, zone types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("service"), &svc)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("subdomain"), &sub)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("zone"), &zone)...)
	if svc.IsUnknown() || sub.IsUnknown() || zone.IsUnknown() {
		resp.PlanValue = types.StringUnknown()
		return
	}
	resp.PlanValue = types.StringValue(ingress.Hostname(svc.ValueString(), sub.ValueString(), zone.ValueString()))
}

// cnameTarget plans the record's target as the load balancer's DNS name.
type cnameTarget struct{}

func (cnameTarget) Description(context.Context) string {
	return "planned as the load balancer's DNS name"
}
func (c cnameTarget) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (cnameTarget) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.State.Raw.IsNull() {
		return
	}
	var lb types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("load_balancer_dns_name"), &lb)...)
	if known(lb) {
		resp.PlanValue = lb
	}
}

// ttlValidator accepts Cloudflare's TTLs: 1 (automatic) or 60 to 86400.
type ttlValidator struct{}

func (ttlValidator) Description(context.Context) string {
	return "1 (automatic) or 60 to 86400 seconds"
}
func (v ttlValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (ttlValidator) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if !known(req.ConfigValue) {
		return
	}
	if v := req.ConfigValue.ValueInt64(); v != 1 && (v < 60 || v > 86400) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid TTL", fmt.Sprintf("TTL %d is not one Cloudflare accepts: use 1 (automatic) or 60 to 86400 seconds.", v))
	}
}

type publicEndpointResourceModel struct {
	ID                  types.String `tfsdk:"id"`
	Environment         types.String `tfsdk:"environment"`
	Service             types.String `tfsdk:"service"`
	Zone                types.String `tfsdk:"zone"`
	Subdomain           types.String `tfsdk:"subdomain"`
	Hostname            types.String `tfsdk:"hostname"`
	Port                types.Int64  `tfsdk:"port"`
	HealthCheckPath     types.String `tfsdk:"health_check_path"`
	Priority            types.Int64  `tfsdk:"priority"`
	Proxied             types.Bool   `tfsdk:"proxied"`
	TTL                 types.Int64  `tfsdk:"ttl"`
	Target              *targetModel `tfsdk:"target"`
	TargetGroupARN      types.String `tfsdk:"target_group_arn"`
	TargetGroupName     types.String `tfsdk:"target_group_name"`
	RuleARN             types.String `tfsdk:"rule_arn"`
	ListenerARN         types.String `tfsdk:"listener_arn"`
	ZoneID              types.String `tfsdk:"zone_id"`
	DNSRecordID         types.String `tfsdk:"dns_record_id"`
	LoadBalancerDNSName types.String `tfsdk:"load_balancer_dns_name"`
	CNAMETarget         types.String `tfsdk:"cname_target"`
}

func (m *publicEndpointResourceModel) ref() ingress.EndpointRef {
	return ingress.EndpointRef{TargetGroupARN: m.TargetGroupARN.ValueString(), RuleARN: m.RuleARN.ValueString(),
		ZoneID: m.ZoneID.ValueString(), RecordID: m.DNSRecordID.ValueString()}
}

// fromEndpoint fills the model from what exists. A record renamed out of
// band shows as a target of "" so the next plan repairs it.
func (m *publicEndpointResourceModel) fromEndpoint(ep ingress.Endpoint, lb ingress.LoadBalancer) {
	m.ID = types.StringValue(m.Environment.ValueString() + "/" + m.Service.ValueString())
	m.Hostname, m.Port = types.StringValue(ep.Hostname), types.Int64Value(int64(ep.Port))
	m.HealthCheckPath, m.Priority = types.StringValue(ep.HealthCheckPath), types.Int64Value(int64(ep.Priority))
	m.Proxied, m.TTL = types.BoolValue(ep.Record.Proxied), types.Int64Value(int64(ep.Record.TTL))
	m.TargetGroupARN, m.TargetGroupName = types.StringValue(ep.TargetGroupARN), types.StringValue(ep.TargetGroupName)
	m.RuleARN, m.ListenerARN = types.StringValue(ep.RuleARN), types.StringValue(ep.ListenerARN)
	m.ZoneID, m.DNSRecordID = types.StringValue(ep.ZoneID), types.StringValue(ep.Record.ID)
	m.LoadBalancerDNSName = types.StringValue(lb.DNSName)
	m.CNAMETarget = types.StringValue(ep.Record.Content)
	if ep.Record.Name != ep.Hostname || ep.Record.Type != "CNAME" {
		m.CNAMETarget = types.StringValue("")
	}
}

// subdomainOf recovers the subdomain from a hostname built as
// <service>.<subdomain>.<zone>; null when the hostname has another shape.
func subdomainOf(host, service, zone string) types.String {
	mid, ok := strings.CutPrefix(host, service+".")
	if !ok {
		return types.StringNull()
	}
	mid, ok = strings.CutSuffix(mid, "."+zone)
	if !ok {
		return types.StringNull()
	}
	return types.StringValue(mid)
}
