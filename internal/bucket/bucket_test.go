package bucket_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/bucket"
	"github.com/pivotapp/platform/internal/iampolicy"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func TestEnsureCreatesAdoptsAndRefuses(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	c := bucket.New(cfg)
	task := "arn:aws:iam::" + a.AccountID + ":role/pivot/staging/staging-messenger-task"
	deployer := "arn:aws:iam::" + a.AccountID + ":role/deployer"
	spec := bucket.Spec{Name: "staging-messenger-" + a.AccountID, Environment: "staging", Service: "messenger", TaskRoleARN: task, Deployers: []string{deployer}}

	st, err := c.Ensure(ctx, spec)
	if err != nil {
		t.Fatalf("ensure: %v", err)
	}
	if !st.PublicAccessBlocked || !st.Encrypted || st.Versioning {
		t.Fatalf("state = %+v: want public access blocked, encrypted, unversioned", st)
	}
	if !slices.Equal(st.Allowed, []string{task, deployer}) {
		t.Fatalf("policy spares %v, want the task role and the deployer", st.Allowed)
	}
	if st.Tags[bucket.ManagedByKey] != bucket.ManagedByValue {
		t.Fatalf("tags = %v", st.Tags)
	}

	// A second run (an apply after an interrupted one) adopts it and
	// changes settings in place.
	spec.Versioning = true
	st, err = c.Ensure(ctx, spec)
	if err != nil || !st.Versioning {
		t.Fatalf("ensure again with versioning: %+v, %v", st, err)
	}
	spec.Versioning = false
	if st, err = c.Ensure(ctx, spec); err != nil || st.Versioning {
		t.Fatalf("versioning not suspended: %+v, %v", st, err)
	}

	// A bucket someone else made under that name is refused, naming the import ID.
	stranger := "stranger-" + a.AccountID
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(stranger)}); err != nil {
		t.Fatal(err)
	}
	other := spec
	other.Name = stranger
	if _, err := c.Ensure(ctx, other); !errors.Is(err, bucket.ErrNotOurs) {
		t.Fatalf("ensure on a stranger's bucket: %v, want ErrNotOurs", err)
	}

	if err := c.Delete(ctx, spec.Name, true); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Read(ctx, spec.Name); err != nil || st != nil {
		t.Fatalf("read after delete: %+v, %v", st, err)
	}
	if err := c.Delete(ctx, spec.Name, false); err != nil {
		t.Fatalf("delete of a missing bucket: %v", err)
	}
}

// The bucket policy, evaluated as AWS evaluates a same-account request:
// another service's task role is refused even when its own policy allows
// s3:* on everything; the owning task role and the deployer are not.
func TestPolicyRefusesAnotherServicesRole(t *testing.T) {
	const acct = "123456789012"
	task := "arn:aws:iam::" + acct + ":role/pivot/staging/staging-messenger-task"
	otherTask := "arn:aws:iam::" + acct + ":role/pivot/staging/staging-friend-task"
	deployer := "arn:aws:iam::" + acct + ":role/deployer"
	policy, err := iampolicy.Parse(bucket.PolicyJSON("aws", "staging-messenger-files", []string{task, deployer}))
	if err != nil {
		t.Fatal(err)
	}
	broad, _ := iampolicy.Parse(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	own, _ := iampolicy.Parse(`{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::staging-messenger-files/*"}]}`)
	https := map[string]string{"aws:SecureTransport": "true"}
	for _, tc := range []struct {
		name      string
		principal string
		identity  iampolicy.Document
		action    string
		allowed   bool
	}{
		{"own task role gets an object", task, own, "s3:GetObject", true},
		{"own task role cannot do what its policy does not grant", task, own, "s3:DeleteBucket", false},
		{"another service with s3:* on *", otherTask, broad, "s3:GetObject", false},
		{"another service writing", otherTask, broad, "s3:PutObject", false},
		{"the deployer manages the bucket", deployer, broad, "s3:PutBucketPolicy", true},
		{"an administrator of the account", "arn:aws:iam::" + acct + ":role/admin", broad, "s3:GetObject", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := iampolicy.Evaluate(iampolicy.Request{
				PrincipalARN: tc.principal, Action: tc.action, Resource: "arn:aws:s3:::staging-messenger-files/key", Context: https,
			}, []iampolicy.Document{tc.identity}, []iampolicy.Document{policy}, acct)
			if d.Allowed != tc.allowed {
				t.Fatalf("allowed = %v (%s), want %v", d.Allowed, d.Reason, tc.allowed)
			}
		})
	}
	// Plain HTTP is refused even for the owner; a pre-signed URL over HTTPS
	// is the owner's request and passes.
	d := iampolicy.Evaluate(iampolicy.Request{PrincipalARN: task, Action: "s3:GetObject", Resource: "arn:aws:s3:::staging-messenger-files/key",
		Context: map[string]string{"aws:SecureTransport": "false"}}, []iampolicy.Document{own}, []iampolicy.Document{policy}, acct)
	if d.Allowed {
		t.Fatal("plain HTTP allowed")
	}
}
