package provider

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/iampolicy"
)

const bucketTestAddr = "pivot_service_bucket.files"

func testAccServiceBucketConfig(a acctest.AWS, env ecsdeploytest.Env, bucketName, extra string) string {
	messenger := svcTestService{Name: "messenger", Extra: fmt.Sprintf("\n  s3_bucket = %q\n", bucketName)}
	friend := svcTestService{Name: "friend"}
	return acctest.ProviderConfig(a.ProviderBlock()) + messenger.hcl(env, "messenger") + friend.hcl(env, "friend") + fmt.Sprintf(`
resource "pivot_service_bucket" "files" {
  name          = %[1]q
  environment   = "staging"
  service       = "messenger"
  task_role_arn = pivot_service.messenger.task_role_arn
%[2]s
}
`, bucketName, extra)
}

// bucketDecision evaluates, as AWS would for a same-account request over
// HTTPS, whether role may do action on an object of the bucket: the role's
// own policies (read from IAM) against the bucket policy (read from S3).
func bucketDecision(cfg aws.Config, account, bucketName, roleName, roleARN, action string) (iampolicy.Decision, error) {
	ctx := context.Background()
	pol, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(bucketName)})
	if err != nil {
		return iampolicy.Decision{}, fmt.Errorf("get bucket policy: %w", err)
	}
	bucketPolicy, err := iampolicy.Parse(aws.ToString(pol.Policy))
	if err != nil {
		return iampolicy.Decision{}, err
	}
	client := iam.NewFromConfig(cfg)
	names, err := client.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(roleName)})
	if err != nil {
		return iampolicy.Decision{}, err
	}
	var identity []iampolicy.Document
	for _, n := range names.PolicyNames {
		p, err := client.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(n)})
		if err != nil {
			return iampolicy.Decision{}, err
		}
		raw, _ := url.QueryUnescape(aws.ToString(p.PolicyDocument))
		d, err := iampolicy.Parse(raw)
		if err != nil {
			return iampolicy.Decision{}, err
		}
		identity = append(identity, d)
	}
	return iampolicy.Evaluate(iampolicy.Request{
		PrincipalARN: roleARN, Action: action, Resource: "arn:aws:s3:::" + bucketName + "/uploads/a.png",
		Context: map[string]string{"aws:SecureTransport": "true"},
	}, identity, []iampolicy.Document{bucketPolicy}, account), nil
}

func TestAccServiceBucket_refusesOtherServices(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	name := "staging-messenger-" + a.AccountID
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

	check := func(s *terraform.State) error {
		ctx := context.Background()
		attrs := func(addr string) map[string]string { return s.RootModule().Resources[addr].Primary.Attributes }
		messengerRole, friendRole := attrs("pivot_service.messenger")["task_role_arn"], attrs("pivot_service.friend")["task_role_arn"]
		pab, err := s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
		if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
			return fmt.Errorf("public access block = %+v, %v", pab, err)
		}
		enc, err := s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(name)})
		if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 {
			return fmt.Errorf("encryption = %+v, %v", enc, err)
		}
		// The other service, even once it is given s3:* on everything.
		if _, err := iam.NewFromConfig(cfg).PutRolePolicy(ctx, &iam.PutRolePolicyInput{
			RoleName: aws.String("staging-friend-task"), PolicyName: aws.String("broad"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`),
		}); err != nil {
			return err
		}
		for _, action := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} {
			d, err := bucketDecision(cfg, a.AccountID, name, "staging-friend-task", friendRole, action)
			if err != nil {
				return err
			}
			if d.Allowed {
				return fmt.Errorf("friend's task role may %s in messenger's bucket", action)
			}
		}
		d, err := bucketDecision(cfg, a.AccountID, name, "staging-messenger-task", messengerRole, "s3:GetObject")
		if err != nil {
			return err
		}
		if !d.Allowed {
			return fmt.Errorf("messenger's task role refused its own bucket: %s", d.Reason)
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			if _, err := s3c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String(name)}); err == nil {
				return fmt.Errorf("bucket %s left after destroy", name)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: testAccServiceBucketConfig(a, env, name, ""), Check: check},
			// Versioning in place.
			{
				Config: testAccServiceBucketConfig(a, env, name, "  versioning    = true\n  force_destroy = true\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(bucketTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					v, err := s3c.GetBucketVersioning(context.Background(), &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
					if err != nil || v.Status != "Enabled" {
						return fmt.Errorf("versioning = %+v, %v", v, err)
					}
					// No object is written here: moto applies a bucket policy's
					// conditional Deny to every object request, conditions
					// ignored (see docs/architecture.md), so even the deployer
					// is refused on the local stack.
					return nil
				},
			},
			// Public access block removed out of band: the plan restores it.
			{
				PreConfig: func() {
					if _, err := s3c.DeletePublicAccessBlock(context.Background(), &s3.DeletePublicAccessBlockInput{Bucket: aws.String(name)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccServiceBucketConfig(a, env, name, "  versioning    = true\n  force_destroy = true\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(bucketTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: check,
			},
			// Import by name.
			{
				ResourceName: bucketTestAddr, ImportState: true, ImportStateVerify: true, ImportStateId: name,
				// force_destroy exists only in configuration.
				ImportStateVerifyIgnore: []string{"force_destroy"},
			},
		},
	})
}

func TestAccServiceBucket_refusesStrangersBucket(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	name := "handmade-" + a.AccountID
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      testAccServiceBucketConfig(a, env, name, ""),
			ExpectError: svcExpectError(`Bucket Already Exists.*bucket exists and is not managed by pivot: ` + name + ` \(import it with the ID "` + name + `"`),
		}},
	})
}
