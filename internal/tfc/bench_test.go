package tfc

import (
	"context"
	"fmt"
	"testing"
	"time"

	tfe "github.com/hashicorp/go-tfe"

	"github.com/pivotapp/platform/internal/tfcemu"
)

// fanOutRunTime is what one simulated tenant run takes (plan + apply).
// Real tenant runs take minutes; the ratio is what matters, and it only
// depends on how runs overlap.
const (
	fanOutPlan  = 150 * time.Millisecond
	fanOutApply = 150 * time.Millisecond
	// fanOutConcurrency is the organisation's run concurrency the
	// simulation assumes: 50 tenants need two waves of it.
	fanOutConcurrency = 25
)

// BenchmarkTenantFanOut rolls a release out to 50 tenants against the
// Terraform Cloud stand-in (one run at a time per workspace, at most 25
// runs in the organisation), each tenant in its own workspace as
// trigger-production-deploys does, and compares with rolling it out to
// one tenant. For contrast it also times the layout this replaced: one
// targeted run per tenant in one shared workspace, which the workspace
// lock serialises.
func BenchmarkTenantFanOut(b *testing.B) {
	const tenants = 50
	for range b.N {
		perWorkspace50 := fanOut(b, tenants, true)
		perWorkspace1 := fanOut(b, 1, true)
		shared50 := fanOut(b, tenants, false)
		fmt.Printf("bench: tenant_fanout_%d_workspaces_concurrency_%d %.2f s baseline %.2f s ratio %.2f\n",
			tenants, fanOutConcurrency, perWorkspace50.Seconds(), perWorkspace1.Seconds(), perWorkspace50.Seconds()/perWorkspace1.Seconds())
		fmt.Printf("bench: tenant_fanout_%d_targeted_runs_one_workspace %.2f s baseline %.2f s ratio %.2f\n",
			tenants, shared50.Seconds(), perWorkspace1.Seconds(), shared50.Seconds()/perWorkspace1.Seconds())
	}
}

// fanOut times n tenant runs started at once and waited for, each in its
// own workspace or all targeted in one.
func fanOut(b *testing.B, n int, workspaceEach bool) time.Duration {
	b.Helper()
	// Time is compressed about 400 times (a tenant run takes about two
	// minutes, polled every 5 s: 50 runs make 10 requests a second, a
	// third of Terraform Cloud's 30), so the client-side rate limit would
	// be 400 times looser too: the stand-in sends none.
	_, c := setup(b, tfcemu.Options{RateLimit: -1, Concurrency: fanOutConcurrency, Executor: tfcemu.SimExecutor{PlanTime: fanOutPlan, ApplyTime: fanOutApply}})
	runs := make([]RunOptions, n)
	created := map[string]bool{}
	for i := range runs {
		name := fmt.Sprintf("tenant-%02d", i)
		ws, targets := TenantWorkspace(name), []string(nil)
		if !workspaceEach {
			ws, targets = "platform-tenants", []string{fmt.Sprintf("pivot_tenant_deployment.this[%q]", name)}
		}
		if !created[ws] {
			if _, err := c.API().Workspaces.Create(context.Background(), testOrg, tfe.WorkspaceCreateOptions{Name: tfe.String(ws)}); err != nil {
				b.Fatal(err)
			}
			created[ws] = true
		}
		runs[i] = RunOptions{Workspace: ws, Targets: targets, Wait: true}
	}
	start := time.Now()
	if err := Errors(c.RunAll(context.Background(), runs, 0)); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
