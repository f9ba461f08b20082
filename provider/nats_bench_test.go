package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	TuneGC()
	stopProfile, err := StartCPUProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	return tf6server.Serve(Address, NewServer("bench"),
		tf6server.WithManagedDebug(), tf6server.WithManagedDebugEnvFilePath(path))
}

// natsBenchProvider serves the provider in a child process, with env added
// to this process's environment, and returns the TF_REATTACH_PROVIDERS value
// that points Terraform at it and the count of lines it writes to stderr
// (its logs).
func natsBenchProvider(b *testing.B, env ...string) (string, *lineCounter) {
	reattach, lines, _ := natsBenchProviderProcess(b, env...)
	return reattach, lines
}

// natsBenchProviderProcess is natsBenchProvider that also returns a function
// stopping the process (and waiting for it), for a profile to be written.
func natsBenchProviderProcess(b *testing.B, env ...string) (string, *lineCounter, func()) {
	b.Helper()
	envFile := filepath.Join(b.TempDir(), "reattach.env")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), benchProviderEnvFile+"="+envFile)
	lines := &lineCounter{}
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, lines
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	b.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(envFile); err == nil && bytes.HasSuffix(data, []byte("\n")) {
			v := strings.TrimSpace(strings.TrimPrefix(string(data), "TF_REATTACH_PROVIDERS="))
			return strings.Trim(v, "'"), lines, stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("provider process did not start: %s", lines.tail())
	return "", nil, nil
}

// lineCounter counts the lines written to it and keeps the last few
// kilobytes for error messages.
type lineCounter struct {
	mu    sync.Mutex
	lines int
	last  []byte
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines += bytes.Count(p, []byte("\n"))
	c.last = append(c.last, p...)
	if len(c.last) > 4096 {
		c.last = c.last[len(c.last)-4096:]
	}
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

func (c *lineCounter) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.last)
}

// natsBenchTerraform runs the pinned Terraform in dir and returns how long it took.
func natsBenchTerraform(b *testing.B, dir, reattach string, args ...string) time.Duration {
	b.Helper()
	wall, _ := natsBenchTerraformCPU(b, dir, reattach, args...)
	return wall
}

// natsBenchTerraformCPU is natsBenchTerraform that also returns the CPU
// time (user and system) of the Terraform process itself.
func natsBenchTerraformCPU(b *testing.B, dir, reattach string, args ...string) (wall, cpu time.Duration) {
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
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

type natsBenchTimes struct {
	apply, plan, destroy time.Duration
	// planCPU is the CPU time of the Terraform process of the plan.
	planCPU time.Duration
	// planLogLines is what the provider logged during the plan.
	planLogLines int
	// verbose is the plan again, served by a provider process whose SDK
	// loggers are at TRACE as they were before SetLogLevels (when set).
	verbosePlan         time.Duration
	verbosePlanLogLines int
}

// natsBenchVerbose is the provider process that logs as every provider on
// terraform-plugin-framework does when nothing sets its levels.
type natsBenchVerbose struct {
	reattach string
	lines    *lineCounter
}

// natsBenchRun applies config, plans again (refreshing every resource),
// optionally plans once more with the verbose provider, and destroys it,
// timing each.
func natsBenchRun(b *testing.B, reattach string, lines *lineCounter, verbose *natsBenchVerbose, config string) natsBenchTimes {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	planArgs := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode"}
	natsBenchTerraform(b, dir, reattach, "init", "-input=false", "-no-color")
	var t natsBenchTimes
	t.apply = natsBenchTerraform(b, dir, reattach, "apply", "-auto-approve", "-input=false", "-no-color")
	before := lines.count()
	t.plan, t.planCPU = natsBenchTerraformCPU(b, dir, reattach, planArgs...)
	t.planLogLines = lines.count() - before
	if verbose != nil {
		before := verbose.lines.count()
		t.verbosePlan = natsBenchTerraform(b, dir, verbose.reattach, planArgs...)
		t.verbosePlanLogLines = verbose.lines.count() - before
	}
	if verbose != nil {
		if profileDir := os.Getenv(benchProfileEnv); profileDir != "" {
			// A provider process of its own serves the profiled plan, so the
			// profile holds that plan and nothing else.
			profReattach, _, stop := natsBenchProviderProcess(b, CPUProfileEnv+"="+profileDir)
			natsBenchTerraform(b, dir, profReattach, planArgs...)
			stop()
		}
	}
	t.destroy = natsBenchTerraform(b, dir, reattach, "destroy", "-auto-approve", "-input=false", "-no-color")
	return t
}

// benchProfileEnv names a directory: when set, the NATS benchmark plans its
// 300 resources once more with a provider process that writes a CPU profile
// there (make profile).
const benchProfileEnv = "PIVOT_BENCH_PROFILE_DIR"

// BenchmarkNATSApply100Streams200Consumers applies 100 streams and 200
// consumers with the real Terraform against an embedded nats-server, and
// the same shape of 300 no-op terraform_data resources as the baseline, so
// the ratio is the provider's own cost per resource.
func BenchmarkNATSApply100Streams200Consumers(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Skip("set TF_ACC=1 to run benchmarks that drive Terraform")
	}
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		b.Skip("unset TF_LOG and TF_LOG_PROVIDER: the benchmark counts the lines a provider logs when nobody asked")
	}
	n := acctest.NATS(b)
	reattach, lines := natsBenchProvider(b)
	// The SDK's loggers at TRACE: the provider as it logged before
	// SetLogLevels, for the log-line baseline.
	var verbose natsBenchVerbose
	verbose.reattach, verbose.lines = natsBenchProvider(b, "TF_LOG_SDK=TRACE", "TF_LOG_SDK_PROTO=TRACE",
		"TF_LOG_SDK_FRAMEWORK=TRACE", "TF_LOG_PROVIDER_PIVOT=TRACE")
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
		base = natsBenchRun(b, reattach, lines, nil, baselineConfig)
		got = natsBenchRun(b, reattach, lines, &verbose, natsConfig)
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
	// Terraform's own CPU in the plan: what the schemas' size costs the
	// core, which no provider change removes.
	line("nats_refresh_plan_300_resources_terraform_cpu", got.planCPU, base.planCPU, 1, "s")
	// The same plan, by a provider whose SDK loggers run at TRACE (as
	// before SetLogLevels): what logging nobody asked for costs.
	line("nats_refresh_plan_300_resources_vs_sdk_trace_logging", got.plan, got.verbosePlan, 1, "s")
	fmt.Printf("bench: provider_log_lines_plan_300_resources %d lines baseline %d lines ratio %.4f\n",
		got.planLogLines, got.verbosePlanLogLines, float64(got.planLogLines)/float64(max(got.verbosePlanLogLines, 1)))
}
