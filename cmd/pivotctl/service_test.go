package main

import (
	"os"
	"os/exec"
	"path/filepath"
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
	if !strings.Contains(string(catalog), `billing = module.billing.declaration`) || !strings.Contains(string(catalog), `module "billing" { source = "./billing" }`) {
		t.Errorf("catalog not updated:\n%s", catalog)
	}
	for _, args := range [][]string{{"vet", "./services/billing/..."}, {"test", "-count=1", "./services/billing/..."}} {
		c := exec.Command("go", args...)
		c.Dir = dst
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
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
