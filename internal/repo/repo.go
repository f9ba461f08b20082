// Package repo knows the project's file conventions: where a service's
// deployment declaration lives, where tenants are listed, and which paths
// belong to which service.
package repo

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Paths inside the repository.
const (
	ServicesDir     = "services"
	ProtoDir        = "proto"
	DeclarationFile = "service.tf"
	TenantsFile     = "envs/tenants/tenants.tf"
)

// Shared code under services/: a change there affects every service. Other
// folders without a declaration (compose, e2e, bench) affect none.
var sharedServiceDirs = map[string]bool{"kit": true, "internal": true}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)

// ValidateServiceName checks a service name (DNS-safe, used in hostnames,
// parameter paths and IAM role names).
func ValidateServiceName(name string) error {
	if !serviceName.MatchString(name) {
		return fmt.Errorf("service name %q is not valid: use 2-32 lowercase letters, digits and hyphens, starting with a letter", name)
	}
	return nil
}

// Root finds the repository root from dir: the nearest folder with go.mod.
func Root(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("not inside the platform repository (no go.mod found above the current folder); use --repo")
		}
		d = parent
	}
}

// Services lists the services that have a deployment declaration.
func Services(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, ServicesDir))
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, ServicesDir, e.Name(), DeclarationFile)); err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// DeclarationPath returns a known service's declaration file, or an error
// listing the services there are.
func DeclarationPath(root, service string) (string, error) {
	if err := ValidateServiceName(service); err != nil {
		return "", err
	}
	p := filepath.Join(root, ServicesDir, service, DeclarationFile)
	if _, err := os.Stat(p); err != nil {
		known, _ := Services(root)
		return "", fmt.Errorf("unknown service %q: no %s; known services: %s", service, filepath.Join(ServicesDir, service, DeclarationFile), strings.Join(known, ", "))
	}
	return p, nil
}

// Affected maps changed paths to the services they affect. A change to the
// shared kit, the Go module or the service module affects every service.
func Affected(root string, changed []string) ([]string, error) {
	all, err := Services(root)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, s := range all {
		known[s] = true
	}
	set := map[string]bool{}
	for _, p := range changed {
		parts := strings.Split(filepath.ToSlash(p), "/")
		switch {
		case len(parts) >= 2 && parts[0] == ServicesDir && sharedServiceDirs[parts[1]],
			p == "go.mod" || p == "go.sum",
			len(parts) >= 2 && parts[0] == "modules" && parts[1] == "service":
			for _, s := range all {
				set[s] = true
			}
		case len(parts) >= 3 && (parts[0] == ServicesDir || parts[0] == ProtoDir) && known[parts[1]]:
			set[parts[1]] = true
		}
	}
	var out []string
	for _, s := range all {
		if set[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// ChangedFiles lists files changed between base and HEAD (merge-base diff,
// as a pull request sees it) plus uncommitted changes.
func ChangedFiles(root, base string) ([]string, error) {
	out, err := git(root, "diff", "--name-only", base+"...HEAD")
	if err != nil {
		return nil, err
	}
	wt, err := git(root, "diff", "--name-only", "HEAD")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var files []string
	for _, l := range strings.Split(out+"\n"+wt, "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			files = append(files, l)
		}
	}
	return files, nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
