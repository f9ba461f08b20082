package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pivotapp/platform/internal/acctest"
)

// The scaffolded service builds, vets and passes its tests with no edits.
func TestServiceNew_buildsAndTests(t *testing.T) {
	t.Parallel()
	src := acctest.RepoRoot()
	if _, err := os.Stat(filepath.Join(src, "bin", "buf")); err != nil {
		t.Fatalf("bin/buf missing: run `make tools` first (%v)", err)
	}
	dst := t.TempDir()
	// The services tree is self-contained: services/, proto/, the buf
	// configuration and the Go module files are all it needs.
	for _, p := range []string{"services", "proto", "go.mod", "go.sum", "buf.yaml", "buf.gen.yaml", "bin/buf", "bin/protoc-gen-go", "bin/protoc-gen-connect-go"} {
		cp := exec.Command("cp", "-r", filepath.Join(src, p), filepath.Join(dst, p))
		os.MkdirAll(filepath.Dir(filepath.Join(dst, p)), 0o755)
		if out, err := cp.CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v\n%s", p, err, out)
		}
	}
	out, err := runCtl(t, "service", "new", "billing", "--repo", dst)
	if err != nil {
		t.Fatalf("service new: %v\n%s", err, out)
	}
	for _, want := range []string{"services/billing/service.tf", "proto/billing/grpc/v1/billing.proto", "services/billing/cmd/billing/main.go", "generated services/internal/gen/billing"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	catalog, _ := os.ReadFile(filepath.Join(dst, "services", "services.tf"))
	if !regexp.MustCompile(`billing\s+= module.billing.declaration`).Match(catalog) || !strings.Contains(string(catalog), `module "billing" { source = "./billing" }`) {
		t.Errorf("catalog not updated:\n%s", catalog)
	}
	for _, args := range [][]string{{"vet", "./services/billing/..."}, {"test", "-count=1", "./services/billing/..."}} {
		c := exec.Command("go", args...)
		c.Dir = dst
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	// The catalog with the new service is valid Terraform: every environment
	// that uses it plans the new service.
	for _, args := range [][]string{{"init", "-backend=false", "-input=false"}, {"validate"}} {
		c := exec.Command(filepath.Join(src, "bin", "terraform"), args...)
		c.Dir = filepath.Join(dst, "services")
		c.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(src, ".pivot", "terraformrc"), "CHECKPOINT_DISABLE=1")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("terraform %v: %v\n%s", args, err, out)
		}
	}
	fmtCheck := exec.Command(filepath.Join(src, "bin", "terraform"), "fmt", "-check", "-recursive", ".")
	fmtCheck.Dir = filepath.Join(dst, "services")
	if out, err := fmtCheck.CombinedOutput(); err != nil {
		t.Fatalf("terraform fmt -check: %v\n%s", err, out)
	}
	if out, err := runCtl(t, "lint", "proto", "--repo", dst); err != nil {
		t.Fatalf("lint proto: %v\n%s", err, out)
	}
	if out, err := runCtl(t, "service", "new", "billing", "--repo", dst); err == nil || !strings.Contains(err.Error(), "is taken") {
		t.Fatalf("second scaffold: %v\n%s", err, out)
	}
	if _, err := runCtl(t, "service", "new", "bad-name", "--repo", dst); err == nil || !strings.Contains(err.Error(), "lowercase letters and digits") {
		t.Fatalf("bad name: %v", err)
	}
}
