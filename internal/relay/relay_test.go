package relay

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitHub records repository_dispatch calls over real HTTP.
type fakeGitHub struct {
	mu    sync.Mutex
	calls []map[string]any
	auth  []string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/repos/pivotapp/platform/dispatches" {
		http.NotFound(w, r)
		return
	}
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	f.mu.Lock()
	f.calls = append(f.calls, body)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func setup(t *testing.T) (*httptest.Server, *fakeGitHub) {
	t.Helper()
	gh := &fakeGitHub{}
	ghSrv := httptest.NewServer(gh)
	t.Cleanup(ghSrv.Close)
	h, err := NewHandler("s3cret", []string{"platform-staging"}, GitHub{BaseURL: ghSrv.URL, Repository: "pivotapp/platform", Token: "ghs_x"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, gh
}

func payload(workspace, trigger, status string) []byte {
	return payloadAt("run-abc", workspace, trigger, status, time.Now().UTC())
}

func payloadAt(runID, workspace, trigger, status string, now time.Time) []byte {
	b, _ := json.Marshal(Payload{
		PayloadVersion: 1, RunID: runID, RunURL: "https://app.terraform.io/x", WorkspaceName: workspace, OrganizationName: "pivot",
		Notifications: []Notification{{Message: "m", Trigger: trigger, RunStatus: status, RunUpdatedAt: &now}},
	})
	return b
}

func post(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if sig != "" {
		req.Header.Set(SignatureHeader, sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRelay_signatures(t *testing.T) {
	t.Parallel()
	srv, gh := setup(t)
	body := payload("platform-staging", "run:completed", "applied")
	cases := map[string]struct {
		sig  string
		want int
	}{
		"good":          {Sign([]byte("s3cret"), body), http.StatusAccepted},
		"missing":       {"", http.StatusUnauthorized},
		"wrong key":     {Sign([]byte("other"), body), http.StatusUnauthorized},
		"not hex":       {"zz", http.StatusUnauthorized},
		"sha256 length": {strings.Repeat("ab", 32), http.StatusUnauthorized},
		"tampered body": {Sign([]byte("s3cret"), payload("platform-staging", "run:completed", "errored")), http.StatusUnauthorized},
	}
	for name, tc := range cases {
		if got := post(t, srv.URL, body, tc.sig); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.calls) != 1 {
		t.Fatalf("dispatches = %d, want exactly 1 (the good signature)", len(gh.calls))
	}
	if gh.calls[0]["event_type"] != EventStagingApplied || gh.calls[0]["client_payload"].(map[string]any)["run_id"] != "run-abc" || gh.auth[0] != "Bearer ghs_x" {
		t.Fatalf("dispatch = %v auth %v", gh.calls[0], gh.auth)
	}
}

func TestRelay_triggers(t *testing.T) {
	t.Parallel()
	srv, gh := setup(t)
	cases := []struct {
		workspace, trigger, status string
		want                       int
	}{
		{"platform-staging", "run:completed", "applied", http.StatusAccepted},
		{"platform-staging", "run:errored", "errored", http.StatusOK},
		{"platform-staging", "run:applying", "applying", http.StatusOK},
		{"platform-staging", "run:needs_attention", "planned", http.StatusOK},
		{"platform-staging", "verification", "", http.StatusOK},
		{"platform-prod", "run:completed", "applied", http.StatusOK},
		{"platform-staging", "run:completed", "planned_and_finished", http.StatusOK},
	}
	for _, tc := range cases {
		body := payload(tc.workspace, tc.trigger, tc.status)
		if got := post(t, srv.URL, body, Sign([]byte("s3cret"), body)); got != tc.want {
			t.Errorf("%+v: status %d", tc, got)
		}
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.calls) != 1 {
		t.Fatalf("dispatches = %d, want 1: only staging's run:completed/applied dispatches", len(gh.calls))
	}
}

func TestRelay_dispatchFailureIsRetryable(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusInternalServerError) }))
	defer down.Close()
	h, _ := NewHandler("k", []string{"ws"}, GitHub{BaseURL: down.URL, Repository: "o/r", Token: "t"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := payload("ws", "run:completed", "applied")
	if got := post(t, srv.URL, body, Sign([]byte("k"), body)); got != http.StatusBadGateway {
		t.Fatalf("status %d, want 502 so Terraform Cloud retries", got)
	}
}

// TestRelay_replays: a captured, correctly signed notification sent again
// is refused, both while the run is remembered and once it is too old;
// a notification from the future is refused too.
func TestRelay_replays(t *testing.T) {
	t.Parallel()
	srv, gh := setup(t)
	key := []byte("s3cret")
	fresh := payloadAt("run-1", "platform-staging", "run:completed", "applied", time.Now().UTC())
	if got := post(t, srv.URL, fresh, Sign(key, fresh)); got != http.StatusAccepted {
		t.Fatalf("first delivery: %d, want 202", got)
	}
	if got := post(t, srv.URL, fresh, Sign(key, fresh)); got != http.StatusConflict {
		t.Errorf("the same notification again: %d, want 409", got)
	}
	// Another notification of the same run (say, re-signed after a
	// redelivery) does not dispatch it twice either.
	again := payloadAt("run-1", "platform-staging", "run:completed", "applied", time.Now().UTC().Add(time.Second))
	if got := post(t, srv.URL, again, Sign(key, again)); got != http.StatusConflict {
		t.Errorf("a second notification of a dispatched run: %d, want 409", got)
	}
	old := payloadAt("run-2", "platform-staging", "run:completed", "applied", time.Now().UTC().Add(-DefaultMaxAge-time.Minute))
	if got := post(t, srv.URL, old, Sign(key, old)); got != http.StatusUnauthorized {
		t.Errorf("a notification older than the window: %d, want 401", got)
	}
	future := payloadAt("run-3", "platform-staging", "run:completed", "applied", time.Now().UTC().Add(time.Hour))
	if got := post(t, srv.URL, future, Sign(key, future)); got != http.StatusUnauthorized {
		t.Errorf("a notification from the future: %d, want 401", got)
	}
	var undated Payload
	_ = json.Unmarshal(payloadAt("run-4", "platform-staging", "run:completed", "applied", time.Now()), &undated)
	undated.Notifications[0].RunUpdatedAt = nil
	b, _ := json.Marshal(undated)
	if got := post(t, srv.URL, b, Sign(key, b)); got != http.StatusUnauthorized {
		t.Errorf("a run notification without run_updated_at: %d, want 401", got)
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	if len(gh.calls) != 1 {
		t.Errorf("dispatches = %d, want 1", len(gh.calls))
	}
}

func TestRelay_health(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	resp, err := http.Get(srv.URL + HealthPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health: %d", resp.StatusCode)
	}
}
