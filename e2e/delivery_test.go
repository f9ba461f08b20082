package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"
	"gopkg.in/yaml.v3"

	"github.com/pivotapp/platform/internal/ghemu"
	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/relay"
	"github.com/pivotapp/platform/internal/repo"
	"github.com/pivotapp/platform/internal/tfc"
	"github.com/pivotapp/platform/internal/tfcemu"
)

// TestDeliveryChainRehearsal rehearses the delivery chain end to end on
// the local platform stack, with stand-ins for Terraform Cloud and GitHub
// (internal/tfcemu, internal/ghemu) that speak their real APIs:
//
//  1. an image bump is committed in a scratch clone of the repository;
//  2. a run in platform-staging (the stand-in runs envs/staging at HEAD
//     with bin/terraform against the local stack) applies it;
//  3. its run:completed notification, signed with HMAC-SHA512, reaches
//     tfc-relay, which sends GitHub repository_dispatch "staging-applied";
//  4. the dispatch starts the Go stand-in of trigger-production-deploys:
//     platform-prod, then the registry grant (platform-tenants), then one
//     run per tenant in its own workspace (platform-tenant-<name>), all at
//     once, through internal/tfc (pivotctl tfc run);
//  5. `pivotctl release show --tenants` shows every healthy tenant on the
//     new release.
//
// One tenant (initech) is onboarded without its secrets: its plan fails,
// the others still reach the release, and the failure is reported with
// the tenant's workspace and the phase.
func TestDeliveryChainRehearsal(t *testing.T) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	ctx := context.Background()
	started := time.Now()

	cliConfig := buildProvider(t)
	s := startStack(t)
	tree := copyTree(t)
	git := func(t *testing.T, args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=ci@example.com", "-c", "user.name=ci"}, args...)...)
		cmd.Dir = tree
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(t, "init", "-q", "-b", "main")

	healthy := []string{"acme", "globex"}
	const broken = "initech" // onboarded without its secrets
	accounts := map[string]string{"staging": newAccountID(t), "prod": newAccountID(t)}
	tenantsFile := filepath.Join(tree, repo.TenantsFile)
	for _, name := range append(append([]string{}, healthy...), broken) {
		accounts[name] = newAccountID(t)
		if err := hcledit.AddTenant(tenantsFile, hcledit.Tenant{Name: name, AccountID: accounts[name], Region: localstack.Region}); err != nil {
			t.Fatalf("pivotctl tenant add %s: %v", name, err)
		}
	}
	s.putSecrets(t, accounts["staging"], "/staging/friend/JWT_HS256_SECRET")
	s.putSecrets(t, accounts["prod"], "/prod/friend/JWT_HS256_SECRET")
	for _, name := range healthy {
		s.putSecrets(t, accounts[name], "/"+name+"/friend/JWT_HS256_SECRET")
	}
	git(t, "add", "-A")
	git(t, "commit", "-qm", "platform with three tenants")

	// Terraform Cloud: runs execute envs/* at the clone's HEAD with the
	// pinned Terraform and the provider built from this tree.
	const tfcToken, hmacKey, ghToken, repository = "tfc-rehearsal.atlasv1.token", "notification-hmac-key", "ghs_rehearsal", "pivotapp/platform"
	tfcSrv, err := tfcemu.Start(tfcemu.Options{
		Token: tfcToken, Organization: "pivotapp",
		Executor: &tfcemu.TerraformExecutor{
			Repo: tree, Terraform: terraformBinary(), StateDir: t.TempDir(),
			Env: map[string]string{"TF_CLI_CONFIG_FILE": cliConfig},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tfcSrv.Close() })
	client, err := tfc.New(tfc.Config{Address: tfcSrv.URL, Token: tfcToken, Organization: "pivotapp", PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}

	// The workspaces, with the variables an operator gives them.
	database := func(extra string) string {
		return fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q }%s }`, s.postgresEndpoint(t), extra)
	}
	envVars := func(nats *localstack.NATS) []tfc.Var {
		var vs []tfc.Var
		for k, v := range s.providerEnv(nats) {
			vs = append(vs, tfc.Var{Key: k, Value: v, Category: tfe.CategoryEnv})
		}
		return vs
	}
	tfVar := func(k, v string, hcl bool) tfc.Var {
		return tfc.Var{Key: k, Value: v, Category: tfe.CategoryTerraform, HCL: hcl}
	}
	natsPasswords, jetstreamURLs := s.tenantNATS(t, map[string]string{healthy[0]: accounts[healthy[0]], healthy[1]: accounts[healthy[1]], broken: accounts[broken]})
	tenantVars := append(envVars(s.natsProd), tfVar("deployer_role_arn", roleARN(accounts["prod"]), false), tfVar("image_registry", registry, false),
		tfVar("database", database(""), true), tfVar("tenant_nats_passwords", natsPasswords, true), tfVar("tenant_jetstream_urls", jetstreamURLs, true))
	specs := []tfc.WorkspaceSpec{
		{Name: "platform-staging", WorkingDirectory: "envs/staging", TerraformVersion: "1.8.5", Vars: append(envVars(s.natsStaging),
			tfVar("deployer_role_arn", roleARN(accounts["staging"]), false), tfVar("image_registry", registry, false),
			tfVar("nats_url", s.natsStaging.URL, false), tfVar("database", database(""), true))},
		{Name: "platform-prod", WorkingDirectory: "envs/prod", TerraformVersion: "1.8.5", Vars: append(envVars(s.natsProd),
			tfVar("deployer_role_arn", roleARN(accounts["prod"]), false), tfVar("staging_release_reader_role_arn", roleARN(accounts["staging"]), false),
			tfVar("image_registry", registry, false), tfVar("nats_url", s.natsProd.URL, false),
			tfVar("database", database(`, reader_count = 1, deletion_protection = false`), true))},
		{Name: "platform-tenants", WorkingDirectory: "envs/tenants", TerraformVersion: "1.8.5", Vars: append(tenantVars, tfVar("tenant", "", false))},
	}
	for _, name := range append(append([]string{}, healthy...), broken) {
		spec := tfc.TenantWorkspaceSpec(name)
		spec.Vars = append(spec.Vars, tenantVars...)
		specs = append(specs, spec)
	}
	for _, spec := range specs {
		if _, err := client.EnsureWorkspace(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}

	// GitHub, and the workflow a dispatch starts: trigger-production-deploys.
	var progress syncLog
	pivotctl := filepath.Join(t.TempDir(), "pivotctl")
	if out, err := exec.Command("go", "build", "-o", pivotctl, filepath.Join(repoRoot(), "cmd", "pivotctl")).CombinedOutput(); err != nil {
		t.Fatalf("build pivotctl: %v\n%s", err, out)
	}
	type deploy struct {
		event    ghemu.Dispatch
		prod     error
		grant    error
		tenants  []tfc.Outcome
		finished bool
	}
	deployed := make(chan deploy, 1)
	gh, err := ghemu.Start(ghemu.Options{Token: ghToken, Repository: repository, OnDispatch: func(d ghemu.Dispatch) {
		out := deploy{event: d}
		defer func() { deployed <- out }()
		if d.EventType != relay.EventStagingApplied {
			return
		}
		run := func(ws, msg string) tfc.RunOptions {
			return tfc.RunOptions{Workspace: ws, Message: msg, Wait: true, Timeout: 15 * time.Minute, Progress: &progress}
		}
		// job prod
		if _, out.prod = client.Run(ctx, run("platform-prod", fmt.Sprintf("promote staging run %v", d.ClientPayload["run_id"]))); out.prod != nil {
			return
		}
		// job setup: the tenant list at HEAD, and the registry grant
		ts, err := hcledit.ListTenants(tenantsFile)
		if err != nil {
			out.grant = err
			return
		}
		if _, out.grant = client.Run(ctx, run("platform-tenants", "registry grant for the tenants")); out.grant != nil {
			return
		}
		// job tenant (matrix, fail-fast: false): every tenant at once
		var runs []tfc.RunOptions
		for _, tn := range ts {
			runs = append(runs, run(tfc.TenantWorkspace(tn.Name), "promote prod release to "+tn.Name))
		}
		out.tenants = client.RunAll(ctx, runs, 0)
		out.finished = true
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gh.Close() })

	// tfc-relay between them, and staging's notification pointing at it.
	h, err := relay.NewHandler(hmacKey, []string{"platform-staging"}, relay.GitHub{BaseURL: gh.URL, Repository: repository, Token: ghToken}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	captured := &notifications{}
	relaySrv := httptest.NewServer(captured.wrap(h))
	t.Cleanup(relaySrv.Close)
	if _, _, err := client.EnsureNotification(ctx, tfc.RelayNotification("platform-staging", relaySrv.URL, hmacKey)); err != nil {
		t.Fatalf("pivotctl tfc setup-notification: %v", err)
	}

	deliver := func(t *testing.T, round int) {
		// 1. CI's bump, committed.
		newSHA := randomHex(t, 20)
		path, err := repo.DeclarationPath(tree, "messenger")
		if err != nil {
			t.Fatal(err)
		}
		if changed, err := hcledit.BumpImageTag(path, newSHA); err != nil || !changed {
			t.Fatalf("pivotctl image bump messenger: changed %v, %v", changed, err)
		}
		git(t, "commit", "-qam", "deploy(messenger): image "+newSHA)

		// 2. Terraform Cloud's VCS run of staging.
		res, err := client.Run(ctx, tfc.RunOptions{Workspace: "platform-staging", Message: "deploy(messenger): image " + newSHA, Wait: true, Timeout: 15 * time.Minute, Progress: &progress})
		if err != nil {
			t.Fatalf("staging run: %v\n%s", err, progress.String())
		}

		// 3-4. The notification, the dispatch and the workflow.
		var d deploy
		select {
		case d = <-deployed:
		case <-time.After(30 * time.Minute):
			t.Fatalf("no deploy finished after staging's run applied; deliveries %+v\n%s", tfcSrv.Deliveries(), progress.String())
		}
		t.Logf("runs:\n%s", progress.String())
		if d.event.EventType != relay.EventStagingApplied || d.event.ClientPayload["run_id"] != res.RunID {
			t.Errorf("dispatch = %+v, want staging-applied for run %s", d.event, res.RunID)
		}
		if d.prod != nil || d.grant != nil || !d.finished {
			t.Fatalf("the workflow stopped before the tenants: prod %v, registry grant %v", d.prod, d.grant)
		}
		fanOut := tfc.Errors(d.tenants)
		if fanOut == nil {
			t.Fatalf("tenant %s without its secrets applied", broken)
		}
		t.Logf("the fan-out's report: %v", fanOut)
		for _, want := range []string{"1 of 3 runs failed", "platform-tenant-" + broken + ": run", "failed in the plan phase", "Error"} {
			if !strings.Contains(fanOut.Error(), want) {
				t.Errorf("the fan-out's report lacks %q:\n%v", want, fanOut)
			}
		}
		for _, o := range d.tenants {
			if o.Err != nil && !strings.Contains(o.Err.Error(), "platform-tenant-"+broken) {
				t.Errorf("a healthy tenant failed: %v", o.Err)
			}
		}

		// Every workspace had one run per release, run one at a time (the
		// stand-in's lock), each tenant in its own.
		for _, ws := range []string{"platform-staging", "platform-prod", "platform-tenants", "platform-tenant-acme", "platform-tenant-globex", "platform-tenant-initech"} {
			if n := len(tfcSrv.Runs(ws)); n != round {
				t.Errorf("%s had %d runs after release %d, want %d", ws, n, round, round)
			}
		}

		// 5. What runs where.
		want := map[string]string{}
		for _, name := range services {
			tag, err := hcledit.ImageTag(filepath.Join(tree, "services", name, "service.tf"))
			if err != nil {
				t.Fatal(err)
			}
			want[name] = tag
		}
		if got := releaseImages(t, s.aws(t, accounts["prod"]), "prod"); !maps.Equal(got, want) || got["messenger"] != newSHA {
			t.Fatalf("release prod = %v, want the bumped set %v", got, want)
		}
		show := exec.Command(pivotctl, "release", "show", "--tenants", "--repo", tree, "--role-arn", roleARN(accounts["prod"]))
		show.Env = os.Environ()
		for k, v := range s.providerEnv(s.natsProd) {
			show.Env = append(show.Env, k+"="+v)
		}
		out, _ := show.CombinedOutput() // non-zero: initech has no cluster
		t.Logf("pivotctl release show --tenants:\n%s", out)
		for _, name := range healthy {
			for svc, tag := range want {
				if !hasRow(string(out), name, svc, tag, "done") {
					t.Errorf("release show: tenant %s %s is not done at %s", name, svc, tag)
				}
			}
		}
		for svc := range want {
			if hasRow(string(out), broken, svc, want[svc], "done") {
				t.Errorf("release show: tenant %s reports %s done, though its plan failed", broken, svc)
			}
		}
	}

	// Two releases: the first builds every environment from scratch, the
	// second moves tenants that already run the first.
	for round := 1; round <= 2; round++ {
		if !t.Run(fmt.Sprintf("release %d", round), func(t *testing.T) {
			progress.Reset()
			deliver(t, round)
		}) {
			t.FailNow()
		}
	}

	// The captured notification of the last staging run, sent again, is
	// refused; so is one with a forged signature.
	last := captured.last()
	if code := postNotification(t, relaySrv.URL, last.body, last.signature); code != http.StatusConflict {
		t.Errorf("replayed notification: relay answered %d, want 409", code)
	}
	if code := postNotification(t, relaySrv.URL, last.body, relay.Sign([]byte("not-the-key"), last.body)); code != http.StatusUnauthorized {
		t.Errorf("forged notification: relay answered %d, want 401", code)
	}
	if n := len(gh.Dispatches()); n != 2 {
		t.Errorf("GitHub received %d dispatches, want 2 (one per staging apply)", n)
	}
	t.Logf("delivery chain rehearsal took %s", time.Since(started).Round(time.Second))
}

// hasRow reports whether release show printed a tenant's service running
// tag with that status.
func hasRow(out, tenant, service, tag, status string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == tenant && f[1] == service && f[3] == tag && f[4] == status {
			return true
		}
	}
	return false
}

// syncLog collects progress lines from concurrent runs.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *syncLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// notifications records what reaches the relay, to replay it.
type notifications struct {
	mu   sync.Mutex
	reqs []notification
}

type notification struct {
	body      []byte
	signature string
}

func (n *notifications) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), `"run:completed"`) {
			n.mu.Lock()
			n.reqs = append(n.reqs, notification{body: body, signature: r.Header.Get(relay.SignatureHeader)})
			n.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	})
}

func (n *notifications) last() notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.reqs) == 0 {
		return notification{}
	}
	return n.reqs[len(n.reqs)-1]
}

func postNotification(t *testing.T, url string, body []byte, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(relay.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestProductionDeploysWorkflow keeps trigger-production-deploys and the
// rehearsal's stand-in of it in step: the same workspaces, in the same
// order, through `pivotctl tfc run --wait`, tenants in a matrix that one
// failure does not stop.
func TestProductionDeploysWorkflow(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), ".github", "workflows", "trigger-production-deploys.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				FailFast *bool `yaml:"fail-fast"`
			} `yaml:"strategy"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if rd, ok := wf.On["repository_dispatch"].(map[string]any); !ok || fmt.Sprint(rd["types"]) != "["+relay.EventStagingApplied+"]" {
		t.Errorf("the workflow is not started by repository_dispatch %s: %v", relay.EventStagingApplied, wf.On)
	}
	runs := func(job string) string {
		var all []string
		for _, st := range wf.Jobs[job].Steps {
			all = append(all, st.Run)
		}
		return strings.Join(all, "\n")
	}
	for job, want := range map[string]string{
		"prod":   "pivotctl tfc run --workspace platform-prod --wait",
		"setup":  "pivotctl tfc run --workspace platform-tenants --wait",
		"tenant": `pivotctl tfc run --workspace "platform-tenant-$TENANT" --wait`,
	} {
		if !strings.Contains(runs(job), want) {
			t.Errorf("job %s does not run %q:\n%s", job, want, runs(job))
		}
	}
	if fmt.Sprint(wf.Jobs["setup"].Needs) != "prod" || fmt.Sprint(wf.Jobs["tenant"].Needs) != "setup" {
		t.Errorf("jobs are not ordered prod -> setup -> tenant: setup needs %v, tenant needs %v", wf.Jobs["setup"].Needs, wf.Jobs["tenant"].Needs)
	}
	if ff := wf.Jobs["tenant"].Strategy.FailFast; ff == nil || *ff {
		t.Error("the tenant matrix must set fail-fast: false (one tenant's failure does not stop the others)")
	}
	if strings.Contains(string(b), "tfc-run.sh") {
		t.Error("the workflow still calls scripts/ci/tfc-run.sh")
	}
}
