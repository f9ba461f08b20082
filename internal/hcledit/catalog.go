package hcledit

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// CatalogOutput is the services catalog's output listing every declaration;
// CatalogLocal the local map it is built from (so that the output's
// precondition can check the declarations against each other).
const (
	CatalogOutput = "declarations"
	CatalogLocal  = "declared"
)

// AddCatalogEntry adds a service to services/services.tf: a module block
// for its folder, and its declaration in the declarations map (the local
// `declared`, or the output's value when it is a literal map).
func AddCatalogEntry(path, name string) error {
	body, src, err := parse(path)
	if err != nil {
		return err
	}
	for _, b := range body.Blocks {
		if b.Type == "module" && len(b.Labels) == 1 && b.Labels[0] == name {
			return fmt.Errorf("%s: module %q is already in the catalog", path, name)
		}
	}
	var obj *hclsyntax.ObjectConsExpr
	for _, b := range body.Blocks {
		var a *hclsyntax.Attribute
		switch {
		case b.Type == "locals":
			a = b.Body.Attributes[CatalogLocal]
		case b.Type == "output" && len(b.Labels) == 1 && b.Labels[0] == CatalogOutput:
			a = b.Body.Attributes["value"]
		}
		if a == nil {
			continue
		}
		if o, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
			obj = o
		}
	}
	if obj == nil {
		return fmt.Errorf("%s: no `locals { %s = { ... } }` or `output %q { value = { ... } }` map to add to", path, CatalogLocal, CatalogOutput)
	}
	closeAt := obj.Range().End.Byte - 1
	lineStart := bytes.LastIndexByte(src[:closeAt], '\n') + 1
	prefix := string(src[lineStart:closeAt])
	lineIndent := prefix[:len(prefix)-len(strings.TrimLeft(prefix, " \t"))]
	entry := fmt.Sprintf("%s  %s = module.%s.declaration\n", lineIndent, name, name)
	var out []byte
	if strings.TrimSpace(prefix) == "" {
		out = splice(src, lineStart, lineStart, entry)
	} else {
		out = splice(src, closeAt, closeAt, "\n"+entry+lineIndent)
	}
	// The module line goes after the last module line, keeping the catalog's
	// two lists side by side.
	line := fmt.Sprintf("module %q { source = \"./%s\" }\n", name, name)
	lastModuleEnd := -1
	for _, b := range body.Blocks {
		if b.Type == "module" && b.Range().End.Byte > lastModuleEnd {
			lastModuleEnd = b.Range().End.Byte
		}
	}
	if lastModuleEnd >= 0 && lastModuleEnd < obj.Range().Start.Byte {
		at := lastModuleEnd
		if nl := bytes.IndexByte(src[at:], '\n'); nl >= 0 {
			at += nl + 1
		}
		// Byte offsets before the output are unchanged by the map edit.
		out = splice(out, at, at, line)
	} else {
		out = append(bytes.TrimRight(out, "\n"), []byte("\n\n"+line)...)
	}
	// Realign the map's equals signs as terraform fmt would; the catalog has
	// no hand formatting worth keeping.
	return writeAtomic(path, hclwrite.Format(out))
}
