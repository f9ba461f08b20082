package tfc

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/pivotapp/platform/internal/tfcemu"
)

const (
	testToken = "tfc-test-token.atlasv1.x"
	testOrg   = "pivotapp"
)

// setup starts the Terraform Cloud stand-in with exec and the named
// workspaces, and returns a client polling it every 20 ms.
func setup(t testing.TB, opts tfcemu.Options, workspaces ...string) (*tfcemu.Server, *Client) {
	t.Helper()
	opts.Token, opts.Organization = testToken, testOrg
	srv, err := tfcemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := New(Config{Address: srv.URL, Token: testToken, Organization: testOrg, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range workspaces {
		if _, err := c.API().Workspaces.Create(context.Background(), testOrg, tfe.WorkspaceCreateOptions{Name: tfe.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	return srv, c
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunWaitsAndReportsProgress(t *testing.T) {
	_, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{}}, "platform-staging")
	var out syncBuffer
	res, err := c.Run(context.Background(), RunOptions{Workspace: "platform-staging", Message: "bump", Wait: true, Progress: &out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != tfe.RunApplied || !strings.HasSuffix(res.URL, "/app/pivotapp/workspaces/platform-staging/runs/"+res.RunID) {
		t.Errorf("result = %+v", res)
	}
	for _, want := range []string{"queued: " + res.URL, "run " + res.RunID + " applied"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunErrorNamesPhaseAndWorkspace(t *testing.T) {
	_, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{
		FailPlan: map[string]bool{"platform-tenant-acme": true}, FailApply: map[string]bool{"platform-tenant-globex": true},
	}}, "platform-tenant-acme", "platform-tenant-globex")
	for ws, phase := range map[string]string{"platform-tenant-acme": PhasePlan, "platform-tenant-globex": PhaseApply} {
		_, err := c.Run(context.Background(), RunOptions{Workspace: ws, Wait: true})
		var re *RunError
		if !errors.As(err, &re) {
			t.Fatalf("%s: err = %v, want a RunError", ws, err)
		}
		if re.Phase != phase || re.Workspace != ws || re.Status != tfe.RunErrored {
			t.Errorf("%s: RunError = %+v, want the %s phase", ws, re, phase)
		}
		for _, want := range []string{ws + ": run " + re.RunID + " failed in the " + phase + " phase", "simulated " + phase + " failure", re.URL} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q lacks %q", ws, err, want)
			}
		}
	}
	if _, err := c.Run(context.Background(), RunOptions{Workspace: "platform-nope", Wait: true}); err == nil || !strings.Contains(err.Error(), "platform-nope: read workspace") {
		t.Errorf("missing workspace: %v", err)
	}
}

// TestTimeoutCountsFromLeavingTheQueue: a run that waits behind another
// run longer than its timeout still succeeds; a run that runs longer than
// its timeout fails naming the phase it was in.
func TestTimeoutCountsFromLeavingTheQueue(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{}}, "platform-prod")
	// Another run holds the workspace (planned, awaiting confirmation).
	ws, err := c.API().Workspaces.Read(ctx, testOrg, "platform-prod")
	if err != nil {
		t.Fatal(err)
	}
	holder, err := c.API().Runs.Create(ctx, tfe.RunCreateOptions{Workspace: ws, AutoApply: tfe.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	for srv.RunStatus(holder.ID) != "planned" {
		time.Sleep(10 * time.Millisecond)
	}
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, RunOptions{Workspace: "platform-prod", Wait: true, Timeout: time.Second, Progress: &out})
		done <- err
	}()
	// Release the workspace only once the waiting run was seen pending
	// for longer than its timeout.
	for !strings.Contains(out.String(), " pending") {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := c.API().Runs.Apply(ctx, holder.ID, tfe.RunApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("a run that waited its turn longer than its timeout failed: %v", err)
	}

	_, slow := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{PlanTime: time.Minute}}, "platform-slow")
	_, err = slow.Run(ctx, RunOptions{Workspace: "platform-slow", Wait: true, Timeout: 100 * time.Millisecond})
	var re *RunError
	if !errors.As(err, &re) || !errors.Is(err, ErrTimeout) || re.Phase != PhasePlan {
		t.Errorf("slow plan: %v, want a RunError wrapping ErrTimeout in the plan phase", err)
	}
}

// TestRunAllIsolatesFailures: each tenant's run goes to its own
// workspace; one failure leaves the others applied and is reported with
// its workspace.
func TestRunAllIsolatesFailures(t *testing.T) {
	tenants := []string{"acme", "globex", "initech"}
	var names []string
	for _, n := range tenants {
		names = append(names, TenantWorkspace(n))
	}
	_, c := setup(t, tfcemu.Options{Executor: tfcemu.SimExecutor{FailPlan: map[string]bool{"platform-tenant-globex": true}}}, names...)
	var runs []RunOptions
	for _, n := range names {
		runs = append(runs, RunOptions{Workspace: n, Wait: true})
	}
	outcomes := c.RunAll(context.Background(), runs, 0)
	for i, o := range outcomes {
		if names[i] == "platform-tenant-globex" {
			if o.Err == nil {
				t.Errorf("globex: want a failure")
			}
			continue
		}
		if o.Err != nil || o.Result.Status != tfe.RunApplied {
			t.Errorf("%s: %+v, %v; want applied", names[i], o.Result, o.Err)
		}
	}
	err := Errors(outcomes)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 runs failed") || !strings.Contains(err.Error(), "platform-tenant-globex: run") {
		t.Errorf("fan-out error = %v", err)
	}
}

func TestEnsureTenantWorkspace(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, tfcemu.Options{})
	spec := TenantWorkspaceSpec("acme")
	created, err := c.EnsureWorkspace(ctx, spec)
	if err != nil || !created {
		t.Fatalf("EnsureWorkspace: created %v, %v", created, err)
	}
	ws, err := c.API().Workspaces.Read(ctx, testOrg, "platform-tenant-acme")
	if err != nil || ws.WorkingDirectory != "envs/tenants" || ws.TerraformVersion != "1.8.5" {
		t.Fatalf("workspace = %+v, %v", ws, err)
	}
	// The operator sets the external ID by hand; a second ensure keeps it.
	vars, err := c.API().Variables.List(ctx, ws.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tfe.Variable{}
	for _, v := range vars.Items {
		got[v.Key] = v
	}
	if got["tenant"] == nil || got["tenant"].Value != "acme" || got["tenant_external_ids"] == nil || !got["tenant_external_ids"].Sensitive {
		t.Fatalf("variables = %+v", got)
	}
	if _, err := c.API().Variables.Update(ctx, ws.ID, got["tenant_external_ids"].ID, tfe.VariableUpdateOptions{Value: tfe.String(`{ acme = "x" }`)}); err != nil {
		t.Fatal(err)
	}
	if created, err := c.EnsureWorkspace(ctx, spec); err != nil || created {
		t.Fatalf("second EnsureWorkspace: created %v, %v", created, err)
	}
	names, err := c.TenantWorkspaces(ctx)
	if err != nil || len(names) != 1 || names[0] != "acme" {
		t.Errorf("TenantWorkspaces = %v, %v", names, err)
	}
	var out bytes.Buffer
	spec.Print(&out, testOrg)
	for _, want := range []string{"platform-tenant-acme", "envs/tenants", `tenant                 "acme"`, "set by hand"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed spec lacks %q:\n%s", want, out.String())
		}
	}
}

func TestEnsureNotification(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t, tfcemu.Options{}, "platform-staging")
	if _, _, err := c.EnsureNotification(ctx, RelayNotification("platform-staging", "http://127.0.0.1:1/", "")); err == nil {
		t.Error("a configuration without a token was accepted")
	}
}
