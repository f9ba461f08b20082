package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/cfemu"
)

func testAccDNSRecordConfig(cf *cfemu.Server, apex string) string {
	return acctest.ProviderConfig(acctest.CloudflareBlock(cf)) + fmt.Sprintf(`
resource "pivot_dns_record" "apex" {
  zone = "pivot.app"
  name = "acme"
  type = "CNAME"
%s
}

resource "pivot_dns_record" "txt" {
  zone    = "pivot.app"
  name    = "_acme-challenge.acme.pivot.app"
  type    = "TXT"
  content = "token-123"
  ttl     = 300
}
`, apex)
}

func TestAccDNSRecord_lifecycle(t *testing.T) {
	t.Parallel()
	cf := acctest.Cloudflare(t, "pivot.app")
	ctx := context.Background()
	cfc := cfClient(t, cf)
	const res = "pivot_dns_record.apex"
	var id string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			zone, err := cfc.ZoneID(ctx, "pivot.app")
			if err != nil {
				return err
			}
			recs, err := cfc.Find(ctx, zone, "", "")
			if err != nil || len(recs) > 0 {
				return fmt.Errorf("records left: %d, %w", len(recs), err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: testAccDNSRecordConfig(cf, `
  content = "acme-frontend.pages.dev"
  proxied = true
  comment = "acme frontend"
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("name"), knownvalue.StringExact("acme")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("hostname"), knownvalue.StringExact("acme.pivot.app")),
					statecheck.ExpectKnownValue("pivot_dns_record.txt", tfjsonpath.New("name"), knownvalue.StringExact("_acme-challenge.acme.pivot.app")),
				},
				Check: func(s *terraform.State) error {
					id = s.RootModule().Resources[res].Primary.ID
					rec, err := cnameAt(ctx, cfc, "acme.pivot.app")
					if err != nil {
						return err
					}
					if rec.ID != id || rec.Content != "acme-frontend.pages.dev" || !rec.Proxied || rec.Comment != "acme frontend" {
						return fmt.Errorf("record %+v", rec)
					}
					return nil
				},
			},
			// Import by <zone>/<id>; the name comes back fully qualified.
			{ResourceName: res, ImportState: true, ImportStateIdFunc: func(s *terraform.State) (string, error) {
				return "pivot.app/" + s.RootModule().Resources[res].Primary.ID, nil
			}, ImportStateVerify: true,
				// Configured relative ("acme"); Cloudflare holds only the qualified name.
				ImportStateVerifyIgnore: []string{"name"}},
			// Import by <zone>/<type>/<name>.
			{ResourceName: "pivot_dns_record.txt", ImportState: true, ImportStateId: "pivot.app/TXT/_acme-challenge.acme.pivot.app", ImportStateVerify: true},
			// In place: content, proxying, TTL and comment.
			{
				Config: testAccDNSRecordConfig(cf, `
  content = "acme-frontend-v2.pages.dev"
  ttl     = 600
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					rec, err := cnameAt(ctx, cfc, "acme.pivot.app")
					if err != nil {
						return err
					}
					if rec.ID != id || rec.Content != "acme-frontend-v2.pages.dev" || rec.Proxied || rec.TTL != 600 || rec.Comment != "" {
						return fmt.Errorf("record %+v", rec)
					}
					return nil
				},
			},
			// Drift: content changed out of band is put back.
			{
				PreConfig: func() {
					rec, err := cnameAt(ctx, cfc, "acme.pivot.app")
					if err != nil {
						t.Fatal(err)
					}
					rec.Content = "hijacked.example.com"
					if _, err := cfc.Update(ctx, rec.ZoneID, rec); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccDNSRecordConfig(cf, `
  content = "acme-frontend-v2.pages.dev"
  ttl     = 600
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
			},
			// Deleted out of band: plans as a create.
			{
				PreConfig: func() {
					rec, err := cnameAt(ctx, cfc, "acme.pivot.app")
					if err != nil {
						t.Fatal(err)
					}
					if err := cfc.Delete(ctx, rec.ZoneID, rec.ID); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccDNSRecordConfig(cf, `
  content = "acme-frontend-v2.pages.dev"
  ttl     = 600
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccDNSRecord_validation(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		body string
		want string
	}{
		"wildcard":     {`name = "a.*"` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"", `Invalid Record Name.*label "\*"`},
		"outside zone": {`name = "api.example.com."` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"", `Invalid Record Name.*not inside the zone "pivot.app"`},
		"name chars":   {`name = "acme corp"` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"", `Invalid Record Name.*is not a DNS name`},
		"type":         {`name = "acme"` + "\ntype = \"MX\"\ncontent = \"mail.pivot.app\"", `type.*value must be one of`},
		"a content":    {`name = "acme"` + "\ntype = \"A\"\ncontent = \"2001:db8::1\"", `Invalid Record Content.*not an IPv4 address`},
		"aaaa content": {`name = "acme"` + "\ntype = \"AAAA\"\ncontent = \"203.0.113.7\"", `Invalid Record Content.*not an IPv6 address`},
		"cname":        {`name = "acme"` + "\ntype = \"CNAME\"\ncontent = \"not a host\"", `Invalid Record Content.*points to a hostname`},
		"txt long":     {`name = "acme"` + "\ntype = \"TXT\"\ncontent = \"" + strings.Repeat("x", 2049) + "\"", `Invalid Record Content.*at most 2048`},
		"proxy txt":    {`name = "acme"` + "\ntype = \"TXT\"\ncontent = \"x\"\nproxied = true", `Record Cannot Be Proxied.*only A, AAAA and CNAME`},
		"proxy ttl":    {`name = "acme"` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"\nproxied = true\nttl = 300", `Invalid TTL.*proxied record's TTL is automatic`},
		"ttl":          {`name = "acme"` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"\nttl = 5", `Invalid TTL.*TTL 5 is not one Cloudflare accepts`},
		"zone":         {`name = "acme"` + "\ntype = \"A\"\ncontent = \"203.0.113.7\"\nzone = \"-pivot.app\"", `Invalid Zone`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := tc.body
			if !strings.Contains(body, "zone =") {
				body += "\nzone = \"pivot.app\""
			}
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig() + "resource \"pivot_dns_record\" \"test\" {\n" + body + "\n}\n",
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(`(?s)` + strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
