package cfemu_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pivotapp/platform/internal/cfemu"
)

// call makes a raw request and decodes the envelope into a generic map, so
// the tests see exactly the keys the emulator sends.
func call(t *testing.T, method, url, body string, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: content type %q", method, url, ct)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: decode %q: %v", method, url, raw, err)
	}
	return res.StatusCode, env
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// firstError returns the code and message of errors[0] and, if present, of
// its error_chain[0] as "code message".
func firstError(t *testing.T, env map[string]any) (code int, message, chain string) {
	t.Helper()
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %v", env)
	}
	e := errs[0].(map[string]any)
	if c, ok := e["error_chain"].([]any); ok && len(c) > 0 {
		ce := c[0].(map[string]any)
		chain = fmt.Sprintf("%v %v", ce["code"], ce["message"])
	}
	return int(e["code"].(float64)), e["message"].(string), chain
}

func TestEnvelope(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)

	status, env := call(t, "GET", srv.URL+"/zones", "", nil)
	if status != 200 || !slices.Equal(keys(env), []string{"errors", "messages", "result", "result_info", "success"}) {
		t.Errorf("list: %d %v", status, env)
	}
	if env["success"] != true || len(env["errors"].([]any)) != 0 || len(env["messages"].([]any)) != 0 {
		t.Errorf("list envelope = %v", env)
	}
	info := env["result_info"].(map[string]any)
	if !slices.Equal(keys(info), []string{"count", "page", "per_page", "total_count", "total_pages"}) {
		t.Errorf("result_info keys = %v", keys(info))
	}

	status, env = call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", `{"type":"A","name":"@","content":"203.0.113.7"}`, nil)
	if status != 200 || !slices.Equal(keys(env), []string{"errors", "messages", "result", "success"}) {
		t.Fatalf("create: %d %v", status, env)
	}
	rec := env["result"].(map[string]any)
	wantKeys := []string{"comment", "content", "created_on", "id", "meta", "modified_on", "name", "proxiable", "proxied", "settings", "tags", "ttl", "type"}
	if !slices.Equal(keys(rec), wantKeys) {
		t.Errorf("record keys = %v, want %v", keys(rec), wantKeys)
	}
	if rec["comment"] != nil || rec["name"] != "example.com" || len(rec["tags"].([]any)) != 0 {
		t.Errorf("record = %v", rec)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	if !stamp.MatchString(rec["created_on"].(string)) || rec["created_on"] != rec["modified_on"] {
		t.Errorf("timestamps = %v, %v", rec["created_on"], rec["modified_on"])
	}

	status, env = call(t, "GET", srv.URL+"/zones/"+z.ID+"/dns_records/"+strings.Repeat("0", 32), "", nil)
	if status != 404 || !slices.Equal(keys(env), []string{"errors", "messages", "result", "success"}) || env["result"] != nil || env["success"] != false {
		t.Errorf("error envelope: %d %v", status, env)
	}
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	srv, _, _ := setup(t)

	cases := []struct {
		desc    string
		header  map[string]string
		status  int
		code    int
		message string
		chain   string
	}{
		{"no credentials", map[string]string{"Authorization": ""}, 400, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers", ""},
		{"global API key", map[string]string{"Authorization": "", "X-Auth-Key": "0123456789abcdef0123456789abcdef01234", "X-Auth-Email": "a@example.com"}, 403, 10000, "Authentication error", ""},
		{"basic auth", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, 400, 6003, "Invalid request headers", "6111 Invalid format for Authorization header"},
		{"wrong token", map[string]string{"Authorization": "Bearer wrong-token"}, 403, 9109, "Invalid access token", ""},
	}
	for _, tc := range cases {
		status, env := call(t, "GET", srv.URL+"/zones", "", tc.header)
		code, message, chain := firstError(t, env)
		if status != tc.status || code != tc.code || message != tc.message || chain != tc.chain {
			t.Errorf("%s: %d %d %q %q, want %d %d %q %q", tc.desc, status, code, message, chain, tc.status, tc.code, tc.message, tc.chain)
		}
	}

	// An emulator without a token accepts nothing, rather than everything.
	open, err := cfemu.Start(cfemu.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if status, _ := call(t, "GET", open.URL+"/zones", "", map[string]string{"Authorization": "Bearer "}); status != 400 {
		t.Errorf("empty token: status %d, want 400", status)
	}
}

func TestRoutingAndBodies(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)
	records := srv.URL + "/zones/" + z.ID + "/dns_records"

	cases := []struct {
		desc, method, url, body string
		header                  map[string]string
		status, code            int
		message                 string
	}{
		{"unknown route", "GET", srv.URL + "/nothing", "", nil, 404, 7000, "No route for that URI"},
		{"outside the API prefix", "GET", strings.TrimSuffix(srv.URL, "/client/v4") + "/zones", "", nil, 404, 7000, "No route for that URI"},
		{"unknown zone subresource", "GET", srv.URL + "/zones/" + z.ID + "/nothing", "", nil, 404, 7003,
			"Could not route to /client/v4/zones/" + z.ID + "/nothing, perhaps your object identifier is invalid?"},
		{"not JSON", "POST", records, "type=A", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, 9207, "Content-type must be application/json."},
		{"malformed JSON", "POST", records, `{"type":`, nil, 400, 9207, "Request body is invalid."},
		{"wrong field type", "POST", records, `{"type":"A","name":"www","content":"203.0.113.1","ttl":"auto"}`, nil, 400, 9207, "Request body is invalid."},
		{"missing name", "POST", records, `{"type":"A","content":"203.0.113.1"}`, nil, 400, 9000, "DNS name is invalid."},
		{"SPF type", "POST", records, `{"type":"SPF","name":"@","content":"v=spf1 -all"}`, nil, 400, 1004, "DNS Validation Error"},
		{"fractional TTL", "POST", records, `{"type":"A","name":"www","content":"203.0.113.1","ttl":90.5}`, nil, 400, 1004, "DNS Validation Error"},
	}
	for _, tc := range cases {
		status, env := call(t, tc.method, tc.url, tc.body, tc.header)
		code, message, _ := firstError(t, env)
		if status != tc.status || code != tc.code || message != tc.message {
			t.Errorf("%s: %d %d %q, want %d %d %q", tc.desc, status, code, message, tc.status, tc.code, tc.message)
		}
	}
}

func TestNameExpansion(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)

	cases := map[string]string{
		"@":                   "example.com",
		"www":                 "www.example.com",
		"WWW.Example.COM.":    "www.example.com",
		"deep.sub":            "deep.sub.example.com",
		"*.wild":              "*.wild.example.com",
		"_acme-challenge":     "_acme-challenge.example.com",
		"example.com":         "example.com",
		"host.example.org":    "host.example.org.example.com", // the real API appends the zone to any name not already in it
		"notexample.com":      "notexample.com.example.com",
		"under_score-hyphen-": "under_score-hyphen-.example.com",
	}
	for in, want := range cases {
		body, _ := json.Marshal(map[string]any{"type": "TXT", "name": in, "content": "x " + in})
		status, env := call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", string(body), nil)
		if status != 200 {
			t.Errorf("name %q: status %d %v", in, status, env)
			continue
		}
		if got := env["result"].(map[string]any)["name"]; got != want {
			t.Errorf("name %q stored as %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"", "a..b", "sp ace", "bad!", strings.Repeat("a", 64), "ünïcode", strings.Repeat("abcdefghi.", 25) + "x"} {
		body, _ := json.Marshal(map[string]any{"type": "TXT", "name": bad, "content": "x"})
		status, env := call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", string(body), nil)
		if code, _, _ := firstError(t, env); status != 400 || code != 9000 {
			t.Errorf("name %q: %d %d, want 400 9000", bad, status, code)
		}
	}
}

// TestConcurrentCreates runs under -race: racing creators of one record must
// end with exactly one winner, the others seeing 81058.
func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)

	const workers = 16
	var wg sync.WaitGroup
	results := make(chan int, 2*workers)
	for i := range workers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			status, env := call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", `{"type":"A","name":"race","content":"203.0.113.1"}`, nil)
			if status != 200 {
				if code, _, _ := firstError(t, env); code != 81058 {
					t.Errorf("duplicate create: %d %v", status, env)
				}
			}
			results <- status
		}()
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"type":"A","name":"host%d","content":"203.0.113.1"}`, i)
			status, _ := call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", body, nil)
			if status != 200 {
				t.Errorf("create host%d: %d", i, status)
			}
			call(t, "GET", srv.URL+"/zones/"+z.ID+"/dns_records?per_page=5", "", nil)
		}()
	}
	wg.Wait()
	close(results)
	winners := 0
	for s := range results {
		if s == 200 {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d creators of the same record succeeded, want 1", winners)
	}
	_, env := call(t, "GET", srv.URL+"/zones/"+z.ID+"/dns_records?per_page=100", "", nil)
	if n := len(env["result"].([]any)); n != workers+1 {
		t.Errorf("zone holds %d records, want %d", n, workers+1)
	}
}

func TestAddZone(t *testing.T) {
	t.Parallel()
	e := cfemu.New(cfemu.Options{APIToken: token, AccountID: "f037e56e89293a057740de681ac9abbe"})
	b, err := e.AddZone("B.example.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddZone("a.example"); err != nil {
		t.Fatal(err)
	}
	if b.Name != "b.example" || b.AccountID != "f037e56e89293a057740de681ac9abbe" || !idShape.MatchString(b.ID) {
		t.Errorf("zone = %+v", b)
	}
	if _, err := e.AddZone("b.example"); err == nil || !strings.Contains(err.Error(), "b.example already exists") {
		t.Errorf("duplicate zone: %v", err)
	}
	if _, err := e.AddZone("localhost"); err == nil {
		t.Error("single-label zone accepted")
	}
	var names []string
	for _, z := range e.Zones() {
		names = append(names, z.Name)
	}
	if !slices.Equal(names, []string{"a.example", "b.example"}) {
		t.Errorf("zones = %v", names)
	}
}

func TestDeleteZoneDropsRecords(t *testing.T) {
	t.Parallel()
	srv, _, z := setup(t)
	status, env := call(t, "POST", srv.URL+"/zones/"+z.ID+"/dns_records", `{"type":"A","name":"www","content":"203.0.113.1"}`, nil)
	if status != 200 {
		t.Fatal(env)
	}
	id := env["result"].(map[string]any)["id"].(string)
	if status, env := call(t, "DELETE", srv.URL+"/zones/"+z.ID, "", nil); status != 200 || env["result"].(map[string]any)["id"] != z.ID {
		t.Fatalf("delete zone: %d %v", status, env)
	}
	if status, _ := call(t, "GET", srv.URL+"/zones/"+z.ID+"/dns_records/"+id, "", nil); status != 404 {
		t.Errorf("record of a deleted zone: status %d", status)
	}
	if zs := srv.Zones(); len(zs) != 0 {
		t.Errorf("zones after delete = %v", zs)
	}
	if _, err := srv.AddZone("example.com"); err != nil {
		t.Errorf("re-add deleted zone: %v", err)
	}
}
