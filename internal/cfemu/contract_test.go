package cfemu_test

// The contract: the unmodified cloudflare-go v7 client, pointed at the
// emulator with option.WithBaseURL, gets the answers and errors it would get
// from the real API.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/cloudflare/cloudflare-go/v7"
	"github.com/cloudflare/cloudflare-go/v7/dns"
	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/zones"

	"github.com/pivotapp/platform/internal/cfemu"
)

const token = "emulator-test-token_0123456789"

var idShape = regexp.MustCompile(`^[0-9a-f]{32}$`)

// setup starts an emulator with one zone and a client for it.
func setup(t *testing.T) (*cfemu.Server, *cloudflare.Client, cfemu.Zone) {
	t.Helper()
	srv, err := cfemu.Start(cfemu.Options{APIToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
	})
	z, err := srv.AddZone("example.com")
	if err != nil {
		t.Fatal(err)
	}
	return srv, newClient(srv.URL, token), z
}

func newClient(baseURL, tok string) *cloudflare.Client {
	// No retries: every status the emulator returns is final, and a retry
	// would hide a wrong status behind a slow pass.
	return cloudflare.NewClient(option.WithBaseURL(baseURL), option.WithAPIToken(tok), option.WithMaxRetries(0))
}

// chained is an entry expected in the first error's error_chain.
type chained struct {
	code    int64
	message string
}

// wantAPIError asserts err is the client's *cloudflare.Error with the given
// status and first error code and message, and, when chain is set, that
// error's first error_chain entry.
func wantAPIError(t *testing.T, err error, status int, code int64, message string, chain ...chained) {
	t.Helper()
	var apiErr *cloudflare.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v (%T), want *cloudflare.Error", err, err)
	}
	if apiErr.StatusCode != status {
		t.Errorf("status = %d, want %d", apiErr.StatusCode, status)
	}
	if len(apiErr.Errors) == 0 {
		t.Fatalf("no errors in %s", apiErr.JSON.RawJSON())
	}
	if got := apiErr.Errors[0]; got.Code != code || got.Message != message {
		t.Errorf("error = %d %q, want %d %q", got.Code, got.Message, code, message)
	}
	if len(chain) == 0 {
		return
	}
	var body struct {
		Errors []struct {
			ErrorChain []struct {
				Code    int64  `json:"code"`
				Message string `json:"message"`
			} `json:"error_chain"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(apiErr.JSON.RawJSON()), &body); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if len(body.Errors) == 0 || len(body.Errors[0].ErrorChain) == 0 {
		t.Fatalf("no error_chain in %s", apiErr.JSON.RawJSON())
	}
	if got := body.Errors[0].ErrorChain[0]; got.Code != chain[0].code || got.Message != chain[0].message {
		t.Errorf("error_chain = %d %q, want %d %q", got.Code, got.Message, chain[0].code, chain[0].message)
	}
}

func newA(zoneID, name, content string) dns.RecordNewParams {
	return dns.RecordNewParams{ZoneID: cloudflare.F(zoneID), Body: dns.ARecordParam{
		Name: cloudflare.F(name), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F(content), TTL: cloudflare.F(dns.TTL(1)),
	}}
}

func newRecord(zoneID, typ, name, content string) dns.RecordNewParams {
	return dns.RecordNewParams{ZoneID: cloudflare.F(zoneID), Body: dns.RecordNewParamsBody{
		Name: cloudflare.F(name), Type: cloudflare.F(dns.RecordNewParamsBodyType(typ)), Content: cloudflare.F(content), TTL: cloudflare.F(dns.TTL(1)),
	}}
}

func TestContractRecordLifecycle(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	created, err := client.DNS.Records.New(ctx, newA(z.ID, "www", "203.0.113.10"))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !idShape.MatchString(created.ID) {
		t.Errorf("id = %q, want 32 lowercase hex characters", created.ID)
	}
	if created.Name != "www.example.com" || created.Type != "A" || created.Content != "203.0.113.10" {
		t.Errorf("created = %s %s %s, want www.example.com A 203.0.113.10", created.Name, created.Type, created.Content)
	}
	if !created.Proxiable || created.Proxied || created.TTL != 1 || created.Comment != "" || created.CreatedOn.IsZero() {
		t.Errorf("created = %s", created.JSON.RawJSON())
	}

	got, err := client.DNS.Records.Get(ctx, created.ID, dns.RecordGetParams{ZoneID: cloudflare.F(z.ID)})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.ID != created.ID || got.Name != created.Name {
		t.Errorf("get = %s %s, want %s %s", got.ID, got.Name, created.ID, created.Name)
	}

	put, err := client.DNS.Records.Update(ctx, created.ID, dns.RecordUpdateParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
		Name: cloudflare.F("www.example.com"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("203.0.113.11"),
		TTL: cloudflare.F(dns.TTL(300)), Comment: cloudflare.F("managed by terraform"), Tags: cloudflare.F([]dns.RecordTagsParam{"owner:platform"}),
	}})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if put.Content != "203.0.113.11" || put.TTL != 300 || put.Comment != "managed by terraform" || put.CommentModifiedOn.IsZero() {
		t.Errorf("put = %s", put.JSON.RawJSON())
	}
	if !put.CreatedOn.Equal(created.CreatedOn) {
		t.Errorf("put changed created_on from %v to %v", created.CreatedOn, put.CreatedOn)
	}

	// PATCH changes only what it sends: the comment stays, and proxying hands
	// the TTL to Cloudflare.
	edited, err := client.DNS.Records.Edit(ctx, created.ID, dns.RecordEditParams{ZoneID: cloudflare.F(z.ID), Body: dns.RecordEditParamsBody{
		Proxied: cloudflare.F(true),
	}})
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if !edited.Proxied || edited.TTL != 1 || edited.Comment != "managed by terraform" || edited.Content != "203.0.113.11" {
		t.Errorf("edit = %s", edited.JSON.RawJSON())
	}

	// PUT without a comment clears it, as an overwrite does.
	put, err = client.DNS.Records.Update(ctx, created.ID, dns.RecordUpdateParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
		Name: cloudflare.F("www"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("203.0.113.12"), TTL: cloudflare.F(dns.TTL(1)),
	}})
	if err != nil {
		t.Fatalf("second put: %v", err)
	}
	if put.Comment != "" || put.Proxied || !put.CommentModifiedOn.IsZero() {
		t.Errorf("second put = %s", put.JSON.RawJSON())
	}

	deleted, err := client.DNS.Records.Delete(ctx, created.ID, dns.RecordDeleteParams{ZoneID: cloudflare.F(z.ID)})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if deleted.ID != created.ID {
		t.Errorf("delete result id = %q, want %q", deleted.ID, created.ID)
	}
	_, err = client.DNS.Records.Get(ctx, created.ID, dns.RecordGetParams{ZoneID: cloudflare.F(z.ID)})
	wantAPIError(t, err, 404, 81044, "Record does not exist.")
	_, err = client.DNS.Records.Delete(ctx, created.ID, dns.RecordDeleteParams{ZoneID: cloudflare.F(z.ID)})
	wantAPIError(t, err, 404, 81044, "Record does not exist.")
}

func TestContractRecordTypes(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	cases := []struct {
		params             dns.RecordNewParams
		name, typ, content string
		priority           float64
		proxiable          bool
	}{
		{newRecord(z.ID, "AAAA", "v6", "2001:DB8:0:0::1"), "v6.example.com", "AAAA", "2001:db8::1", 0, true},
		{newRecord(z.ID, "AAAA", "ula", "fd00::1"), "ula.example.com", "AAAA", "fd00::1", 0, false},
		{newRecord(z.ID, "AAAA", "v6pub", "2606:4700::1111"), "v6pub.example.com", "AAAA", "2606:4700::1111", 0, true},
		{newRecord(z.ID, "CNAME", "alias", "target.example.net."), "alias.example.com", "CNAME", "target.example.net", 0, true},
		{newRecord(z.ID, "TXT", "@", `"v=spf1 -all"`), "example.com", "TXT", `"v=spf1 -all"`, 0, false},
		{newRecord(z.ID, "NS", "sub", "ns1.example.net"), "sub.example.com", "NS", "ns1.example.net", 0, false},
		{newRecord(z.ID, "cname", "lower", "target.example.net"), "lower.example.com", "CNAME", "target.example.net", 0, true},
		{dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.MXRecordParam{
			Name: cloudflare.F("example.com"), Type: cloudflare.F(dns.MXRecordTypeMX), Content: cloudflare.F("mail.example.com"),
			Priority: cloudflare.F(10.0), TTL: cloudflare.F(dns.TTL(3600)),
		}}, "example.com", "MX", "mail.example.com", 10, false},
		{dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.CAARecordParam{
			Name: cloudflare.F("example.com"), Type: cloudflare.F(dns.CAARecordTypeCAA), TTL: cloudflare.F(dns.TTL(1)),
			Data: cloudflare.F(dns.CAARecordDataParam{Flags: cloudflare.F(0.0), Tag: cloudflare.F("issue"), Value: cloudflare.F("letsencrypt.org")}),
		}}, "example.com", "CAA", `0 issue "letsencrypt.org"`, 0, false},
	}
	for _, tc := range cases {
		got, err := client.DNS.Records.New(ctx, tc.params)
		if err != nil {
			t.Errorf("create %s %s: %v", tc.typ, tc.name, err)
			continue
		}
		// The client's union decoding drops priority for every variant (it
		// does so for the real API too), so it is read from the raw JSON.
		var raw struct {
			Priority float64 `json:"priority"`
		}
		if err := json.Unmarshal([]byte(got.JSON.RawJSON()), &raw); err != nil {
			t.Fatal(err)
		}
		if got.Name != tc.name || string(got.Type) != tc.typ || got.Content != tc.content || raw.Priority != tc.priority || got.Proxiable != tc.proxiable {
			t.Errorf("create %s %s = %s", tc.typ, tc.name, got.JSON.RawJSON())
		}
	}
}

func TestContractPagination(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	const total, perPage = 12, 5
	want := map[string]bool{}
	for i := range total {
		rec, err := client.DNS.Records.New(ctx, newRecord(z.ID, "TXT", fmt.Sprintf("r%02d", i), fmt.Sprintf(`"value %d"`, i)))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		want[rec.ID] = true
	}

	// Explicit pages, including one past the end.
	seen := map[string]bool{}
	for page := 1; page <= 4; page++ {
		res, err := client.DNS.Records.List(ctx, dns.RecordListParams{
			ZoneID: cloudflare.F(z.ID), Page: cloudflare.F(float64(page)), PerPage: cloudflare.F(float64(perPage)),
		})
		if err != nil {
			t.Fatalf("list page %d: %v", page, err)
		}
		wantCount := min(perPage, max(0, total-(page-1)*perPage))
		// The typed ResultInfo holds page and per_page; the counts the real
		// API also sends are read from the raw JSON.
		var info struct {
			Page, PerPage, Count, TotalCount, TotalPages int
		}
		raw := res.ResultInfo.JSON.RawJSON()
		if err := json.Unmarshal([]byte(raw), &struct {
			Page       *int `json:"page"`
			PerPage    *int `json:"per_page"`
			Count      *int `json:"count"`
			TotalCount *int `json:"total_count"`
			TotalPages *int `json:"total_pages"`
		}{&info.Page, &info.PerPage, &info.Count, &info.TotalCount, &info.TotalPages}); err != nil {
			t.Fatalf("decode result_info %s: %v", raw, err)
		}
		wantInfo := struct{ Page, PerPage, Count, TotalCount, TotalPages int }{page, perPage, wantCount, total, 3}
		if len(res.Result) != wantCount || res.ResultInfo.Page != int64(page) || info != wantInfo {
			t.Errorf("page %d: %d results, result_info %s", page, len(res.Result), raw)
		}
		for _, r := range res.Result {
			if seen[r.ID] {
				t.Errorf("record %s on two pages", r.ID)
			}
			seen[r.ID] = true
		}
	}
	if len(seen) != total {
		t.Errorf("pages held %d records, want %d", len(seen), total)
	}

	// The client's auto-pager walks by page number until an empty page.
	pager := client.DNS.Records.ListAutoPaging(ctx, dns.RecordListParams{ZoneID: cloudflare.F(z.ID), PerPage: cloudflare.F(float64(perPage))})
	got := map[string]bool{}
	for pager.Next() {
		got[pager.Current().ID] = true
	}
	if err := pager.Err(); err != nil {
		t.Fatalf("auto-pager: %v", err)
	}
	if len(got) != total {
		t.Errorf("auto-pager saw %d records, want %d", len(got), total)
	}
	for id := range want {
		if !got[id] {
			t.Errorf("auto-pager missed %s", id)
		}
	}

	// GetNextPage on the last page returns an empty page, then nil.
	last, err := client.DNS.Records.List(ctx, dns.RecordListParams{ZoneID: cloudflare.F(z.ID), Page: cloudflare.F(3.0), PerPage: cloudflare.F(float64(perPage))})
	if err != nil {
		t.Fatal(err)
	}
	next, err := last.GetNextPage()
	if err != nil || next == nil || len(next.Result) != 0 {
		t.Errorf("page after the last = %v, %v; want an empty page", next, err)
	}
}

func TestContractListFilters(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	for _, p := range []dns.RecordNewParams{
		newA(z.ID, "api", "203.0.113.1"),
		newA(z.ID, "api", "203.0.113.2"),
		newRecord(z.ID, "TXT", "api", `"hello"`),
		newA(z.ID, "web", "203.0.113.1"),
	} {
		if _, err := client.DNS.Records.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.DNS.Records.New(ctx, dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
		Name: cloudflare.F("cdn"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("203.0.113.9"), Proxied: cloudflare.F(true),
	}}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		desc   string
		params dns.RecordListParams
		want   []string // name/content pairs
	}{
		{"name", dns.RecordListParams{Name: cloudflare.F(dns.RecordListParamsName{Exact: cloudflare.F("api.example.com")})},
			[]string{"api.example.com 203.0.113.1", "api.example.com 203.0.113.2", `api.example.com "hello"`}},
		{"name and type", dns.RecordListParams{Name: cloudflare.F(dns.RecordListParamsName{Exact: cloudflare.F("API.example.com")}), Type: cloudflare.F(dns.RecordListParamsTypeTXT)},
			[]string{`api.example.com "hello"`}},
		{"content", dns.RecordListParams{Content: cloudflare.F(dns.RecordListParamsContent{Exact: cloudflare.F("203.0.113.1")})},
			[]string{"api.example.com 203.0.113.1", "web.example.com 203.0.113.1"}},
		{"name suffix", dns.RecordListParams{Name: cloudflare.F(dns.RecordListParamsName{Startswith: cloudflare.F("we")})},
			[]string{"web.example.com 203.0.113.1"}},
		{"proxied", dns.RecordListParams{Proxied: cloudflare.F(true)},
			[]string{"cdn.example.com 203.0.113.9"}},
		{"match any", dns.RecordListParams{Match: cloudflare.F(dns.RecordListParamsMatchAny), Proxied: cloudflare.F(true), Type: cloudflare.F(dns.RecordListParamsTypeTXT)},
			[]string{"cdn.example.com 203.0.113.9", `api.example.com "hello"`}},
	}
	for _, tc := range cases {
		tc.params.ZoneID = cloudflare.F(z.ID)
		res, err := client.DNS.Records.List(ctx, tc.params)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		var got []string
		for _, r := range res.Result {
			got = append(got, r.Name+" "+r.Content)
		}
		slices.Sort(got)
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.desc, got, tc.want)
		}
	}
}

func TestContractValidationErrors(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	for _, p := range []dns.RecordNewParams{
		newA(z.ID, "taken", "203.0.113.1"),
		newRecord(z.ID, "CNAME", "alias", "target.example.net"),
	} {
		if _, err := client.DNS.Records.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		desc    string
		params  dns.RecordNewParams
		code    int64
		message string
		chain   []chained
	}{
		{"duplicate record", newA(z.ID, "taken.example.com", "203.0.113.1"), 81058, "An identical record already exists.", nil},
		{"CNAME beside an A record", newRecord(z.ID, "CNAME", "taken", "target.example.net"), 81053, "An A, AAAA, or CNAME record with that host already exists.", nil},
		{"duplicate CNAME", newRecord(z.ID, "CNAME", "alias", "target.example.net"), 81053, "An A, AAAA, or CNAME record with that host already exists.", nil},
		{"A record beside a CNAME", newA(z.ID, "alias", "203.0.113.5"), 81054,
			"A CNAME record with that host already exists. For more details, refer to <https://developers.cloudflare.com/dns/manage-dns-records/troubleshooting/records-with-same-name/>.", nil},
		{"invalid type", newRecord(z.ID, "FOO", "www", "x"), 1004, "DNS Validation Error", []chained{{9002, "DNS record type is invalid."}}},
		{"invalid name", newA(z.ID, "bad name!", "203.0.113.1"), 9000, "DNS name is invalid.", nil},
		{"empty label", newA(z.ID, "a..b", "203.0.113.1"), 9000, "DNS name is invalid.", nil},
		{"invalid A content", newA(z.ID, "www", "not-an-ip"), 9005, "Content for A record must be a valid IPv4 address.", nil},
		{"IPv6 in an A record", newA(z.ID, "www", "2001:db8::1"), 9005, "Content for A record must be a valid IPv4 address.", nil},
		{"invalid AAAA content", newRecord(z.ID, "AAAA", "www", "203.0.113.1"), 9006, "Content for AAAA record must be a valid IPv6 address.", nil},
		{"IP as CNAME target", newRecord(z.ID, "CNAME", "www", "1.1.1.1"), 1004, "DNS Validation Error", []chained{{9007, "Content for CNAME record is invalid."}}},
		{"TTL too low", dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
			Name: cloudflare.F("www"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("203.0.113.1"), TTL: cloudflare.F(dns.TTL(30)),
		}}, 1004, "DNS Validation Error", []chained{{9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic."}}},
		{"TTL too high", dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
			Name: cloudflare.F("www"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("203.0.113.1"), TTL: cloudflare.F(dns.TTL(86401)),
		}}, 1004, "DNS Validation Error", []chained{{9021, "TTL must be between 60 and 86400 seconds, or 1 for Automatic."}}},
		{"proxied TXT", dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.RecordNewParamsBody{
			Name: cloudflare.F("txt"), Type: cloudflare.F(dns.RecordNewParamsBodyTypeTXT), Content: cloudflare.F("hello"), Proxied: cloudflare.F(true),
		}}, 9004, "This record type cannot be proxied.", nil},
		{"proxied private address", dns.RecordNewParams{ZoneID: cloudflare.F(z.ID), Body: dns.ARecordParam{
			Name: cloudflare.F("lan"), Type: cloudflare.F(dns.ARecordTypeA), Content: cloudflare.F("192.168.1.1"), Proxied: cloudflare.F(true),
		}}, 9003, "Target 192.168.1.1 is not allowed for a proxied record.", nil},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := client.DNS.Records.New(ctx, tc.params)
			wantAPIError(t, err, 400, tc.code, tc.message, tc.chain...)
		})
	}

	// Updates obey the same rules, and a record never conflicts with itself.
	rec, err := client.DNS.Records.New(ctx, newA(z.ID, "second", "203.0.113.1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.DNS.Records.Edit(ctx, rec.ID, dns.RecordEditParams{ZoneID: cloudflare.F(z.ID), Body: dns.RecordEditParamsBody{Name: cloudflare.F("taken")}})
	wantAPIError(t, err, 400, 81058, "An identical record already exists.")
	if _, err := client.DNS.Records.Edit(ctx, rec.ID, dns.RecordEditParams{ZoneID: cloudflare.F(z.ID), Body: dns.RecordEditParamsBody{Comment: cloudflare.F("same record")}}); err != nil {
		t.Errorf("edit without conflict: %v", err)
	}
}

func TestContractUnknownObjects(t *testing.T) {
	t.Parallel()
	_, client, z := setup(t)
	ctx := context.Background()

	missingZone := "0123456789abcdef0123456789abcdef"
	_, err := client.DNS.Records.List(ctx, dns.RecordListParams{ZoneID: cloudflare.F(missingZone)})
	wantAPIError(t, err, 404, 7003, "Could not route to /client/v4/zones/"+missingZone+"/dns_records, perhaps your object identifier is invalid?")
	_, err = client.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(missingZone)})
	wantAPIError(t, err, 404, 7003, "Could not route to /client/v4/zones/"+missingZone+", perhaps your object identifier is invalid?")

	_, err = client.DNS.Records.Get(ctx, "fedcba9876543210fedcba9876543210", dns.RecordGetParams{ZoneID: cloudflare.F(z.ID)})
	wantAPIError(t, err, 404, 81044, "Record does not exist.")
	_, err = client.DNS.Records.Get(ctx, "12345", dns.RecordGetParams{ZoneID: cloudflare.F(z.ID)})
	wantAPIError(t, err, 404, 7003, "Could not route to /client/v4/zones/"+z.ID+"/dns_records/12345, perhaps your object identifier is invalid?")
}

func TestContractWrongToken(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)
	ctx := context.Background()

	bad := newClient(srv.URL, "not-the-token")
	_, err := bad.Zones.List(ctx, zones.ZoneListParams{})
	wantAPIError(t, err, 403, 9109, "Invalid access token")
	_, err = bad.DNS.Records.New(ctx, newA(z.ID, "www", "203.0.113.1"))
	wantAPIError(t, err, 403, 9109, "Invalid access token")

	malformed := newClient(srv.URL, "has spaces in it")
	_, err = malformed.Zones.List(ctx, zones.ZoneListParams{})
	wantAPIError(t, err, 400, 6003, "Invalid request headers")
}

func TestContractZones(t *testing.T) {
	t.Parallel()
	srv, client, seeded := setup(t)
	ctx := context.Background()

	created, err := client.Zones.New(ctx, zones.ZoneNewParams{
		Account: cloudflare.F(zones.ZoneNewParamsAccount{ID: cloudflare.F("f037e56e89293a057740de681ac9abbe")}),
		Name:    cloudflare.F("example.org"),
	})
	if err != nil {
		t.Fatalf("create zone: %v", err)
	}
	if !idShape.MatchString(created.ID) || created.Name != "example.org" || created.Status != zones.ZoneStatusPending || created.Account.ID != "f037e56e89293a057740de681ac9abbe" {
		t.Errorf("created zone = %s", created.JSON.RawJSON())
	}
	_, err = client.Zones.New(ctx, zones.ZoneNewParams{Name: cloudflare.F("example.org")})
	wantAPIError(t, err, 400, 1061, "example.org already exists")

	list, err := client.Zones.List(ctx, zones.ZoneListParams{Name: cloudflare.F("example.com")})
	if err != nil {
		t.Fatalf("list zones: %v", err)
	}
	if len(list.Result) != 1 || list.Result[0].ID != seeded.ID {
		t.Errorf("zones named example.com = %s", list.JSON.RawJSON())
	}
	all := map[string]bool{}
	pager := client.Zones.ListAutoPaging(ctx, zones.ZoneListParams{})
	for pager.Next() {
		all[pager.Current().Name] = true
	}
	if pager.Err() != nil || len(all) != 2 {
		t.Errorf("all zones = %v, %v", all, pager.Err())
	}

	got, err := client.Zones.Get(ctx, zones.ZoneGetParams{ZoneID: cloudflare.F(seeded.ID)})
	if err != nil || got.Name != "example.com" || got.Status != zones.ZoneStatusActive {
		t.Errorf("get zone = %v, %v", got, err)
	}

	deleted, err := client.Zones.Delete(ctx, zones.ZoneDeleteParams{ZoneID: cloudflare.F(created.ID)})
	if err != nil || deleted.ID != created.ID {
		t.Errorf("delete zone = %v, %v", deleted, err)
	}
	if names := srv.Zones(); len(names) != 1 || names[0].Name != "example.com" {
		t.Errorf("zones after delete = %v", names)
	}
}
