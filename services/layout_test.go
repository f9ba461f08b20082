// Package services_test enforces the layout rules of every service: the
// dependency direction ports -> app -> domain <- adapters, a domain free of
// transport and storage libraries, and protos that never import another
// service's messages.
package services_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/pivotapp/platform/services/"

// forbidden lists, per layer, import path fragments the layer must not use.
var forbidden = map[string][]string{
	"domain": {
		"google.golang.org/protobuf", "github.com/jackc/pgx", "github.com/nats-io", "connectrpc.com",
		module + "internal/gen", module + "kit", "/internal/app", "/internal/ports", "/internal/adapters", "/internal/service",
	},
	"app": {
		"google.golang.org/protobuf", "github.com/jackc/pgx", "github.com/nats-io", "connectrpc.com",
		module + "internal/gen", "/internal/ports", "/internal/adapters", "/internal/service",
	},
	"ports":    {"github.com/jackc/pgx", "github.com/nats-io", "/internal/adapters", "/internal/service"},
	"adapters": {"/internal/app", "/internal/ports", "/internal/service"},
}

func TestLayering(t *testing.T) {
	services, err := filepath.Glob("*/internal")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, internal := range services {
		for layer, banned := range forbidden {
			root := filepath.Join(internal, layer)
			_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
					return nil
				}
				f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
				if err != nil {
					t.Error(err)
					return nil
				}
				checked++
				for _, imp := range f.Imports {
					p, _ := strconv.Unquote(imp.Path.Value)
					for _, b := range banned {
						if strings.Contains(p, b) {
							t.Errorf("%s (%s layer) imports %s", path, layer, p)
						}
					}
				}
				return nil
			})
		}
	}
	if checked == 0 {
		t.Fatal("no files checked; has the layout moved?")
	}
}

var protoImport = regexp.MustCompile(`^import\s+(?:public\s+|weak\s+)?"([^"]+)";`)

func TestProtosImportNoOtherService(t *testing.T) {
	files, err := filepath.Glob("../proto/*/*/v*/*.proto")
	if err != nil || len(files) == 0 {
		t.Fatalf("no protos found: %v", err)
	}
	for _, file := range files {
		owner := strings.Split(filepath.ToSlash(strings.TrimPrefix(file, "../proto/")), "/")[0]
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			m := protoImport.FindStringSubmatch(strings.TrimSpace(sc.Text()))
			if m == nil {
				continue
			}
			if !strings.HasPrefix(m[1], "google/protobuf/") && !strings.HasPrefix(m[1], owner+"/") {
				t.Errorf("%s imports %s: a service's proto must not import another service's messages", file, m[1])
			}
		}
		f.Close()
	}
}
