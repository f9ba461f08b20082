package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/pivotapp/platform/internal/relay"
	"github.com/pivotapp/platform/internal/tfcemu"
)

// startTFC starts the Terraform Cloud stand-in and points pivotctl at it.
func startTFC(t *testing.T, exec tfcemu.Executor) *tfcemu.Server {
	t.Helper()
	srv, err := tfcemu.Start(tfcemu.Options{Token: "cli-test-token", Organization: "pivotapp", Executor: exec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("TFC_TOKEN", "cli-test-token")
	t.Setenv("TFC_ADDRESS", srv.URL)
	t.Setenv("TFC_ORGANIZATION", "pivotapp")
	return srv
}

func TestTFC_tenantAddCreatesWorkspaceAndFanOut(t *testing.T) {
	startTFC(t, tfcemu.SimExecutor{FailPlan: map[string]bool{"platform-tenant-globex": true}})
	root := fakeRepo(t)
	for i, name := range []string{"acme", "globex"} {
		out, err := runCtl(t, "tenant", "add", name, "--account-id", []string{"111111111111", "222222222222"}[i], "--region", "eu-west-1", "--repo", root)
		if err != nil || !strings.Contains(out, "created Terraform Cloud workspace platform-tenant-"+name) {
			t.Fatalf("tenant add %s: %v\n%s", name, err, out)
		}
	}
	out, err := runCtl(t, "tfc", "run", "--tenants", "--wait", "--poll-interval", "20ms", "--repo", root)
	if err == nil {
		t.Fatalf("fan-out with a failing tenant succeeded:\n%s", out)
	}
	for _, want := range []string{"1 of 2 runs failed", "platform-tenant-globex: run", "failed in the plan phase", "simulated plan failure"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("fan-out error lacks %q: %v", want, err)
		}
	}
	if !strings.Contains(out, "ok  platform-tenant-acme applied") {
		t.Errorf("the healthy tenant is not reported applied:\n%s", out)
	}
	if _, err := runCtl(t, "tfc", "run", "--tenants", "--target", "x", "--repo", root); err == nil || !strings.Contains(err.Error(), "one workspace") {
		t.Errorf("--target with many workspaces: %v", err)
	}
	out, err = runCtl(t, "tenant", "remove", "acme", "--repo", root)
	if err == nil || !strings.Contains(err.Error(), "deletion_protection") {
		t.Errorf("removing a protected tenant: %v\n%s", err, out)
	}
}

func TestTFC_runOneWorkspace(t *testing.T) {
	srv := startTFC(t, tfcemu.SimExecutor{})
	c := newTestTFE(t, srv)
	if _, err := c.Workspaces.Create(context.Background(), "pivotapp", tfe.WorkspaceCreateOptions{Name: tfe.String("platform-prod")}); err != nil {
		t.Fatal(err)
	}
	out, err := runCtl(t, "tfc", "run", "--workspace", "platform-prod", "--target", "pivot_release.prod", "--wait", "--poll-interval", "20ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, srv.URL+"/app/pivotapp/workspaces/platform-prod/runs/run-") || !strings.Contains(out, " applied") {
		t.Errorf("progress:\n%s", out)
	}
	if _, err := runCtl(t, "tfc", "run"); err == nil {
		t.Error("a run without a workspace was accepted")
	}
}

func TestTFC_setupNotification(t *testing.T) {
	srv := startTFC(t, nil)
	c := newTestTFE(t, srv)
	if _, err := c.Workspaces.Create(context.Background(), "pivotapp", tfe.WorkspaceCreateOptions{Name: tfe.String("platform-staging")}); err != nil {
		t.Fatal(err)
	}
	h, err := relay.NewHandler("hmac-key", []string{"platform-staging"}, relay.GitHub{BaseURL: "http://127.0.0.1:1", Repository: "o/r", Token: "x"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	relaySrv := httptest.NewServer(h)
	t.Cleanup(relaySrv.Close)

	t.Setenv("TFC_NOTIFICATION_TOKEN", "wrong-key")
	if out, err := runCtl(t, "tfc", "setup-notification", "--url", relaySrv.URL); err == nil {
		t.Errorf("a notification the relay cannot verify was configured:\n%s", out)
	}
	t.Setenv("TFC_NOTIFICATION_TOKEN", "hmac-key")
	for _, verb := range []string{"created", "updated"} {
		out, err := runCtl(t, "tfc", "setup-notification", "--url", relaySrv.URL)
		if err != nil || !strings.Contains(out, verb+" notification configuration tfc-relay") {
			t.Fatalf("setup-notification (%s): %v\n%s", verb, err, out)
		}
	}
}

func newTestTFE(t *testing.T, srv *tfcemu.Server) *tfe.Client {
	t.Helper()
	c, err := tfe.NewClient(&tfe.Config{Address: srv.URL, Token: "cli-test-token"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
