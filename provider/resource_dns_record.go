package provider

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/ingress"
)

var (
	_ resource.ResourceWithConfigure      = &dnsRecordResource{}
	_ resource.ResourceWithValidateConfig = &dnsRecordResource{}
	_ resource.ResourceWithImportState    = &dnsRecordResource{}
)

func init() { registerResource(NewDNSRecordResource) }

// NewDNSRecordResource returns the pivot_dns_record resource.
func NewDNSRecordResource() resource.Resource { return &dnsRecordResource{} }

type dnsRecordResource struct {
	data *providerData
}

// dnsRecordTypes are the types the resource manages: the ones whose value
// is a single content string.
var dnsRecordTypes = []string{"A", "AAAA", "CNAME", "TXT", "NS"}

func (r *dnsRecordResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dns_record"
}

func (r *dnsRecordResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	stable := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Cloudflare DNS record, for names that are not an API service's (use `pivot_public_endpoint` " +
			"for those): a tenant's apex, a frontend on Cloudflare Pages, a verification TXT. Names and contents are checked " +
			"at plan time: a name must lie inside the zone, an A record hold an IPv4 address, a CNAME a hostname, and only " +
			"A, AAAA and CNAME records may be proxied.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Cloudflare record ID.", PlanModifiers: stable},
			"zone": schema.StringAttribute{Required: true, MarkdownDescription: "Zone name, e.g. `pivot.app`.",
				Validators: []validator.String{stringCheck{summary: "Invalid Zone", desc: "a DNS name", check: func(s string) error { return ingress.ValidateHostname(s, "") }}}, PlanModifiers: replace},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Record name: relative to the zone (`acme`, `_acme-challenge.acme`), `@` for the apex, or fully qualified inside the zone."},
			"type": schema.StringAttribute{Required: true, MarkdownDescription: "Record type: " + strings.Join(dnsRecordTypes, ", ") + ". A change replaces the record.",
				Validators: []validator.String{stringvalidator.OneOf(dnsRecordTypes...)}, PlanModifiers: replace},
			"content": schema.StringAttribute{Required: true, MarkdownDescription: "Record value: an address, a hostname, or text."},
			"proxied": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Send traffic through Cloudflare's proxy (A, AAAA and CNAME only). Default false."},
			"ttl": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(ingress.AutomaticTTL),
				MarkdownDescription: "TTL in seconds: 1 (automatic, default; required when proxied) or 60 to 86400.",
				Validators:          []validator.Int64{ttlValidator{}}},
			"comment":  schema.StringAttribute{Optional: true, MarkdownDescription: "Comment shown in the Cloudflare dashboard."},
			"zone_id":  schema.StringAttribute{Computed: true, MarkdownDescription: "Cloudflare zone ID.", PlanModifiers: stable},
			"hostname": schema.StringAttribute{Computed: true, MarkdownDescription: "Fully qualified name of the record.", PlanModifiers: stable},
		},
	}
}

func (r *dnsRecordResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m dnsRecordResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if known(m.Zone) && known(m.Name) {
		zone, host := m.Zone.ValueString(), fqdn(m.Name.ValueString(), m.Zone.ValueString())
		if err := checkRecordName(host); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid Record Name", err.Error())
		} else if !inZone(host, zone) {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Invalid Record Name",
				fmt.Sprintf("%q is not inside the zone %q; use a name relative to the zone, @, or a name ending in .%s", m.Name.ValueString(), zone, zone))
		}
	}
	if known(m.Type) && known(m.Content) {
		if err := checkRecordContent(m.Type.ValueString(), m.Content.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("content"), "Invalid Record Content", err.Error())
		}
	}
	if known(m.Proxied) && m.Proxied.ValueBool() {
		if known(m.Type) && !slices.Contains([]string{"A", "AAAA", "CNAME"}, m.Type.ValueString()) {
			resp.Diagnostics.AddAttributeError(path.Root("proxied"), "Record Cannot Be Proxied",
				fmt.Sprintf("Cloudflare proxies only A, AAAA and CNAME records, not %s; set proxied = false.", m.Type.ValueString()))
		}
		if known(m.TTL) && m.TTL.ValueInt64() != ingress.AutomaticTTL {
			resp.Diagnostics.AddAttributeError(path.Root("ttl"), "Invalid TTL", "A proxied record's TTL is automatic: set ttl = 1, or proxied = false to choose a TTL.")
		}
	}
}

func (r *dnsRecordResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *dnsRecordResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dnsRecordResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(&resp.Diagnostics)
	if c == nil {
		return
	}
	zoneID, err := c.ZoneID(ctx, plan.Zone.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("zone"), "Unable To Find Zone", err.Error())
		return
	}
	rec, err := c.Create(ctx, zoneID, plan.record())
	if err != nil {
		resp.Diagnostics.AddError("Unable To Create DNS Record", err.Error())
		return
	}
	plan.fromRecord(rec)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dnsRecordResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state dnsRecordResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(&resp.Diagnostics)
	if c == nil {
		return
	}
	zoneID := state.ZoneID.ValueString()
	if zoneID == "" {
		var err error
		if zoneID, err = c.ZoneID(ctx, state.Zone.ValueString()); err != nil {
			resp.Diagnostics.AddError("Unable To Find Zone", err.Error())
			return
		}
	}
	rec, err := c.Get(ctx, zoneID, state.ID.ValueString())
	if errors.Is(err, cfdns.ErrNotFound) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read DNS Record", err.Error())
		return
	}
	state.fromRecord(rec)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *dnsRecordResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state dnsRecordResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(&resp.Diagnostics)
	if c == nil {
		return
	}
	rec := plan.record()
	rec.ID = state.ID.ValueString()
	out, err := c.Update(ctx, state.ZoneID.ValueString(), rec)
	if err != nil {
		resp.Diagnostics.AddError("Unable To Update DNS Record", err.Error())
		return
	}
	plan.fromRecord(out)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dnsRecordResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state dnsRecordResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := r.client(&resp.Diagnostics)
	if c == nil {
		return
	}
	if err := c.Delete(ctx, state.ZoneID.ValueString(), state.ID.ValueString()); err != nil {
		resp.Diagnostics.AddError("Unable To Delete DNS Record", err.Error())
	}
}

// ImportState takes <zone>/<record id> or <zone>/<type>/<name>.
func (r *dnsRecordResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		resp.Diagnostics.AddError("Unexpected Import Identifier",
			fmt.Sprintf("Expected <zone>/<record id> or <zone>/<type>/<name>, e.g. pivot.app/CNAME/acme.pivot.app; got %q.", req.ID))
		return
	}
	id := parts[1]
	if len(parts) == 3 {
		c := r.client(&resp.Diagnostics)
		if c == nil {
			return
		}
		zoneID, err := c.ZoneID(ctx, parts[0])
		if err != nil {
			resp.Diagnostics.AddError("Unable To Find Zone", err.Error())
			return
		}
		recs, err := c.Find(ctx, zoneID, fqdn(parts[2], parts[0]), strings.ToUpper(parts[1]))
		if err != nil || len(recs) != 1 {
			resp.Diagnostics.AddError("Unable To Find DNS Record", fmt.Sprintf("Expected one %s record at %s, found %d (%v).", parts[1], parts[2], len(recs), err))
			return
		}
		id = recs[0].ID
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("zone"), parts[0])...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
}

func (r *dnsRecordResource) client(diags *diag.Diagnostics) *cfdns.Client {
	c, err := r.data.Cloudflare()
	if err != nil {
		diags.AddError("Cloudflare Configuration Failed", err.Error()+". Set the provider's cloudflare block.")
		return nil
	}
	return c
}

var recordLabelRe = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// checkRecordName checks a fully qualified record name: DNS labels, where
// underscores (service labels such as _acme-challenge) and a leading
// wildcard are allowed too.
func checkRecordName(host string) error {
	if len(host) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", host)
	}
	for i, l := range strings.Split(host, ".") {
		if (i == 0 && l == "*") || recordLabelRe.MatchString(l) {
			continue
		}
		return fmt.Errorf("%q is not a DNS name: label %q must be 1 to 63 lowercase letters, digits, underscores or hyphens, not starting or ending with a hyphen", host, l)
	}
	return nil
}

// checkRecordContent checks a record's value fits its type.
func checkRecordContent(typ, content string) error {
	switch typ {
	case "A":
		if a, err := netip.ParseAddr(content); err != nil || !a.Is4() {
			return fmt.Errorf("%q is not an IPv4 address, which an A record needs", content)
		}
	case "AAAA":
		if a, err := netip.ParseAddr(content); err != nil || !a.Is6() || a.Is4In6() {
			return fmt.Errorf("%q is not an IPv6 address, which an AAAA record needs", content)
		}
	case "CNAME", "NS":
		if err := ingress.ValidateHostname(strings.TrimSuffix(strings.ToLower(content), "."), ""); err != nil {
			return fmt.Errorf("a %s record points to a hostname: %w", typ, err)
		}
	case "TXT":
		if len(content) > 2048 {
			return fmt.Errorf("TXT content is %d characters long; Cloudflare accepts at most 2048", len(content))
		}
	}
	return nil
}

// fqdn expands a record name relative to its zone; a name ending in a dot
// is absolute, as in a zone file.
func fqdn(name, zone string) string {
	name = strings.ToLower(name)
	if abs, ok := strings.CutSuffix(name, "."); ok {
		return abs
	}
	switch {
	case name == "@" || name == zone:
		return zone
	case strings.HasSuffix(name, "."+zone):
		return name
	}
	return name + "." + zone
}

func inZone(host, zone string) bool { return host == zone || strings.HasSuffix(host, "."+zone) }

type dnsRecordResourceModel struct {
	ID       types.String `tfsdk:"id"`
	Zone     types.String `tfsdk:"zone"`
	Name     types.String `tfsdk:"name"`
	Type     types.String `tfsdk:"type"`
	Content  types.String `tfsdk:"content"`
	Proxied  types.Bool   `tfsdk:"proxied"`
	TTL      types.Int64  `tfsdk:"ttl"`
	Comment  types.String `tfsdk:"comment"`
	ZoneID   types.String `tfsdk:"zone_id"`
	Hostname types.String `tfsdk:"hostname"`
}

func (m *dnsRecordResourceModel) record() cfdns.Record {
	return cfdns.Record{
		Name: fqdn(m.Name.ValueString(), m.Zone.ValueString()), Type: m.Type.ValueString(), Content: m.Content.ValueString(),
		Proxied: m.Proxied.ValueBool(), TTL: int(m.TTL.ValueInt64()), Comment: m.Comment.ValueString(),
	}
}

// fromRecord fills the model from the record as Cloudflare holds it. The
// name keeps its configured form (relative, @ or qualified) while it means
// the same name.
func (m *dnsRecordResourceModel) fromRecord(rec cfdns.Record) {
	m.ID, m.ZoneID, m.Hostname = types.StringValue(rec.ID), types.StringValue(rec.ZoneID), types.StringValue(rec.Name)
	if m.Name.IsNull() || m.Name.IsUnknown() || fqdn(m.Name.ValueString(), m.Zone.ValueString()) != rec.Name {
		m.Name = types.StringValue(rec.Name)
	}
	m.Type, m.Content = types.StringValue(rec.Type), types.StringValue(rec.Content)
	m.Proxied, m.TTL = types.BoolValue(rec.Proxied), types.Int64Value(int64(rec.TTL))
	m.Comment = nullIfEmpty(rec.Comment)
}
