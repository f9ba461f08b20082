package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/registry"
	"github.com/pivotapp/platform/internal/release"
)

const repoTestAddr = "pivot_service_repository.messenger"

func testAccServiceRepositoryConfig(a acctest.AWS, releases []string, extra string) string {
	var b strings.Builder
	b.WriteString(acctest.ProviderConfig(a.ProviderBlock()))
	var refs []string
	for _, r := range releases {
		fmt.Fprintf(&b, "data \"pivot_release\" %[1]q {\n  name = %[1]q\n}\n", r)
		refs = append(refs, fmt.Sprintf("data.pivot_release.%s.images[\"messenger\"]", r))
	}
	fmt.Fprintf(&b, `
resource "pivot_service_repository" "messenger" {
  name             = "pivot/messenger"
  service          = "messenger"
  keep_tags        = [%s]
  keep_last        = 5
  pull_account_ids = ["111111111111", "222222222222"]
  force_delete     = true
%s
}
`, strings.Join(refs, ", "), extra)
	return b.String()
}

// The repository's lifecycle policy, read back with the SDK and evaluated
// as ECR documents it, never expires an image a release record names.
func TestAccServiceRepository_keepsReleasedImages(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	store := release.NewStore(cfg)
	put := func(name, tag string) {
		if _, err := store.Put(ctx, release.Record{Name: name, Images: map[string]string{"messenger": tag, "friend": "f-" + tag}}); err != nil {
			t.Fatal(err)
		}
	}
	put("staging", "sha-two")
	put("prod", "sha-one")

	// Forty images, the released ones the oldest.
	now := time.Now()
	var images []registry.Image
	for i := range 40 {
		img := registry.Image{Digest: fmt.Sprintf("d%02d", i), Tags: []string{fmt.Sprintf("b%02d", i)}, PushedAt: now.Add(-time.Duration(40-i) * 24 * time.Hour)}
		switch i {
		case 0:
			img.Tags = []string{"sha-one"}
		case 1:
			img.Tags = []string{"sha-two"}
		case 2:
			img.Tags = []string{"sha-three"}
		}
		images = append(images, img)
	}
	lifecycle := func(kept ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			c := ecr.NewFromConfig(cfg)
			lp, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("pivot/messenger")})
			if err != nil {
				return err
			}
			policy, err := registry.ParseLifecyclePolicy(aws.ToString(lp.LifecyclePolicyText))
			if err != nil {
				return err
			}
			expired := policy.Expired(images, now)
			for i, tag := range []string{"sha-one", "sha-two", "sha-three"} {
				released := slices.Contains(kept, tag)
				if gone := slices.Contains(expired, images[i].Digest); gone == released {
					return fmt.Errorf("image %s (released: %v) expired: %v; policy %s", tag, released, gone, aws.ToString(lp.LifecyclePolicyText))
				}
			}
			d, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"pivot/messenger"}})
			if err != nil {
				return err
			}
			repo := d.Repositories[0]
			if !repo.ImageScanningConfiguration.ScanOnPush || repo.ImageTagMutability != "IMMUTABLE" {
				return fmt.Errorf("repository scan %v, mutability %s", repo.ImageScanningConfiguration.ScanOnPush, repo.ImageTagMutability)
			}
			pol, err := c.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String("pivot/messenger")})
			if err != nil || !strings.Contains(aws.ToString(pol.PolicyText), registry.DeploySid) || !strings.Contains(aws.ToString(pol.PolicyText), "arn:aws:iam::222222222222:root") {
				return fmt.Errorf("repository policy %v, %v", pol, err)
			}
			return nil
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if r, err := registry.New(cfg).ReadRepository(ctx, "pivot/messenger"); err != nil || r != nil {
				return fmt.Errorf("repository left after destroy: %+v, %v", r, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: testAccServiceRepositoryConfig(a, []string{"staging", "prod"}, ""), Check: lifecycle("sha-one", "sha-two")},
			// Staging moves on: its new tag is kept, its old one no longer.
			{
				PreConfig: func() { put("staging", "sha-three") },
				Config:    testAccServiceRepositoryConfig(a, []string{"staging", "prod"}, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(repoTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: lifecycle("sha-one", "sha-three"),
			},
			{Config: testAccServiceRepositoryConfig(a, []string{"staging", "prod"}, ""), PlanOnly: true},
			{ResourceName: repoTestAddr, ImportState: true, ImportStateVerify: true, ImportStateId: "pivot/messenger",
				// force_delete exists only in configuration.
				ImportStateVerifyIgnore: []string{"force_delete"}},
		},
	})
}
