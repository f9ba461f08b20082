package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pivotapp/platform/internal/acctest"
)

// BenchmarkTenantRollout20vs1 rolls a release (one service's new tag) to 20
// tenants and to 1 tenant, each tenant in its own account, with Terraform's
// default parallelism, and reports the ratio of the wall times. The
// tenants' stacks are created first and not timed.
func BenchmarkTenantRollout20vs1(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run benchmarks against the local stack")
	}
	rollout := func(n int) time.Duration {
		platform := acctest.NewAWS(b)
		tenants := map[string]string{}
		for i := range n {
			tenants[fmt.Sprintf("t%02d", i+1)] = acctest.NewAccountID(b)
		}
		header := "terraform {\n  required_providers {\n    pivot = { source = \"pivotapp/pivot\" }\n  }\n}\n"
		dir := b.TempDir()
		write := func(images string) {
			cfg := header + testAccTenantsConfig(platform, tenants, images, false)
			if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(cfg), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(cancel)
		tf, reattach := benchTerraform(ctx, b, dir)
		write(`{ messenger = "aaa111", notifier = "aaa111" }`)
		if err := tf.Init(ctx, reattach); err != nil {
			b.Fatalf("terraform init: %v", err)
		}
		if err := tf.Apply(ctx, reattach); err != nil {
			b.Fatalf("terraform apply (set-up of %d tenants): %v", n, err)
		}
		write(`{ messenger = "bbb222", notifier = "aaa111" }`)
		start := time.Now()
		if err := tf.Apply(ctx, reattach); err != nil {
			b.Fatalf("terraform apply (rollout to %d tenants): %v", n, err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	many := rollout(20)
	one := rollout(1)
	b.StopTimer()
	fmt.Printf("bench: tenant_rollout_20_tenants %.2f s baseline %.2f s ratio %.2f\n", many.Seconds(), one.Seconds(), many.Seconds()/one.Seconds())
}
