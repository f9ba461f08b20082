package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/repo"
	"github.com/pivotapp/platform/services/friend"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/messenger"
	"github.com/pivotapp/platform/services/notifier"
)

// TestDeclarationsMatchEnvSchemas keeps each declaration's env-schema.json
// (what pivot_service checks the environment against) equal to the
// contract the service's binary prints with --print-env-schema. Regenerate
// with: go run ./services/<name>/cmd/<name> --print-env-schema >
// services/<name>/env-schema.json
func TestDeclarationsMatchEnvSchemas(t *testing.T) {
	configs := map[string]any{
		messenger.Name: &messenger.Config{},
		friend.Name:    &friend.Config{},
		notifier.Name:  &notifier.Config{},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(repoRoot(), "services", name, "env-schema.json"))
			if err != nil {
				t.Fatal(err)
			}
			var committed []kit.EnvVar
			if err := json.Unmarshal(b, &committed); err != nil {
				t.Fatalf("services/%s/env-schema.json: %v", name, err)
			}
			if want := kit.EnvSchema(cfg); !slices.Equal(committed, want) {
				t.Errorf("services/%s/env-schema.json is stale: regenerate it with `go run ./services/%s/cmd/%s --print-env-schema > services/%s/env-schema.json`", name, name, name, name)
			}
		})
	}
}

// TestEveryServiceHasADeclaration checks the conventions pivotctl relies
// on: each declared service is in the catalog, and its image tag is a
// plain 40-hex literal CI can bump.
func TestEveryServiceHasADeclaration(t *testing.T) {
	root := repoRoot()
	names, err := repo.Services(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"friend", "messenger", "notifier"}; !slices.Equal(names, want) {
		t.Errorf("services with a declaration = %v, want %v", names, want)
	}
	catalog, err := os.ReadFile(filepath.Join(root, "services", "services.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		path, err := repo.DeclarationPath(root, n)
		if err != nil {
			t.Fatal(err)
		}
		tag, err := hcledit.ImageTag(path)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if err := hcledit.ValidateGitSHA(tag); err != nil {
			t.Errorf("%s: image_tag: %v", n, err)
		}
		for _, want := range []string{`module "` + n + `" { source = "./` + n + `" }`, n + " = module." + n + ".declaration"} {
			if !containsLine(string(catalog), want) {
				t.Errorf("services/services.tf lacks %q", want)
			}
		}
	}
}

// containsLine reports whether s has a line equal to want, with runs of
// spaces (terraform fmt's alignment) taken as one.
func containsLine(s, want string) bool {
	for _, line := range strings.Split(s, "\n") {
		if strings.Join(strings.Fields(line), " ") == want {
			return true
		}
	}
	return false
}

// TestCatalogRefusesUnknownCallee: a declaration's calls must name a
// declared service, refused at plan before any environment is touched.
func TestCatalogRefusesUnknownCallee(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", filepath.Join(repoRoot(), "services"), dir).CombinedOutput(); err != nil {
		t.Fatalf("copy services: %v\n%s", err, out)
	}
	catalog := filepath.Join(dir, "services")
	decl := filepath.Join(catalog, "friend", "service.tf")
	b, err := os.ReadFile(decl)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), `calls    = ["messenger"]`, `calls    = ["messenger", "billing"]`, 1)
	if bad == string(b) {
		t.Fatal(`friend's declaration no longer has calls = ["messenger"]`)
	}
	if err := os.WriteFile(decl, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		c := exec.Command(terraformBinary(), args...)
		c.Dir = catalog
		c.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run("init", "-backend=false", "-input=false", "-no-color"); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	out, err := run("plan", "-input=false", "-no-color")
	flat := strings.Join(strings.Fields(out), " ")
	if err == nil || !strings.Contains(flat, "friend calls billing") || !strings.Contains(flat, "remove it from calls") {
		t.Fatalf("plan with friend calling an undeclared service: %v\n%s", err, out)
	}
}
