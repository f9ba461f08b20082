package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const declaration = `# Deployment declaration.
locals {
  image_tag = "1111111111111111111111111111111111111111" # bumped by CI
}
`

// fakeRepo lays out the files pivotctl reads, in a git repository.
func fakeRepo(t *testing.T, services ...string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                  "module example.com/platform\n",
		"envs/tenants/tenants.tf": "locals {\n  tenants = {}\n}\n",
		"services/kit/kit.go":     "package kit\n",
	}
	for _, s := range services {
		files["services/"+s+"/service.tf"] = declaration
		files["services/"+s+"/main.go"] = "package main\n"
		files["proto/"+s+"/grpc/v1/"+s+".proto"] = "syntax = \"proto3\";\npackage " + s + ".grpc.v1;\n"
	}
	for rel, content := range files {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun(t, root, "init", "-q", "-b", "main")
	gitRun(t, root, "add", "-A")
	gitRun(t, root, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
	return root
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestImageBump(t *testing.T) {
	t.Parallel()
	root := fakeRepo(t, "messenger", "friend")
	sha := "abcdefabcdefabcdefabcdefabcdefabcdefabcd"
	out, err := runCtl(t, "image", "bump", "messenger", sha, "--repo", root)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, _ := os.ReadFile(filepath.Join(root, "services/messenger/service.tf"))
	if string(got) != strings.Replace(declaration, "1111111111111111111111111111111111111111", sha, 1) {
		t.Fatalf("declaration:\n%s", got)
	}
	out, err = runCtl(t, "image", "bump", "messenger", sha, "--repo", root)
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second bump: %v\n%s", err, out)
	}
	other, _ := os.ReadFile(filepath.Join(root, "services/friend/service.tf"))
	if string(other) != declaration {
		t.Fatal("bumping messenger touched friend")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "bump", "billing", sha}, `unknown service "billing"`},
		{[]string{"image", "bump", "messenger", "abc123"}, "not a full git commit SHA"},
		{[]string{"image", "bump", "Messenger", sha}, "is not valid"},
	} {
		out, err := runCtl(t, append(tc.args, "--repo", root)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error %q, got %v\n%s", tc.args, tc.want, err, out)
		}
	}
}

// Two services' CI jobs bump at once: each touches only its own file.
func TestImageBump_concurrent(t *testing.T) {
	t.Parallel()
	root := fakeRepo(t, "messenger", "friend")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for svc, sha := range map[string]string{"messenger": strings.Repeat("a", 40), "friend": strings.Repeat("b", 40)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := runCtl(t, "image", "bump", svc, sha, "--repo", root); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	out, err := runCtl(t, "image", "show", "--repo", root)
	if err != nil || !strings.Contains(out, "friend           "+strings.Repeat("b", 40)) || !strings.Contains(out, "messenger        "+strings.Repeat("a", 40)) {
		t.Fatalf("show: %v\n%s", err, out)
	}
}

func TestTenant(t *testing.T) {
	t.Parallel()
	root := fakeRepo(t)
	// A service with a secret: `tenant add` lists it for the operator.
	os.MkdirAll(filepath.Join(root, "services", "friend"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "services", "friend", "service.tf"), []byte(declaration+`output "declaration" { value = { name = "friend", secrets = ["JWT_HS256_SECRET"] } }`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCtl(t, "tenant", "add", "acme", "--account-id", "111111111111", "--region", "eu-west-1", "--repo", root)
	if err != nil || !strings.Contains(out, "tenant_nats_passwords = { acme") || !strings.Contains(out, "/acme/friend/JWT_HS256_SECRET") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "add", "acme", "--account-id", "222222222222", "--region", "eu-west-1"}, `tenant "acme" already exists`},
		{[]string{"tenant", "add", "other", "--account-id", "111111111111", "--region", "eu-west-1"}, "already belongs to tenant"},
		{[]string{"tenant", "add", "other", "--account-id", "1234", "--region", "eu-west-1"}, "12-digit"},
		{[]string{"tenant", "add", "Not_DNS", "--account-id", "333333333333", "--region", "eu-west-1"}, "DNS-safe"},
		{[]string{"tenant", "add", "other", "--region", "eu-west-1"}, `required flag(s) "account-id" not set`},
		{[]string{"tenant", "remove", "acme"}, "deletion_protection = true"},
	} {
		out, err := runCtl(t, append(tc.args, "--repo", root)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: want error %q, got %v\n%s", tc.args, tc.want, err, out)
		}
	}
	out, err = runCtl(t, "tenant", "list", "--repo", root)
	if err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "111111111111") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runCtl(t, "tenant", "list", "--json", "--repo", root)
	if err != nil || strings.TrimSpace(out) != `["acme"]` {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
}

func TestAffected(t *testing.T) {
	t.Parallel()
	root := fakeRepo(t, "messenger", "friend", "notifier")
	os.WriteFile(filepath.Join(root, "proto/friend/grpc/v1/friend.proto"), []byte("syntax = \"proto3\";\npackage friend.grpc.v1;\n// changed\n"), 0o644)
	out, err := runCtl(t, "affected", "--base", "HEAD", "--repo", root)
	if err != nil || strings.TrimSpace(out) != "friend" {
		t.Fatalf("proto change: %v\n%q", err, out)
	}
	os.WriteFile(filepath.Join(root, "services/kit/kit.go"), []byte("package kit\n// changed\n"), 0o644)
	out, err = runCtl(t, "affected", "--base", "HEAD", "--json", "--repo", root)
	if err != nil || strings.TrimSpace(out) != `["friend","messenger","notifier"]` {
		t.Fatalf("kit change: %v\n%q", err, out)
	}
}

func TestLintProto(t *testing.T) {
	t.Parallel()
	root := fakeRepo(t, "messenger", "friend")
	if out, err := runCtl(t, "lint", "proto", "--repo", root); err != nil {
		t.Fatalf("clean tree: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(root, "proto/friend/grpc/v1/friend.proto"), []byte("syntax = \"proto3\";\npackage friend.grpc.v1;\nimport \"messenger/grpc/v1/messenger.proto\";\n"), 0o644)
	out, err := runCtl(t, "lint", "proto", "--repo", root)
	if err == nil || !strings.Contains(out, "another service's messages") {
		t.Fatalf("cross import: %v\n%s", err, out)
	}
}
