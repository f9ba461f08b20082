package cfemu

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type record struct {
	id, name, typ, content string
	proxied                bool
	ttl                    int
	priority               *int
	comment                *string
	tags                   []string
	settings               map[string]any
	data                   map[string]any
	created, modified      time.Time
	commentModified        *time.Time
	tagsModified           *time.Time
}

// knownTypes are the types the real API accepts, as listed by cloudflare-go's
// RecordNewParamsBodyType. The emulator validates A, AAAA, CNAME, NS, MX and
// TXT content and derives CAA and SRV content from data; the rest are stored
// as given.
var knownTypes = []string{
	"A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR",
	"NS", "OPENPGPKEY", "PTR", "SMIMEA", "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI",
}

// json renders the record as the API has since the 2024-11-30 deprecation
// that dropped zone_id, zone_name and locked from DNS records
// (developers.cloudflare.com/fundamentals/api/reference/deprecations,
// cloudflare/cloudflare-docs#16388).
func (r *record) json() map[string]any {
	var comment any
	if r.comment != nil {
		comment = *r.comment
	}
	m := map[string]any{
		"id":          r.id,
		"name":        r.name,
		"type":        r.typ,
		"content":     r.content,
		"proxiable":   r.proxiable(),
		"proxied":     r.proxied,
		"ttl":         r.ttl,
		"settings":    r.settings,
		"meta":        map[string]any{},
		"comment":     comment,
		"tags":        r.tags,
		"created_on":  timestamp(r.created),
		"modified_on": timestamp(r.modified),
	}
	if r.priority != nil {
		m["priority"] = *r.priority
	}
	if r.data != nil {
		m["data"] = r.data
	}
	if r.commentModified != nil {
		m["comment_modified_on"] = timestamp(*r.commentModified)
	}
	if r.tagsModified != nil {
		m["tags_modified_on"] = timestamp(*r.tagsModified)
	}
	return m
}

// proxiable follows the API: only address records and CNAMEs, and an address
// record only when its target is publicly routable (python-cloudflare#73
// shows a 192.168.1.1 A record coming back with proxiable false).
func (r *record) proxiable() bool {
	switch r.typ {
	case "CNAME":
		return true
	case "A", "AAAA":
		a, err := netip.ParseAddr(r.content)
		return err == nil && publicAddr(a)
	}
	return false
}

func publicAddr(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

// recordInput is a request body with each field's presence kept, since PATCH
// only changes what it names.
type recordInput struct {
	name, typ, content *string
	proxied            *bool
	ttl, priority      *float64
	commentSet         bool
	comment            *string
	tags               *[]string
	settings, data     map[string]any
}

func parseRecordInput(body map[string]json.RawMessage) (recordInput, *failure) {
	var in recordInput
	d := fieldDecoder{body: body}
	if s, ok := d.string("name"); ok {
		in.name = &s
	}
	if s, ok := d.string("type"); ok {
		in.typ = &s
	}
	if s, ok := d.string("content"); ok {
		in.content = &s
	}
	var b bool
	if d.decode("proxied", &b) {
		in.proxied = &b
	}
	var ttl, prio float64
	if d.decode("ttl", &ttl) {
		in.ttl = &ttl
	}
	if d.decode("priority", &prio) {
		in.priority = &prio
	}
	// An empty or null comment removes it.
	if _, in.commentSet = body["comment"]; in.commentSet {
		if c, ok := d.string("comment"); ok && c != "" {
			in.comment = &c
		}
	}
	if _, set := body["tags"]; set {
		tags := []string{}
		d.decode("tags", &tags)
		in.tags = &tags
	}
	d.decode("settings", &in.settings)
	d.decode("data", &in.data)
	if d.err {
		f := errBadBody.with()
		return recordInput{}, &f
	}
	return in, nil
}

// fieldDecoder decodes optional body fields, remembering whether any had the
// wrong JSON type.
type fieldDecoder struct {
	body map[string]json.RawMessage
	err  bool
}

func (d *fieldDecoder) decode(key string, dst any) bool {
	raw, ok := d.body[key]
	if !ok || string(raw) == "null" {
		return false
	}
	if json.Unmarshal(raw, dst) != nil {
		d.err = true
		return false
	}
	return true
}

func (d *fieldDecoder) string(key string) (string, bool) {
	var s string
	ok := d.decode(key, &s)
	return s, ok
}

// build makes the record a create (old nil), PUT (partial false: every field
// not sent returns to its default) or PATCH (only the fields sent change)
// would store, and validates it against the zone.
func (e *Emulator) build(z *zone, old *record, in recordInput, partial bool) (*record, *failure) {
	now := e.now()
	var r record
	if old != nil && partial {
		r = *old
		r.settings = maps.Clone(old.settings)
		r.tags = slices.Clone(old.tags)
	} else {
		r = record{ttl: 1, tags: []string{}, settings: map[string]any{}, created: now}
		if old != nil {
			r.id, r.created = old.id, old.created
		}
	}
	if in.name != nil {
		r.name = *in.name
	}
	if in.typ != nil {
		r.typ = *in.typ
	}
	if in.content != nil {
		r.content = *in.content
	}
	if in.proxied != nil {
		r.proxied = *in.proxied
	}
	if in.settings != nil {
		r.settings = in.settings
	}
	if in.data != nil {
		r.data = in.data
	}
	if in.commentSet {
		r.comment = in.comment
	}
	if in.tags != nil {
		r.tags = *in.tags
	}

	// The API takes types in any case (simplesurance/cfdns's live tests send
	// "cname") and stores them upper-case.
	r.typ = strings.ToUpper(r.typ)
	switch {
	case r.typ == "SPF":
		f := errSPFType.with()
		return nil, &f
	case !slices.Contains(knownTypes, r.typ):
		f := errInvalidType.with()
		return nil, &f
	}
	name, ok := expandName(r.name, z.name)
	if !ok {
		f := errInvalidName.with()
		return nil, &f
	}
	r.name = name
	if f := normalizeContent(&r, in.priority); f != nil {
		return nil, f
	}
	if in.ttl != nil {
		t := *in.ttl
		if t != math.Trunc(t) || (t != 1 && (t < 60 || t > 86400)) {
			f := errInvalidTTL.with()
			return nil, &f
		}
		r.ttl = int(t)
	}
	if r.proxied {
		switch {
		case r.typ != "A" && r.typ != "AAAA" && r.typ != "CNAME":
			f := errNotProxiable.with()
			return nil, &f
		case !r.proxiable():
			f := errTargetNotProxiable.with(r.content)
			return nil, &f
		}
		// Cloudflare owns the TTL of proxied records; terraform-provider-
		// cloudflare rejects any other TTL up front for that reason.
		r.ttl = 1
	}
	if f := conflict(z, &r, old); f != nil {
		return nil, f
	}

	r.modified = now
	r.commentModified, r.tagsModified = nil, nil
	switch {
	case r.comment == nil:
	case old != nil && old.comment != nil && *old.comment == *r.comment:
		r.commentModified = old.commentModified
	default:
		r.commentModified = &now
	}
	switch {
	case len(r.tags) == 0:
	case old != nil && slices.Equal(old.tags, r.tags):
		r.tagsModified = old.tagsModified
	default:
		r.tagsModified = &now
	}
	return &r, nil
}

// expandName turns a record name into the FQDN the API stores. Like the real
// API, "@" is the apex and a name that does not end in the zone is taken as
// relative to it: "www" and even "www.other.org" get the zone appended
// (NewFuture/DDNS#21 shows mail.wangjihe.cf created as
// mail.wangjihe.cf.cnproxy.tk), so no name is ever outside the zone.
func expandName(raw, zoneName string) (string, bool) {
	n := strings.TrimSuffix(strings.ToLower(raw), ".")
	switch {
	case n == "":
		return "", false
	case n == "@":
		n = zoneName
	case n == zoneName || strings.HasSuffix(n, "."+zoneName):
	default:
		n += "." + zoneName
	}
	if len(n) > 253 {
		return "", false
	}
	for _, l := range strings.Split(n, ".") {
		if l != "*" && !validHostLabel(l) {
			return "", false
		}
	}
	return n, true
}

// validHostLabel allows what Cloudflare stores: letters, digits, hyphens and
// underscores (underscores for service names such as _acme-challenge), up to
// 63 characters. Non-ASCII names are refused rather than converted to
// Punycode.
func validHostLabel(l string) bool {
	if l == "" || len(l) > 63 {
		return false
	}
	for _, c := range strings.ToLower(l) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validHostname(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil || h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !validHostLabel(l) {
			return false
		}
	}
	return true
}

// normalizeContent validates the content for the record's type and stores it
// the way the API returns it.
func normalizeContent(r *record, priority *float64) *failure {
	fail := func(s errSpec, args ...any) *failure { f := s.with(args...); return &f }
	if priority != nil {
		p := *priority
		if p != math.Trunc(p) || p < 0 || p > 65535 {
			return fail(errBadBody)
		}
		r.priority = ptr(int(p))
	}
	switch r.typ {
	case "A":
		a, err := netip.ParseAddr(r.content)
		if err != nil || !a.Is4() {
			return fail(errInvalidA)
		}
		r.content = a.String()
	case "AAAA":
		// The API stores the RFC 5952 form: fe80::0:0:1 comes back as fe80::1
		// (developers.cloudflare.com/dns/manage-dns-records/reference/dns-record-types).
		a, err := netip.ParseAddr(r.content)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return fail(errInvalidAAAA)
		}
		r.content = a.String()
	case "CNAME", "NS":
		c := strings.TrimSuffix(r.content, ".")
		if !validHostname(c) {
			if r.typ == "NS" {
				return fail(errInvalidNS)
			}
			return fail(errInvalidCNAME)
		}
		r.content = c
	case "MX":
		// "." is a null MX, which the API accepts (terraform-provider-
		// cloudflare tests it as record_null_mx).
		if c := strings.TrimSuffix(r.content, "."); r.content != "." {
			if !validHostname(c) {
				return fail(errInvalidContent, r.typ)
			}
			r.content = c
		}
		if r.priority == nil {
			r.priority = ptr(0)
		}
	case "SRV":
		if r.data != nil {
			r.priority = ptr(intField(r.data, "priority"))
			r.content = fmt.Sprintf("%d %d %s", intField(r.data, "weight"), intField(r.data, "port"), strField(r.data, "target"))
		}
	case "CAA":
		if r.data != nil {
			r.content = fmt.Sprintf("%d %s %q", intField(r.data, "flags"), strField(r.data, "tag"), strField(r.data, "value"))
		}
	}
	if r.content == "" {
		return fail(errInvalidContent, r.typ)
	}
	if r.typ != "MX" && r.typ != "SRV" && r.typ != "URI" {
		r.priority = nil
	}
	return nil
}

func intField(m map[string]any, k string) int {
	f, _ := m[k].(float64)
	return int(f)
}

func strField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// conflict applies the API's same-name rules. The CNAME rule comes first:
// simplesurance/cfdns's live tests get 81053, not 81058, for a repeated CNAME.
func conflict(z *zone, r *record, self *record) *failure {
	for _, o := range z.records {
		if self != nil && o.id == self.id || o.name != r.name {
			continue
		}
		switch {
		case r.typ == "CNAME" && (o.typ == "A" || o.typ == "AAAA" || o.typ == "CNAME"):
			f := errHostTaken.with()
			return &f
		case (r.typ == "A" || r.typ == "AAAA") && o.typ == "CNAME":
			f := errCNAMETaken.with()
			return &f
		}
	}
	for _, o := range z.records {
		if self != nil && o.id == self.id || o.name != r.name || o.typ != r.typ {
			continue
		}
		same := strings.EqualFold(o.content, r.content)
		if r.typ == "TXT" {
			same = o.content == r.content
		}
		if same && (r.typ != "MX" || o.priority != nil && r.priority != nil && *o.priority == *r.priority) {
			f := errIdentical.with()
			return &f
		}
	}
	return nil
}

// recordFor finds the zone and record named by the path. A record ID that is
// not even shaped like one is a routing failure (7003) on the real API
// (cloudflare/cloudflare-go#118); a well-formed unknown one is 81044.
func (e *Emulator) recordFor(r *http.Request) (*zone, *record, *failure) {
	z, f := e.zoneFor(r)
	if f != nil {
		return nil, nil, f
	}
	id := r.PathValue("id")
	if !idPattern.MatchString(id) {
		f := errNoRouteToObject.with(r.URL.Path)
		return nil, nil, &f
	}
	rec, ok := z.records[id]
	if !ok {
		f := errRecordNotFound.with()
		return nil, nil, &f
	}
	return z, rec, nil
}

func (e *Emulator) createRecord(w http.ResponseWriter, r *http.Request) {
	body, f := readBody(r)
	if f != nil {
		writeFailure(w, *f)
		return
	}
	in, f := parseRecordInput(body)
	if f != nil {
		writeFailure(w, *f)
		return
	}
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, f := e.zoneFor(r)
		if f != nil {
			return nil, nil, f
		}
		rec, f := e.build(z, nil, in, false)
		if f != nil {
			return nil, nil, f
		}
		rec.id = newID()
		z.records[rec.id] = rec
		return rec.json(), nil, nil
	})
}

func (e *Emulator) getRecord(w http.ResponseWriter, r *http.Request) {
	e.respond(w, func() (any, *resultInfo, *failure) {
		_, rec, f := e.recordFor(r)
		if f != nil {
			return nil, nil, f
		}
		return rec.json(), nil, nil
	})
}

func (e *Emulator) putRecord(w http.ResponseWriter, r *http.Request)   { e.updateRecord(w, r, false) }
func (e *Emulator) patchRecord(w http.ResponseWriter, r *http.Request) { e.updateRecord(w, r, true) }

// updateRecord serves PUT, which replaces every field (an omitted comment or
// TTL returns to its default), and PATCH, which changes only the fields sent.
func (e *Emulator) updateRecord(w http.ResponseWriter, r *http.Request, partial bool) {
	body, f := readBody(r)
	if f != nil {
		writeFailure(w, *f)
		return
	}
	in, f := parseRecordInput(body)
	if f != nil {
		writeFailure(w, *f)
		return
	}
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, old, f := e.recordFor(r)
		if f != nil {
			return nil, nil, f
		}
		rec, f := e.build(z, old, in, partial)
		if f != nil {
			return nil, nil, f
		}
		z.records[rec.id] = rec
		return rec.json(), nil, nil
	})
}

func (e *Emulator) deleteRecord(w http.ResponseWriter, r *http.Request) {
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, rec, f := e.recordFor(r)
		if f != nil {
			return nil, nil, f
		}
		delete(z.records, rec.id)
		return map[string]any{"id": rec.id}, nil, nil
	})
}

func (e *Emulator) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, f := e.zoneFor(r)
		if f != nil {
			return nil, nil, f
		}
		var matched []*record
		for _, rec := range z.records {
			if recordMatches(rec, z, q) {
				matched = append(matched, rec)
			}
		}
		sortRecords(matched, q.Get("order"), q.Get("direction") == "desc")
		// The API documents per_page as 5 to 5,000,000, default 100.
		start, end, info := paginate(len(matched), q, 100, 5, 5_000_000)
		out := make([]map[string]any, 0, end-start)
		for _, rec := range matched[start:end] {
			out = append(out, rec.json())
		}
		return out, info, nil
	})
}

func sortRecords(rs []*record, order string, desc bool) {
	key := func(r *record) []string {
		switch order {
		case "name":
			return []string{r.name}
		case "content":
			return []string{r.content}
		case "ttl":
			return []string{fmt.Sprintf("%06d", r.ttl)}
		case "proxied":
			return []string{strconv.FormatBool(r.proxied)}
		}
		return []string{r.typ}
	}
	slices.SortFunc(rs, func(a, b *record) int {
		c := slices.Compare(key(a), key(b))
		if desc {
			c = -c
		}
		// Ties break the same way every time so pages never overlap.
		return cmp.Or(c, cmp.Compare(a.name, b.name), cmp.Compare(a.content, b.content), cmp.Compare(a.id, b.id))
	})
}

// recordMatches applies the list filters: name, content and comment take
// exact/contains/startswith/endswith (the bare parameter is exact), all
// case-insensitive; match=any ORs them; tag filters combine under tag_match.
func recordMatches(r *record, z *zone, q url.Values) bool {
	var results []bool
	if v, ok := q["type"]; ok {
		results = append(results, strings.EqualFold(r.typ, v[0]))
	}
	if v, ok := q["proxied"]; ok {
		results = append(results, strconv.FormatBool(r.proxied) == strings.ToLower(v[0]))
	}
	// The name filter wants the FQDN; "@" and a trailing dot are the only
	// shorthands accepted.
	name := func(v string) string {
		if v == "@" {
			return z.name
		}
		return strings.TrimSuffix(v, ".")
	}
	results = append(results, textFilters(r.name, "name", q, name)...)
	results = append(results, textFilters(r.content, "content", q, nil)...)
	comment := ""
	if r.comment != nil {
		comment = *r.comment
	}
	results = append(results, textFilters(comment, "comment", q, nil)...)
	if _, ok := q["comment.present"]; ok {
		results = append(results, r.comment != nil)
	}
	if _, ok := q["comment.absent"]; ok {
		results = append(results, r.comment == nil)
	}
	if tags := tagFilters(r.tags, q); tags != nil {
		results = append(results, combine(tags, q.Get("tag_match") == "any"))
	}
	return combine(results, q.Get("match") == "any")
}

func textFilters(value, field string, q url.Values, normalize func(string) string) []bool {
	var out []bool
	lv := strings.ToLower(value)
	for _, op := range []string{"", ".exact", ".contains", ".startswith", ".endswith"} {
		vs, ok := q[field+op]
		if !ok {
			continue
		}
		arg := vs[0]
		if normalize != nil && (op == "" || op == ".exact") {
			arg = normalize(arg)
		}
		la := strings.ToLower(arg)
		switch op {
		case "", ".exact":
			out = append(out, lv == la)
		case ".contains":
			out = append(out, strings.Contains(lv, la))
		case ".startswith":
			out = append(out, strings.HasPrefix(lv, la))
		case ".endswith":
			out = append(out, strings.HasSuffix(lv, la))
		}
	}
	return out
}

// tagFilters evaluates tag filters. Tags are "name:value"; present and absent
// take a tag name, the others "name:value" where the value is matched.
func tagFilters(tags []string, q url.Values) []bool {
	var out []bool
	byName := map[string]string{}
	for _, t := range tags {
		n, v, _ := strings.Cut(strings.ToLower(t), ":")
		byName[n] = v
	}
	for _, op := range []string{"", ".exact", ".contains", ".startswith", ".endswith", ".present", ".absent"} {
		vs, ok := q["tag"+op]
		if !ok {
			continue
		}
		n, arg, _ := strings.Cut(strings.ToLower(vs[0]), ":")
		v, has := byName[n]
		switch op {
		case ".present":
			out = append(out, has)
		case ".absent":
			out = append(out, !has)
		case "", ".exact":
			out = append(out, has && v == arg)
		case ".contains":
			out = append(out, has && strings.Contains(v, arg))
		case ".startswith":
			out = append(out, has && strings.HasPrefix(v, arg))
		case ".endswith":
			out = append(out, has && strings.HasSuffix(v, arg))
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
