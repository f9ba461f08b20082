package tfcemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// TerraformExecutor runs the real root with Terraform, as a VCS-driven
// workspace does: each run takes the configuration at the repository's
// HEAD (a fresh copy, `git archive`), runs `terraform init` and `plan` in
// the workspace's working directory with the workspace's variables, and
// applies the saved plan. Each workspace's state is its own file under
// StateDir (a backend override, as Terraform Cloud's remote runs replace
// the cloud block with their own).
type TerraformExecutor struct {
	Repo      string            // git repository the runs read (HEAD)
	Terraform string            // the terraform binary
	StateDir  string            // one folder per workspace
	Env       map[string]string // added to every run's environment (TF_CLI_CONFIG_FILE, ...)

	mu   sync.Mutex
	dirs map[string]savedPlan // run ID -> its configuration copy
}

type savedPlan struct{ root, work string }

var (
	planSummary  = regexp.MustCompile(`(?m)Plan: (\d+) to add, (\d+) to change, (\d+) to destroy`)
	applySummary = regexp.MustCompile(`(?m)Resources: (\d+) added, (\d+) changed, (\d+) destroyed`)
)

// Plan copies HEAD and plans; a plan with changes is kept for Apply.
func (x *TerraformExecutor) Plan(ctx context.Context, job Job, log io.Writer) (bool, error) {
	dir, err := os.MkdirTemp("", "tfcemu-"+job.RunID+"-")
	if err != nil {
		return false, err
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	if err := x.checkout(ctx, dir); err != nil {
		return false, err
	}
	work := filepath.Join(dir, job.WorkingDirectory)
	stateDir := filepath.Join(x.StateDir, job.Workspace)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return false, err
	}
	// The workspace's backend replaces the cloud block (and any override
	// the repository carries).
	overrides, _ := filepath.Glob(filepath.Join(work, "*_override.tf"))
	for _, o := range overrides {
		os.Remove(o)
	}
	backend := fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", filepath.Join(stateDir, "terraform.tfstate"))
	if err := os.WriteFile(filepath.Join(work, "zz_tfc_backend_override.tf"), []byte(backend), 0o644); err != nil {
		return false, err
	}
	if _, err := x.terraform(ctx, job, work, log, "init", "-input=false", "-no-color"); err != nil {
		return false, fmt.Errorf("terraform init: %w", err)
	}
	args := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=tfplan"}
	if job.IsDestroy {
		args = append(args, "-destroy")
	}
	for _, t := range job.TargetAddrs {
		args = append(args, "-target="+t)
	}
	code, err := x.terraform(ctx, job, work, log, args...)
	switch {
	case code == 0:
		return false, nil
	case code == 2:
		x.mu.Lock()
		if x.dirs == nil {
			x.dirs = map[string]savedPlan{}
		}
		x.dirs[job.RunID] = savedPlan{root: dir, work: work}
		x.mu.Unlock()
		keep = true
		return true, nil
	}
	return false, fmt.Errorf("terraform plan: %w", err)
}

// Apply applies the run's saved plan.
func (x *TerraformExecutor) Apply(ctx context.Context, job Job, log io.Writer) error {
	x.mu.Lock()
	saved, ok := x.dirs[job.RunID]
	delete(x.dirs, job.RunID)
	x.mu.Unlock()
	if !ok {
		return errors.New("no saved plan for run " + job.RunID)
	}
	defer os.RemoveAll(saved.root)
	if _, err := x.terraform(ctx, job, saved.work, log, "apply", "-input=false", "-no-color", "tfplan"); err != nil {
		return fmt.Errorf("terraform apply: %w", err)
	}
	return nil
}

// checkout writes the repository's HEAD into dir.
func (x *TerraformExecutor) checkout(ctx context.Context, dir string) error {
	archive := exec.CommandContext(ctx, "git", "-C", x.Repo, "archive", "--format=tar", "HEAD")
	var tarball, stderr bytes.Buffer
	archive.Stdout, archive.Stderr = &tarball, &stderr
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive HEAD of %s: %w: %s", x.Repo, err, stderr.String())
	}
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	untar.Stdin, untar.Stderr = &tarball, &stderr
	if err := untar.Run(); err != nil {
		return fmt.Errorf("unpack configuration: %w: %s", err, stderr.String())
	}
	return nil
}

// terraform runs one command, its output into log, and returns its exit
// code.
func (x *TerraformExecutor) terraform(ctx context.Context, job Job, dir string, log io.Writer, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, x.Terraform, args...)
	cmd.Dir = dir
	env := os.Environ()
	for _, kv := range [](map[string]string){x.Env, job.Vars} {
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+kv[k])
		}
	}
	cmd.Env = append(env, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	cmd.Stdout, cmd.Stderr = log, log
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), fmt.Errorf("exit status %d", exit.ExitCode())
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// counts reads the last "Plan: a to add, c to change, d to destroy" (or
// "Resources: a added, c changed, d destroyed") from a log, as Terraform
// Cloud fills a plan's and an apply's resource counts.
func counts(re *regexp.Regexp, log string) (add, change, destroy int) {
	m := re.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		return 0, 0, 0
	}
	last := m[len(m)-1]
	add, _ = strconv.Atoi(last[1])
	change, _ = strconv.Atoi(last[2])
	destroy, _ = strconv.Atoi(last[3])
	return add, change, destroy
}
