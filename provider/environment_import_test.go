package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/pivotapp/platform/internal/acctest"
)

// Malformed import identifiers are refused with the expected format.
func TestAccEnvironmentResources_importIdentifiers(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		resource, body, id, want string
	}{
		"environment":      {"pivot_environment", `name = "staging"` + "\nnats = { url = \"nats://n:4222\" }", "Staging", `Expected an environment name such as staging`},
		"aurora cluster":   {"pivot_aurora_cluster", `identifier = "staging"`, "Staging_DB", `Expected a cluster identifier such as staging`},
		"service database": {"pivot_service_database", "environment = \"staging\"\nservice = \"ledger\"\nwriter_endpoint = \"db:5432\"", "staging", `Expected <environment>/<service>\[/<database_name>/<role_name>\]`},
		"public endpoint":  {"pivot_public_endpoint", "environment = \"staging\"\nservice = \"friend\"\nzone = \"pivot.app\"\nport = 8080", "staging/friend", `Expected <environment>/<service>/<zone>`},
		"dns record":       {"pivot_dns_record", "zone = \"pivot.app\"\nname = \"acme\"\ntype = \"A\"\ncontent = \"203.0.113.7\"", "pivot.app", `Expected <zone>/<record id> or <zone>/<type>/<name>`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:        acctest.ProviderConfig() + "resource \"" + tc.resource + "\" \"test\" {\n" + tc.body + "\n}\n",
					ResourceName:  tc.resource + ".test",
					ImportState:   true,
					ImportStateId: tc.id,
					ExpectError:   regexp.MustCompile(`(?s)Unexpected Import Identifier.*` + tc.want),
				}},
			})
		})
	}
}
