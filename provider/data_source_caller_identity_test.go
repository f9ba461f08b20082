package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack"
)

func TestAccCallerIdentity_assumeRole(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(a.ProviderBlock()) + `data "pivot_caller_identity" "this" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pivot_caller_identity.this", tfjsonpath.New("account_id"), knownvalue.StringExact(a.AccountID)),
				statecheck.ExpectKnownValue("data.pivot_caller_identity.this", tfjsonpath.New("region"), knownvalue.StringExact(localstack.Region)),
				statecheck.ExpectKnownValue("data.pivot_caller_identity.this", tfjsonpath.New("arn"),
					knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:sts::`+a.AccountID+`:assumed-role/pivot-acc/pivot$`))),
			},
		}},
	})
}

// Two target blocks act in two different accounts, each reached from the
// provider's own assume_role session.
func TestAccCallerIdentity_twoTargets(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	other := acctest.NewAccountID(t)
	third := acctest.NewAccountID(t)
	cfg := acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
data "pivot_caller_identity" "mine" {}

data "pivot_caller_identity" "other" {
  target {
    role_arn    = %[1]q
    external_id = "tenant-ext-id"
  }
}

data "pivot_caller_identity" "third" {
  target {
    role_arn = %[2]q
  }
}
`, acctest.RoleARN(other), acctest.RoleARN(third))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pivot_caller_identity.mine", tfjsonpath.New("account_id"), knownvalue.StringExact(a.AccountID)),
				statecheck.ExpectKnownValue("data.pivot_caller_identity.other", tfjsonpath.New("account_id"), knownvalue.StringExact(other)),
				statecheck.ExpectKnownValue("data.pivot_caller_identity.third", tfjsonpath.New("account_id"), knownvalue.StringExact(third)),
			},
		}},
	})
}

// The provider's assume_role honours session_name and external_id.
func TestAccCallerIdentity_sessionName(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := acctest.ProviderConfig(fmt.Sprintf(`
  aws {
    region     = %[1]q
    endpoint   = %[2]q
    access_key = "test"
    secret_key = "test"
    assume_role {
      role_arn     = %[3]q
      external_id  = "tenant-ext-id"
      session_name = "ci"
    }
  }`, localstack.Region, a.Endpoint, acctest.RoleARN(a.AccountID))) + `data "pivot_caller_identity" "this" {}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pivot_caller_identity.this", tfjsonpath.New("arn"),
					knownvalue.StringExact("arn:aws:sts::"+a.AccountID+":assumed-role/pivot-acc/ci")),
			},
		}},
	})
}

func TestAccProvider_invalidConfig(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		block string
		want  string
	}{
		"role arn": {`aws {
    region = "us-east-1"
    assume_role {
      role_arn = "arn:aws:iam::12345:role/x"
    }
  }`, `(?s)Invalid Role ARN.*expected\s+arn:aws:iam::<12-digit\s+account>:role/<name>`},
		"endpoint":    {`aws { endpoint = "localhost:5000" }`, `(?s)Invalid AWS Endpoint.*not an http\(s\) URL`},
		"account ids": {`aws { allowed_account_ids = ["abc"] }`, `(?s)Invalid Account ID.*"abc" is not a 12-digit AWS account ID`},
		"cloudflare":  {`cloudflare { base_url = "ftp://x" }`, `(?s)Invalid Cloudflare Base URL`},
		"postgres":    {`postgres { admin_url = "mysql://x" }`, `(?s)Invalid Postgres Admin URL.*postgres://`},
		"nats url":    {`nats { servers = ["http://x:4222"] }`, `(?s)Invalid NATS Connection.*is not a NATS URL`},
		"nats auth": {`nats { 
    servers = ["nats://127.0.0.1:4222"]
    user = "a"
  }`, `(?s)Invalid NATS Connection.*user and password must be set together`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      acctest.ProviderConfig(tc.block) + `data "pivot_caller_identity" "this" {}`,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
		})
	}
}

// A provider that is never asked for AWS makes no AWS call, and one whose
// allow-list excludes the target account refuses to act there.
func TestAccCallerIdentity_allowedAccounts(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := acctest.ProviderConfig(fmt.Sprintf(`
  aws {
    region     = %[1]q
    endpoint   = %[2]q
    access_key = "test"
    secret_key = "test"
    allowed_account_ids = ["111111111111"]
    assume_role {
      role_arn = %[3]q
    }
  }`, localstack.Region, a.Endpoint, acctest.RoleARN(a.AccountID))) + `data "pivot_caller_identity" "this" {}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      cfg,
			ExpectError: acctest.ErrorText("account "+a.AccountID+" is not in allowed_account_ids", "add it there or target another account"),
		}},
	})
}

// An allow-list unknown at plan time (computed from a resource) is accepted
// and enforced once known.
func TestAccProvider_unknownAllowedAccounts(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := fmt.Sprintf(`
resource "terraform_data" "account" {
  input = %[4]q
}

provider "pivot" {
  aws {
    region              = %[1]q
    endpoint            = %[2]q
    access_key          = "test"
    secret_key          = "test"
    allowed_account_ids = [terraform_data.account.output]
    assume_role {
      role_arn = %[3]q
    }
  }
}

data "pivot_caller_identity" "this" {}
`, localstack.Region, a.Endpoint, acctest.RoleARN(a.AccountID), a.AccountID)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.pivot_caller_identity.this", tfjsonpath.New("account_id"), knownvalue.StringExact(a.AccountID)),
			},
		}},
	})
}
