package hcledit

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// CatalogOutput is the services catalog's output listing every declaration.
const CatalogOutput = "declarations"

// AddCatalogEntry adds a service to services/services.tf: a module block
// for its folder, and its declaration in the declarations output map.
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
		if b.Type == "output" && len(b.Labels) == 1 && b.Labels[0] == CatalogOutput {
			if a, ok := b.Body.Attributes["value"]; ok {
				obj, _ = a.Expr.(*hclsyntax.ObjectConsExpr)
			}
		}
	}
	if obj == nil {
		return fmt.Errorf("%s: no `output %q { value = { ... } }` map to add to", path, CatalogOutput)
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
	out = append(bytes.TrimRight(out, "\n"), []byte(fmt.Sprintf("\n\nmodule %q { source = \"./%s\" }\n", name, name))...)
	return writeAtomic(path, out)
}
