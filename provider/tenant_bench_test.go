package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pivotapp/platform/internal/acctest"
)

// BenchmarkTenantRollout20vs1 rolls a release (one service's new tag) to 20
// tenants and to 1 tenant, each tenant in its own account, with Terraform's
// default parallelism, and reports the ratio of the wall times. The
// tenants' stacks are created first and not timed. Each side is the median
// of three roll-outs (three successive tags): a single one-tenant roll-out
// takes 1 to 5 s on these machines, too noisy to divide by.
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
		var took []time.Duration
		for _, tag := range []string{"bbb222", "ccc333", "ddd444"} {
			write(`{ messenger = "` + tag + `", notifier = "aaa111" }`)
			start := time.Now()
			if err := tf.Apply(ctx, reattach); err != nil {
				b.Fatalf("terraform apply (rollout of %s to %d tenants): %v", tag, n, err)
			}
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		return took[1]
	}
	b.ResetTimer()
	many := rollout(20)
	one := rollout(1)
	b.StopTimer()
	fmt.Printf("bench: tenant_rollout_20_tenants %.2f s baseline %.2f s ratio %.2f\n", many.Seconds(), one.Seconds(), many.Seconds()/one.Seconds())
}
