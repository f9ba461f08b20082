// Package tfcemu is a stand-in for the Terraform Cloud (HCP Terraform) API
// v2: the part the delivery chain uses. It speaks the real wire shapes
// (JSON:API documents under /api/v2, the ping headers go-tfe reads at
// start, log-read URLs with STX/ETX markers, generic notifications signed
// with HMAC-SHA512) and is checked with go-tfe itself (contract_test.go).
//
// What it keeps: workspaces (name, working directory, auto-apply, Terraform
// version, tags), their variables, runs with their plan and apply,
// notification configurations. Like Terraform Cloud it runs one run at a
// time per workspace (the others wait as "pending") and at most
// Options.Concurrency runs in the organisation (the others wait as
// "plan_queued"). Runs are executed by an Executor: TerraformExecutor runs
// the real root with Terraform on the local platform stack; SleepExecutor
// only takes time (the fan-out simulation).
package tfcemu

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Executor carries out a run's two phases. Plan reports whether the plan
// has changes; Apply is called only for a plan with changes that is
// confirmed (auto-apply). Each phase writes its log to log; an error fails
// the phase (the run is errored).
type Executor interface {
	Plan(ctx context.Context, job Job, log io.Writer) (hasChanges bool, err error)
	Apply(ctx context.Context, job Job, log io.Writer) error
}

// Job is what an Executor needs to know about a run.
type Job struct {
	RunID            string
	Workspace        string
	WorkingDirectory string
	// Vars are the workspace's variables: Terraform variables (as
	// TF_VAR_<key>) and environment variables, ready for a process's env.
	Vars        map[string]string
	TargetAddrs []string
	Message     string
	IsDestroy   bool
}

// Options configure an Emulator.
type Options struct {
	// Token is the API token clients must send as a bearer token.
	Token string
	// Organization is the one organisation the stand-in holds.
	Organization string
	// Concurrency is the organisation's run concurrency; 0 is unlimited.
	Concurrency int
	// Executor runs the runs; nil plans no changes at once.
	Executor Executor
	// RateLimit is the X-RateLimit-Limit go-tfe reads at start (requests
	// per second it allows itself): 30 when zero, as Terraform Cloud's;
	// negative sends none (no client-side limit), for simulations that
	// compress minutes-long runs into milliseconds and would otherwise be
	// bound by the limit rather than by the runs.
	RateLimit int
	// HTTPClient delivers notifications; nil uses a client with a 15 s
	// timeout.
	HTTPClient *http.Client
}

// Emulator is the API as an http.Handler. Serve it with Start.
type Emulator struct {
	opts    Options
	handler http.Handler
	baseURL string // for log-read URLs; set by Start
	slots   chan struct{}
	http    *http.Client

	mu         sync.Mutex
	workspaces map[string]*workspace // by ID
	runs       map[string]*run
	plans      map[string]*run // plan ID -> run
	applies    map[string]*run // apply ID -> run
	configs    map[string]*notificationConfig
	deliveries []Delivery
	closed     bool
	wg         sync.WaitGroup
	cancel     context.CancelFunc
	ctx        context.Context
}

// Delivery is one notification the stand-in sent.
type Delivery struct {
	ConfigurationID string
	Workspace       string
	RunID           string
	Trigger         string
	StatusCode      int
	Err             string
}

type workspace struct {
	id, name         string
	workingDirectory string
	terraformVersion string
	autoApply        bool
	tags             []string
	createdAt        time.Time
	vars             []*variable
	queue            []*run
	current          *run
	busy             bool
}

type variable struct {
	id, key, value, description, category string
	hcl, sensitive                        bool
}

type run struct {
	id, planID, applyID string
	ws                  *workspace
	message             string
	autoApply           bool
	isDestroy           bool
	targets             []string
	status              string
	timestamps          map[string]time.Time
	createdAt           time.Time
	planStatus          string
	applyStatus         string
	planLog, applyLog   logBuffer
	hasChanges          bool
	confirm             chan bool // true: apply, false: discard
}

// logBuffer is a phase's log, safe to read while it is written.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type notificationConfig struct {
	id, name, destinationType, token, url string
	enabled                               bool
	triggers                              []string
	ws                                    *workspace
	createdAt, updatedAt                  time.Time
}

// New returns an Emulator; Start serves one.
func New(opts Options) *Emulator {
	if opts.Organization == "" {
		opts.Organization = "pivotapp"
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{
		opts: opts, http: hc,
		workspaces: map[string]*workspace{}, runs: map[string]*run{}, plans: map[string]*run{}, applies: map[string]*run{},
		configs: map[string]*notificationConfig{}, ctx: ctx, cancel: cancel,
	}
	e.handler = e.mux()
	if opts.Concurrency > 0 {
		e.slots = make(chan struct{}, opts.Concurrency)
	}
	return e
}

// Deliveries returns the notifications sent so far, oldest first.
func (e *Emulator) Deliveries() []Delivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Delivery(nil), e.deliveries...)
}

// RunStatus returns a run's status ("" when there is no such run).
func (e *Emulator) RunStatus(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.runs[id]; r != nil {
		return r.status
	}
	return ""
}

// Runs returns the IDs of a workspace's runs, oldest first.
func (e *Emulator) Runs(workspaceName string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*run
	for _, r := range e.runs {
		if r.ws.name == workspaceName {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].createdAt.Before(out[j].createdAt) || (out[i].createdAt.Equal(out[j].createdAt) && out[i].id < out[j].id)
	})
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.id
	}
	return ids
}

// shutdown cancels running executors and waits for every run goroutine.
func (e *Emulator) shutdown() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

////////////////////////////////////////////////////////////////////////////////
// Runs
////////////////////////////////////////////////////////////////////////////////

// Run statuses, plan and apply statuses and notification triggers, as the
// API spells them.
const (
	statusPending            = "pending"
	statusPlanQueued         = "plan_queued"
	statusPlanning           = "planning"
	statusPlanned            = "planned"
	statusApplyQueued        = "apply_queued"
	statusApplying           = "applying"
	statusApplied            = "applied"
	statusPlannedAndFinished = "planned_and_finished"
	statusErrored            = "errored"
	statusDiscarded          = "discarded"
	statusCanceled           = "canceled"

	phasePending  = "pending"
	phaseQueued   = "queued"
	phaseRunning  = "running"
	phaseFinished = "finished"
	phaseErrored  = "errored"
	phaseCanceled = "canceled"
	phaseUnreach  = "unreachable"

	triggerCreated        = "run:created"
	triggerPlanning       = "run:planning"
	triggerNeedsAttention = "run:needs_attention"
	triggerApplying       = "run:applying"
	triggerCompleted      = "run:completed"
	triggerErrored        = "run:errored"
)

var validTriggers = map[string]bool{
	triggerCreated: true, triggerPlanning: true, triggerNeedsAttention: true, triggerApplying: true,
	triggerCompleted: true, triggerErrored: true,
	"assessment:check_failure": true, "assessment:drifted": true, "assessment:failed": true,
	"workspace:auto_destroy_reminder": true, "workspace:auto_destroy_run_results": true,
}

// enqueue adds a new run to its workspace's queue and starts it when the
// workspace is free. Callers hold e.mu.
func (e *Emulator) enqueue(r *run) {
	r.ws.queue = append(r.ws.queue, r)
	e.notify(r, triggerCreated, "Run created")
	e.startNext(r.ws)
}

// startNext starts the workspace's next queued run unless one is running:
// Terraform Cloud's workspace lock. Callers hold e.mu.
func (e *Emulator) startNext(ws *workspace) {
	if ws.busy || len(ws.queue) == 0 || e.closed {
		return
	}
	r := ws.queue[0]
	ws.queue = ws.queue[1:]
	ws.busy, ws.current = true, r
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.execute(r)
		e.mu.Lock()
		ws.busy, ws.current = false, nil
		e.startNext(ws)
		e.mu.Unlock()
	}()
}

// setStatus moves a run on and records the time. Callers hold e.mu.
func (e *Emulator) setStatus(r *run, status string) {
	r.status = status
	r.timestamps[strings.ReplaceAll(status, "_", "-")+"-at"] = time.Now().UTC()
}

func (e *Emulator) transition(r *run, status, planStatus, applyStatus string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setStatus(r, status)
	if planStatus != "" {
		r.planStatus = planStatus
	}
	if applyStatus != "" {
		r.applyStatus = applyStatus
	}
	switch status {
	case statusPlanning:
		e.notify(r, triggerPlanning, "Run planning")
	case statusPlanned:
		if !r.autoApply {
			e.notify(r, triggerNeedsAttention, "Run needs to be confirmed")
		}
	case statusApplying:
		e.notify(r, triggerApplying, "Run applying")
	case statusApplied, statusPlannedAndFinished:
		e.notify(r, triggerCompleted, "Run completed")
	case statusErrored:
		e.notify(r, triggerErrored, "Run errored")
	}
}

// execute runs one run to its end while its workspace is locked.
func (e *Emulator) execute(r *run) {
	ctx := e.ctx
	e.transition(r, statusPlanQueued, phaseQueued, "")
	if e.slots != nil {
		select {
		case e.slots <- struct{}{}:
			defer func() { <-e.slots }()
		case <-ctx.Done():
			e.transition(r, statusCanceled, phaseCanceled, phaseUnreach)
			return
		}
	}
	job := e.job(r)
	e.transition(r, statusPlanning, phaseRunning, "")
	exec := e.opts.Executor
	hasChanges := false
	var err error
	if exec != nil {
		hasChanges, err = exec.Plan(ctx, job, &r.planLog)
	}
	if err != nil {
		fmt.Fprintf(&r.planLog, "\nError: %v\n", err)
		e.transition(r, statusErrored, phaseErrored, phaseUnreach)
		return
	}
	e.mu.Lock()
	r.hasChanges = hasChanges
	e.mu.Unlock()
	if !hasChanges {
		e.transition(r, statusPlannedAndFinished, phaseFinished, phaseUnreach)
		return
	}
	if !r.autoApply {
		e.transition(r, statusPlanned, phaseFinished, "")
		select {
		case ok := <-r.confirm:
			if !ok {
				e.transition(r, statusDiscarded, "", phaseUnreach)
				return
			}
		case <-ctx.Done():
			e.transition(r, statusCanceled, "", phaseCanceled)
			return
		}
	} else {
		e.transition(r, statusPlanned, phaseFinished, "")
	}
	e.transition(r, statusApplyQueued, "", phaseQueued)
	e.transition(r, statusApplying, "", phaseRunning)
	if err := exec.Apply(ctx, job, &r.applyLog); err != nil {
		fmt.Fprintf(&r.applyLog, "\nError: %v\n", err)
		e.transition(r, statusErrored, "", phaseErrored)
		return
	}
	e.transition(r, statusApplied, "", phaseFinished)
}

// job is the executor's view of a run: the workspace's variables as a
// process environment.
func (e *Emulator) job(r *run) Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	vars := map[string]string{}
	for _, v := range r.ws.vars {
		if v.category == "env" {
			vars[v.key] = v.value
		} else {
			vars["TF_VAR_"+v.key] = v.value
		}
	}
	return Job{
		RunID: r.id, Workspace: r.ws.name, WorkingDirectory: r.ws.workingDirectory, Vars: vars,
		TargetAddrs: append([]string(nil), r.targets...), Message: r.message, IsDestroy: r.isDestroy,
	}
}

////////////////////////////////////////////////////////////////////////////////
// Notifications
////////////////////////////////////////////////////////////////////////////////

// SignatureHeader carries the HMAC-SHA512 of a notification's body, keyed
// with the configuration's token.
const SignatureHeader = "X-TFE-Notification-Signature"

// notificationPayload is the generic payload, version 1.
type notificationPayload struct {
	PayloadVersion              int                 `json:"payload_version"`
	NotificationConfigurationID string              `json:"notification_configuration_id"`
	RunURL                      *string             `json:"run_url"`
	RunID                       *string             `json:"run_id"`
	RunMessage                  *string             `json:"run_message"`
	RunCreatedAt                *string             `json:"run_created_at"`
	RunCreatedBy                *string             `json:"run_created_by"`
	WorkspaceID                 *string             `json:"workspace_id"`
	WorkspaceName               *string             `json:"workspace_name"`
	OrganizationName            string              `json:"organization_name"`
	Notifications               []notificationEntry `json:"notifications"`
}

type notificationEntry struct {
	Message      string  `json:"message"`
	Trigger      string  `json:"trigger"`
	RunStatus    *string `json:"run_status"`
	RunUpdatedAt *string `json:"run_updated_at"`
	RunUpdatedBy *string `json:"run_updated_by"`
}

// RunURL is a run's page in the UI, as notifications and clients show it.
func RunURL(base, org, workspace, runID string) string {
	return strings.TrimRight(base, "/") + "/app/" + org + "/workspaces/" + workspace + "/runs/" + runID
}

// notify sends trigger to every enabled configuration of the run's
// workspace that subscribes to it, in the background. Callers hold e.mu.
func (e *Emulator) notify(r *run, trigger, message string) {
	now := stamp(time.Now())
	for _, c := range e.configs {
		if c.ws != r.ws || !c.enabled || !contains(c.triggers, trigger) {
			continue
		}
		status := r.status
		p := notificationPayload{
			PayloadVersion: 1, NotificationConfigurationID: c.id,
			RunURL: ptr(RunURL(e.baseURL, e.opts.Organization, r.ws.name, r.id)), RunID: ptr(r.id), RunMessage: ptr(r.message),
			RunCreatedAt: ptr(stamp(r.createdAt)), RunCreatedBy: ptr("pivot-api"),
			WorkspaceID: ptr(r.ws.id), WorkspaceName: ptr(r.ws.name), OrganizationName: e.opts.Organization,
			Notifications: []notificationEntry{{Message: message, Trigger: trigger, RunStatus: &status, RunUpdatedAt: &now, RunUpdatedBy: ptr("pivot-api")}},
		}
		c := c
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			code, err := e.deliver(c, p)
			d := Delivery{ConfigurationID: c.id, Workspace: r.ws.name, RunID: r.id, Trigger: trigger, StatusCode: code}
			if err != nil {
				d.Err = err.Error()
			}
			e.mu.Lock()
			e.deliveries = append(e.deliveries, d)
			e.mu.Unlock()
		}()
	}
}

// deliver posts a payload to a generic destination, signed when the
// configuration has a token.
func (e *Emulator) deliver(c *notificationConfig, p notificationPayload) (int, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TFE-Notification")
	if c.token != "" {
		mac := hmac.New(sha512.New, []byte(c.token))
		mac.Write(body)
		req.Header.Set(SignatureHeader, hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("destination answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// verify sends the verification notification a configuration gets when it
// is created or enabled; it must be answered with a 2xx.
func (e *Emulator) verify(c *notificationConfig) error {
	p := notificationPayload{
		PayloadVersion: 1, NotificationConfigurationID: c.id, OrganizationName: e.opts.Organization,
		WorkspaceID: ptr(c.ws.id), WorkspaceName: ptr(c.ws.name),
		Notifications: []notificationEntry{{Message: "Verification of " + c.name, Trigger: "verification"}},
	}
	_, err := e.deliver(c, p)
	return err
}

////////////////////////////////////////////////////////////////////////////////
// Helpers
////////////////////////////////////////////////////////////////////////////////

var nameShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,90}$`)

func newID(prefix string) string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return prefix + "-" + string(b)
}

// stamp formats a time as the API does (RFC 3339, UTC).
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func ptr[T any](v T) *T { return &v }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
