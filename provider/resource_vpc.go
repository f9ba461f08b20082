package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/environment"
	"github.com/pivotapp/platform/internal/vpc"
)

var (
	_ resource.ResourceWithConfigure   = &vpcResource{}
	_ resource.ResourceWithModifyPlan  = &vpcResource{}
	_ resource.ResourceWithImportState = &vpcResource{}
)

func init() { registerResource(NewVPCResource) }

// NewVPCResource returns the pivot_vpc resource.
func NewVPCResource() resource.Resource { return &vpcResource{} }

type vpcResource struct {
	data *providerData
}

type vpcModel struct {
	ID                  types.String `tfsdk:"id"`
	Environment         types.String `tfsdk:"environment"`
	CIDR                types.String `tfsdk:"cidr"`
	Zones               types.Int64  `tfsdk:"zones"`
	IPv6CIDR            types.String `tfsdk:"ipv6_cidr"`
	AvailabilityZones   types.List   `tfsdk:"availability_zones"`
	PrivateSubnetIDs    types.List   `tfsdk:"private_subnet_ids"`
	PublicSubnetIDs     types.List   `tfsdk:"public_subnet_ids"`
	InternetGatewayID   types.String `tfsdk:"internet_gateway_id"`
	EgressOnlyGatewayID types.String `tfsdk:"egress_only_gateway_id"`
	Drift               types.List   `tfsdk:"drift"`
	Target              *targetModel `tfsdk:"target"`
}

func (r *vpcResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_vpc"
}

func (r *vpcResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	stableList := []planmodifier.List{listplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An environment's own network: a dual-stack VPC (its IPv4 `cidr` and an Amazon-provided IPv6 /56) " +
			"with, in each of `zones` availability zones, a private subnet for the services (tasks get an IPv6 address and reach " +
			"the internet over IPv6 through an egress-only internet gateway; no NAT gateway) and a public subnet for the load " +
			"balancer (IPv4 and IPv6 through an internet gateway). Give `private_subnet_ids` to `pivot_environment`'s " +
			"`network` and `public_subnet_ids` to its `ingress`.\n\n" +
			"Every object is tagged `pivot:managed-by = terraform-provider-pivot` and `pivot:environment = <environment>` in the " +
			"call that creates it, and found by those tags before anything is created, so an apply interrupted halfway is " +
			"finished by the next one. A route or subnet association removed out of band shows in `drift` and the next apply " +
			"restores it; a VPC deleted out of band is gone from state and planned again. Import with the environment's name.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The VPC's ID.", PlanModifiers: stable},
			"environment": schema.StringAttribute{Required: true,
				MarkdownDescription: "The environment the network belongs to (its tags and `Name`s). Changing it replaces the network.",
				Validators:          []validator.String{stringCheck{summary: "Invalid Environment Name", desc: "an environment name", check: environment.ValidateName}},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"cidr": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(vpc.DefaultCIDR),
				MarkdownDescription: "The VPC's IPv4 block, /16 to /24; each subnet takes a sixteenth of it. Default `" + vpc.DefaultCIDR + "`. Changing it replaces the network.",
				Validators: []validator.String{stringCheck{summary: "Invalid CIDR", desc: "an IPv4 block between /16 and /24", check: func(s string) error {
					return vpc.Spec{Environment: "x", CIDR: s}.Validate()
				}}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"zones": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(vpc.DefaultZones),
				MarkdownDescription: "Availability zones the subnets span: 2 or 3. Adding a zone adds its subnets in place; removing one replaces the network.",
				Validators:          []validator.Int64{int64validator.OneOf(2, 3)},
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
					resp.RequiresReplace = !req.StateValue.IsNull() && req.PlanValue.ValueInt64() < req.StateValue.ValueInt64()
				}, "Removing a zone replaces the network.", "Removing a zone replaces the network.")}},
			"ipv6_cidr":              schema.StringAttribute{Computed: true, MarkdownDescription: "The VPC's IPv6 block.", PlanModifiers: stable},
			"availability_zones":     schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The zones, in the order of the subnet lists.", PlanModifiers: stableList},
			"private_subnet_ids":     schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The services' dual-stack subnets, one per zone.", PlanModifiers: stableList},
			"public_subnet_ids":      schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The load balancer's subnets, one per zone.", PlanModifiers: stableList},
			"internet_gateway_id":    schema.StringAttribute{Computed: true, MarkdownDescription: "The public subnets' internet gateway.", PlanModifiers: stable},
			"egress_only_gateway_id": schema.StringAttribute{Computed: true, MarkdownDescription: "The private subnets' egress-only internet gateway (IPv6 out only).", PlanModifiers: stable},
			"drift": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Parts missing or changed out of band at the last refresh (e.g. `private-routes (route ::/0)`); empty after an apply."},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *vpcResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (m vpcModel) spec() vpc.Spec {
	return vpc.Spec{Environment: m.Environment.ValueString(), CIDR: m.CIDR.ValueString(), Zones: int(m.Zones.ValueInt64())}
}

func (r *vpcResource) manager(ctx context.Context, m vpcModel) (*vpc.Manager, error) {
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		return nil, err
	}
	return vpc.New(cfg), nil
}

// ModifyPlan plans drift away: a network the last refresh found incomplete
// is planned complete, so the apply restores it.
func (r *vpcResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drift"), types.ListValueMust(types.StringType, nil))...)
	if req.State.Raw.IsNull() {
		return
	}
	var plan, state vpcModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// A new zone, or a part to restore, may add subnets.
	if !plan.Zones.Equal(state.Zones) || len(state.Drift.Elements()) > 0 {
		for _, attr := range []string{"availability_zones", "private_subnet_ids", "public_subnet_ids"} {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attr), types.ListUnknown(types.StringType))...)
		}
	}
}

func (r *vpcResource) apply(ctx context.Context, plan *vpcModel, addError func(string, string)) bool {
	m, err := r.manager(ctx, *plan)
	if err != nil {
		addError("AWS Configuration Error", err.Error())
		return false
	}
	st, err := m.Apply(ctx, plan.spec())
	if err != nil {
		addError("Unable To Create The Network",
			fmt.Sprintf("Building the network of environment %s failed: %s. What was created is tagged and adopted by the next apply.", plan.Environment.ValueString(), err))
		return false
	}
	setVPCState(plan, st)
	return true
}

func setVPCState(m *vpcModel, st *vpc.State) {
	list := func(v []string) types.List {
		vals := make([]string, len(v))
		copy(vals, v)
		l, _ := types.ListValueFrom(context.Background(), types.StringType, vals)
		return l
	}
	m.ID = types.StringValue(st.VPCID)
	m.CIDR = types.StringValue(st.CIDR)
	m.IPv6CIDR = types.StringValue(st.IPv6CIDR)
	m.AvailabilityZones = list(st.Zones)
	m.PrivateSubnetIDs = list(st.PrivateSubnets)
	m.PublicSubnetIDs = list(st.PublicSubnets)
	m.InternetGatewayID = types.StringValue(st.InternetGateway)
	m.EgressOnlyGatewayID = types.StringValue(st.EgressOnlyGateway)
	m.Drift = list(st.Missing)
}

func (r *vpcResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan vpcModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.apply(ctx, &plan, resp.Diagnostics.AddError) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vpcResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan vpcModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !r.apply(ctx, &plan, resp.Diagnostics.AddError) {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *vpcResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state vpcModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m, err := r.manager(ctx, state)
	if err != nil {
		resp.Diagnostics.AddError("AWS Configuration Error", err.Error())
		return
	}
	spec := state.spec()
	st, err := m.Read(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read The Network", err.Error())
		return
	}
	if st == nil {
		// If it's gone: that's not an error, but we are done.
		resp.State.RemoveResource(ctx)
		return
	}
	if state.Zones.IsNull() {
		// Imported: the zones it has.
		state.Zones = types.Int64Value(int64(max(len(st.Zones), vpc.DefaultZones)))
	}
	setVPCState(&state, st)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *vpcResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state vpcModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	m, err := r.manager(ctx, state)
	if err == nil {
		err = m.Delete(ctx, state.Environment.ValueString())
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Delete The Network",
			fmt.Sprintf("Deleting the network of environment %s failed: %s. Whatever still runs in the VPC (tasks, a database, security groups) must be gone first.", state.Environment.ValueString(), err))
	}
}

func (r *vpcResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := environment.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier", fmt.Sprintf("Expected the environment's name (e.g. acme): %s.", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("environment"), req.ID)...)
}
