package repo

import (
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// DeclaredSecrets returns, per service, the secrets its declaration lists
// (`secrets = [...]` in output "declaration" of services/<name>/service.tf):
// the parameters an operator puts in each environment before its first
// apply, /<environment>/<service>/<NAME>.
func DeclaredSecrets(root string) (map[string][]string, error) {
	names, err := Services(root)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, name := range names {
		p, err := DeclarationPath(root, name)
		if err != nil {
			return nil, err
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		secrets, err := declaredSecrets(p, src)
		if err != nil {
			return nil, err
		}
		if len(secrets) > 0 {
			out[name] = secrets
		}
	}
	return out, nil
}

func declaredSecrets(filename string, src []byte) ([]string, error) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse %s: %s", filename, diags.Error())
	}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "output" || len(b.Labels) != 1 || b.Labels[0] != "declaration" {
			continue
		}
		value, ok := b.Body.Attributes["value"]
		if !ok {
			continue
		}
		obj, ok := value.Expr.(*hclsyntax.ObjectConsExpr)
		if !ok {
			return nil, fmt.Errorf("%s: the declaration's value is not an object", filename)
		}
		for _, item := range obj.Items {
			key, diags := item.KeyExpr.Value(nil)
			if diags.HasErrors() || key.AsString() != "secrets" {
				continue
			}
			v, diags := item.ValueExpr.Value(nil)
			if diags.HasErrors() {
				return nil, fmt.Errorf("%s: secrets must be a list of literal names: %s", filename, diags.Error())
			}
			var names []string
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				names = append(names, e.AsString())
			}
			return names, nil
		}
	}
	return nil, nil
}
