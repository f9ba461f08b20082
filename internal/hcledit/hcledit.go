// Package hcledit makes the small, reviewable edits pivotctl makes to
// Terraform files: bump one service's image tag, add or remove one tenant.
// Edits are located with the HCL parser and spliced into the original bytes,
// so every other byte of the file (comments, odd formatting) survives.
package hcledit

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ImageTagAttribute is the locals attribute CI bumps in a service's
// declaration file.
const ImageTagAttribute = "image_tag"

// ErrNotFound is returned when the thing to edit is absent.
var ErrNotFound = errors.New("not found")

var gitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ValidateGitSHA accepts a full, lowercase 40-character commit SHA: tags are
// immutable references to a commit, and short SHAs can become ambiguous.
func ValidateGitSHA(sha string) error {
	if !gitSHA.MatchString(sha) {
		return fmt.Errorf("%q is not a full git commit SHA: want 40 lowercase hex characters (e.g. the output of `git rev-parse HEAD`)", sha)
	}
	return nil
}

// parse reads and parses an HCL file, reporting syntax errors with positions.
func parse(path string) (*hclsyntax.Body, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, nil, fmt.Errorf("parse %s: %s", path, diags.Error())
	}
	return f.Body.(*hclsyntax.Body), src, nil
}

// localsAttr finds the single `locals { <name> = ... }` attribute.
func localsAttr(body *hclsyntax.Body, path, name string) (*hclsyntax.Attribute, error) {
	var found *hclsyntax.Attribute
	for _, b := range body.Blocks {
		if b.Type != "locals" {
			continue
		}
		if a, ok := b.Body.Attributes[name]; ok {
			if found != nil {
				return nil, fmt.Errorf("%s: %s is set in two locals blocks", path, name)
			}
			found = a
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s: no `locals { %s = ... }` to edit: %w", path, name, ErrNotFound)
	}
	return found, nil
}

// BumpImageTag sets locals.image_tag in a declaration file, changing only
// that string token. It reports whether the file changed; a second run with
// the same SHA changes nothing.
func BumpImageTag(path, sha string) (bool, error) {
	if err := ValidateGitSHA(sha); err != nil {
		return false, err
	}
	body, src, err := parse(path)
	if err != nil {
		return false, err
	}
	a, err := localsAttr(body, path, ImageTagAttribute)
	if err != nil {
		return false, err
	}
	cur, ok := literalString(a.Expr)
	if !ok {
		return false, fmt.Errorf("%s: %s must be a string literal, not an expression, so CI can bump it", path, ImageTagAttribute)
	}
	if cur == sha {
		return false, nil
	}
	r := a.Expr.Range()
	out := splice(src, r.Start.Byte, r.End.Byte, strconv.Quote(sha))
	return true, writeAtomic(path, out)
}

// ImageTag returns locals.image_tag of a declaration file.
func ImageTag(path string) (string, error) {
	body, _, err := parse(path)
	if err != nil {
		return "", err
	}
	a, err := localsAttr(body, path, ImageTagAttribute)
	if err != nil {
		return "", err
	}
	s, ok := literalString(a.Expr)
	if !ok {
		return "", fmt.Errorf("%s: %s is not a string literal", path, ImageTagAttribute)
	}
	return s, nil
}

func literalString(expr hclsyntax.Expression) (string, bool) {
	tmpl, ok := expr.(*hclsyntax.TemplateExpr)
	if !ok || !tmpl.IsStringLiteral() {
		return "", false
	}
	v, diags := tmpl.Value(nil)
	if diags.HasErrors() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

func splice(src []byte, start, end int, with string) []byte {
	out := make([]byte, 0, len(src)-(end-start)+len(with))
	out = append(out, src[:start]...)
	out = append(out, with...)
	return append(out, src[end:]...)
}

func writeAtomic(path string, b []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp := path + ".pivotctl.tmp"
	if err := os.WriteFile(tmp, b, st.Mode().Perm()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
