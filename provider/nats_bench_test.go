package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/pivotapp/platform/internal/acctest"
)

// benchProviderEnvFile, when set, turns the test binary into a provider
// server for the benchmark below, which runs the test binary
// again as its provider process: the real Terraform then talks to the
// provider over gRPC, as it does for users.
const benchProviderEnvFile = "PIVOT_BENCH_PROVIDER_ENV_FILE"

// serveBenchProvider runs this test binary as the benchmark's provider
// process when benchProviderEnvFile is set (see TestMain).
func serveBenchProvider(path string) error {
	stopProfile, err := StartCPUProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	return tf6server.Serve(Address, providerserver.NewProtocol6(New("bench")()),
		tf6server.WithManagedDebug(), tf6server.WithManagedDebugEnvFilePath(path))
}

// natsBenchProvider serves the provider in a child process and returns the
// TF_REATTACH_PROVIDERS value that points Terraform at it.
func natsBenchProvider(b *testing.B) string {
	b.Helper()
	envFile := filepath.Join(b.TempDir(), "reattach.env")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchProviderEnvFile+"="+envFile)
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(envFile); err == nil && bytes.HasSuffix(data, []byte("\n")) {
			v := strings.TrimSpace(strings.TrimPrefix(string(data), "TF_REATTACH_PROVIDERS="))
			return strings.Trim(v, "'")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("provider process did not start: %s", cmd.Stderr)
	return ""
}

// natsBenchTerraform runs the pinned Terraform in dir and returns how long it took.
func natsBenchTerraform(b *testing.B, dir, reattach string, args ...string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, acctest.TerraformPath(), args...)
	cmd.Dir = dir
	cliConfig := filepath.Join(dir, ".terraformrc")
	if err := os.WriteFile(cliConfig, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "TF_REATTACH_PROVIDERS="+reattach, "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return time.Since(start)
}

type natsBenchTimes struct{ apply, plan, destroy time.Duration }

// natsBenchRun applies config, plans again (refreshing every resource)
// and destroys it, timing each.
func natsBenchRun(b *testing.B, reattach, config string) natsBenchTimes {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	natsBenchTerraform(b, dir, reattach, "init", "-input=false", "-no-color")
	return natsBenchTimes{
		apply:   natsBenchTerraform(b, dir, reattach, "apply", "-auto-approve", "-input=false", "-no-color"),
		plan:    natsBenchTerraform(b, dir, reattach, "plan", "-input=false", "-no-color", "-detailed-exitcode"),
		destroy: natsBenchTerraform(b, dir, reattach, "destroy", "-auto-approve", "-input=false", "-no-color"),
	}
}

// BenchmarkNATSApply100Streams200Consumers applies 100 streams and 200
// consumers with the real Terraform against an embedded nats-server, and
// the same shape of 300 no-op terraform_data resources as the baseline, so
// the ratio is the provider's own cost per resource.
func BenchmarkNATSApply100Streams200Consumers(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run benchmarks that drive Terraform")
	}
	n := acctest.NATS(b)
	reattach := natsBenchProvider(b)
	const streams, consumers = 100, 200
	natsConfig := acctest.ProviderConfig(acctest.NATSBlock(n)) + fmt.Sprintf(`
terraform {
  required_providers {
    pivot = { source = "pivotapp/pivot" }
  }
}

resource "pivot_nats_stream" "s" {
  count            = %[1]d
  name             = format("S%%03d", count.index)
  subjects         = [format("s%%03d.>", count.index)]
  max_age          = "24h"
  duplicate_window = "1m"
}

resource "pivot_nats_consumer" "c" {
  count          = %[2]d
  stream         = pivot_nats_stream.s[floor(count.index / 2)].name
  durable_name   = format("c%%03d", count.index)
  filter_subject = format("s%%03d.%%d", floor(count.index / 2), count.index %% 2)
  max_deliver    = 5
}
`, streams, consumers)
	baselineConfig := fmt.Sprintf(`
resource "terraform_data" "s" {
  count = %[1]d
  input = format("S%%03d", count.index)
}

resource "terraform_data" "c" {
  count = %[2]d
  input = "${terraform_data.s[floor(count.index / 2)].output}/c${count.index}"
}
`, streams, consumers)

	b.ResetTimer()
	var got, base natsBenchTimes
	for i := 0; i < b.N; i++ {
		base = natsBenchRun(b, reattach, baselineConfig)
		got = natsBenchRun(b, reattach, natsConfig)
	}
	b.StopTimer()

	total := float64(streams + consumers)
	line := func(name string, v, bv time.Duration, scale float64, unit string) {
		conv := func(d time.Duration) float64 {
			if unit == "ms" {
				return float64(d) / float64(time.Millisecond) / scale
			}
			return d.Seconds() / scale
		}
		fmt.Printf("bench: %s %.2f %s baseline %.2f %s ratio %.2f\n", name, conv(v), unit, conv(bv), unit, float64(v)/float64(bv))
	}
	line("nats_apply_100_streams_200_consumers", got.apply, base.apply, 1, "s")
	line("nats_apply_per_resource", got.apply, base.apply, total, "ms")
	line("nats_refresh_plan_300_resources", got.plan, base.plan, 1, "s")
	line("nats_destroy_300_resources", got.destroy, base.destroy, 1, "s")
}
