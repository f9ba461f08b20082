package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/registry"
)

func testAccRegistryAccessConfig(a acctest.AWS, accounts ...string) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_registry_access" "tenants" {
  repositories = ["pivot/messenger", "pivot/notifier"]
  account_ids  = [%s]
}
`, `"`+strings.Join(accounts, `", "`)+`"`)
}

// repositoryPolicy returns the accounts the pivot statement of repo grants
// and the Sids of every statement.
func repositoryPolicy(t *testing.T, a acctest.AWS, repo string) (accounts, sids []string) {
	t.Helper()
	out, err := ecr.NewFromConfig(a.Config(t)).GetRepositoryPolicy(context.Background(), &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repo)})
	if err != nil {
		return nil, nil
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Principal struct{ AWS any }
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.PolicyText)), &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statement {
		sids = append(sids, st.Sid)
		if st.Sid != registry.Sid {
			continue
		}
		var principals []any
		switch p := st.Principal.AWS.(type) {
		case string:
			principals = []any{p}
		case []any:
			principals = p
		}
		for _, p := range principals {
			s := fmt.Sprint(p)
			if parts := strings.Split(s, ":"); len(parts) == 6 {
				s = parts[4]
			}
			accounts = append(accounts, s)
		}
	}
	slices.Sort(accounts)
	return accounts, sids
}

func expectGrants(t *testing.T, a acctest.AWS, accounts ...string) error {
	slices.Sort(accounts)
	for _, repo := range []string{"pivot/messenger", "pivot/notifier"} {
		got, sids := repositoryPolicy(t, a, repo)
		if !slices.Equal(got, accounts) {
			return fmt.Errorf("repository %s grants pull to %v, want %v", repo, got, accounts)
		}
		if repo == "pivot/messenger" && !slices.Contains(sids, "CIPush") {
			return fmt.Errorf("repository %s lost the statement it had before (statements: %v)", repo, sids)
		}
	}
	return nil
}

// The registry's repositories grant pull to exactly the tenants' accounts;
// a tenant added is granted, a grant removed by hand comes back, and the
// policy's other statements are left alone.
func TestAccRegistryAccess_tenantAccounts(t *testing.T) {
	t.Parallel()
	registryAcct := acctest.NewAWS(t)
	acme, globex, initech := acctest.NewAccountID(t), acctest.NewAccountID(t), acctest.NewAccountID(t)
	ctx := context.Background()
	client := ecr.NewFromConfig(registryAcct.Config(t))
	for _, repo := range []string{"pivot/messenger", "pivot/notifier"} {
		if _, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}); err != nil {
			t.Fatal(err)
		}
	}
	ciPush := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"CIPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["ecr:PutImage"]}]}`, registryAcct.AccountID)
	if _, err := client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("pivot/messenger"), PolicyText: aws.String(ciPush)}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			return expectGrants(t, registryAcct)
		},
		Steps: []resource.TestStep{
			{
				Config:      testAccRegistryAccessConfig(registryAcct, "12345"),
				ExpectError: acctest.ErrorText("must be a 12-digit AWS account ID"),
			},
			{
				Config: testAccRegistryAccessConfig(registryAcct, acme, globex),
				Check:  func(*terraform.State) error { return expectGrants(t, registryAcct, acme, globex) },
			},
			// pivotctl tenant add: one more account in the same change.
			{
				Config: testAccRegistryAccessConfig(registryAcct, acme, globex, initech),
				Check:  func(*terraform.State) error { return expectGrants(t, registryAcct, acme, globex, initech) },
			},
			// Someone puts back the old policy by hand: the plan shows it.
			{
				PreConfig: func() {
					if _, err := client.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String("pivot/messenger"), PolicyText: aws.String(ciPush)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccRegistryAccessConfig(registryAcct, acme, globex, initech),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("pivot_registry_access.tenants", plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error { return expectGrants(t, registryAcct, acme, globex, initech) },
			},
			{
				ResourceName:      "pivot_registry_access.tenants",
				ImportState:       true,
				ImportStateId:     "pivot/messenger,pivot/notifier",
				ImportStateVerify: true,
			},
		},
	})
}
