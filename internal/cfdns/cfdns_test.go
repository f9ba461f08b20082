package cfdns_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v7"

	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/cfemu"
)

const token = "cfdns-test-token"

// setup starts an emulator holding example.com and a client for it.
func setup(t *testing.T) (*cfdns.Client, string, *cfemu.Server) {
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
	c, err := cfdns.New(cfdns.Config{APIToken: token, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c, z.ID, srv
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := cfdns.New(cfdns.Config{})
	if err == nil || !strings.Contains(err.Error(), "api_token") || !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN") {
		t.Errorf("missing token: %v", err)
	}
	if _, err := cfdns.New(cfdns.Config{APIToken: "t", BaseURL: "127.0.0.1:8080"}); err == nil {
		t.Error("base URL without a scheme accepted")
	}
	if _, err := cfdns.New(cfdns.Config{APIToken: "t"}); err != nil {
		t.Errorf("default base URL: %v", err)
	}
}

// TestConfigOverridesEnvironment is not parallel: it sets the variables
// cloudflare-go reads, which must not redirect or re-authenticate a client
// built from an explicit Config.
func TestConfigOverridesEnvironment(t *testing.T) {
	t.Setenv("CLOUDFLARE_BASE_URL", "http://127.0.0.1:1/client/v4")
	t.Setenv("CLOUDFLARE_API_TOKEN", "env-token")
	t.Setenv("CLOUDFLARE_API_KEY", "0123456789abcdef0123456789abcdef01234")
	t.Setenv("CLOUDFLARE_EMAIL", "ops@example.com")
	c, _, _ := setup(t)
	if _, err := c.ZoneID(context.Background(), "example.com"); err != nil {
		t.Errorf("zone lookup with CLOUDFLARE_* set: %v", err)
	}
}

func TestZoneID(t *testing.T) {
	t.Parallel()
	c, zoneID, _ := setup(t)
	ctx := context.Background()

	for _, name := range []string{"example.com", "Example.COM."} {
		got, err := c.ZoneID(ctx, name)
		if err != nil || got != zoneID {
			t.Errorf("ZoneID(%q) = %q, %v; want %q", name, got, err, zoneID)
		}
	}
	_, err := c.ZoneID(ctx, "example.org")
	if !errors.Is(err, cfdns.ErrNotFound) || !strings.Contains(err.Error(), `"example.org"`) {
		t.Errorf("absent zone: %v", err)
	}
}

func TestRecordLifecycle(t *testing.T) {
	t.Parallel()
	c, zoneID, _ := setup(t)
	ctx := context.Background()

	created, err := c.Create(ctx, zoneID, cfdns.Record{Name: "www", Type: "A", Content: "203.0.113.10", Comment: "web"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	want := cfdns.Record{ID: created.ID, ZoneID: zoneID, Name: "www.example.com", Type: "A", Content: "203.0.113.10", TTL: 1, Comment: "web"}
	if created != want {
		t.Errorf("created = %+v, want %+v", created, want)
	}

	got, err := c.Get(ctx, zoneID, created.ID)
	if err != nil || got != created {
		t.Errorf("get = %+v, %v; want %+v", got, err, created)
	}

	updated, err := c.Update(ctx, zoneID, cfdns.Record{ID: created.ID, Name: "www.example.com", Type: "A", Content: "203.0.113.11", TTL: 300})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want = cfdns.Record{ID: created.ID, ZoneID: zoneID, Name: "www.example.com", Type: "A", Content: "203.0.113.11", TTL: 300}
	if updated != want {
		t.Errorf("updated = %+v, want %+v (the empty comment must clear the old one)", updated, want)
	}

	proxied, err := c.Update(ctx, zoneID, cfdns.Record{ID: created.ID, Name: "www", Type: "A", Content: "203.0.113.11", Proxied: true})
	if err != nil || !proxied.Proxied || proxied.TTL != 1 {
		t.Errorf("proxied update = %+v, %v", proxied, err)
	}

	if err := c.Delete(ctx, zoneID, created.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := c.Get(ctx, zoneID, created.ID); !errors.Is(err, cfdns.ErrNotFound) {
		t.Errorf("get deleted record: %v, want ErrNotFound", err)
	}
	if err := c.Delete(ctx, zoneID, created.ID); err != nil {
		t.Errorf("delete twice: %v, want nil", err)
	}
	_, err = c.Update(ctx, zoneID, cfdns.Record{ID: created.ID, Name: "www", Type: "A", Content: "203.0.113.12"})
	if !errors.Is(err, cfdns.ErrNotFound) {
		t.Errorf("update deleted record: %v, want ErrNotFound", err)
	}
	if _, err := c.Update(ctx, zoneID, cfdns.Record{Name: "www", Type: "A", Content: "203.0.113.12"}); err == nil {
		t.Error("update without an id accepted")
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	c, zoneID, _ := setup(t)
	ctx := context.Background()

	for _, r := range []cfdns.Record{
		{Name: "api", Type: "A", Content: "203.0.113.1"},
		{Name: "api", Type: "A", Content: "203.0.113.2"},
		{Name: "api", Type: "TXT", Content: `"owner=platform"`},
		{Name: "web", Type: "A", Content: "203.0.113.1"},
	} {
		if _, err := c.Create(ctx, zoneID, r); err != nil {
			t.Fatal(err)
		}
	}
	contents := func(rs []cfdns.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Type+" "+r.Content)
		}
		slices.Sort(out)
		return out
	}

	all, err := c.Find(ctx, zoneID, "api.example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := contents(all), []string{`A 203.0.113.1`, `A 203.0.113.2`, `TXT "owner=platform"`}; !slices.Equal(got, want) {
		t.Errorf("find api = %q, want %q", got, want)
	}
	txt, err := c.Find(ctx, zoneID, "api.example.com", "txt")
	if err != nil || len(txt) != 1 || txt[0].ZoneID != zoneID {
		t.Errorf("find api TXT = %+v, %v", txt, err)
	}
	none, err := c.Find(ctx, zoneID, "missing.example.com", "A")
	if err != nil || len(none) != 0 {
		t.Errorf("find missing = %+v, %v", none, err)
	}
	if _, err := c.Find(ctx, "0123456789abcdef0123456789abcdef", "api.example.com", ""); !errors.Is(err, cfdns.ErrNotFound) {
		t.Errorf("find in a missing zone: %v, want ErrNotFound", err)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	c, zoneID, srv := setup(t)
	ctx := context.Background()

	r := cfdns.Record{Name: "dup", Type: "A", Content: "203.0.113.1"}
	if _, err := c.Create(ctx, zoneID, r); err != nil {
		t.Fatal(err)
	}
	_, err := c.Create(ctx, zoneID, r)
	if err == nil || err.Error() != "create dns record A dup: cloudflare api: 400 Bad Request: An identical record already exists. (81058)" {
		t.Errorf("duplicate create: %v", err)
	}
	var cfErr *cloudflare.Error
	if !errors.As(err, &cfErr) || cfErr.Errors[0].Code != 81058 {
		t.Errorf("duplicate create does not unwrap to the API error: %v", err)
	}
	if errors.Is(err, cfdns.ErrNotFound) {
		t.Error("a 400 matched ErrNotFound")
	}

	_, err = c.Create(ctx, zoneID, cfdns.Record{Name: "bad", Type: "A", Content: "not-an-ip"})
	if err == nil || !strings.Contains(err.Error(), "Content for A record must be a valid IPv4 address. (9005)") {
		t.Errorf("invalid content: %v", err)
	}

	wrong, err := cfdns.New(cfdns.Config{APIToken: "wrong", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.ZoneID(ctx, "example.com")
	if err == nil || !strings.Contains(err.Error(), "403 Forbidden: Invalid access token (9109)") {
		t.Errorf("wrong token: %v", err)
	}
}
