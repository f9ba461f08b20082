// Package protolint checks the proto tree's house rules that buf cannot:
// versioned paths proto/<service>/{grpc,nats,connect}/v<N>/, packages that
// match them, and no service importing another service's messages.
package protolint

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

var (
	pathRe    = regexp.MustCompile(`^([a-z][a-z0-9]*)/(grpc|nats|connect)/v([1-9][0-9]*)/[a-z0-9_]+\.proto$`)
	importRe  = regexp.MustCompile(`^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;`)
	packageRe = regexp.MustCompile(`^\s*package\s+([a-zA-Z0-9_.]+)\s*;`)
)

// Problem is one rule broken in one file.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// Check walks protoRoot (the folder holding one folder per service).
func Check(protoRoot string) ([]Problem, error) {
	var problems []Problem
	err := filepath.WalkDir(protoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || filepath.Ext(p) != ".proto" {
			return nil
		}
		rel, _ := filepath.Rel(protoRoot, p)
		rel = filepath.ToSlash(rel)
		shown := filepath.ToSlash(filepath.Join(filepath.Base(protoRoot), rel))
		m := pathRe.FindStringSubmatch(rel)
		if m == nil {
			problems = append(problems, Problem{File: shown, Message: "not at a versioned path: move it to proto/<service>/{grpc,nats,connect}/v<N>/<name>.proto"})
			return nil
		}
		service, kind, version := m[1], m[2], m[3]
		wantPkg := fmt.Sprintf("%s.%s.v%s", service, kind, version)
		fp, err := fileProblems(p, shown, service, wantPkg)
		if err != nil {
			return err
		}
		problems = append(problems, fp...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", protoRoot, err)
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].String() < problems[j].String() })
	return problems, nil
}

func fileProblems(path, shown, service, wantPkg string) ([]Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Problem
	sawPackage := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := packageRe.FindStringSubmatch(line); m != nil {
			sawPackage = true
			if m[1] != wantPkg {
				out = append(out, Problem{File: shown, Line: n, Message: fmt.Sprintf("package %s does not match its path: want package %s;", m[1], wantPkg)})
			}
		}
		m := importRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		imp := m[1]
		if strings.HasPrefix(imp, "google/") || strings.HasPrefix(imp, "buf/") {
			continue
		}
		owner := strings.SplitN(imp, "/", 2)[0]
		if owner != service {
			out = append(out, Problem{File: shown, Line: n, Message: fmt.Sprintf("imports %q, another service's messages: copy the fields you need or store the ID (don't cross models)", imp)})
		}
	}
	if !sawPackage {
		out = append(out, Problem{File: shown, Message: "no package declaration: want package " + wantPkg + ";"})
	}
	return out, sc.Err()
}
