package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// BenchmarkTenantNoopRefresh plans tenants that are up to date, each in its
// own account with two services and three secrets, once with reads
// coalesced and once with coalescing off (PIVOT_DISABLE_COALESCING=1), and
// reports AWS API calls per tenant: the refresh (cluster, services, any
// revision no longer the recorded one) plus the plan's checks (secrets).
// Calls are counted as BenchmarkServiceNoopPlan25 counts them: every call
// made through an ecsdeploy.Client, which is all a tenant's refresh and
// checks make; assuming the tenant's role (one STS call per tenant and
// run, cached) is not counted.
func BenchmarkTenantNoopRefresh(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run benchmarks against the local stack")
	}
	const n = 5
	platform := acctest.NewAWS(b)
	tenants := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("t%02d", i+1)
		tenants[name] = acctest.NewAccountID(b)
		cfg := tenantAWS(platform, tenants[name]).Config(b)
		for _, p := range []string{"messenger/JWT_KEY", "messenger/DATABASE_URL", "notifier/DATABASE_URL"} {
			ecsdeploytest.PutSecret(b, cfg, "/"+name+"/"+p, "x")
		}
	}
	cfg := testAccTenantsConfig(platform, tenants, `{ messenger = "aaa111", notifier = "aaa111" }`, false)
	cfg = strings.Replace(cfg, `env              = { LOG_LEVEL = "info" }`, `env              = { LOG_LEVEL = "info" }
      secrets          = ["JWT_KEY", "DATABASE_URL"]`, 1)
	cfg = strings.Replace(cfg, `ports            = [{ name = "http", container_port = 8080, protocol = "http" }]`, `ports            = [{ name = "http", container_port = 8080, protocol = "http" }]
      secrets          = ["DATABASE_URL"]`, 1)
	dir := b.TempDir()
	header := "terraform {\n  required_providers {\n    pivot = { source = \"pivotapp/pivot\" }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(header+cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	tf, reattach := benchTerraform(ctx, b, dir)
	if err := tf.Init(ctx, reattach); err != nil {
		b.Fatalf("terraform init: %v", err)
	}
	if err := tf.Apply(ctx, reattach); err != nil {
		b.Fatalf("terraform apply: %v", err)
	}
	b.Cleanup(func() {
		if err := tf.Destroy(ctx, reattach); err != nil {
			b.Errorf("terraform destroy: %v", err)
		}
	})
	plan := func(disable bool) float64 {
		if disable {
			os.Setenv(ecsdeploy.DisableCoalescingEnv, "1")
			defer os.Unsetenv(ecsdeploy.DisableCoalescingEnv)
		}
		ecsdeploy.Calls.Reset()
		changed, err := tf.Plan(ctx, reattach)
		if err != nil {
			b.Fatalf("terraform plan: %v", err)
		}
		if changed {
			b.Fatal("the no-op plan has changes")
		}
		b.Logf("coalescing disabled=%v: %v", disable, ecsdeploy.Calls.ByOperation())
		return float64(ecsdeploy.Calls.Total()) / n
	}
	b.ResetTimer()
	calls := plan(false)
	base := plan(true)
	b.StopTimer()
	fmt.Printf("bench: tenant_noop_plan_aws_calls_per_tenant %.2f calls baseline %.2f calls ratio %.2f\n", calls, base, calls/base)
}
