package e2e

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gruntwork-io/terratest/modules/terraform"
)

// root is one root configuration (envs/<name>) in the test's copy of the
// repository, with the environment its Terraform runs get.
type root struct {
	name string
	opts *terraform.Options
}

func newRoot(repo, name, cliConfig string, env map[string]string) *root {
	vars := map[string]string{
		"TF_CLI_CONFIG_FILE": cliConfig,
		"CHECKPOINT_DISABLE": "1",
		"TF_IN_AUTOMATION":   "1",
	}
	for k, v := range env {
		vars[k] = v
	}
	return &root{name: name, opts: &terraform.Options{
		TerraformDir:    filepath.Join(repo, "envs", name),
		TerraformBinary: terraformBinary(),
		EnvVars:         vars,
		NoColor:         true,
		Parallelism:     10,
	}}
}

func (r *root) init(t *testing.T) {
	t.Helper()
	if _, err := terraform.InitE(t, r.opts); err != nil {
		t.Fatalf("envs/%s: terraform init: %v", r.name, err)
	}
}

func (r *root) apply(t *testing.T) {
	t.Helper()
	if _, err := terraform.ApplyE(t, r.opts); err != nil {
		t.Fatalf("envs/%s: terraform apply: %v", r.name, err)
	}
}

func (r *root) destroy(t *testing.T) {
	t.Helper()
	if _, err := terraform.DestroyE(t, r.opts); err != nil {
		t.Fatalf("envs/%s: terraform destroy: %v", r.name, err)
	}
}

// assertNoChanges checks that a plan right after an apply is empty
// (terraform plan -detailed-exitcode exits 0).
func (r *root) assertNoChanges(t *testing.T) {
	t.Helper()
	code, err := terraform.PlanExitCodeE(t, r.opts)
	if code != 0 {
		out, _ := terraform.PlanE(t, r.opts)
		t.Fatalf("envs/%s: the plan after apply is not empty (exit code %d, %v):\n%s", r.name, code, err, out)
	}
}

// plannedChanges returns the addresses a plan would change, with their
// actions, e.g. `module.service["messenger"].pivot_service.this[0]: update`.
func (r *root) plannedChanges(t *testing.T) []string {
	t.Helper()
	opts := *r.opts
	opts.PlanFilePath = filepath.Join(t.TempDir(), r.name+".tfplan")
	plan, err := terraform.InitAndPlanAndShowWithStructE(t, &opts)
	if err != nil {
		t.Fatalf("envs/%s: plan: %v", r.name, err)
	}
	var out []string
	for addr, rc := range plan.ResourceChangesMap {
		if rc.Change == nil || rc.Change.Actions.NoOp() || rc.Change.Actions.Read() {
			continue
		}
		var actions []string
		for _, a := range rc.Change.Actions {
			actions = append(actions, string(a))
		}
		out = append(out, addr+": "+strings.Join(actions, ","))
	}
	sort.Strings(out)
	return out
}

// concurrently runs steps as parallel subtests of one subtest named name
// and returns when all are done; it reports whether they all passed.
func concurrently(t *testing.T, name string, steps map[string]func(t *testing.T)) bool {
	t.Helper()
	return t.Run(name, func(t *testing.T) {
		for stepName, step := range steps {
			t.Run(stepName, func(t *testing.T) {
				t.Parallel()
				step(t)
			})
		}
	})
}
