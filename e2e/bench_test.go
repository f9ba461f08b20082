package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

// BenchmarkStagingApply applies envs/staging from scratch with the services
// of services/, then plans it again (no changes), and compares both with the
// same number of no-op resources (terraform_data) applied and planned in the
// same run: what the provider and the local stack add over Terraform itself.
func BenchmarkStagingApply(b *testing.B) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		b.Fatalf("no Terraform at %s: run `make tools`", terraformBinary())
	}
	cliConfig := buildProvider(b)
	s := startStack(b)
	tree := copyTree(b)
	account := newAccountID(b)
	s.putSecrets(b, account, "/staging/friend/JWT_HS256_SECRET")
	env := maps.Clone(s.providerEnv(s.natsStaging))
	for k, v := range map[string]string{
		"TF_CLI_CONFIG_FILE":       cliConfig,
		"CHECKPOINT_DISABLE":       "1",
		"TF_VAR_deployer_role_arn": roleARN(account),
		"TF_VAR_image_registry":    registry,
		"TF_VAR_nats_url":          s.natsStaging.URL,
		"TF_VAR_database":          fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, s.postgresEndpoint(b)),
	} {
		env[k] = v
	}
	staging := &terraform.Options{TerraformDir: filepath.Join(tree, "envs", "staging"), TerraformBinary: terraformBinary(), EnvVars: env, NoColor: true, Parallelism: 10}
	terraform.Init(b, staging)

	b.ResetTimer()
	start := time.Now()
	// -json gives every resource's start and end with a timestamp: the
	// apply's steps, printed below.
	staging.ExtraArgs.Apply = []string{"-json"}
	out := terraform.Apply(b, staging)
	apply := time.Since(start)
	staging.ExtraArgs.Apply = nil
	start = time.Now()
	if code := terraform.PlanExitCode(b, staging); code != 0 {
		b.Fatalf("the plan after apply is not empty (exit %d)", code)
	}
	plan := time.Since(start)
	b.StopTimer()
	resources := len(strings.Fields(terraform.RunTerraformCommand(b, staging, "state", "list")))

	// The baseline: as many terraform_data resources, applied and planned
	// with the same parallelism.
	base := b.TempDir()
	var cfg strings.Builder
	for i := range resources {
		fmt.Fprintf(&cfg, "resource \"terraform_data\" \"r%d\" {\n  input = %d\n}\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(base, "main.tf"), []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	baseline := &terraform.Options{TerraformDir: base, TerraformBinary: terraformBinary(), EnvVars: map[string]string{"CHECKPOINT_DISABLE": "1"}, NoColor: true, Parallelism: 10}
	terraform.Init(b, baseline)
	start = time.Now()
	terraform.Apply(b, baseline)
	baseApply := time.Since(start)
	start = time.Now()
	terraform.PlanExitCode(b, baseline)
	basePlan := time.Since(start)

	fmt.Printf("bench: staging_apply_from_scratch_%d_resources %.2f s baseline %.2f s ratio %.2f\n", resources, apply.Seconds(), baseApply.Seconds(), apply.Seconds()/baseApply.Seconds())
	fmt.Printf("bench: staging_noop_plan_%d_resources %.2f s baseline %.2f s ratio %.2f\n", resources, plan.Seconds(), basePlan.Seconds(), plan.Seconds()/basePlan.Seconds())
	for _, st := range applySteps(out) {
		fmt.Printf("step: staging_apply %-70s at %6.2f s took %6.2f s\n", st.addr, st.at.Seconds(), st.took.Seconds())
	}
}

// applyStep is one resource's apply: when it started, counted from the
// first resource's start, and how long it took.
type applyStep struct {
	addr     string
	at, took time.Duration
}

// applySteps reads `terraform apply -json` output: each resource's
// apply_start and apply_complete events, in the order they started.
func applySteps(out string) []applyStep {
	type event struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"@timestamp"`
		Hook      struct {
			Resource struct {
				Addr string `json:"addr"`
			} `json:"resource"`
		} `json:"hook"`
	}
	starts := map[string]time.Time{}
	var first time.Time
	var steps []applyStep
	for line := range strings.Lines(out) {
		var e event
		if !strings.HasPrefix(strings.TrimSpace(line), "{") || json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		addr := e.Hook.Resource.Addr
		switch e.Type {
		case "apply_start":
			if first.IsZero() {
				first = e.Timestamp
			}
			starts[addr] = e.Timestamp
		case "apply_complete":
			if t, ok := starts[addr]; ok {
				steps = append(steps, applyStep{addr: addr, at: t.Sub(first), took: e.Timestamp.Sub(t)})
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b applyStep) int { return int(a.at - b.at) })
	return steps
}
