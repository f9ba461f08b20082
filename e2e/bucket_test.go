package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pivotapp/platform/internal/iampolicy"
	ecrregistry "github.com/pivotapp/platform/internal/registry"
)

// assertOwnBucket checks, with the SDKs, that a service declaring
// `bucket = true` got its bucket (<env>-<service>-<account>) and that the
// bucket policy, evaluated as IAM does, refuses another service's task role
// even once that role may do s3:* on everything. Moto ignores the policy's
// conditions, so the evaluation is iampolicy's.
func assertOwnBucket(t *testing.T, cfg aws.Config, env, service, other string) {
	t.Helper()
	ctx := context.Background()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	account := aws.ToString(id.Account)
	name := env + "-" + service + "-" + account
	pol, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatalf("%s: %s's bucket %s: %v", env, service, name, err)
	}
	// The service learns its bucket's name.
	svc, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env), Services: []string{service}})
	if err != nil || len(svc.Services) != 1 {
		t.Fatalf("%s: describe service %s: %v", env, service, err)
	}
	td, err := ecs.NewFromConfig(cfg).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, kv := range td.TaskDefinition.ContainerDefinitions[0].Environment {
		found = found || aws.ToString(kv.Name) == "BUCKET_NAME" && aws.ToString(kv.Value) == name
	}
	if !found {
		t.Errorf("%s: %s's container has no BUCKET_NAME=%s", env, service, name)
	}
	bucketPolicy, err := iampolicy.Parse(aws.ToString(pol.Policy))
	if err != nil {
		t.Fatal(err)
	}
	iamc := iam.NewFromConfig(cfg)
	broad, _ := iampolicy.Parse(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	for _, who := range []struct {
		service string
		allowed bool
	}{{service, true}, {other, false}} {
		role, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(env + "-" + who.service + "-task")})
		if err != nil {
			t.Fatal(err)
		}
		identity := []iampolicy.Document{broad}
		if who.allowed {
			own, err := iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: role.Role.RoleName, PolicyName: aws.String("pivot-scoped")})
			if err != nil {
				t.Fatal(err)
			}
			doc, err := iampolicy.Parse(aws.ToString(own.PolicyDocument))
			if err != nil {
				t.Fatal(err)
			}
			identity = []iampolicy.Document{doc}
		}
		d := iampolicy.Evaluate(iampolicy.Request{
			PrincipalARN: aws.ToString(role.Role.Arn), Action: "s3:GetObject", Resource: "arn:aws:s3:::" + name + "/k",
			Context: map[string]string{"aws:SecureTransport": "true"},
		}, identity, []iampolicy.Document{bucketPolicy}, account)
		if d.Allowed != who.allowed {
			t.Errorf("%s: %s's task role on %s's bucket: allowed %v (%s), want %v", env, who.service, service, d.Allowed, d.Reason, who.allowed)
		}
	}
}

// assertRepositories checks, with the SDK, each service's repository in the
// registry account: immutable tags, scan on push, the deploying accounts'
// pull grant, and a lifecycle policy that, evaluated as ECR does, never
// expires the image its release names, even as the oldest of many.
func assertRepositories(t *testing.T, cfg aws.Config, released map[string]string, pullAccounts ...string) {
	t.Helper()
	ctx := context.Background()
	c := ecrregistry.New(cfg)
	for service, tag := range released {
		r, err := c.ReadRepository(ctx, "pivot/"+service)
		if err != nil || r == nil {
			t.Fatalf("repository pivot/%s: %+v, %v", service, r, err)
		}
		if r.MutableTags || !r.ScanOnPush || !slices.Equal(r.PullAccounts, slices.Sorted(slices.Values(pullAccounts))) {
			t.Errorf("repository pivot/%s: %+v", service, r)
		}
		policy, err := ecrregistry.ParseLifecyclePolicy(r.LifecyclePolicy)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		images := []ecrregistry.Image{{Digest: "released", Tags: []string{tag}, PushedAt: now.Add(-365 * 24 * time.Hour)}}
		for i := range 50 {
			images = append(images, ecrregistry.Image{Digest: fmt.Sprint(i), Tags: []string{fmt.Sprint("build-", i)}, PushedAt: now.Add(-time.Duration(50-i) * time.Hour)})
		}
		if slices.Contains(policy.Expired(images, now), "released") {
			t.Errorf("repository pivot/%s: the lifecycle policy expires %s, which a release names: %s", service, tag, r.LifecyclePolicy)
		}
	}
}
