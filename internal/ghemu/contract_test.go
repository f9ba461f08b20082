package ghemu_test

// The contract: the unmodified go-github client, pointed at the stand-in,
// gets GitHub's answers for repository_dispatch; and the relay's own
// dispatcher is accepted by it.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-github/v84/github"

	"github.com/pivotapp/platform/internal/ghemu"
	"github.com/pivotapp/platform/internal/relay"
)

const (
	token = "ghs_standin0123456789"
	repo  = "pivotapp/platform"
)

func setup(t *testing.T) (*ghemu.Server, chan ghemu.Dispatch) {
	t.Helper()
	got := make(chan ghemu.Dispatch, 10)
	srv, err := ghemu.Start(ghemu.Options{Token: token, Repository: repo, OnDispatch: func(d ghemu.Dispatch) { got <- d }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close stand-in: %v", err)
		}
	})
	return srv, got
}

func client(t *testing.T, base, tok string) *github.Client {
	t.Helper()
	c := github.NewClient(nil).WithAuthToken(tok)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func TestDispatchWithGoGitHub(t *testing.T) {
	ctx := context.Background()
	srv, got := setup(t)
	c := client(t, srv.URL, token)
	payload := json.RawMessage(`{"run_id":"run-abc","workspace":"platform-staging"}`)
	_, resp, err := c.Repositories.Dispatch(ctx, "pivotapp", "platform", github.DispatchRequestOptions{EventType: "staging-applied", ClientPayload: &payload})
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("Dispatch: %v (status %v)", err, resp)
	}
	d := <-got
	if d.EventType != "staging-applied" || d.ClientPayload["run_id"] != "run-abc" {
		t.Errorf("dispatch = %+v", d)
	}
	r, _, err := c.Repositories.Get(ctx, "pivotapp", "platform")
	if err != nil || r.GetFullName() != repo || r.GetDefaultBranch() != "main" {
		t.Errorf("Repositories.Get = %+v, %v", r, err)
	}
}

func TestDispatchErrors(t *testing.T) {
	ctx := context.Background()
	srv, _ := setup(t)
	var gerr *github.ErrorResponse

	_, _, err := client(t, srv.URL, "wrong").Repositories.Dispatch(ctx, "pivotapp", "platform", github.DispatchRequestOptions{EventType: "x"})
	if !errors.As(err, &gerr) || gerr.Response.StatusCode != http.StatusUnauthorized || gerr.Message != "Bad credentials" {
		t.Errorf("wrong token: %v", err)
	}
	c := client(t, srv.URL, token)
	_, _, err = c.Repositories.Dispatch(ctx, "pivotapp", "other", github.DispatchRequestOptions{EventType: "x"})
	if !errors.As(err, &gerr) || gerr.Response.StatusCode != http.StatusNotFound {
		t.Errorf("another repository: %v", err)
	}
	_, _, err = c.Repositories.Dispatch(ctx, "pivotapp", "platform", github.DispatchRequestOptions{EventType: strings.Repeat("e", 101)})
	if !errors.As(err, &gerr) || gerr.Response.StatusCode != http.StatusUnprocessableEntity || len(gerr.Errors) != 1 || gerr.Errors[0].Field != "event_type" {
		t.Errorf("101-character event type: %v", err)
	}
	big := json.RawMessage(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11}`)
	_, _, err = c.Repositories.Dispatch(ctx, "pivotapp", "platform", github.DispatchRequestOptions{EventType: "x", ClientPayload: &big})
	if !errors.As(err, &gerr) || gerr.Response.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("11 payload properties: %v", err)
	}
	if n := len(srv.Dispatches()); n != 0 {
		t.Errorf("refused dispatches were recorded: %d", n)
	}
}

// TestRelayDispatcher: tfc-relay's own dispatcher speaks to the stand-in
// as go-github does, and its payload fits GitHub's limits.
func TestRelayDispatcher(t *testing.T) {
	srv, got := setup(t)
	h, err := relay.NewHandler("k", []string{"platform-staging"}, relay.GitHub{BaseURL: srv.URL, Repository: repo, Token: token}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Dispatcher.Dispatch(context.Background(), relay.EventStagingApplied, map[string]any{"run_id": "run-1"}); err != nil {
		t.Fatal(err)
	}
	if d := <-got; d.EventType != relay.EventStagingApplied || d.ClientPayload["run_id"] != "run-1" {
		t.Errorf("dispatch = %+v", d)
	}
	bad := relay.GitHub{BaseURL: srv.URL, Repository: repo, Token: "wrong"}
	if err := bad.Dispatch(context.Background(), "x", nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: %v", err)
	}
}
