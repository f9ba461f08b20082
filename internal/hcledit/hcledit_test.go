package hcledit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const oddDeclaration = `# messenger's deployment declaration.
#   CI bumps image_tag; everything else is reviewed by hand.

locals {
  # the tag CI writes
  image_tag   =    "1111111111111111111111111111111111111111"   # keep me
  cpu = 256 // odd spacing on purpose
}

output "declaration" {
  value = { name = "messenger",   image_tag = local.image_tag }
}
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBumpImageTag_changesExactlyOneToken(t *testing.T) {
	t.Parallel()
	p := writeTemp(t, "service.tf", oddDeclaration)
	sha := "2222222222222222222222222222222222222222"
	changed, err := BumpImageTag(p, sha)
	if err != nil || !changed {
		t.Fatalf("bump: changed=%v err=%v", changed, err)
	}
	got, _ := os.ReadFile(p)
	want := strings.Replace(oddDeclaration, "1111111111111111111111111111111111111111", sha, 1)
	if string(got) != want {
		t.Fatalf("bump changed more than the tag:\n--- got\n%s\n--- want\n%s", got, want)
	}
	// Idempotent: the same SHA again leaves the file as it is.
	changed, err = BumpImageTag(p, sha)
	if err != nil || changed {
		t.Fatalf("second bump: changed=%v err=%v", changed, err)
	}
	again, _ := os.ReadFile(p)
	if string(again) != want {
		t.Fatal("second bump rewrote the file")
	}
	if tag, err := ImageTag(p); err != nil || tag != sha {
		t.Fatalf("ImageTag = %q, %v", tag, err)
	}
}

func TestBumpImageTag_rejects(t *testing.T) {
	t.Parallel()
	p := writeTemp(t, "service.tf", oddDeclaration)
	for _, sha := range []string{"abc123", "ZZZZ222222222222222222222222222222222222", "2222222222222222222222222222222222222222 ", ""} {
		if _, err := BumpImageTag(p, sha); err == nil || !strings.Contains(err.Error(), "not a full git commit SHA") {
			t.Errorf("%q: got %v", sha, err)
		}
	}
	expr := writeTemp(t, "service.tf", "locals {\n  image_tag = var.tag\n}\n")
	if _, err := BumpImageTag(expr, "2222222222222222222222222222222222222222"); err == nil || !strings.Contains(err.Error(), "must be a string literal") {
		t.Errorf("expression tag: got %v", err)
	}
	none := writeTemp(t, "service.tf", "locals {\n  cpu = 1\n}\n")
	if _, err := BumpImageTag(none, "2222222222222222222222222222222222222222"); err == nil || !strings.Contains(err.Error(), "no `locals { image_tag") {
		t.Errorf("missing tag: got %v", err)
	}
	broken := writeTemp(t, "service.tf", "locals {\n  image_tag = \n")
	if _, err := BumpImageTag(broken, "2222222222222222222222222222222222222222"); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Errorf("broken file: got %v", err)
	}
}

const tenantsFile = `# Enterprise tenants: one entry each. pivotctl tenant add writes here.
locals {
  tenants = {
    # Acme signed in 2026.
    acme = {
      account_id          = "111111111111"
      region              = "eu-west-1"
      deletion_protection = true
    }
  }
}
`

func TestTenants_addListRemove(t *testing.T) {
	t.Parallel()
	p := writeTemp(t, "tenants.tf", tenantsFile)
	if err := AddTenant(p, Tenant{Name: "globex", AccountID: "222222222222", Region: "us-east-1", Domain: "globex.pivot.app"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(got), "# Enterprise tenants: one entry each. pivotctl tenant add writes here.\nlocals {\n  tenants = {\n    # Acme signed in 2026.\n    acme = {") {
		t.Fatalf("existing entry or comments changed:\n%s", got)
	}
	ts, err := ListTenants(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[1].Name != "globex" || ts[1].AccountID != "222222222222" || ts[1].Domain != "globex.pivot.app" || !ts[1].DeletionProtection {
		t.Fatalf("tenants = %+v", ts)
	}

	for _, tc := range []struct {
		t    Tenant
		want string
	}{
		{Tenant{Name: "acme", AccountID: "333333333333", Region: "eu-west-1"}, `tenant "acme" already exists`},
		{Tenant{Name: "initech", AccountID: "111111111111", Region: "eu-west-1"}, "account 111111111111 already belongs to tenant \"acme\""},
		{Tenant{Name: "Bad_Name", AccountID: "444444444444", Region: "eu-west-1"}, "is not DNS-safe"},
		{Tenant{Name: "ok", AccountID: "12345", Region: "eu-west-1"}, "is not a 12-digit AWS account ID"},
		{Tenant{Name: "ok", AccountID: "444444444444", Region: "mars"}, "is not an AWS region"},
	} {
		if err := AddTenant(p, tc.t); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: want %q, got %v", tc.t, tc.want, err)
		}
	}

	if err := RemoveTenant(p, "acme"); err == nil || !strings.Contains(err.Error(), "deletion_protection = true") {
		t.Fatalf("protected removal: %v", err)
	}
	// Lower the guard by hand, as the reviewed change would.
	src, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(src), "deletion_protection = true\n    }\n    globex", "deletion_protection = false\n    }\n    globex", 1)), 0o644)
	if err := RemoveTenant(p, "acme"); err != nil {
		t.Fatal(err)
	}
	ts, _ = ListTenants(p)
	if len(ts) != 1 || ts[0].Name != "globex" {
		t.Fatalf("after remove: %+v", ts)
	}
	after, _ := os.ReadFile(p)
	if strings.Contains(string(after), "Acme signed") {
		t.Errorf("the removed entry's comment stayed:\n%s", after)
	}
	if err := RemoveTenant(p, "nobody"); err == nil {
		t.Error("removing an unknown tenant should fail")
	}
}

func TestAddTenant_layout(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ in, want string }{
		"empty map": {"locals {\n  tenants = {}\n}\n", "locals {\n  tenants = {\n    globex = {\n      account_id          = \"222222222222\"\n      region              = \"us-east-1\"\n      deletion_protection = true\n    }\n  }\n}\n"},
		"one entry": {"locals {\n  tenants = {\n    acme = {\n      account_id = \"111111111111\"\n      region     = \"eu-west-1\"\n    }\n  }\n}\n",
			"locals {\n  tenants = {\n    acme = {\n      account_id = \"111111111111\"\n      region     = \"eu-west-1\"\n    }\n    globex = {\n      account_id          = \"222222222222\"\n      region              = \"us-east-1\"\n      deletion_protection = true\n    }\n  }\n}\n"},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeTemp(t, "tenants.tf", tc.in)
			if err := AddTenant(p, Tenant{Name: "globex", AccountID: "222222222222", Region: "us-east-1"}); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
