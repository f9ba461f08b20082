package tfcemu_test

// The contract: the unmodified go-tfe client, pointed at the stand-in with
// tfe.Config.Address, gets the answers and errors it would get from
// Terraform Cloud for the calls the delivery chain makes.

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/pivotapp/platform/internal/tfcemu"
)

const (
	token = "stand-in-token.atlasv1.0123456789"
	org   = "pivotapp"
)

func setup(t *testing.T, opts tfcemu.Options) (*tfcemu.Server, *tfe.Client) {
	t.Helper()
	opts.Token, opts.Organization = token, org
	srv, err := tfcemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close stand-in: %v", err)
		}
	})
	return srv, newClient(t, srv.URL, token)
}

func newClient(t *testing.T, address, tok string) *tfe.Client {
	t.Helper()
	c, err := tfe.NewClient(&tfe.Config{Address: address, Token: tok})
	if err != nil {
		t.Fatalf("tfe.NewClient: %v", err)
	}
	return c
}

func TestPingHeaders(t *testing.T) {
	_, c := setup(t, tfcemu.Options{})
	if got := c.RemoteAPIVersion(); got != "2.6" {
		t.Errorf("RemoteAPIVersion = %q, want 2.6", got)
	}
	if !c.IsCloud() {
		t.Error("IsCloud = false, want true (TFP-AppName: HCP Terraform)")
	}
}

func TestWorkspacesAndVariables(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, tfcemu.Options{})

	ws, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{
		Name: tfe.String("platform-tenant-acme"), WorkingDirectory: tfe.String("envs/tenants"), TerraformVersion: tfe.String("1.8.5"),
		AutoApply: tfe.Bool(false), Tags: []*tfe.Tag{{Name: "platform-tenant"}},
	})
	if err != nil {
		t.Fatalf("Workspaces.Create: %v", err)
	}
	if !strings.HasPrefix(ws.ID, "ws-") || ws.Name != "platform-tenant-acme" || ws.WorkingDirectory != "envs/tenants" || ws.TerraformVersion != "1.8.5" {
		t.Errorf("created workspace = %+v", ws)
	}
	if ws.Organization == nil || ws.Organization.Name != org {
		t.Errorf("workspace organization = %+v, want %s", ws.Organization, org)
	}
	got, err := c.Workspaces.Read(ctx, org, "platform-tenant-acme")
	if err != nil || got.ID != ws.ID {
		t.Fatalf("Workspaces.Read = %+v, %v", got, err)
	}
	if _, err := c.Workspaces.Read(ctx, org, "nope"); !errors.Is(err, tfe.ErrResourceNotFound) {
		t.Errorf("Workspaces.Read of a missing workspace: %v, want ErrResourceNotFound", err)
	}
	_, err = c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("platform-tenant-acme")})
	if err == nil || !strings.Contains(err.Error(), "has already been taken") {
		t.Errorf("second Workspaces.Create: %v, want 'Name has already been taken'", err)
	}
	upd, err := c.Workspaces.Update(ctx, org, "platform-tenant-acme", tfe.WorkspaceUpdateOptions{AutoApply: tfe.Bool(true)})
	if err != nil || !upd.AutoApply {
		t.Errorf("Workspaces.Update auto-apply: %+v, %v", upd, err)
	}
	list, err := c.Workspaces.List(ctx, org, &tfe.WorkspaceListOptions{Search: "platform-tenant-"})
	if err != nil || len(list.Items) != 1 || list.Pagination == nil || list.TotalCount != 1 {
		t.Errorf("Workspaces.List = %+v, %v", list, err)
	}

	v, err := c.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{Key: tfe.String("tenant"), Value: tfe.String("acme"), Category: tfe.Category(tfe.CategoryTerraform)})
	if err != nil || v.Key != "tenant" || v.Value != "acme" || v.Category != tfe.CategoryTerraform {
		t.Fatalf("Variables.Create = %+v, %v", v, err)
	}
	secret, err := c.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{Key: tfe.String("AWS_SECRET_ACCESS_KEY"), Value: tfe.String("s3cret"), Category: tfe.Category(tfe.CategoryEnv), Sensitive: tfe.Bool(true)})
	if err != nil || secret.Value != "" || !secret.Sensitive {
		t.Errorf("a sensitive variable's value must not come back: %+v, %v", secret, err)
	}
	if _, err := c.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{Key: tfe.String("tenant"), Value: tfe.String("x"), Category: tfe.Category(tfe.CategoryTerraform)}); err == nil {
		t.Error("a second variable with the same key and category was accepted")
	}
	if _, err := c.Variables.Update(ctx, ws.ID, v.ID, tfe.VariableUpdateOptions{Value: tfe.String("globex")}); err != nil {
		t.Errorf("Variables.Update: %v", err)
	}
	vars, err := c.Variables.List(ctx, ws.ID, nil)
	if err != nil || len(vars.Items) != 2 || vars.Items[0].Value != "globex" {
		t.Errorf("Variables.List = %+v, %v", vars, err)
	}
}

func TestUnauthorized(t *testing.T) {
	srv, _ := setup(t, tfcemu.Options{})
	c := newClient(t, srv.URL, "wrong-token")
	if _, err := c.Workspaces.Read(context.Background(), org, "x"); !errors.Is(err, tfe.ErrUnauthorized) {
		t.Errorf("read with a wrong token: %v, want ErrUnauthorized", err)
	}
}

// waitRun polls a run with go-tfe until it is in one of the statuses.
func waitRun(t *testing.T, c *tfe.Client, id string, want ...tfe.RunStatus) *tfe.Run {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := c.Runs.ReadWithOptions(context.Background(), id, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
		if err != nil {
			t.Fatalf("Runs.Read %s: %v", id, err)
		}
		for _, s := range want {
			if r.Status == s {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s is %s, want one of %v", id, r.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunLifecycleAndLogs(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{FailApply: map[string]bool{"broken": true}}})
	ws, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("platform-staging")})
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, Message: tfe.String("bump"), AutoApply: tfe.Bool(true), TargetAddrs: []string{`pivot_tenant_deployment.this["acme"]`}})
	if err != nil {
		t.Fatalf("Runs.Create: %v", err)
	}
	if !strings.HasPrefix(run.ID, "run-") || run.Message != "bump" || len(run.TargetAddrs) != 1 || run.Workspace == nil || run.Workspace.ID != ws.ID {
		t.Errorf("created run = %+v", run)
	}
	done := waitRun(t, c, run.ID, tfe.RunApplied, tfe.RunErrored)
	if done.Status != tfe.RunApplied || done.Plan == nil || done.Plan.Status != tfe.PlanFinished || done.Apply == nil || done.Apply.Status != tfe.ApplyFinished {
		t.Fatalf("run = %s, plan %+v, apply %+v; want applied", done.Status, done.Plan, done.Apply)
	}
	if done.StatusTimestamps == nil || done.StatusTimestamps.AppliedAt.IsZero() || done.StatusTimestamps.PlanningAt.IsZero() {
		t.Errorf("status timestamps = %+v", done.StatusTimestamps)
	}
	logs, err := c.Plans.Logs(ctx, done.Plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(logs)
	if err != nil || !strings.Contains(string(b), "Plan: 1 to add") {
		t.Errorf("plan log = %q, %v", b, err)
	}

	bad, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("broken")})
	if err != nil {
		t.Fatal(err)
	}
	run, err = c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: bad, AutoApply: tfe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	failed := waitRun(t, c, run.ID, tfe.RunApplied, tfe.RunErrored)
	if failed.Status != tfe.RunErrored || failed.Apply.Status != tfe.ApplyErrored || failed.Plan.Status != tfe.PlanFinished {
		t.Errorf("failing apply: run %s, plan %s, apply %s", failed.Status, failed.Plan.Status, failed.Apply.Status)
	}
	applyLog, err := c.Applies.Logs(ctx, failed.Apply.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(applyLog); !strings.Contains(string(b), "simulated apply failure") {
		t.Errorf("apply log = %q", b)
	}
	if _, err := c.Runs.Read(ctx, "run-missing"); !errors.Is(err, tfe.ErrResourceNotFound) {
		t.Errorf("Runs.Read of a missing run: %v", err)
	}
}

// TestOneRunAtATimePerWorkspace: a second run waits "pending" behind the
// first and starts only once the first is over; runs of other workspaces
// are not held up.
func TestOneRunAtATimePerWorkspace(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{}})
	ws, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("platform-prod")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("platform-tenant-acme")})
	if err != nil {
		t.Fatal(err)
	}
	// Without auto-apply the first run holds the workspace at "planned"
	// until it is confirmed.
	first, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, AutoApply: tfe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, first.ID, tfe.RunPlanned)
	second, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, AutoApply: tfe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: other, AutoApply: tfe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, elsewhere.ID, tfe.RunApplied)
	queued, err := c.Runs.Read(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if queued.Status != tfe.RunPending || queued.PositionInQueue != 1 {
		t.Fatalf("second run while the first holds the workspace: %s at position %d, want pending at 1", queued.Status, queued.PositionInQueue)
	}
	locked, err := c.Workspaces.ReadByID(ctx, ws.ID)
	if err != nil || !locked.Locked || locked.CurrentRun == nil || locked.CurrentRun.ID != first.ID {
		t.Errorf("workspace while the first run is current: %+v, %v", locked, err)
	}
	if err := c.Runs.Apply(ctx, first.ID, tfe.RunApplyOptions{}); err != nil {
		t.Fatalf("Runs.Apply: %v", err)
	}
	waitRun(t, c, first.ID, tfe.RunApplied)
	waitRun(t, c, second.ID, tfe.RunApplied)
	if err := c.Runs.Apply(ctx, first.ID, tfe.RunApplyOptions{}); err == nil {
		t.Error("confirming an applied run was accepted")
	}
}

func TestNotificationConfigurations(t *testing.T) {
	ctx := context.Background()
	const hmacKey = "notification-hmac-key"
	var mu sync.Mutex
	var got []map[string]any
	fail := false
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha512.New, []byte(hmacKey))
		mac.Write(body)
		if r.Header.Get(tfcemu.SignatureHeader) != hex.EncodeToString(mac.Sum(nil)) {
			t.Errorf("notification signature %q does not match its body", r.Header.Get(tfcemu.SignatureHeader))
		}
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("notification body is not JSON: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, p)
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(receiver.Close)

	srv, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{}})
	ws, err := c.Workspaces.Create(ctx, org, tfe.WorkspaceCreateOptions{Name: tfe.String("platform-staging")})
	if err != nil {
		t.Fatal(err)
	}
	generic := tfe.NotificationDestinationTypeGeneric
	nc, err := c.NotificationConfigurations.Create(ctx, ws.ID, tfe.NotificationConfigurationCreateOptions{
		DestinationType: &generic, Enabled: tfe.Bool(true), Name: tfe.String("tfc-relay"), Token: tfe.String(hmacKey), URL: tfe.String(receiver.URL),
		Triggers: []tfe.NotificationTriggerType{tfe.NotificationTriggerCompleted}, SubscribableChoice: &tfe.NotificationConfigurationSubscribableChoice{Workspace: ws},
	})
	if err != nil {
		t.Fatalf("NotificationConfigurations.Create: %v", err)
	}
	if !strings.HasPrefix(nc.ID, "nc-") || nc.Token != "" || !nc.Enabled || nc.URL != receiver.URL {
		t.Errorf("created configuration = %+v (the token must not come back)", nc)
	}
	mu.Lock()
	if len(got) != 1 || got[0]["notifications"].([]any)[0].(map[string]any)["trigger"] != "verification" {
		t.Errorf("want one verification notification at creation, got %v", got)
	}
	mu.Unlock()

	run, err := c.Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, Message: tfe.String("deploy"), AutoApply: tfe.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, c, run.ID, tfe.RunApplied)
	deadline := time.Now().Add(10 * time.Second)
	for len(srv.Deliveries()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 2 {
		t.Fatalf("notifications = %v, want verification and run:completed", got)
	}
	p := got[1]
	n := p["notifications"].([]any)[0].(map[string]any)
	if p["payload_version"] != float64(1) || p["run_id"] != run.ID || p["workspace_name"] != "platform-staging" || p["organization_name"] != org ||
		p["notification_configuration_id"] != nc.ID || !strings.Contains(p["run_url"].(string), "/runs/"+run.ID) ||
		n["trigger"] != "run:completed" || n["run_status"] != "applied" || n["run_updated_at"] == nil {
		t.Errorf("run:completed payload = %v", p)
	}
	fail = true
	mu.Unlock()

	list, err := c.NotificationConfigurations.List(ctx, ws.ID, nil)
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("NotificationConfigurations.List = %+v, %v", list, err)
	}
	if _, err := c.NotificationConfigurations.Update(ctx, nc.ID, tfe.NotificationConfigurationUpdateOptions{Enabled: tfe.Bool(true)}); err == nil {
		t.Error("enabling a configuration whose destination answers 500 was accepted")
	}
	_, err = c.NotificationConfigurations.Create(ctx, ws.ID, tfe.NotificationConfigurationCreateOptions{
		DestinationType: &generic, Enabled: tfe.Bool(true), Name: tfe.String("bad"), URL: tfe.String(receiver.URL),
		Triggers: []tfe.NotificationTriggerType{"run:applied"}, SubscribableChoice: &tfe.NotificationConfigurationSubscribableChoice{Workspace: ws},
	})
	if err == nil {
		t.Error("run:applied (no such trigger; a successful apply is run:completed) was accepted")
	}
	if err := c.NotificationConfigurations.Delete(ctx, nc.ID); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := c.NotificationConfigurations.Read(ctx, nc.ID); !errors.Is(err, tfe.ErrResourceNotFound) {
		t.Errorf("Read after delete: %v", err)
	}
}
