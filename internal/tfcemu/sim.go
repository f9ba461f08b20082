package tfcemu

import (
	"context"
	"fmt"
	"io"
	"time"
)

// SimExecutor takes time instead of running Terraform: each plan takes
// PlanTime and each apply ApplyTime. FailPlan and FailApply make named
// workspaces' runs fail in that phase. It is what the fan-out simulation
// and the client's tests run.
type SimExecutor struct {
	PlanTime, ApplyTime time.Duration
	NoChanges           bool
	FailPlan, FailApply map[string]bool
}

// Plan waits PlanTime.
func (s SimExecutor) Plan(ctx context.Context, job Job, log io.Writer) (bool, error) {
	fmt.Fprintf(log, "Terraform v1.8.5\nPlanning %s (targets %v)...\n", job.Workspace, job.TargetAddrs)
	if err := sleep(ctx, s.PlanTime); err != nil {
		return false, err
	}
	if s.FailPlan[job.Workspace] {
		return false, fmt.Errorf("simulated plan failure in %s", job.Workspace)
	}
	if s.NoChanges {
		fmt.Fprintln(log, "No changes. Your infrastructure matches the configuration.")
		return false, nil
	}
	fmt.Fprintln(log, "Plan: 1 to add, 0 to change, 0 to destroy.")
	return true, nil
}

// Apply waits ApplyTime.
func (s SimExecutor) Apply(ctx context.Context, job Job, log io.Writer) error {
	if err := sleep(ctx, s.ApplyTime); err != nil {
		return err
	}
	if s.FailApply[job.Workspace] {
		return fmt.Errorf("simulated apply failure in %s", job.Workspace)
	}
	fmt.Fprintln(log, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
