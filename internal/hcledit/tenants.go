package hcledit

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TenantsAttribute is the locals attribute holding the tenants map.
const TenantsAttribute = "tenants"

// Tenant is one entry of the tenants map.
type Tenant struct {
	Name               string
	AccountID          string
	Region             string
	Domain             string
	DeletionProtection bool
}

var (
	tenantName = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`)
	accountID  = regexp.MustCompile(`^[0-9]{12}$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	domainName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// Validate checks a tenant entry on its own.
func (t Tenant) Validate() error {
	var errs []string
	if !tenantName.MatchString(t.Name) {
		errs = append(errs, fmt.Sprintf("name %q is not DNS-safe: use 1-32 lowercase letters, digits and hyphens, starting with a letter", t.Name))
	}
	if !accountID.MatchString(t.AccountID) {
		errs = append(errs, fmt.Sprintf("--account-id %q is not a 12-digit AWS account ID", t.AccountID))
	}
	if !regionName.MatchString(t.Region) {
		errs = append(errs, fmt.Sprintf("--region %q is not an AWS region such as eu-west-1", t.Region))
	}
	if t.Domain != "" && !domainName.MatchString(t.Domain) {
		errs = append(errs, fmt.Sprintf("--domain %q is not a DNS name such as acme.pivot.app", t.Domain))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid tenant: %s", strings.Join(errs, "; "))
	}
	return nil
}

// tenantsMap finds `locals { tenants = { ... } }` as an object literal.
func tenantsMap(body *hclsyntax.Body, path string) (*hclsyntax.ObjectConsExpr, error) {
	a, err := localsAttr(body, path, TenantsAttribute)
	if err != nil {
		return nil, err
	}
	obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil, fmt.Errorf("%s: %s must be a { ... } map literal", path, TenantsAttribute)
	}
	return obj, nil
}

// ListTenants reads the tenants map.
func ListTenants(path string) ([]Tenant, error) {
	body, _, err := parse(path)
	if err != nil {
		return nil, err
	}
	obj, err := tenantsMap(body, path)
	if err != nil {
		return nil, err
	}
	v, diags := obj.Value(nil)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: the tenants map must hold literal values: %s", path, diags.Error())
	}
	var out []Tenant
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		t := Tenant{Name: k.AsString(), DeletionProtection: true}
		if !e.Type().IsObjectType() {
			return nil, fmt.Errorf("%s: tenant %s must be an object", path, t.Name)
		}
		str := func(name string) string {
			if e.Type().HasAttribute(name) {
				if s := e.GetAttr(name); !s.IsNull() && s.Type() == cty.String {
					return s.AsString()
				}
			}
			return ""
		}
		t.AccountID, t.Region, t.Domain = str("account_id"), str("region"), str("domain")
		if e.Type().HasAttribute("deletion_protection") {
			if b := e.GetAttr("deletion_protection"); !b.IsNull() && b.Type() == cty.Bool {
				t.DeletionProtection = b.True()
			}
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// AddTenant appends an entry to the tenants map, refusing duplicates of
// name or account. Existing entries and comments are left untouched.
func AddTenant(path string, t Tenant) error {
	if err := t.Validate(); err != nil {
		return err
	}
	existing, err := ListTenants(path)
	if err != nil {
		return err
	}
	for _, e := range existing {
		if e.Name == t.Name {
			return fmt.Errorf("tenant %q already exists (account %s)", t.Name, e.AccountID)
		}
		if e.AccountID == t.AccountID {
			return fmt.Errorf("account %s already belongs to tenant %q: each tenant has an AWS account of its own", t.AccountID, e.Name)
		}
	}
	body, src, err := parse(path)
	if err != nil {
		return err
	}
	obj, err := tenantsMap(body, path)
	if err != nil {
		return err
	}
	// Insert before the closing brace, one level deeper than the brace's line.
	closeAt := obj.Range().End.Byte - 1
	lineStart := bytes.LastIndexByte(src[:closeAt], '\n') + 1
	prefix := string(src[lineStart:closeAt])
	lineIndent := prefix[:len(prefix)-len(strings.TrimLeft(prefix, " \t"))]
	in := lineIndent + "  "
	var b strings.Builder
	alone := strings.TrimSpace(prefix) == ""
	if alone {
		closeAt = lineStart
	} else {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%s%s = {\n", in, t.Name)
	fmt.Fprintf(&b, "%s  account_id          = %q\n", in, t.AccountID)
	fmt.Fprintf(&b, "%s  region              = %q\n", in, t.Region)
	if t.Domain != "" {
		fmt.Fprintf(&b, "%s  domain              = %q\n", in, t.Domain)
	}
	fmt.Fprintf(&b, "%s  deletion_protection = true\n", in)
	fmt.Fprintf(&b, "%s}\n", in)
	if !alone {
		b.WriteString(lineIndent)
	}
	return writeAtomic(path, splice(src, closeAt, closeAt, b.String()))
}

// RemoveTenant deletes an entry. It refuses while the entry's
// deletion_protection is true, so removal takes two reviewed changes.
func RemoveTenant(path, name string) error {
	existing, err := ListTenants(path)
	if err != nil {
		return err
	}
	var found *Tenant
	for i := range existing {
		if existing[i].Name == name {
			found = &existing[i]
		}
	}
	if found == nil {
		return fmt.Errorf("no tenant %q in %s: %w", name, path, ErrNotFound)
	}
	if found.DeletionProtection {
		return fmt.Errorf("tenant %q has deletion_protection = true: set it to false in %s, apply (so the deployment may be destroyed), then remove the tenant", name, path)
	}
	body, src, err := parse(path)
	if err != nil {
		return err
	}
	obj, err := tenantsMap(body, path)
	if err != nil {
		return err
	}
	for _, item := range obj.Items {
		key, diags := item.KeyExpr.Value(nil)
		if diags.HasErrors() || key.Type() != cty.String || key.AsString() != name {
			continue
		}
		start := item.KeyExpr.Range().Start.Byte
		end := item.ValueExpr.Range().End.Byte
		// Take the whole lines, and the comment lines just above the entry.
		start = bytes.LastIndexByte(src[:start], '\n') + 1
		for start > 0 {
			prev := bytes.LastIndexByte(src[:start-1], '\n') + 1
			line := strings.TrimSpace(string(src[prev : start-1]))
			if !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "//") {
				break
			}
			start = prev
		}
		if nl := bytes.IndexByte(src[end:], '\n'); nl >= 0 {
			end += nl + 1
		}
		return writeAtomic(path, splice(src, start, end, ""))
	}
	return fmt.Errorf("%s: could not locate tenant %q's entry", path, name)
}
