package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/jetstream"
)

var (
	_ resource.ResourceWithConfigure      = &natsConsumerResource{}
	_ resource.ResourceWithValidateConfig = &natsConsumerResource{}
	_ resource.ResourceWithModifyPlan     = &natsConsumerResource{}
	_ resource.ResourceWithImportState    = &natsConsumerResource{}
)

func init() { registerResource(NewNATSConsumerResource) }

// NewNATSConsumerResource returns the pivot_nats_consumer resource.
func NewNATSConsumerResource() resource.Resource {
	return &natsConsumerResource{}
}

type natsConsumerResource struct {
	data *providerData
}

func (r *natsConsumerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nats_consumer"
}

func (r *natsConsumerResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A durable JetStream consumer, pull (no `deliver_subject`) or push. Settings that only one kind " +
			"takes, and those that need a newer server, are rejected at plan time. Changes the server cannot make in place " +
			"replace the consumer (losing its position): `stream`, `durable_name`, `deliver_policy`, `opt_start_seq`, " +
			"`opt_start_time`, `ack_policy`, `replay_policy`, `heartbeat`, `flow_control`, `memory_storage`, " +
			"`max_waiting`, and switching between pull and push. Everything else, including `pause_until`, is updated in place.",
		Attributes: natsConsumerAttributes(),
		Blocks:     map[string]schema.Block{natsBlockName: natsConnectionResourceBlock()},
	}
}

func natsConsumerAttributes() map[string]schema.Attribute {
	replaceNote := " Changing it replaces the consumer."
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed: true, MarkdownDescription: "`<stream>/<durable_name>`.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"stream":       schema.StringAttribute{Required: true, MarkdownDescription: "Name of the stream to consume." + replaceNote, PlanModifiers: replace},
		"durable_name": schema.StringAttribute{Required: true, MarkdownDescription: "Consumer name: no spaces, `.`, `*`, `>`, `/` or `\\`." + replaceNote, PlanModifiers: replace},
		"description":  schema.StringAttribute{Optional: true, MarkdownDescription: "Free-text description.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"deliver_policy": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.DeliverAll),
			MarkdownDescription: "Where delivery starts: `all` (default), `last`, `new`, `by_start_sequence` (with `opt_start_seq`), `by_start_time` (with `opt_start_time`) or `last_per_subject` (with a filter)." + replaceNote,
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.DeliverPolicies...)},
			PlanModifiers:       replace,
		},
		"opt_start_seq": schema.Int64Attribute{
			Optional: true, MarkdownDescription: "First stream sequence to deliver, with `deliver_policy = \"by_start_sequence\"`." + replaceNote,
			Validators: []validator.Int64{int64validator.AtLeast(1)}, PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
		},
		"opt_start_time": schema.StringAttribute{
			Optional: true, MarkdownDescription: "Deliver messages from this RFC 3339 time, with `deliver_policy = \"by_start_time\"`." + replaceNote,
			Validators: []validator.String{jsTimeValidator{}}, PlanModifiers: replace,
		},
		"ack_policy": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.AckExplicit),
			MarkdownDescription: "`explicit` (default), `all`, `none`, or `flow_control` (push; nats-server 2.14)." + replaceNote,
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.AckPolicies...)},
			PlanModifiers:       replace,
		},
		"ack_wait": schema.StringAttribute{
			Optional: true, Computed: true, Validators: []validator.String{jsDurationValidator{}},
			MarkdownDescription: "How long to wait for an ack before redelivering, as a duration. Defaults to 30s for `explicit` and `all`, or to the first `backoff` interval.",
		},
		"max_deliver": jsInt64Attr(-1, "Most deliveries of one message; -1 (default) for no limit.", jsLimitValidator{}),
		"backoff": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Redelivery delays as durations (`[\"1s\", \"5s\", \"30s\"]`); the last repeats. At most `max_deliver` intervals.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(jsDurationValidator{})},
		},
		"filter_subject": schema.StringAttribute{Optional: true, MarkdownDescription: "Deliver only messages on this subject (wildcards allowed).", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"filter_subjects": schema.ListAttribute{
			Optional: true, ElementType: types.StringType, MarkdownDescription: "Deliver only messages on these non-overlapping subjects (instead of `filter_subject`).",
			Validators: []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"replay_policy": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.ReplayInstant),
			MarkdownDescription: "`instant` (default) or `original` (at the pace they were stored)." + replaceNote,
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.ReplayPolicies...)},
			PlanModifiers:       replace,
		},
		"sample_freq":    jsInt64Attr(0, "Percentage of acks to sample as advisories, 0 to 100.", int64validator.Between(0, 100)),
		"rate_limit_bps": jsInt64Attr(0, "Push only: delivery rate limit in bits per second; 0 (default) for none.", int64validator.AtLeast(0)),
		"max_ack_pending": schema.Int64Attribute{
			Optional: true, Computed: true, Validators: []validator.Int64{jsLimitValidator{}},
			MarkdownDescription: "Most unacknowledged messages in flight; -1 for no limit. Defaults to the stream's `consumer_limits`, else 1000.",
			PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
		},
		"max_waiting": schema.Int64Attribute{
			Optional: true, Computed: true, Validators: []validator.Int64{int64validator.AtLeast(1)},
			MarkdownDescription: "Pull only: most pull requests waiting at once. Defaults to 512." + replaceNote,
			PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
		},
		"heartbeat": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString("0s"), Validators: []validator.String{jsDurationValidator{}},
			MarkdownDescription: "Push only: idle heartbeat interval, as a duration." + replaceNote,
			PlanModifiers:       replace,
		},
		"flow_control": jsBoolAttr(false, "Push only: flow control (needs `heartbeat`)."+replaceNote, boolplanmodifier.RequiresReplace()),
		"deliver_subject": schema.StringAttribute{
			Optional: true, MarkdownDescription: "Makes this a push consumer delivering to this subject. Switching between pull and push replaces the consumer; changing the subject does not.",
			Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
				resp.RequiresReplace = req.StateValue.ValueString() == "" != (req.PlanValue.ValueString() == "")
			}, "Switching between pull and push replaces the consumer.", "Switching between pull and push replaces the consumer.")},
		},
		"deliver_group": schema.StringAttribute{Optional: true, MarkdownDescription: "Push only: queue group that shares deliveries.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"headers_only":  jsBoolAttr(false, "Deliver headers only, without payloads."),
		"max_batch":     jsInt64Attr(0, "Pull only: largest batch one pull may request; 0 (default) for no limit.", int64validator.AtLeast(0)),
		"max_expires":   jsDurationAttr("0s", "Pull only: longest expiry one pull may request, as a duration; `\"0s\"` for no limit."),
		"max_bytes":     jsInt64Attr(0, "Pull only: most bytes one pull may request; 0 (default) for no limit.", int64validator.AtLeast(0)),
		"inactive_threshold": schema.StringAttribute{
			Optional: true, Computed: true, Validators: []validator.String{jsDurationValidator{}},
			MarkdownDescription: "Remove the consumer after this long without activity, as a duration. Defaults to the stream's `consumer_limits`, else never.",
			PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"replicas":       jsInt64Attr(0, "Replicas of the consumer's state; 0 (default) follows the stream.", int64validator.Between(0, jetstream.MaxReplicas)),
		"memory_storage": jsBoolAttr(false, "Keep the consumer's state in memory."+replaceNote, boolplanmodifier.RequiresReplace()),
		"metadata": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Free-form string metadata. Server-managed `_nats.*` keys are not shown and cannot be set.",
		},
		"pause_until": schema.StringAttribute{
			Optional: true, Validators: []validator.String{jsTimeValidator{}},
			MarkdownDescription: "Pause delivery until this RFC 3339 time; remove it to resume. Needs nats-server 2.11.",
		},
		"priority_policy": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.PriorityNone),
			MarkdownDescription: "Pull only: `none` (default), `overflow`, `pinned_client` (nats-server 2.11) or `prioritized` (nats-server 2.12).",
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.PriorityPolicies...)},
		},
		"priority_groups": schema.ListAttribute{
			Optional: true, ElementType: types.StringType, MarkdownDescription: "Pull only: priority group names, with a `priority_policy`.",
			Validators: []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"priority_timeout": schema.StringAttribute{
			Optional: true, Computed: true, Validators: []validator.String{jsDurationValidator{}},
			MarkdownDescription: "Pull only, with `priority_policy = \"pinned_client\"`: how long a pinned client may be idle, as a duration. Defaults to 2m.",
		},
	}
}

func (r *natsConsumerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getConfig(ctx, req.Config, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, unknown, diags := m.toConfig(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	addJetStreamFieldErrors(&resp.Diagnostics, cfg.Validate(), unknown, "Invalid Consumer Configuration")
	if c, known, _ := natsConnectionObject(ctx, m.Connection); known && c != nil && !c.IsZero() {
		addNATSConfigErrors(&resp.Diagnostics, path.Root(natsBlockName), *c)
	}
}

func (r *natsConsumerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// Plan does not need to be modified when the resource is being destroyed.
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getPlan(ctx, req.Plan, &plan)...)
	resp.Diagnostics.Append(natsConsumerCodec.getConfig(ctx, req.Config, &config)...)
	var state *natsConsumerModel
	if !req.State.Raw.IsNull() {
		state = &natsConsumerModel{}
		resp.Diagnostics.Append(natsConsumerCodec.getState(ctx, req.State, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	// Predict the server's defaults for unset settings, so the plan shows
	// real values and the apply matches it.
	if config.AckWait.IsNull() {
		plan.AckWait = predictAckWait(ctx, plan, state)
	}
	if config.MaxWaiting.IsNull() {
		switch {
		case plan.DeliverSubject.IsUnknown():
			plan.MaxWaiting = types.Int64Unknown()
		case state != nil && !state.MaxWaiting.IsNull() && state.DeliverSubject.IsNull() == plan.DeliverSubject.IsNull():
			plan.MaxWaiting = state.MaxWaiting
		case plan.DeliverSubject.IsNull():
			plan.MaxWaiting = types.Int64Value(jetstream.DefaultMaxWaiting)
		default:
			plan.MaxWaiting = types.Int64Value(0)
		}
	}
	if config.PriorityTimeout.IsNull() {
		switch {
		case plan.PriorityPolicy.IsUnknown():
			plan.PriorityTimeout = types.StringUnknown()
		case plan.PriorityPolicy.ValueString() == jetstream.PriorityPinnedClient:
			plan.PriorityTimeout = jsDurationValue(jsPriorString(state, func(s *natsConsumerModel) types.String { return s.PriorityTimeout }), jetstream.DefaultPriorityTimeout, false)
		default:
			plan.PriorityTimeout = jsDurationValue(jsPriorString(state, func(s *natsConsumerModel) types.String { return s.PriorityTimeout }), 0, false)
		}
	}
	if plan.ID.IsUnknown() && !plan.Stream.IsUnknown() && !plan.DurableName.IsUnknown() {
		plan.ID = types.StringValue(plan.Stream.ValueString() + "/" + plan.DurableName.ValueString())
	}
	resp.Diagnostics.Append(natsConsumerCodec.setPlan(ctx, &resp.Plan, &plan)...)

	cfg, _, _ := plan.toConfig(ctx)
	checkJetStreamAPILevelAtPlan(ctx, r.data, plan.Connection, cfg.Requirements(), &resp.Diagnostics)
}

func (r *natsConsumerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *natsConsumerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getPlan(ctx, req.Plan, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, _, diags := plan.toConfig(ctx)
	resp.Diagnostics.Append(diags...)
	js, _, diags := jetstreamFor(ctx, r.data, plan.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := js.CreateConsumer(ctx, cfg)
	switch {
	case errors.Is(err, jetstream.ErrExists):
		resp.Diagnostics.AddAttributeError(path.Root("durable_name"), "Consumer Already Exists",
			fmt.Sprintf("Stream %q already has a consumer named %q. Import it with `terraform import <address> %s/%s`, or choose another name.", cfg.Stream, cfg.Durable, cfg.Stream, cfg.Durable))
		return
	case jsNotFound(err):
		resp.Diagnostics.AddAttributeError(path.Root("stream"), "Stream Not Found",
			fmt.Sprintf("Stream %q does not exist. Create it first, e.g. by referencing pivot_nats_stream.<name>.name in stream.", cfg.Stream))
		return
	case err != nil:
		addJetStreamAPIError(&resp.Diagnostics, "Unable To Create Consumer", err)
		return
	}
	state := consumerModelFromConfig(got, plan)
	resp.Diagnostics.Append(natsConsumerCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsConsumerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var prior natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getState(ctx, req.State, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, r.data, prior.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := js.Consumer(ctx, prior.Stream.ValueString(), prior.DurableName.ValueString())
	if jsNotFound(err) {
		// Deleted outside Terraform (or its stream was): not an error; the
		// next plan creates it.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Consumer", err.Error())
		return
	}
	state := consumerModelFromConfig(got, prior)
	resp.Diagnostics.Append(natsConsumerCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsConsumerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getPlan(ctx, req.Plan, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, _, diags := plan.toConfig(ctx)
	resp.Diagnostics.Append(diags...)
	js, _, diags := jetstreamFor(ctx, r.data, plan.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	got, err := js.UpdateConsumer(ctx, cfg)
	if jsNotFound(err) {
		resp.Diagnostics.AddError("Consumer Not Found", fmt.Sprintf("Consumer %s/%s was deleted during the apply. Run terraform apply again to recreate it.", cfg.Stream, cfg.Durable))
		return
	}
	if err != nil {
		addJetStreamAPIError(&resp.Diagnostics, "Unable To Update Consumer", err)
		return
	}
	state := consumerModelFromConfig(got, plan)
	resp.Diagnostics.Append(natsConsumerCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsConsumerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state natsConsumerModel
	resp.Diagnostics.Append(natsConsumerCodec.getState(ctx, req.State, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, r.data, state.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := js.DeleteConsumer(ctx, state.Stream.ValueString(), state.DurableName.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Consumer", err.Error())
	}
}

func (r *natsConsumerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	stream, durable, ok := strings.Cut(req.ID, "/")
	if !ok || jetstream.ValidateName(stream) != nil || jetstream.ValidateName(durable) != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Unexpected format of ID (%q), expected <stream>/<durable_name>, e.g. ORDERS/shipper.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("stream"), stream)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("durable_name"), durable)...)
}

// natsConsumerModel is the resource's state and the data source's.
type natsConsumerModel struct {
	ID                types.String `tfsdk:"id"`
	Stream            types.String `tfsdk:"stream"`
	DurableName       types.String `tfsdk:"durable_name"`
	Description       types.String `tfsdk:"description"`
	DeliverPolicy     types.String `tfsdk:"deliver_policy"`
	OptStartSeq       types.Int64  `tfsdk:"opt_start_seq"`
	OptStartTime      types.String `tfsdk:"opt_start_time"`
	AckPolicy         types.String `tfsdk:"ack_policy"`
	AckWait           types.String `tfsdk:"ack_wait"`
	MaxDeliver        types.Int64  `tfsdk:"max_deliver"`
	Backoff           types.List   `tfsdk:"backoff"`
	FilterSubject     types.String `tfsdk:"filter_subject"`
	FilterSubjects    types.List   `tfsdk:"filter_subjects"`
	ReplayPolicy      types.String `tfsdk:"replay_policy"`
	SampleFreq        types.Int64  `tfsdk:"sample_freq"`
	RateLimitBPS      types.Int64  `tfsdk:"rate_limit_bps"`
	MaxAckPending     types.Int64  `tfsdk:"max_ack_pending"`
	MaxWaiting        types.Int64  `tfsdk:"max_waiting"`
	Heartbeat         types.String `tfsdk:"heartbeat"`
	FlowControl       types.Bool   `tfsdk:"flow_control"`
	DeliverSubject    types.String `tfsdk:"deliver_subject"`
	DeliverGroup      types.String `tfsdk:"deliver_group"`
	HeadersOnly       types.Bool   `tfsdk:"headers_only"`
	MaxBatch          types.Int64  `tfsdk:"max_batch"`
	MaxExpires        types.String `tfsdk:"max_expires"`
	MaxBytes          types.Int64  `tfsdk:"max_bytes"`
	InactiveThreshold types.String `tfsdk:"inactive_threshold"`
	Replicas          types.Int64  `tfsdk:"replicas"`
	MemoryStorage     types.Bool   `tfsdk:"memory_storage"`
	Metadata          types.Map    `tfsdk:"metadata"`
	PauseUntil        types.String `tfsdk:"pause_until"`
	PriorityPolicy    types.String `tfsdk:"priority_policy"`
	PriorityGroups    types.List   `tfsdk:"priority_groups"`
	PriorityTimeout   types.String `tfsdk:"priority_timeout"`
	Connection        types.Object `tfsdk:"nats"`
}

// toConfig converts the model for the building block, recording which
// attributes could not be read (unknown, or invalid by schema validators).
func (m natsConsumerModel) toConfig(ctx context.Context) (jetstream.ConsumerConfig, jsUnknownSet, diag.Diagnostics) {
	r := &jsReader{ctx: ctx, unknown: jsUnknownSet{}}
	c := jetstream.ConsumerConfig{
		Stream:            r.str("stream", m.Stream),
		Durable:           r.str("durable_name", m.DurableName),
		Description:       r.str("description", m.Description),
		DeliverPolicy:     r.enum("deliver_policy", m.DeliverPolicy, jetstream.DeliverPolicies),
		OptStartSeq:       uint64(r.intIn("opt_start_seq", m.OptStartSeq, 1, math.MaxInt64)),
		AckPolicy:         r.enum("ack_policy", m.AckPolicy, jetstream.AckPolicies),
		AckWait:           r.duration("ack_wait", m.AckWait),
		MaxDeliver:        int(r.limit("max_deliver", m.MaxDeliver)),
		FilterSubject:     r.str("filter_subject", m.FilterSubject),
		FilterSubjects:    r.list("filter_subjects", m.FilterSubjects),
		ReplayPolicy:      r.enum("replay_policy", m.ReplayPolicy, jetstream.ReplayPolicies),
		SampleFrequency:   int(r.intIn("sample_freq", m.SampleFreq, 0, 100)),
		RateLimitBPS:      uint64(r.intIn("rate_limit_bps", m.RateLimitBPS, 0, math.MaxInt64)),
		MaxAckPending:     int(r.int("max_ack_pending", m.MaxAckPending)),
		MaxWaiting:        int(r.intIn("max_waiting", m.MaxWaiting, 0, math.MaxInt32)),
		Heartbeat:         r.duration("heartbeat", m.Heartbeat),
		FlowControl:       r.boolean("flow_control", m.FlowControl),
		DeliverSubject:    r.str("deliver_subject", m.DeliverSubject),
		DeliverGroup:      r.str("deliver_group", m.DeliverGroup),
		HeadersOnly:       r.boolean("headers_only", m.HeadersOnly),
		MaxBatch:          int(r.intIn("max_batch", m.MaxBatch, 0, math.MaxInt32)),
		MaxExpires:        r.duration("max_expires", m.MaxExpires),
		MaxBytes:          int(r.intIn("max_bytes", m.MaxBytes, 0, math.MaxInt32)),
		InactiveThreshold: r.duration("inactive_threshold", m.InactiveThreshold),
		Replicas:          int(r.intIn("replicas", m.Replicas, 0, jetstream.MaxReplicas)),
		MemoryStorage:     r.boolean("memory_storage", m.MemoryStorage),
		PriorityPolicy:    r.enum("priority_policy", m.PriorityPolicy, jetstream.PriorityPolicies),
		PriorityGroups:    r.list("priority_groups", m.PriorityGroups),
		PriorityTimeout:   r.duration("priority_timeout", m.PriorityTimeout),
	}
	if !jsLimitValid(m.MaxAckPending) {
		r.unknown["max_ack_pending"] = true
	}
	if t, ok := jsParseTime(m.OptStartTime); ok {
		c.OptStartTime = t
	} else {
		r.unknown["opt_start_time"] = true
	}
	if t, ok := jsParseTime(m.PauseUntil); ok {
		c.PauseUntil = t
	} else {
		r.unknown["pause_until"] = true
	}
	for _, s := range r.list("backoff", m.Backoff) {
		d, err := time.ParseDuration(s)
		if err != nil {
			r.unknown["backoff"] = true
			continue
		}
		c.BackOff = append(c.BackOff, d)
	}
	if md, ok := jsStringMap(ctx, m.Metadata); ok {
		c.Metadata = md
	} else {
		r.unknown["metadata"] = true
	}
	return c, r.unknown, r.diags
}

// consumerModelFromConfig renders a server configuration, keeping the prior
// model's spelling of durations and times, and its connection.
func consumerModelFromConfig(c jetstream.ConsumerConfig, prior natsConsumerModel) natsConsumerModel {
	var priorBackoff []string
	if !prior.Backoff.IsNull() && !prior.Backoff.IsUnknown() {
		for _, v := range prior.Backoff.Elements() {
			if s, ok := v.(types.String); ok {
				priorBackoff = append(priorBackoff, s.ValueString())
			}
		}
	}
	var backoff []string
	for i, d := range c.BackOff {
		p := types.StringNull()
		if i < len(priorBackoff) {
			p = types.StringValue(priorBackoff[i])
		}
		backoff = append(backoff, jsDurationValue(p, d, false).ValueString())
	}
	m := natsConsumerModel{
		ID:                types.StringValue(c.Stream + "/" + c.Durable),
		Stream:            types.StringValue(c.Stream),
		DurableName:       types.StringValue(c.Durable),
		Description:       jsStringOrNull(c.Description),
		DeliverPolicy:     types.StringValue(c.DeliverPolicy),
		OptStartSeq:       jsInt64OrNull(int64(c.OptStartSeq)),
		OptStartTime:      jsTimeValue(prior.OptStartTime, c.OptStartTime),
		AckPolicy:         types.StringValue(c.AckPolicy),
		AckWait:           jsDurationValue(prior.AckWait, c.AckWait, false),
		MaxDeliver:        types.Int64Value(int64(c.MaxDeliver)),
		Backoff:           jsListOrNull(backoff),
		FilterSubject:     jsStringOrNull(c.FilterSubject),
		FilterSubjects:    jsListOrNull(c.FilterSubjects),
		ReplayPolicy:      types.StringValue(c.ReplayPolicy),
		SampleFreq:        types.Int64Value(int64(c.SampleFrequency)),
		RateLimitBPS:      types.Int64Value(int64(c.RateLimitBPS)),
		MaxAckPending:     types.Int64Value(int64(c.MaxAckPending)),
		MaxWaiting:        types.Int64Value(int64(c.MaxWaiting)),
		Heartbeat:         jsDurationValue(prior.Heartbeat, c.Heartbeat, false),
		FlowControl:       types.BoolValue(c.FlowControl),
		DeliverSubject:    jsStringOrNull(c.DeliverSubject),
		DeliverGroup:      jsStringOrNull(c.DeliverGroup),
		HeadersOnly:       types.BoolValue(c.HeadersOnly),
		MaxBatch:          types.Int64Value(int64(c.MaxBatch)),
		MaxExpires:        jsDurationValue(prior.MaxExpires, c.MaxExpires, false),
		MaxBytes:          types.Int64Value(int64(c.MaxBytes)),
		InactiveThreshold: jsDurationValue(prior.InactiveThreshold, c.InactiveThreshold, false),
		Replicas:          types.Int64Value(int64(c.Replicas)),
		MemoryStorage:     types.BoolValue(c.MemoryStorage),
		Metadata:          jsMapOrNull(c.Metadata),
		PauseUntil:        jsTimeValue(prior.PauseUntil, c.PauseUntil),
		PriorityPolicy:    types.StringValue(c.PriorityPolicy),
		PriorityGroups:    jsListOrNull(c.PriorityGroups),
		PriorityTimeout:   jsDurationValue(prior.PriorityTimeout, c.PriorityTimeout, false),
		Connection:        prior.Connection,
	}
	if m.Connection.IsNull() || m.Connection.IsUnknown() {
		m.Connection = types.ObjectNull(natsConnectionAttrTypes())
	}
	return m
}

// predictAckWait follows the server: the first backoff interval when there
// is one, else 30s for acknowledged consumers and none otherwise.
func predictAckWait(ctx context.Context, plan natsConsumerModel, state *natsConsumerModel) types.String {
	prior := jsPriorString(state, func(s *natsConsumerModel) types.String { return s.AckWait })
	backoff, ok := jsStringList(ctx, plan.Backoff)
	if !ok || plan.AckPolicy.IsUnknown() {
		return types.StringUnknown()
	}
	if len(backoff) > 0 {
		d, err := time.ParseDuration(backoff[0])
		if err != nil {
			return types.StringUnknown()
		}
		return jsDurationValue(prior, d, false)
	}
	switch plan.AckPolicy.ValueString() {
	case jetstream.AckExplicit, jetstream.AckAll:
		return jsDurationValue(prior, jetstream.DefaultAckWait, false)
	}
	return jsDurationValue(prior, 0, false)
}

func jsPriorString(state *natsConsumerModel, f func(*natsConsumerModel) types.String) types.String {
	if state == nil {
		return types.StringNull()
	}
	return f(state)
}

// natsConsumerCodec converts natsConsumerModel without the framework's
// reflection (see modelCodec).
var natsConsumerCodec modelCodec[natsConsumerModel]
