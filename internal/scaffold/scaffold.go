// Package scaffold creates a new service from the runtime kit: its Go code
// in the ports -> app -> domain <- adapters layout, its versioned proto, its
// Dockerfile and its deployment declaration, and adds it to the services
// catalog so it appears in every environment.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"github.com/pivotapp/platform/internal/hcledit"
)

//go:embed templates/*
var templates embed.FS

// InitialTag is the image tag of a service that was never built: CI
// replaces it on the first push.
const InitialTag = "0000000000000000000000000000000000000000"

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9]{1,30}$`)

// ValidateName checks a new service's name: it becomes a Go package, a
// proto package, a DNS label and part of IAM role names, so only lowercase
// letters and digits.
func ValidateName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("service name %q is not valid: use 2-31 lowercase letters and digits, starting with a letter (it becomes a Go and proto package)", name)
	}
	return nil
}

type data struct {
	Name, Pkg, Title, Lower, Tag string
}

// files maps templates to paths relative to the repository root.
func files(name string) map[string]string {
	return map[string]string{
		"proto.tmpl":           filepath.Join("proto", name, "grpc", "v1", name+".proto"),
		"root.go.tmpl":         filepath.Join("services", name, name+".go"),
		"main.go.tmpl":         filepath.Join("services", name, "cmd", name, "main.go"),
		"service.go.tmpl":      filepath.Join("services", name, "internal", "service", "service.go"),
		"service_test.go.tmpl": filepath.Join("services", name, "internal", "service", "service_test.go"),
		"app.go.tmpl":          filepath.Join("services", name, "internal", "app", "app.go"),
		"query.go.tmpl":        filepath.Join("services", name, "internal", "app", "query", "get_status.go"),
		"domain.go.tmpl":       filepath.Join("services", name, "internal", "domain", "status", "status.go"),
		"ports.go.tmpl":        filepath.Join("services", name, "internal", "ports", "connect.go"),
		"adapters.go.tmpl":     filepath.Join("services", name, "internal", "adapters", "doc.go"),
		"Dockerfile.tmpl":      filepath.Join("services", name, "Dockerfile"),
		"service.tf.tmpl":      filepath.Join("services", name, "service.tf"),
	}
}

// New writes the service's files under root and adds it to the catalog
// (services/services.tf). It refuses a name that is taken and writes
// nothing in that case. It returns the files it created.
func New(root, name string) ([]string, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	for _, dir := range []string{filepath.Join("services", name), filepath.Join("proto", name)} {
		if _, err := os.Stat(filepath.Join(root, dir)); err == nil {
			return nil, fmt.Errorf("%s already exists: service %q is taken", dir, name)
		}
	}
	catalog := filepath.Join(root, "services", "services.tf")
	if _, err := os.Stat(catalog); err != nil {
		return nil, fmt.Errorf("no services catalog at services/services.tf: %w", err)
	}
	d := data{Name: name, Pkg: name, Title: strings.ToUpper(name[:1]) + name[1:], Lower: name, Tag: InitialTag}
	var created []string
	for tmpl, rel := range files(name) {
		out, err := render(tmpl, d)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, out, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", rel, err)
		}
		created = append(created, rel)
	}
	if err := hcledit.AddCatalogEntry(catalog, name); err != nil {
		return created, fmt.Errorf("add %s to the catalog: %w", name, err)
	}
	return created, nil
}

func render(name string, d data) ([]byte, error) {
	src, err := templates.ReadFile("templates/" + name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// ErrExists is returned for a service that already exists.
var ErrExists = errors.New("service exists")
