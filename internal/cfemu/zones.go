package cfemu

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

type zone struct {
	id, name, accountID, status string
	created, modified           time.Time
	activated                   *time.Time
	records                     map[string]*record // by ID
}

func (z *zone) public() Zone { return Zone{ID: z.id, Name: z.name, AccountID: z.accountID} }

// json renders the zone with the fields cloudflare-go's zones.Zone marks
// required, so typed clients see a complete object.
func (z *zone) json() map[string]any {
	var activated any
	if z.activated != nil {
		activated = timestamp(*z.activated)
	}
	return map[string]any{
		"id":                    z.id,
		"name":                  z.name,
		"status":                z.status,
		"paused":                false,
		"type":                  "full",
		"development_mode":      0,
		"name_servers":          []string{"ada.ns.cloudflare.com", "bob.ns.cloudflare.com"},
		"original_name_servers": nil,
		"original_registrar":    nil,
		"original_dnshost":      nil,
		"created_on":            timestamp(z.created),
		"modified_on":           timestamp(z.modified),
		"activated_on":          activated,
		"meta": map[string]any{
			"step": 2, "custom_certificate_quota": 0, "page_rule_quota": 3,
			"phishing_detected": false, "cdn_only": false, "dns_only": false, "foundation_dns": false,
		},
		"owner":   map[string]any{"id": nil, "type": "user", "email": nil},
		"account": map[string]any{"id": z.accountID, "name": "Emulated account"},
		"tenant":  map[string]any{"id": nil, "name": nil}, "tenant_unit": map[string]any{"id": nil},
		"plan": map[string]any{
			"id": "0feeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "name": "Free Website", "price": 0, "currency": "USD",
			"frequency": "", "is_subscribed": false, "can_subscribe": false, "legacy_id": "free",
			"legacy_discount": false, "externally_managed": false,
		},
	}
}

func (e *Emulator) addZoneLocked(name, accountID, status string) (*zone, *failure) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	if !validZoneName(name) {
		f := errZoneName.with()
		return nil, &f
	}
	for _, z := range e.zones {
		if z.name == name {
			f := errZoneExists.with(name)
			return nil, &f
		}
	}
	now := e.now()
	z := &zone{id: newID(), name: name, accountID: accountID, status: status, created: now, modified: now, records: map[string]*record{}}
	if status == "active" {
		z.activated = &now
	}
	e.zones[z.id] = z
	return z, nil
}

// validZoneName accepts registrable-looking names: at least two labels, each
// a valid hostname label.
func validZoneName(name string) bool {
	labels := strings.Split(name, ".")
	if len(labels) < 2 || len(name) > 253 {
		return false
	}
	for _, l := range labels {
		if !validHostLabel(l) {
			return false
		}
	}
	return true
}

func (e *Emulator) sortedZonesLocked() []*zone {
	zs := make([]*zone, 0, len(e.zones))
	for _, z := range e.zones {
		zs = append(zs, z)
	}
	slices.SortFunc(zs, func(a, b *zone) int { return cmp.Compare(a.name, b.name) })
	return zs
}

// zoneFor finds the zone named by the path; an unknown identifier gets the
// real API's 7003.
func (e *Emulator) zoneFor(r *http.Request) (*zone, *failure) {
	z, ok := e.zones[r.PathValue("zone_id")]
	if !ok {
		f := errNoRouteToObject.with(r.URL.Path)
		return nil, &f
	}
	return z, nil
}

func (e *Emulator) listZones(w http.ResponseWriter, r *http.Request) {
	e.respond(w, func() (any, *resultInfo, *failure) { return e.listZonesLocked(r.URL.Query()) })
}

func (e *Emulator) listZonesLocked(q url.Values) (any, *resultInfo, *failure) {
	var matched []*zone
	for _, z := range e.sortedZonesLocked() {
		if zoneMatches(z, q) {
			matched = append(matched, z)
		}
	}
	if q.Get("order") != "" {
		key := func(z *zone) string {
			switch q.Get("order") {
			case "status":
				return z.status
			case "account.id":
				return z.accountID
			}
			return z.name
		}
		slices.SortStableFunc(matched, func(a, b *zone) int { return cmp.Compare(key(a), key(b)) })
	}
	if q.Get("direction") == "desc" {
		slices.Reverse(matched)
	}
	start, end, info := paginate(len(matched), q, 20, 5, 50)
	out := make([]map[string]any, 0, end-start)
	for _, z := range matched[start:end] {
		out = append(out, z.json())
	}
	return out, info, nil
}

// zoneMatches applies the list filters. The name filter takes the real API's
// optional operator prefix, e.g. "contains:example".
func zoneMatches(z *zone, q url.Values) bool {
	matchAny := q.Get("match") == "any"
	var results []bool
	if v, ok := q["name"]; ok {
		results = append(results, matchOperator(z.name, v[0]))
	}
	if v, ok := q["status"]; ok {
		results = append(results, z.status == v[0])
	}
	if v, ok := q["account.id"]; ok {
		results = append(results, z.accountID == v[0])
	}
	return combine(results, matchAny)
}

func matchOperator(value, filter string) bool {
	op, arg, found := strings.Cut(filter, ":")
	if !found {
		op, arg = "equal", filter
	}
	lv, la := strings.ToLower(value), strings.ToLower(arg)
	switch op {
	case "equal":
		return lv == la
	case "not_equal":
		return lv != la
	case "starts_with":
		return strings.HasPrefix(lv, la)
	case "ends_with":
		return strings.HasSuffix(lv, la)
	case "contains":
		return strings.Contains(lv, la)
	case "starts_with_case_sensitive":
		return strings.HasPrefix(value, arg)
	case "ends_with_case_sensitive":
		return strings.HasSuffix(value, arg)
	case "contains_case_sensitive":
		return strings.Contains(value, arg)
	}
	// An unknown prefix is part of the name, e.g. a literal colon.
	return lv == strings.ToLower(filter)
}

func combine(results []bool, matchAny bool) bool {
	if len(results) == 0 {
		return true
	}
	if matchAny {
		return slices.Contains(results, true)
	}
	return !slices.Contains(results, false)
}

func (e *Emulator) createZone(w http.ResponseWriter, r *http.Request) {
	body, f := readBody(r)
	if f != nil {
		writeFailure(w, *f)
		return
	}
	var name string
	var account struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body["name"], &name) != nil || (body["account"] != nil && json.Unmarshal(body["account"], &account) != nil) {
		writeFailure(w, errBadBody.with())
		return
	}
	if account.ID == "" {
		account.ID = e.accountID
	}
	e.respond(w, func() (any, *resultInfo, *failure) {
		// Zones made through the API start pending, as real ones do until the
		// registrar points at Cloudflare's name servers.
		z, f := e.addZoneLocked(name, account.ID, "pending")
		if f != nil {
			return nil, nil, f
		}
		return z.json(), nil, nil
	})
}

func (e *Emulator) getZone(w http.ResponseWriter, r *http.Request) {
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, f := e.zoneFor(r)
		if f != nil {
			return nil, nil, f
		}
		return z.json(), nil, nil
	})
}

func (e *Emulator) deleteZone(w http.ResponseWriter, r *http.Request) {
	e.respond(w, func() (any, *resultInfo, *failure) {
		z, f := e.zoneFor(r)
		if f != nil {
			return nil, nil, f
		}
		delete(e.zones, z.id)
		return map[string]any{"id": z.id}, nil, nil
	})
}

// paginate slices n items by the page and per_page parameters and builds the
// result_info block. A page past the end is empty rather than an error, which
// is what stops cloudflare-go's auto-pager.
func paginate(n int, q url.Values, defaultPerPage, minPerPage, maxPerPage int) (start, end int, info *resultInfo) {
	page := queryInt(q, "page", 1)
	if page < 1 {
		page = 1
	}
	perPage := queryInt(q, "per_page", defaultPerPage)
	perPage = max(minPerPage, min(perPage, maxPerPage))
	start = min(n, (page-1)*perPage)
	end = min(n, start+perPage)
	return start, end, &resultInfo{
		Page: page, PerPage: perPage, Count: end - start, TotalCount: n,
		TotalPages: (n + perPage - 1) / perPage,
	}
}

// queryInt reads an integer parameter; cloudflare-go sends numbers as
// floats, so "2" and "2.0" are both accepted.
func queryInt(q url.Values, key string, def int) int {
	v := q.Get(key)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return def
	}
	return int(f)
}
