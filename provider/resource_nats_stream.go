package provider

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/pivotapp/platform/internal/jetstream"
)

var (
	_ resource.ResourceWithConfigure      = &natsStreamResource{}
	_ resource.ResourceWithValidateConfig = &natsStreamResource{}
	_ resource.ResourceWithModifyPlan     = &natsStreamResource{}
	_ resource.ResourceWithImportState    = &natsStreamResource{}
)

func init() { registerResource(NewNATSStreamResource) }

// NewNATSStreamResource returns the pivot_nats_stream resource.
func NewNATSStreamResource() resource.Resource {
	return &natsStreamResource{}
}

type natsStreamResource struct {
	data *providerData
}

func (r *natsStreamResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_nats_stream"
}

func (r *natsStreamResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A JetStream stream. Settings are checked at plan time, including those that need a newer " +
			"server than the one configured. Only changes the server cannot make in place replace the stream: `name`, " +
			"`storage`, `first_seq`, `persist_mode`, `allow_msg_counter`, adding or changing a `mirror`, switching " +
			"`retention` to or from `workqueue`, and switching off `deny_delete`, `deny_purge`, `allow_msg_ttl` or " +
			"`allow_msg_schedules`. Everything else is updated in place.",
		Attributes: natsStreamAttributes(),
		Blocks:     map[string]schema.Block{natsBlockName: natsConnectionResourceBlock()},
	}
}

func natsStreamAttributes() map[string]schema.Attribute {
	replaceNote := " Changing it replaces the stream."
	return map[string]schema.Attribute{
		"id": schema.StringAttribute{
			Computed: true, MarkdownDescription: "The stream name.",
			PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
		},
		"name": schema.StringAttribute{
			Required: true, MarkdownDescription: "Stream name: no spaces, `.`, `*`, `>`, `/` or `\\`." + replaceNote,
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"owner": schema.StringAttribute{
			Optional: true,
			MarkdownDescription: "The service that owns the stream, e.g. `orders`. Every subject must then sit under `<owner>.`, " +
				"since a service publishes only its own events. Recorded in the stream's metadata as `" + jetstream.OwnerMetadataKey + "`.",
		},
		"description": schema.StringAttribute{Optional: true, MarkdownDescription: "Free-text description.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"subjects": schema.ListAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Subjects the stream captures; wildcards allowed, no two may overlap. Required unless the stream is a `mirror` or has `sources`.",
			Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"retention": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.RetentionLimits),
			MarkdownDescription: "When messages are removed: `limits` (default), `interest` or `workqueue`. `limits` and `interest` switch in place; switching to or from `workqueue` replaces the stream.",
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.Retentions...)},
			PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
				resp.RequiresReplace = jetstream.RetentionNeedsReplace(req.StateValue.ValueString(), req.PlanValue.ValueString())
			}, "Switching to or from workqueue replaces the stream.", "Switching to or from `workqueue` replaces the stream.")},
		},
		"storage": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.StorageFile),
			MarkdownDescription: "`file` (default) or `memory`." + replaceNote,
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.Storages...)},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"discard": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.DiscardOld),
			MarkdownDescription: "At a limit, drop the `old`est messages (default) or refuse `new` ones.",
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.Discards...)},
		},
		"discard_new_per_subject":   jsBoolAttr(false, "With `discard = \"new\"` and `max_msgs_per_subject`, refuse new messages per subject rather than for the whole stream."),
		"max_msgs":                  jsLimitAttr("Most messages kept; -1 (default) for no limit."),
		"max_bytes":                 jsLimitAttr("Most bytes kept; -1 (default) for no limit."),
		"max_msg_size":              jsLimitAttr("Largest message accepted, in bytes; -1 (default) for no limit.", int64validator.AtMost(math.MaxInt32)),
		"max_msgs_per_subject":      jsLimitAttr("Most messages kept per subject; -1 (default) for no limit."),
		"max_consumers":             jsLimitAttr("Most consumers; -1 (default) for no limit."),
		"max_age":                   jsDurationAttr("0s", "Oldest message kept, as a duration (`\"72h\"`); `\"0s\"` (default) keeps messages regardless of age."),
		"duplicate_window":          jsComputedDurationAttr("How long message IDs are remembered to drop duplicates, as a duration. Defaults to 2m, or `max_age` when that is shorter (0 for mirrors and sourced streams); must not exceed `max_age`."),
		"replicas":                  jsInt64Attr(1, "Copies kept in a cluster, 1 to 5.", int64validator.Between(1, jetstream.MaxReplicas)),
		"no_ack":                    jsBoolAttr(false, "Do not acknowledge publishes."),
		"compression":               jsEnumAttr(jetstream.CompressionNone, jetstream.Compressions, "On-disk compression: `none` (default) or `s2`."),
		"deny_delete":               jsBoolAttr(false, "Forbid deleting single messages. The server cannot revert this in place: switching it off replaces the stream.", jsReplaceIfTrueToFalse()),
		"deny_purge":                jsBoolAttr(false, "Forbid purging the stream. The server cannot revert this in place: switching it off replaces the stream.", jsReplaceIfTrueToFalse()),
		"allow_rollup_hdrs":         jsBoolAttr(false, "Allow the `Nats-Rollup` header to purge a subject or the stream on publish."),
		"allow_direct":              jsBoolAttr(false, "Allow direct get of messages from any replica."),
		"mirror_direct":             jsComputedBoolAttr("For a mirror, serve direct gets for the origin stream. Defaults to false, or to the origin's `allow_direct` for mirrors."),
		"allow_msg_ttl":             jsBoolAttr(false, "Honour per-message TTLs (`Nats-TTL` header). Needs nats-server 2.11. Cannot be switched off in place: doing so replaces the stream.", jsReplaceIfTrueToFalse()),
		"subject_delete_marker_ttl": jsDurationAttr("0s", "Leave a delete marker with this TTL when a subject's last message is removed by age, purge or TTL (at least `\"1s\"`). Needs `allow_msg_ttl` and `allow_rollup_hdrs`, and nats-server 2.11."),
		"first_seq": schema.Int64Attribute{
			Optional: true, MarkdownDescription: "Sequence number of the first message." + replaceNote,
			Validators:    []validator.Int64{int64validator.AtLeast(1)},
			PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()},
		},
		"allow_msg_counter":   jsBoolAttr(false, "Make this a counter stream (CRDT counters per subject). Needs nats-server 2.12."+replaceNote, boolplanmodifier.RequiresReplace()),
		"allow_atomic":        jsBoolAttr(false, "Allow atomic batch publishing. Needs nats-server 2.12."),
		"allow_msg_schedules": jsBoolAttr(false, "Allow scheduled messages. Needs `allow_rollup_hdrs` and nats-server 2.12. Cannot be switched off in place: doing so replaces the stream.", jsReplaceIfTrueToFalse()),
		"allow_batched":       jsBoolAttr(false, "Allow fast (non-atomic) batch publishing. Needs nats-server 2.14."),
		"persist_mode": schema.StringAttribute{
			Optional: true, Computed: true, Default: stringdefault.StaticString(jetstream.PersistDefault),
			MarkdownDescription: "`default` flushes before acknowledging; `async` acknowledges first (file storage, one replica). Needs nats-server 2.12 for `async`." + replaceNote,
			Validators:          []validator.String{stringvalidator.OneOf(jetstream.PersistModes...)},
			PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
		},
		"metadata": schema.MapAttribute{
			Optional: true, ElementType: types.StringType,
			MarkdownDescription: "Free-form string metadata. Server-managed `_nats.*` keys are not shown and cannot be set.",
		},
		"placement": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Where a clustered stream's replicas go.",
			Validators: []validator.Object{jsObjectNotEmpty{"cluster", "tags"}},
			Attributes: map[string]schema.Attribute{
				"cluster": schema.StringAttribute{Optional: true, MarkdownDescription: "Cluster name.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
				"tags":    schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Server tags every replica's server must have.", Validators: []validator.List{listvalidator.SizeAtLeast(1)}},
			},
		},
		"mirror": schema.SingleNestedAttribute{
			Optional: true, Attributes: jsSourceAttributes(true),
			MarkdownDescription: "Make this stream a read-only mirror of another. A mirror takes no `subjects` or `sources`. " +
				"Adding or changing the mirror replaces the stream; removing it promotes the stream in place.",
			PlanModifiers: []planmodifier.Object{objectplanmodifier.RequiresReplaceIf(func(_ context.Context, req planmodifier.ObjectRequest, resp *objectplanmodifier.RequiresReplaceIfFuncResponse) {
				resp.RequiresReplace = !req.PlanValue.IsNull() && !req.PlanValue.Equal(req.StateValue)
			}, "Adding or changing a mirror replaces the stream.", "Adding or changing a mirror replaces the stream.")},
		},
		"sources": schema.ListNestedAttribute{
			Optional: true, MarkdownDescription: "Streams whose messages are copied into this one.",
			NestedObject: schema.NestedAttributeObject{Attributes: jsSourceAttributes(false)},
			Validators:   []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"subject_transform": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Rewrite the subject of incoming messages before storing them.",
			Attributes: jsTransformAttributes(),
		},
		"republish": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Republish each stored message to another subject.",
			Attributes: map[string]schema.Attribute{
				"source": schema.StringAttribute{
					Optional: true, Computed: true, Default: stringdefault.StaticString(">"),
					MarkdownDescription: "Stored subjects to republish; default `>` (all).",
				},
				"destination":  schema.StringAttribute{Required: true, MarkdownDescription: "Subject (transform) to republish to; must not overlap the stream's subjects."},
				"headers_only": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false), MarkdownDescription: "Republish headers only, without the payload."},
			},
		},
		"consumer_limits": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: "Defaults and ceilings for the stream's consumers.",
			Validators: []validator.Object{jsObjectNotEmpty{"inactive_threshold", "max_ack_pending"}},
			Attributes: map[string]schema.Attribute{
				"inactive_threshold": schema.StringAttribute{Optional: true, MarkdownDescription: "Default and longest inactivity before a consumer is removed, as a duration.", Validators: []validator.String{jsDurationValidator{}}},
				"max_ack_pending":    schema.Int64Attribute{Optional: true, MarkdownDescription: "Default and highest `max_ack_pending` of a consumer.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
			},
		},
	}
}

func jsSourceAttributes(mirror bool) map[string]schema.Attribute {
	what := "source"
	if mirror {
		what = "origin"
	}
	return map[string]schema.Attribute{
		"name":           schema.StringAttribute{Required: true, MarkdownDescription: fmt.Sprintf("Name of the %s stream.", what)},
		"start_seq":      schema.Int64Attribute{Optional: true, MarkdownDescription: "First sequence to copy.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
		"start_time":     schema.StringAttribute{Optional: true, MarkdownDescription: "Copy messages from this RFC 3339 time on.", Validators: []validator.String{jsTimeValidator{}}},
		"filter_subject": schema.StringAttribute{Optional: true, MarkdownDescription: "Copy only messages on these subjects.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"subject_transforms": schema.ListNestedAttribute{
			Optional: true, MarkdownDescription: "Copy messages matching each `source` and rewrite their subject to `destination` (instead of `filter_subject`).",
			NestedObject: schema.NestedAttributeObject{Attributes: jsTransformAttributes()},
			Validators:   []validator.List{listvalidator.SizeAtLeast(1)},
		},
		"domain": schema.StringAttribute{Optional: true, MarkdownDescription: fmt.Sprintf("JetStream domain of the %s stream; shorthand for `external.api = \"$JS.<domain>.API\"`.", what), Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
		"external": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: fmt.Sprintf("Reach the %s stream in another account or domain.", what),
			Attributes: map[string]schema.Attribute{
				"api":     schema.StringAttribute{Required: true, MarkdownDescription: "The imported JetStream API prefix, e.g. `$JS.hub.API`."},
				"deliver": schema.StringAttribute{Optional: true, MarkdownDescription: "The delivery subject prefix the other account exports.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
			},
		},
		"consumer": schema.SingleNestedAttribute{
			Optional: true, MarkdownDescription: fmt.Sprintf("Copy through this durable consumer on the %s (nats-server 2.14).", what),
			Attributes: map[string]schema.Attribute{
				"name":            schema.StringAttribute{Required: true, MarkdownDescription: "Durable consumer name."},
				"deliver_subject": schema.StringAttribute{Required: true, MarkdownDescription: "Its deliver subject."},
			},
		},
	}
}

func jsTransformAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"source":      schema.StringAttribute{Required: true, MarkdownDescription: "Subjects to match (wildcards allowed)."},
		"destination": schema.StringAttribute{Required: true, MarkdownDescription: "New subject; may use `{{wildcard(n)}}` and other mapping functions."},
	}
}

func (r *natsStreamResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getConfig(ctx, req.Config, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, unknown, diags := m.toConfig(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	addJetStreamFieldErrors(&resp.Diagnostics, cfg.Validate(), unknown, "Invalid Stream Configuration")
	if c, known, _ := natsConnectionObject(ctx, m.Connection); known && c != nil && !c.IsZero() {
		addNATSConfigErrors(&resp.Diagnostics, path.Root(natsBlockName), *c)
	}
}

func (r *natsStreamResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	// Plan does not need to be modified when the resource is being destroyed.
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getPlan(ctx, req.Plan, &plan)...)
	resp.Diagnostics.Append(natsStreamCodec.getConfig(ctx, req.Config, &config)...)
	var state *natsStreamModel
	if !req.State.Raw.IsNull() {
		state = &natsStreamModel{}
		resp.Diagnostics.Append(natsStreamCodec.getState(ctx, req.State, state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}

	// Predict what the server will choose for unset settings, so the plan
	// shows real values and the apply matches it.
	if config.DuplicateWindow.IsNull() {
		plan.DuplicateWindow = predictDuplicateWindow(plan, state)
	}
	if config.MirrorDirect.IsNull() {
		switch {
		case plan.Mirror.IsNull():
			plan.MirrorDirect = types.BoolValue(false)
		case state != nil && state.Mirror.Equal(plan.Mirror) && !state.MirrorDirect.IsNull():
			plan.MirrorDirect = state.MirrorDirect
		default:
			plan.MirrorDirect = types.BoolUnknown()
		}
	}
	resp.Diagnostics.Append(natsStreamCodec.setPlan(ctx, &resp.Plan, &plan)...)

	cfg, _, _ := plan.toConfig(ctx)
	checkJetStreamAPILevelAtPlan(ctx, r.data, plan.Connection, cfg.Requirements(), &resp.Diagnostics)
}

func (r *natsStreamResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *natsStreamResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getPlan(ctx, req.Plan, &plan)...)
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
	got, err := js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrExists) {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Stream Already Exists",
			fmt.Sprintf("A stream named %q already exists on the server. Import it with `terraform import <address> %s`, or choose another name.", cfg.Name, cfg.Name))
		return
	}
	if err != nil {
		addJetStreamAPIError(&resp.Diagnostics, "Unable To Create Stream", err)
		return
	}
	state := streamModelFromConfig(ctx, got, plan)
	resp.Diagnostics.Append(natsStreamCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsStreamResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var prior natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getState(ctx, req.State, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, r.data, prior.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := prior.Name.ValueString()
	if name == "" {
		name = prior.ID.ValueString()
	}
	got, err := js.Stream(ctx, name)
	if jsNotFound(err) {
		// Deleted outside Terraform: not an error; the next plan creates it.
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Stream", err.Error())
		return
	}
	state := streamModelFromConfig(ctx, got, prior)
	resp.Diagnostics.Append(natsStreamCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsStreamResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getPlan(ctx, req.Plan, &plan)...)
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
	got, err := js.UpdateStream(ctx, cfg)
	if jsNotFound(err) {
		resp.Diagnostics.AddError("Stream Not Found", fmt.Sprintf("Stream %q was deleted during the apply. Run terraform apply again to recreate it.", cfg.Name))
		return
	}
	if err != nil {
		addJetStreamAPIError(&resp.Diagnostics, "Unable To Update Stream", err)
		return
	}
	state := streamModelFromConfig(ctx, got, plan)
	resp.Diagnostics.Append(natsStreamCodec.setState(ctx, &resp.State, &state)...)
}

func (r *natsStreamResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state natsStreamModel
	resp.Diagnostics.Append(natsStreamCodec.getState(ctx, req.State, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	js, _, diags := jetstreamFor(ctx, r.data, state.Connection)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := js.DeleteStream(ctx, state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete Stream", err.Error())
	}
}

func (r *natsStreamResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := jetstream.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected the stream name, e.g. ORDERS; stream name %v.", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}

// addJetStreamAPIError reports an API failure, on the attribute when the
// building block names one.
func addJetStreamAPIError(diags *diag.Diagnostics, summary string, err error) {
	if fes := jetstream.FieldErrors(err); len(fes) > 0 && fes[0].Field != "" {
		addJetStreamFieldErrors(diags, err, nil, summary)
		return
	}
	diags.AddError(summary, err.Error())
}

// natsStreamModel is the resource's state and the data source's.
type natsStreamModel struct {
	ID                     types.String `tfsdk:"id"`
	Name                   types.String `tfsdk:"name"`
	Owner                  types.String `tfsdk:"owner"`
	Description            types.String `tfsdk:"description"`
	Subjects               types.List   `tfsdk:"subjects"`
	Retention              types.String `tfsdk:"retention"`
	Storage                types.String `tfsdk:"storage"`
	Discard                types.String `tfsdk:"discard"`
	DiscardNewPerSubject   types.Bool   `tfsdk:"discard_new_per_subject"`
	MaxMsgs                types.Int64  `tfsdk:"max_msgs"`
	MaxBytes               types.Int64  `tfsdk:"max_bytes"`
	MaxMsgSize             types.Int64  `tfsdk:"max_msg_size"`
	MaxMsgsPerSubject      types.Int64  `tfsdk:"max_msgs_per_subject"`
	MaxConsumers           types.Int64  `tfsdk:"max_consumers"`
	MaxAge                 types.String `tfsdk:"max_age"`
	DuplicateWindow        types.String `tfsdk:"duplicate_window"`
	Replicas               types.Int64  `tfsdk:"replicas"`
	NoAck                  types.Bool   `tfsdk:"no_ack"`
	Compression            types.String `tfsdk:"compression"`
	DenyDelete             types.Bool   `tfsdk:"deny_delete"`
	DenyPurge              types.Bool   `tfsdk:"deny_purge"`
	AllowRollupHdrs        types.Bool   `tfsdk:"allow_rollup_hdrs"`
	AllowDirect            types.Bool   `tfsdk:"allow_direct"`
	MirrorDirect           types.Bool   `tfsdk:"mirror_direct"`
	AllowMsgTTL            types.Bool   `tfsdk:"allow_msg_ttl"`
	SubjectDeleteMarkerTTL types.String `tfsdk:"subject_delete_marker_ttl"`
	FirstSeq               types.Int64  `tfsdk:"first_seq"`
	AllowMsgCounter        types.Bool   `tfsdk:"allow_msg_counter"`
	AllowAtomic            types.Bool   `tfsdk:"allow_atomic"`
	AllowMsgSchedules      types.Bool   `tfsdk:"allow_msg_schedules"`
	AllowBatched           types.Bool   `tfsdk:"allow_batched"`
	PersistMode            types.String `tfsdk:"persist_mode"`
	Metadata               types.Map    `tfsdk:"metadata"`
	Placement              types.Object `tfsdk:"placement"`
	Mirror                 types.Object `tfsdk:"mirror"`
	Sources                types.List   `tfsdk:"sources"`
	SubjectTransform       types.Object `tfsdk:"subject_transform"`
	Republish              types.Object `tfsdk:"republish"`
	ConsumerLimits         types.Object `tfsdk:"consumer_limits"`
	Connection             types.Object `tfsdk:"nats"`
}

type jsPlacementModel struct {
	Cluster types.String `tfsdk:"cluster"`
	Tags    types.List   `tfsdk:"tags"`
}

type jsSourceModel struct {
	Name              types.String `tfsdk:"name"`
	StartSeq          types.Int64  `tfsdk:"start_seq"`
	StartTime         types.String `tfsdk:"start_time"`
	FilterSubject     types.String `tfsdk:"filter_subject"`
	SubjectTransforms types.List   `tfsdk:"subject_transforms"`
	Domain            types.String `tfsdk:"domain"`
	External          types.Object `tfsdk:"external"`
	Consumer          types.Object `tfsdk:"consumer"`
}

type jsTransformModel struct {
	Source      types.String `tfsdk:"source"`
	Destination types.String `tfsdk:"destination"`
}

type jsExternalModel struct {
	API     types.String `tfsdk:"api"`
	Deliver types.String `tfsdk:"deliver"`
}

type jsSourceConsumerModel struct {
	Name           types.String `tfsdk:"name"`
	DeliverSubject types.String `tfsdk:"deliver_subject"`
}

type jsRepublishModel struct {
	Source      types.String `tfsdk:"source"`
	Destination types.String `tfsdk:"destination"`
	HeadersOnly types.Bool   `tfsdk:"headers_only"`
}

type jsConsumerLimitsModel struct {
	InactiveThreshold types.String `tfsdk:"inactive_threshold"`
	MaxAckPending     types.Int64  `tfsdk:"max_ack_pending"`
}

var (
	jsTransformAttrTypes      = map[string]attr.Type{"source": types.StringType, "destination": types.StringType}
	jsExternalAttrTypes       = map[string]attr.Type{"api": types.StringType, "deliver": types.StringType}
	jsSourceConsumerAttrTypes = map[string]attr.Type{"name": types.StringType, "deliver_subject": types.StringType}
	jsSourceAttrTypes         = map[string]attr.Type{
		"name": types.StringType, "start_seq": types.Int64Type, "start_time": types.StringType, "filter_subject": types.StringType,
		"subject_transforms": types.ListType{ElemType: types.ObjectType{AttrTypes: jsTransformAttrTypes}},
		"domain":             types.StringType,
		"external":           types.ObjectType{AttrTypes: jsExternalAttrTypes},
		"consumer":           types.ObjectType{AttrTypes: jsSourceConsumerAttrTypes},
	}
	jsPlacementAttrTypes      = map[string]attr.Type{"cluster": types.StringType, "tags": types.ListType{ElemType: types.StringType}}
	jsRepublishAttrTypes      = map[string]attr.Type{"source": types.StringType, "destination": types.StringType, "headers_only": types.BoolType}
	jsConsumerLimitsAttrTypes = map[string]attr.Type{"inactive_threshold": types.StringType, "max_ack_pending": types.Int64Type}
)

// toConfig converts the model for the building block.
func (m natsStreamModel) toConfig(ctx context.Context) (jetstream.StreamConfig, jsUnknownSet, diag.Diagnostics) {
	r := &jsReader{ctx: ctx, unknown: jsUnknownSet{}}
	c := jetstream.StreamConfig{
		Name:                   r.str("name", m.Name),
		Owner:                  r.str("owner", m.Owner),
		Description:            r.str("description", m.Description),
		Subjects:               r.list("subjects", m.Subjects),
		Retention:              r.enum("retention", m.Retention, jetstream.Retentions),
		Storage:                r.enum("storage", m.Storage, jetstream.Storages),
		Discard:                r.enum("discard", m.Discard, jetstream.Discards),
		DiscardNewPerSubject:   r.boolean("discard_new_per_subject", m.DiscardNewPerSubject),
		MaxMsgs:                r.limit("max_msgs", m.MaxMsgs),
		MaxBytes:               r.limit("max_bytes", m.MaxBytes),
		MaxMsgSize:             int32(min(r.limit("max_msg_size", m.MaxMsgSize), math.MaxInt32)),
		MaxMsgsPerSubject:      r.limit("max_msgs_per_subject", m.MaxMsgsPerSubject),
		MaxConsumers:           int(r.limit("max_consumers", m.MaxConsumers)),
		MaxAge:                 r.duration("max_age", m.MaxAge),
		DuplicateWindow:        r.duration("duplicate_window", m.DuplicateWindow),
		Replicas:               1,
		NoAck:                  r.boolean("no_ack", m.NoAck),
		Compression:            r.enum("compression", m.Compression, jetstream.Compressions),
		DenyDelete:             r.boolean("deny_delete", m.DenyDelete),
		DenyPurge:              r.boolean("deny_purge", m.DenyPurge),
		AllowRollup:            r.boolean("allow_rollup_hdrs", m.AllowRollupHdrs),
		AllowDirect:            r.boolean("allow_direct", m.AllowDirect),
		MirrorDirect:           r.boolean("mirror_direct", m.MirrorDirect),
		AllowMsgTTL:            r.boolean("allow_msg_ttl", m.AllowMsgTTL),
		SubjectDeleteMarkerTTL: r.duration("subject_delete_marker_ttl", m.SubjectDeleteMarkerTTL),
		FirstSeq:               uint64(max(r.int("first_seq", m.FirstSeq), 0)),
		AllowMsgCounter:        r.boolean("allow_msg_counter", m.AllowMsgCounter),
		AllowAtomic:            r.boolean("allow_atomic", m.AllowAtomic),
		AllowMsgSchedules:      r.boolean("allow_msg_schedules", m.AllowMsgSchedules),
		AllowBatched:           r.boolean("allow_batched", m.AllowBatched),
		PersistMode:            r.enum("persist_mode", m.PersistMode, jetstream.PersistModes),
	}
	// Out-of-range replicas are the schema validator's to report.
	if n := m.Replicas.ValueInt64(); m.Replicas.IsUnknown() || (!m.Replicas.IsNull() && (n < 1 || n > jetstream.MaxReplicas)) {
		r.unknown["replicas"] = true
	} else if !m.Replicas.IsNull() {
		c.Replicas = int(n)
	}
	if md, ok := jsStringMap(ctx, m.Metadata); ok {
		c.Metadata = md
	} else {
		r.unknown["metadata"] = true
	}
	var pl jsPlacementModel
	if r.object("placement", m.Placement, &pl) {
		c.Placement = &jetstream.Placement{Cluster: pl.Cluster.ValueString(), Tags: r.list("placement", pl.Tags)}
	}
	var mirror jsSourceModel
	if r.object("mirror", m.Mirror, &mirror) {
		s := r.source("mirror", mirror)
		c.Mirror = &s
	}
	if !m.Sources.IsNull() {
		if !jsFullyKnown(ctx, m.Sources) {
			r.unknown["sources"] = true
		} else {
			var srcs []jsSourceModel
			r.diags.Append(m.Sources.ElementsAs(ctx, &srcs, false)...)
			for _, s := range srcs {
				c.Sources = append(c.Sources, r.source("sources", s))
			}
		}
	}
	var tr jsTransformModel
	if r.object("subject_transform", m.SubjectTransform, &tr) {
		c.SubjectTransform = &jetstream.SubjectTransform{Source: tr.Source.ValueString(), Destination: tr.Destination.ValueString()}
	}
	var rp jsRepublishModel
	if r.object("republish", m.Republish, &rp) {
		c.Republish = &jetstream.Republish{Source: rp.Source.ValueString(), Destination: rp.Destination.ValueString(), HeadersOnly: rp.HeadersOnly.ValueBool()}
	}
	var cl jsConsumerLimitsModel
	if r.object("consumer_limits", m.ConsumerLimits, &cl) {
		c.ConsumerLimits = jetstream.ConsumerLimits{
			InactiveThreshold: r.duration("consumer_limits", cl.InactiveThreshold),
			MaxAckPending:     int(r.intIn("consumer_limits", cl.MaxAckPending, 1, math.MaxInt32)),
		}
	}
	return c, r.unknown, r.diags
}

func (r *jsReader) source(name string, m jsSourceModel) jetstream.Source {
	s := jetstream.Source{
		Name:          m.Name.ValueString(),
		StartSeq:      uint64(max(m.StartSeq.ValueInt64(), 0)),
		FilterSubject: m.FilterSubject.ValueString(),
		Domain:        m.Domain.ValueString(),
	}
	t, ok := jsParseTime(m.StartTime)
	if !ok {
		r.unknown[name] = true
	}
	s.StartTime = t
	if !m.SubjectTransforms.IsNull() {
		var trs []jsTransformModel
		r.diags.Append(m.SubjectTransforms.ElementsAs(r.ctx, &trs, false)...)
		for _, tr := range trs {
			s.SubjectTransforms = append(s.SubjectTransforms, jetstream.SubjectTransform{Source: tr.Source.ValueString(), Destination: tr.Destination.ValueString()})
		}
	}
	var ext jsExternalModel
	if r.object(name, m.External, &ext) {
		s.External = &jetstream.External{APIPrefix: ext.API.ValueString(), DeliverPrefix: ext.Deliver.ValueString()}
	}
	var cons jsSourceConsumerModel
	if r.object(name, m.Consumer, &cons) {
		s.Consumer = &jetstream.SourceConsumer{Name: cons.Name.ValueString(), DeliverSubject: cons.DeliverSubject.ValueString()}
	}
	return s
}

// streamModelFromConfig renders a server configuration, keeping the prior
// model's spelling of durations, times and domains, and its connection.
func streamModelFromConfig(ctx context.Context, c jetstream.StreamConfig, prior natsStreamModel) natsStreamModel {
	m := natsStreamModel{
		ID:                     types.StringValue(c.Name),
		Name:                   types.StringValue(c.Name),
		Owner:                  jsStringOrNull(c.Owner),
		Description:            jsStringOrNull(c.Description),
		Subjects:               jsListOrNull(c.Subjects),
		Retention:              types.StringValue(c.Retention),
		Storage:                types.StringValue(c.Storage),
		Discard:                types.StringValue(c.Discard),
		DiscardNewPerSubject:   types.BoolValue(c.DiscardNewPerSubject),
		MaxMsgs:                types.Int64Value(c.MaxMsgs),
		MaxBytes:               types.Int64Value(c.MaxBytes),
		MaxMsgSize:             types.Int64Value(int64(c.MaxMsgSize)),
		MaxMsgsPerSubject:      types.Int64Value(c.MaxMsgsPerSubject),
		MaxConsumers:           types.Int64Value(int64(c.MaxConsumers)),
		MaxAge:                 jsDurationValue(prior.MaxAge, c.MaxAge, false),
		DuplicateWindow:        jsDurationValue(prior.DuplicateWindow, c.DuplicateWindow, false),
		Replicas:               types.Int64Value(int64(c.Replicas)),
		NoAck:                  types.BoolValue(c.NoAck),
		Compression:            types.StringValue(c.Compression),
		DenyDelete:             types.BoolValue(c.DenyDelete),
		DenyPurge:              types.BoolValue(c.DenyPurge),
		AllowRollupHdrs:        types.BoolValue(c.AllowRollup),
		AllowDirect:            types.BoolValue(c.AllowDirect),
		MirrorDirect:           types.BoolValue(c.MirrorDirect),
		AllowMsgTTL:            types.BoolValue(c.AllowMsgTTL),
		SubjectDeleteMarkerTTL: jsDurationValue(prior.SubjectDeleteMarkerTTL, c.SubjectDeleteMarkerTTL, false),
		FirstSeq:               jsInt64OrNull(int64(c.FirstSeq)),
		AllowMsgCounter:        types.BoolValue(c.AllowMsgCounter),
		AllowAtomic:            types.BoolValue(c.AllowAtomic),
		AllowMsgSchedules:      types.BoolValue(c.AllowMsgSchedules),
		AllowBatched:           types.BoolValue(c.AllowBatched),
		PersistMode:            types.StringValue(c.PersistMode),
		Metadata:               jsMapOrNull(c.Metadata),
		Placement:              types.ObjectNull(jsPlacementAttrTypes),
		Mirror:                 types.ObjectNull(jsSourceAttrTypes),
		Sources:                types.ListNull(types.ObjectType{AttrTypes: jsSourceAttrTypes}),
		SubjectTransform:       types.ObjectNull(jsTransformAttrTypes),
		Republish:              types.ObjectNull(jsRepublishAttrTypes),
		ConsumerLimits:         types.ObjectNull(jsConsumerLimitsAttrTypes),
		Connection:             prior.Connection,
	}
	if m.Connection.IsNull() || m.Connection.IsUnknown() {
		m.Connection = types.ObjectNull(natsConnectionAttrTypes())
	}
	if p := c.Placement; p != nil {
		m.Placement = types.ObjectValueMust(jsPlacementAttrTypes, map[string]attr.Value{"cluster": jsStringOrNull(p.Cluster), "tags": jsListOrNull(p.Tags)})
	}
	if c.Mirror != nil {
		var pm jsSourceModel
		_ = jsDecodeObject(ctx, prior.Mirror, &pm)
		m.Mirror = jsSourceObject(*c.Mirror, pm)
	}
	if len(c.Sources) > 0 {
		var priors []jsSourceModel
		if !prior.Sources.IsNull() && jsFullyKnown(ctx, prior.Sources) {
			_ = prior.Sources.ElementsAs(ctx, &priors, false)
		}
		vals := make([]attr.Value, len(c.Sources))
		for i, s := range c.Sources {
			var ps jsSourceModel
			if i < len(priors) {
				ps = priors[i]
			}
			vals[i] = jsSourceObject(s, ps)
		}
		m.Sources = types.ListValueMust(types.ObjectType{AttrTypes: jsSourceAttrTypes}, vals)
	}
	if t := c.SubjectTransform; t != nil {
		m.SubjectTransform = jsTransformObject(*t)
	}
	if rp := c.Republish; rp != nil {
		m.Republish = types.ObjectValueMust(jsRepublishAttrTypes, map[string]attr.Value{
			"source": types.StringValue(rp.Source), "destination": types.StringValue(rp.Destination), "headers_only": types.BoolValue(rp.HeadersOnly),
		})
	}
	if cl := c.ConsumerLimits; cl != (jetstream.ConsumerLimits{}) {
		var pl jsConsumerLimitsModel
		_ = jsDecodeObject(ctx, prior.ConsumerLimits, &pl)
		m.ConsumerLimits = types.ObjectValueMust(jsConsumerLimitsAttrTypes, map[string]attr.Value{
			"inactive_threshold": jsDurationValue(pl.InactiveThreshold, cl.InactiveThreshold, true),
			"max_ack_pending":    jsInt64OrNull(int64(cl.MaxAckPending)),
		})
	}
	return m
}

func jsDecodeObject(ctx context.Context, v types.Object, target any) bool {
	if v.IsNull() || v.IsUnknown() || !jsFullyKnown(ctx, v) {
		return false
	}
	return !v.As(ctx, target, basetypes.ObjectAsOptions{}).HasError()
}

func jsTransformObject(t jetstream.SubjectTransform) types.Object {
	return types.ObjectValueMust(jsTransformAttrTypes, map[string]attr.Value{"source": types.StringValue(t.Source), "destination": types.StringValue(t.Destination)})
}

func jsSourceObject(s jetstream.Source, prior jsSourceModel) types.Object {
	transforms := types.ListNull(types.ObjectType{AttrTypes: jsTransformAttrTypes})
	if len(s.SubjectTransforms) > 0 {
		vals := make([]attr.Value, len(s.SubjectTransforms))
		for i, t := range s.SubjectTransforms {
			vals[i] = jsTransformObject(t)
		}
		transforms = types.ListValueMust(types.ObjectType{AttrTypes: jsTransformAttrTypes}, vals)
	}
	domain := types.StringNull()
	external := types.ObjectNull(jsExternalAttrTypes)
	if e := s.External; e != nil {
		// The server stores a domain as its API prefix; show it the way the
		// configuration spelled it.
		if d, ok := jetstream.DomainFromAPIPrefix(e.APIPrefix); ok && e.DeliverPrefix == "" && prior.Domain.ValueString() == d {
			domain = types.StringValue(d)
		} else {
			external = types.ObjectValueMust(jsExternalAttrTypes, map[string]attr.Value{"api": types.StringValue(e.APIPrefix), "deliver": jsStringOrNull(e.DeliverPrefix)})
		}
	}
	consumer := types.ObjectNull(jsSourceConsumerAttrTypes)
	if cs := s.Consumer; cs != nil {
		consumer = types.ObjectValueMust(jsSourceConsumerAttrTypes, map[string]attr.Value{"name": types.StringValue(cs.Name), "deliver_subject": types.StringValue(cs.DeliverSubject)})
	}
	return types.ObjectValueMust(jsSourceAttrTypes, map[string]attr.Value{
		"name":               types.StringValue(s.Name),
		"start_seq":          jsInt64OrNull(int64(s.StartSeq)),
		"start_time":         jsTimeValue(prior.StartTime, s.StartTime),
		"filter_subject":     jsStringOrNull(s.FilterSubject),
		"subject_transforms": transforms,
		"domain":             domain,
		"external":           external,
		"consumer":           consumer,
	})
}

// natsConnectionAttrTypes is the object type of the connection block.
func natsConnectionAttrTypes() map[string]attr.Type {
	return natsConnectionResourceBlock().Type().(types.ObjectType).AttrTypes
}

// predictDuplicateWindow follows the server's default: 2m, or max_age when
// shorter, and none for mirrors and sourced streams. An existing stream
// keeps its window while none of those inputs change.
func predictDuplicateWindow(plan natsStreamModel, state *natsStreamModel) types.String {
	if state != nil && !state.DuplicateWindow.IsNull() && state.MaxAge.Equal(plan.MaxAge) &&
		state.Mirror.Equal(plan.Mirror) && state.Sources.Equal(plan.Sources) {
		return state.DuplicateWindow
	}
	maxAge, ok := jsParseDuration(plan.MaxAge)
	if !ok || plan.Mirror.IsUnknown() || plan.Sources.IsUnknown() {
		return types.StringUnknown()
	}
	d := jetstream.DefaultDuplicateWindow
	switch {
	case !plan.Mirror.IsNull() || !plan.Sources.IsNull():
		d = 0
	case maxAge > 0 && maxAge < d:
		return plan.MaxAge
	}
	return types.StringValue(jsFormatDuration(d))
}

// natsStreamCodec converts natsStreamModel without the framework's
// reflection (see modelCodec).
var natsStreamCodec modelCodec[natsStreamModel]
