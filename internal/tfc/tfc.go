// Package tfc is the delivery chain's Terraform Cloud client, on go-tfe:
// start a run in a workspace and follow it to its end (progress lines, the
// run's URL, an error naming the phase that failed), run many workspaces at
// once (the tenant fan-out), create a tenant's workspace, and configure the
// notification that calls tfc-relay. It replaced scripts/ci/tfc-run.sh (bash, curl and jq).
package tfc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	tfe "github.com/hashicorp/go-tfe"
)

// DefaultAddress is Terraform Cloud's.
const DefaultAddress = "https://app.terraform.io"

// Config says which Terraform Cloud to talk to and as whom.
type Config struct {
	Address      string // DefaultAddress when empty
	Token        string
	Organization string
	// PollInterval is how often a waited run is read; 5 s when zero.
	PollInterval time.Duration
	HTTPClient   *http.Client
}

// Client talks to one organisation.
type Client struct {
	api     *tfe.Client
	org     string
	address string
	poll    time.Duration
}

// New returns a client; go-tfe pings the API once to read its rate limit.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("tfc: no API token (TFC_TOKEN)")
	}
	if cfg.Organization == "" {
		return nil, errors.New("tfc: no organization (TFC_ORGANIZATION)")
	}
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	api, err := tfe.NewClient(&tfe.Config{Address: cfg.Address, Token: cfg.Token, HTTPClient: cfg.HTTPClient, RetryServerErrors: true})
	if err != nil {
		return nil, fmt.Errorf("tfc: connect to %s: %w", cfg.Address, err)
	}
	return &Client{api: api, org: cfg.Organization, address: strings.TrimRight(cfg.Address, "/"), poll: cfg.PollInterval}, nil
}

// API is the underlying go-tfe client.
func (c *Client) API() *tfe.Client { return c.api }

// RunURL is a run's page in the UI.
func (c *Client) RunURL(workspace, runID string) string {
	return c.address + "/app/" + c.org + "/workspaces/" + workspace + "/runs/" + runID
}

////////////////////////////////////////////////////////////////////////////////
// Runs
////////////////////////////////////////////////////////////////////////////////

// RunOptions describe one run.
type RunOptions struct {
	Workspace string
	Message   string
	// Targets limit the run to resource addresses (-target).
	Targets []string
	// Wait follows the run to its end; without it Run returns once the run
	// is queued.
	Wait bool
	// Timeout bounds the wait, counted from when the run leaves the queue
	// (the workspace's lock and the organisation's concurrency), not from
	// its creation: a run waiting its turn is not late. Zero waits as long
	// as ctx allows.
	Timeout time.Duration
	// Progress receives one line per status change; nil discards them.
	Progress io.Writer
}

// Result is a run's end.
type Result struct {
	Workspace string
	RunID     string
	URL       string
	Status    tfe.RunStatus
	// Queued is how long the run waited for its turn; Ran how long it took
	// after that.
	Queued, Ran time.Duration
}

// Phases a run can fail in, as RunError names them.
const (
	PhaseQueue  = "queue"
	PhasePlan   = "plan"
	PhasePolicy = "policy check"
	PhaseApply  = "apply"
)

// RunError is a run that did not apply: which workspace, which phase,
// what status, the run's URL and the end of the failed phase's log.
type RunError struct {
	Workspace string
	RunID     string
	URL       string
	Phase     string
	Status    tfe.RunStatus
	Log       string // last lines of the failed phase's log
	Err       error  // the client's own error (timeout, cancellation), if any
}

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: run %s failed in the %s phase (%s)", e.Workspace, e.RunID, e.Phase, e.Status)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	fmt.Fprintf(&b, "; see %s", e.URL)
	if e.Log != "" {
		fmt.Fprintf(&b, "\n%s", e.Log)
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.Err }

// ErrTimeout is wrapped by a RunError when the wait ran out.
var ErrTimeout = errors.New("timed out")

// queued are the statuses of a run waiting its turn.
var queued = map[tfe.RunStatus]bool{tfe.RunPending: true, tfe.RunPlanQueued: true, tfe.RunQueuing: true}

// Run starts a run and, with Wait, follows it to its end.
func (c *Client) Run(ctx context.Context, o RunOptions) (*Result, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	ws, err := c.api.Workspaces.Read(ctx, c.org, o.Workspace)
	if err != nil {
		return nil, fmt.Errorf("%s: read workspace: %w", o.Workspace, err)
	}
	message := o.Message
	if message == "" {
		message = "pivotctl tfc run"
	}
	run, err := c.api.Runs.Create(ctx, tfe.RunCreateOptions{
		Workspace: ws, Message: tfe.String(message), AutoApply: tfe.Bool(true), TargetAddrs: o.Targets,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: create run: %w", o.Workspace, err)
	}
	res := &Result{Workspace: o.Workspace, RunID: run.ID, URL: c.RunURL(o.Workspace, run.ID), Status: run.Status}
	fmt.Fprintf(progress, "%s: run %s queued: %s\n", o.Workspace, run.ID, res.URL)
	if !o.Wait {
		return res, nil
	}
	return c.wait(ctx, res, o, progress)
}

// wait polls a run until it ends. The timeout starts when the run leaves
// the queue.
func (c *Client) wait(ctx context.Context, res *Result, o RunOptions, progress io.Writer) (*Result, error) {
	created := time.Now()
	var started time.Time
	last := tfe.RunStatus("")
	ticker := time.NewTicker(c.poll)
	defer ticker.Stop()
	for {
		run, err := c.api.Runs.ReadWithOptions(ctx, res.RunID, &tfe.RunReadOptions{Include: []tfe.RunIncludeOpt{tfe.RunPlan, tfe.RunApply}})
		if err != nil {
			if ctx.Err() != nil {
				return res, c.fail(res, nil, phaseOf(last), fmt.Errorf("wait: %w", ctx.Err()))
			}
			return res, fmt.Errorf("%s: read run %s: %w", o.Workspace, res.RunID, err)
		}
		res.Status = run.Status
		if started.IsZero() && !queued[run.Status] {
			started = time.Now()
			res.Queued = started.Sub(created)
		}
		if run.Status != last {
			fmt.Fprintf(progress, "%s: run %s %s%s\n", o.Workspace, res.RunID, run.Status, counts(run))
			last = run.Status
		}
		switch run.Status {
		case tfe.RunApplied, tfe.RunPlannedAndFinished:
			res.Ran = time.Since(started)
			return res, nil
		case tfe.RunErrored, tfe.RunCanceled, tfe.RunDiscarded, tfe.RunPolicySoftFailed:
			res.Ran = time.Since(started)
			return res, c.fail(res, run, failedPhase(run), nil)
		}
		if !started.IsZero() && o.Timeout > 0 && time.Since(started) > o.Timeout {
			return res, c.fail(res, run, phaseOf(run.Status), fmt.Errorf("%w: not finished %s after it left the queue", ErrTimeout, o.Timeout))
		}
		select {
		case <-ctx.Done():
			return res, c.fail(res, run, phaseOf(run.Status), fmt.Errorf("wait: %w", ctx.Err()))
		case <-ticker.C:
		}
	}
}

// counts is " (+a ~c -d)" once a plan or apply has counted resources.
func counts(run *tfe.Run) string {
	switch {
	case run.Apply != nil && (run.Status == tfe.RunApplied):
		a := run.Apply
		return fmt.Sprintf(" (%d added, %d changed, %d destroyed)", a.ResourceAdditions, a.ResourceChanges, a.ResourceDestructions)
	case run.Plan != nil && (run.Status == tfe.RunPlanned || run.Status == tfe.RunPlannedAndFinished):
		p := run.Plan
		return fmt.Sprintf(" (%d to add, %d to change, %d to destroy)", p.ResourceAdditions, p.ResourceChanges, p.ResourceDestructions)
	}
	return ""
}

// failedPhase says where a finished, failed run stopped.
func failedPhase(run *tfe.Run) string {
	switch {
	case run.Apply != nil && run.Apply.Status == tfe.ApplyErrored:
		return PhaseApply
	case run.Plan != nil && run.Plan.Status == tfe.PlanErrored:
		return PhasePlan
	case run.Status == tfe.RunPolicySoftFailed:
		return PhasePolicy
	case run.StatusTimestamps != nil && !run.StatusTimestamps.ApplyingAt.IsZero():
		return PhaseApply
	case run.StatusTimestamps != nil && !run.StatusTimestamps.PlanningAt.IsZero():
		return PhasePlan
	}
	return PhaseQueue
}

// phaseOf is the phase a run in this status is in.
func phaseOf(s tfe.RunStatus) string {
	switch s {
	case "", tfe.RunPending, tfe.RunPlanQueued, tfe.RunQueuing:
		return PhaseQueue
	case tfe.RunPolicyChecking, tfe.RunPolicyChecked, tfe.RunPolicyOverride:
		return PhasePolicy
	case tfe.RunApplyQueued, tfe.RunApplying, tfe.RunConfirmed, tfe.RunQueuingApply, tfe.RunPreApplyRunning, tfe.RunPreApplyCompleted:
		return PhaseApply
	}
	return PhasePlan
}

// fail builds a RunError with the end of the failed phase's log.
func (c *Client) fail(res *Result, run *tfe.Run, phase string, err error) *RunError {
	re := &RunError{Workspace: res.Workspace, RunID: res.RunID, URL: res.URL, Phase: phase, Status: res.Status, Err: err}
	if run == nil || err != nil {
		return re
	}
	// A bounded read: the log of a finished phase ends with ETX at once.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs io.Reader
	var lerr error
	switch {
	case phase == PhaseApply && run.Apply != nil:
		logs, lerr = c.api.Applies.Logs(ctx, run.Apply.ID)
	case phase == PhasePlan && run.Plan != nil:
		logs, lerr = c.api.Plans.Logs(ctx, run.Plan.ID)
	}
	if lerr == nil && logs != nil {
		b, _ := io.ReadAll(io.LimitReader(logs, 1<<20))
		re.Log = tail(string(b), 20)
	}
	return re
}

// tail returns the last n non-empty lines of s.
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, "  "+strings.TrimRight(l, "\r"))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Outcome is one workspace's part of RunAll.
type Outcome struct {
	Result *Result
	Err    error
}

// RunAll runs every run at once (each in its own workspace, so Terraform
// Cloud's per-workspace lock does not serialise them), at most parallel at
// a time when parallel > 0, and returns each one's outcome in order. One
// failure does not stop the others.
func (c *Client) RunAll(ctx context.Context, runs []RunOptions, parallel int) []Outcome {
	out := make([]Outcome, len(runs))
	if parallel <= 0 || parallel > len(runs) {
		parallel = len(runs)
	}
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, o := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := c.Run(ctx, o)
			out[i] = Outcome{Result: res, Err: err}
		}()
	}
	wg.Wait()
	return out
}

// FanOutError lists the workspaces whose runs failed.
type FanOutError struct {
	Failed []error
	Total  int
}

func (e *FanOutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d runs failed:", len(e.Failed), e.Total)
	for _, err := range e.Failed {
		fmt.Fprintf(&b, "\n- %v", err)
	}
	return b.String()
}

// Errors joins the failed outcomes into a FanOutError (nil when all
// applied).
func Errors(outcomes []Outcome) error {
	fe := &FanOutError{Total: len(outcomes)}
	for _, o := range outcomes {
		if o.Err != nil {
			fe.Failed = append(fe.Failed, o.Err)
		}
	}
	if len(fe.Failed) == 0 {
		return nil
	}
	return fe
}
