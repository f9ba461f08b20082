package provider

// Helpers shared by the JetStream stream and consumer resources and data
// sources: clients, plan-time API level checks, durations and times as
// strings, field errors as diagnostics, and the data source schemas derived
// from the resource schemas.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	dschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/jetstream"
	"github.com/pivotapp/platform/internal/natsconn"
)

// natsBlockName is the per-resource connection block. Terraform reserves
// "connection" (for provisioners), so it carries the provider block's name:
// a resource's own nats block overrides the provider's.
const natsBlockName = "nats"

// natsConnectionObject reads a resource's nats block. known is false
// while any of it is unknown (e.g. servers taken from a resource not yet
// created).
func natsConnectionObject(ctx context.Context, obj types.Object) (cfg *natsconn.Config, known bool, diags diag.Diagnostics) {
	if obj.IsNull() {
		return nil, true, nil
	}
	if !jsFullyKnown(ctx, obj) {
		return nil, false, nil
	}
	var m natsModel
	diags.Append(obj.As(ctx, &m, basetypes.ObjectAsOptions{})...)
	if diags.HasError() {
		return nil, true, diags
	}
	c := m.config()
	return &c, true, diags
}

// jetstreamFor connects a resource to JetStream: through its own nats
// block when it has one, the provider's nats block otherwise.
func jetstreamFor(ctx context.Context, d *providerData, conn types.Object) (*jetstream.Client, *nats.Conn, diag.Diagnostics) {
	var diags diag.Diagnostics
	if d == nil {
		diags.AddError("Provider Not Configured", "The provider was not configured before a JetStream resource was used. Please report this issue to the provider developers.")
		return nil, nil, diags
	}
	override, _, ds := natsConnectionObject(ctx, conn)
	diags.Append(ds...)
	if diags.HasError() {
		return nil, nil, diags
	}
	if override != nil && !override.IsZero() {
		addNATSConfigErrors(&diags, path.Root(natsBlockName), *override)
		if diags.HasError() {
			return nil, nil, diags
		}
	}
	nc, err := d.NATS(override)
	if err != nil {
		diags.AddError("Unable To Connect To NATS", err.Error()+". Check the provider's nats block or the resource's nats block.")
		return nil, nil, diags
	}
	c, err := jetstream.New(nc)
	if err != nil {
		diags.AddError("Unable To Use JetStream", err.Error())
		return nil, nil, diags
	}
	return c, nc, diags
}

// jsAPILevels caches each connection's JetStream API level: a server does not
// change level under a live connection, and plans of many resources would
// otherwise ask once each.
var jsAPILevels sync.Map // *nats.Conn -> int

// checkJetStreamAPILevelAtPlan reports, on the attributes concerned, settings the
// server's JetStream API level does not support. It runs from ModifyPlan,
// so users learn before apply; a server it cannot reach yet is left to the
// apply.
func checkJetStreamAPILevelAtPlan(ctx context.Context, d *providerData, conn types.Object, reqs []jetstream.Requirement, diags *diag.Diagnostics) {
	if len(reqs) == 0 || d == nil {
		return
	}
	if _, known, _ := natsConnectionObject(ctx, conn); !known {
		return
	}
	c, nc, ds := jetstreamFor(ctx, d, conn)
	if ds.HasError() {
		diags.AddWarning("JetStream API Level Not Checked",
			"The NATS server could not be reached at plan time, so settings that need a newer server are checked at apply: "+jsErrorsText(ds))
		return
	}
	lvl, ok := jsAPILevels.Load(nc)
	if !ok {
		l, err := c.APILevel(ctx)
		if err != nil {
			diags.AddWarning("JetStream API Level Not Checked",
				"Reading the server's JetStream API level failed, so settings that need a newer server are checked at apply: "+err.Error())
			return
		}
		jsAPILevels.Store(nc, l)
		lvl = l
	}
	addJetStreamFieldErrors(diags, jetstream.CheckAPILevel(reqs, lvl.(int), c.ServerVersion()), nil, "Setting Needs A Newer NATS Server")
}

func jsErrorsText(ds diag.Diagnostics) string {
	var parts []string
	for _, d := range ds.Errors() {
		parts = append(parts, d.Detail())
	}
	return strings.Join(parts, "; ")
}

// addJetStreamFieldErrors turns the building block's field errors into attribute
// diagnostics, skipping rules that read a value not known yet.
func addJetStreamFieldErrors(diags *diag.Diagnostics, err error, unknown map[string]bool, summary string) {
	for _, fe := range jetstream.FieldErrors(err) {
		skip := false
		for _, f := range fe.Involves {
			skip = skip || unknown[f]
		}
		if skip {
			continue
		}
		if fe.Field == "" {
			diags.AddError(summary, fe.Err.Error())
			continue
		}
		diags.AddAttributeError(jsFieldPath(fe.Field), summary, fmt.Sprintf("%s: %s.", fe.Field, strings.TrimSuffix(fe.Err.Error(), ".")))
	}
}

// jsFieldPath turns "sources[1].subject_transforms[0].source" into a path.
func jsFieldPath(field string) path.Path {
	var p path.Path
	first := true
	for _, part := range strings.Split(field, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if first {
			p = path.Root(name)
			first = false
		} else {
			p = p.AtName(name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			if n, err := strconv.Atoi(idx); err == nil {
				p = p.AtListIndex(n)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p
}

// jsFullyKnown reports whether v and everything inside it is known.
func jsFullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

// jsUnknownSet records which top-level attributes could not be read for
// validation (unknown, or already invalid by the schema's own validators).
type jsUnknownSet map[string]bool

// ---- reading models for the building block ---------------------------------

// jsReader converts a possibly partly unknown model, recording which
// top-level attributes it could not read so validation can skip them.
type jsReader struct {
	ctx     context.Context
	unknown jsUnknownSet
	diags   diag.Diagnostics
}

func (r *jsReader) str(name string, v types.String) string {
	if v.IsUnknown() {
		r.unknown[name] = true
	}
	return v.ValueString()
}

func (r *jsReader) enum(name string, v types.String, allowed []string) string {
	s := r.str(name, v)
	if s != "" && !slices.Contains(allowed, s) {
		// The schema's validator reports it.
		r.unknown[name] = true
	}
	return s
}

func (r *jsReader) boolean(name string, v types.Bool) bool {
	if v.IsUnknown() {
		r.unknown[name] = true
	}
	return v.ValueBool()
}

func (r *jsReader) int(name string, v types.Int64) int64 {
	if v.IsUnknown() {
		r.unknown[name] = true
	}
	return v.ValueInt64()
}

// intIn reads a number the schema bounds to [lo, hi]; out-of-range values
// are the schema validator's to report.
func (r *jsReader) intIn(name string, v types.Int64, lo, hi int64) int64 {
	n := r.int(name, v)
	if !v.IsNull() && (n < lo || n > hi) {
		r.unknown[name] = true
		return 0
	}
	return n
}

func (r *jsReader) limit(name string, v types.Int64) int64 {
	if !jsLimitValid(v) {
		r.unknown[name] = true
		return jetstream.Unlimited
	}
	if v.IsNull() {
		return jetstream.Unlimited
	}
	return v.ValueInt64()
}

func (r *jsReader) duration(name string, v types.String) time.Duration {
	d, ok := jsParseDuration(v)
	if !ok {
		r.unknown[name] = true
	}
	return d
}

func (r *jsReader) list(name string, v types.List) []string {
	out, ok := jsStringList(r.ctx, v)
	if !ok {
		r.unknown[name] = true
	}
	return out
}

// object decodes a nested object; ok is false when it is null or unknown.
func (r *jsReader) object(name string, v types.Object, target any) bool {
	if v.IsNull() {
		return false
	}
	if !jsFullyKnown(r.ctx, v) {
		r.unknown[name] = true
		return false
	}
	r.diags.Append(v.As(r.ctx, target, basetypes.ObjectAsOptions{})...)
	return !r.diags.HasError()
}

// ---- values: strings, lists, maps, durations, times -------------------------

func jsStringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func jsInt64OrNull(n int64) types.Int64 {
	if n == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(n)
}

func jsStringList(ctx context.Context, l types.List) ([]string, bool) {
	if l.IsNull() {
		return nil, true
	}
	if !jsFullyKnown(ctx, l) {
		return nil, false
	}
	var out []string
	if diags := l.ElementsAs(ctx, &out, false); diags.HasError() {
		return nil, false
	}
	return out, true
}

func jsListOrNull(ss []string) types.List {
	if len(ss) == 0 {
		return types.ListNull(types.StringType)
	}
	vals := make([]attr.Value, len(ss))
	for i, s := range ss {
		vals[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, vals)
}

func jsStringMap(ctx context.Context, m types.Map) (map[string]string, bool) {
	if m.IsNull() {
		return nil, true
	}
	if !jsFullyKnown(ctx, m) {
		return nil, false
	}
	out := map[string]string{}
	if diags := m.ElementsAs(ctx, &out, false); diags.HasError() {
		return nil, false
	}
	return out, true
}

func jsMapOrNull(m map[string]string) types.Map {
	if len(m) == 0 {
		return types.MapNull(types.StringType)
	}
	vals := make(map[string]attr.Value, len(m))
	for k, v := range m {
		vals[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, vals)
}

// jsParseDuration reads a Go duration string ("72h", "1m30s", "0").
func jsParseDuration(v types.String) (time.Duration, bool) {
	if v.IsNull() {
		return 0, true
	}
	if v.IsUnknown() {
		return 0, false
	}
	d, err := time.ParseDuration(v.ValueString())
	return d, err == nil && d >= 0
}

// jsFormatDuration writes the shortest Go duration string: 72h, 1h30m, 500ms.
func jsFormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// jsDurationValue renders d, keeping the prior spelling when it means the
// same ("60m" stays "60m"), so reads never show a spelling-only diff.
func jsDurationValue(prior types.String, d time.Duration, nullIfZero bool) types.String {
	if p, ok := jsParseDuration(prior); ok && !prior.IsNull() && p == d {
		return prior
	}
	if d == 0 && nullIfZero {
		return types.StringNull()
	}
	return types.StringValue(jsFormatDuration(d))
}

func jsParseTime(v types.String) (time.Time, bool) {
	if v.IsNull() {
		return time.Time{}, true
	}
	if v.IsUnknown() {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v.ValueString())
	return t, err == nil
}

// jsTimeValue renders t as RFC 3339, keeping the prior spelling of the same
// instant.
func jsTimeValue(prior types.String, t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	if p, ok := jsParseTime(prior); ok && !prior.IsNull() && p.Equal(t) {
		return prior
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

// ---- schema attributes ------------------------------------------------------

func jsBoolAttr(def bool, desc string, mods ...planmodifier.Bool) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(def), MarkdownDescription: desc, PlanModifiers: mods}
}

func jsComputedBoolAttr(desc string) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Computed: true, MarkdownDescription: desc}
}

func jsLimitAttr(desc string, vs ...validator.Int64) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(jetstream.Unlimited), MarkdownDescription: desc, Validators: append([]validator.Int64{jsLimitValidator{}}, vs...)}
}

func jsInt64Attr(def int64, desc string, vs ...validator.Int64) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(def), MarkdownDescription: desc, Validators: vs}
}

func jsEnumAttr(def string, values []string, desc string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(def), MarkdownDescription: desc, Validators: []validator.String{stringvalidator.OneOf(values...)}}
}

func jsDurationAttr(def string, desc string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(def), MarkdownDescription: desc, Validators: []validator.String{jsDurationValidator{}}}
}

func jsComputedDurationAttr(desc string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: desc, Validators: []validator.String{jsDurationValidator{}}}
}

// ---- validators -------------------------------------------------------------

// jsDurationValidator accepts non-negative Go duration strings. Minimums
// are the building block's to check, so each mistake is reported once.
type jsDurationValidator struct{}

func (jsDurationValidator) Description(context.Context) string {
	return "a Go duration such as \"30s\" or \"72h\""
}

func (v jsDurationValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (jsDurationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	d, err := time.ParseDuration(req.ConfigValue.ValueString())
	switch {
	case err != nil:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration",
			fmt.Sprintf("%q is not a duration: use a Go duration such as \"30s\", \"15m\" or \"72h\" (units ns, us, ms, s, m, h).", req.ConfigValue.ValueString()))
	case d < 0:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration", fmt.Sprintf("%q is negative; durations must be 0 or positive.", req.ConfigValue.ValueString()))
	}
}

// jsTimeValidator accepts RFC 3339 times.
type jsTimeValidator struct{}

func (jsTimeValidator) Description(context.Context) string {
	return "an RFC 3339 time such as \"2026-01-02T15:04:05Z\""
}

func (v jsTimeValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (jsTimeValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.Parse(time.RFC3339, req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Time",
			fmt.Sprintf("%q is not an RFC 3339 time; use e.g. \"2026-01-02T15:04:05Z\" (timestamp() or timeadd() produce this form).", req.ConfigValue.ValueString()))
	}
}

// jsLimitValidator accepts -1 (no limit) or a positive number; the server
// reads 0 as -1, which would show as a diff on every plan.
type jsLimitValidator struct{}

func (jsLimitValidator) Description(context.Context) string {
	return "-1 for no limit, or a positive number"
}

func (v jsLimitValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (jsLimitValidator) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if n := req.ConfigValue.ValueInt64(); n == 0 || n < -1 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Limit", fmt.Sprintf("%d is not a limit: use -1 for no limit, or a positive number.", n))
	}
}

func jsLimitValid(v types.Int64) bool {
	return v.IsNull() || (!v.IsUnknown() && (v.ValueInt64() == -1 || v.ValueInt64() > 0))
}

// jsObjectNotEmpty rejects an object with none of its attributes set: the
// server drops such an object, which would show as a diff on every plan.
type jsObjectNotEmpty []string

func (v jsObjectNotEmpty) Description(context.Context) string {
	return "set at least one of " + strings.Join(v, ", ")
}

func (v jsObjectNotEmpty) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v jsObjectNotEmpty) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, a := range req.ConfigValue.Attributes() {
		if !a.IsNull() {
			return
		}
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Empty Settings Object",
		fmt.Sprintf("Set at least one of %s, or remove %s.", strings.Join(v, ", "), req.Path))
}

// ---- plan modifiers ---------------------------------------------------------

// jsReplaceIfTrueToFalse replaces when a one-way flag is switched off; the
// server refuses that in place (e.g. deny_delete, allow_msg_ttl).
func jsReplaceIfTrueToFalse() planmodifier.Bool {
	return jsBoolReplaceIf{}
}

type jsBoolReplaceIf struct{}

func (jsBoolReplaceIf) Description(context.Context) string {
	return "The server cannot switch this off in place: changing it from true to false replaces the resource."
}

func (m jsBoolReplaceIf) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (jsBoolReplaceIf) PlanModifyBool(_ context.Context, req planmodifier.BoolRequest, resp *planmodifier.BoolResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	if req.StateValue.ValueBool() && !req.PlanValue.IsUnknown() && !req.PlanValue.ValueBool() {
		resp.RequiresReplace = true
	}
}

// ---- data source schemas ----------------------------------------------------

// jsDataSourceAttributes derives a data source's attributes from a resource
// schema: everything computed except the lookup keys, which are required.
// Descriptions and nesting stay identical, so the two cannot drift apart.
func jsDataSourceAttributes(attrs map[string]schema.Attribute, required map[string]bool) map[string]dschema.Attribute {
	out := make(map[string]dschema.Attribute, len(attrs))
	for name, a := range attrs {
		out[name] = jsDataSourceAttribute(a, required[name])
	}
	return out
}

func jsDataSourceAttribute(a schema.Attribute, required bool) dschema.Attribute {
	desc := a.GetMarkdownDescription()
	switch a := a.(type) {
	case schema.StringAttribute:
		return dschema.StringAttribute{Required: required, Computed: !required, MarkdownDescription: desc}
	case schema.Int64Attribute:
		return dschema.Int64Attribute{Computed: true, MarkdownDescription: desc}
	case schema.BoolAttribute:
		return dschema.BoolAttribute{Computed: true, MarkdownDescription: desc}
	case schema.ListAttribute:
		return dschema.ListAttribute{Computed: true, ElementType: a.ElementType, MarkdownDescription: desc}
	case schema.MapAttribute:
		return dschema.MapAttribute{Computed: true, ElementType: a.ElementType, MarkdownDescription: desc}
	case schema.SingleNestedAttribute:
		return dschema.SingleNestedAttribute{Computed: true, Attributes: jsDataSourceAttributes(a.Attributes, nil), MarkdownDescription: desc}
	case schema.ListNestedAttribute:
		return dschema.ListNestedAttribute{Computed: true, NestedObject: dschema.NestedAttributeObject{Attributes: jsDataSourceAttributes(a.NestedObject.Attributes, nil)}, MarkdownDescription: desc}
	}
	panic(fmt.Sprintf("jsDataSourceAttribute: unhandled attribute type %T", a))
}

// natsDataSourceBlock is the resource nats block for data
// sources.
func natsDataSourceBlock() dschema.SingleNestedBlock {
	rb := natsConnectionResourceBlock()
	attrs := map[string]dschema.Attribute{}
	for name, a := range rb.Attributes {
		switch a := a.(type) {
		case schema.ListAttribute:
			attrs[name] = dschema.ListAttribute{Optional: true, ElementType: a.ElementType, MarkdownDescription: a.MarkdownDescription}
		case schema.StringAttribute:
			attrs[name] = dschema.StringAttribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: a.MarkdownDescription}
		}
	}
	tls := rb.Blocks["tls"].(schema.SingleNestedBlock)
	tlsAttrs := map[string]dschema.Attribute{}
	for name, a := range tls.Attributes {
		tlsAttrs[name] = dschema.StringAttribute{Optional: true, MarkdownDescription: a.GetMarkdownDescription()}
	}
	return dschema.SingleNestedBlock{
		MarkdownDescription: "Connection for this data source only, instead of the provider's `nats` block.",
		Attributes:          attrs,
		Blocks:              map[string]dschema.Block{"tls": dschema.SingleNestedBlock{MarkdownDescription: tls.MarkdownDescription, Attributes: tlsAttrs}},
	}
}

// jsNotFound reports whether err means the stream or consumer is gone.
func jsNotFound(err error) bool { return errors.Is(err, jetstream.ErrNotFound) }
