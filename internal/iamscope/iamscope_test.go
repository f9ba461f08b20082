package iamscope_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pivotapp/platform/internal/iamscope"
)

var scope = iamscope.Scope{
	Region: "eu-west-1", AccountID: "123456789012", Environment: "staging", Service: "messenger",
	LogGroup: "/pivot/staging/messenger",
	Image:    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger:3f9c2e1",
}

func resources(d iamscope.Document) []string {
	var out []string
	for _, s := range d.Statement {
		out = append(out, s.Resource...)
	}
	return out
}

func TestExecutionPolicy_scopedToOwnResources(t *testing.T) {
	d := iamscope.ExecutionPolicy(scope)
	got := resources(d)
	want := []string{
		"arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger/*",
		"arn:aws:kms:eu-west-1:123456789012:key/*",
		"*", // ecr:GetAuthorizationToken has no resource-level permissions
		"arn:aws:ecr:eu-west-1:123456789012:repository/messenger",
		"arn:aws:logs:eu-west-1:123456789012:log-group:/pivot/staging/messenger:*",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("resources = %q\nwant %q", got, want)
	}
	for _, s := range d.Statement {
		if slices.Contains(s.Resource, "*") && !slices.Equal(s.Action, []string{"ecr:GetAuthorizationToken"}) {
			t.Errorf("statement %s grants %v on *", s.Sid, s.Action)
		}
		if s.Sid == "DecryptOwnSecrets" && s.Condition["StringLike"]["kms:EncryptionContext:PARAMETER_ARN"] != "arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger/*" {
			t.Errorf("decrypt is not limited to the service's parameters: %v", s.Condition)
		}
	}
}

func TestExecutionPolicy_publicImageAndNoLogGroup(t *testing.T) {
	s := scope
	s.Image = "public.ecr.aws/nginx/nginx:1.27"
	s.LogGroup = ""
	for _, st := range iamscope.ExecutionPolicy(s).Statement {
		for _, a := range st.Action {
			if strings.HasPrefix(a, "ecr:") || strings.HasPrefix(a, "logs:") {
				t.Errorf("unexpected %s for a public image without a log group", a)
			}
		}
	}
}

func TestTaskPolicy_bucketAndParameters(t *testing.T) {
	s := scope
	s.Bucket = "pivot-staging-messenger"
	got := resources(iamscope.TaskPolicy(s))
	want := []string{
		"arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger",
		"arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger/*",
		"arn:aws:kms:eu-west-1:123456789012:key/*",
		"arn:aws:s3:::pivot-staging-messenger",
		"arn:aws:s3:::pivot-staging-messenger/*",
		"arn:aws:logs:eu-west-1:123456789012:log-group:/pivot/staging/messenger:*",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("resources = %q\nwant %q", got, want)
	}
}

func TestECRRepositoryARN(t *testing.T) {
	cases := map[string]string{
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger:abc":       "arn:aws:ecr:eu-west-1:123456789012:repository/messenger",
		"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:0f0": "arn:aws:ecr:eu-west-1:123456789012:repository/team/api",
		"210987654321.dkr.ecr.us-east-1.amazonaws.com/api":                 "arn:aws:ecr:us-east-1:210987654321:repository/api",
		"ghcr.io/pivotapp/api:1":                                           "",
		"nginx:1.27":                                                       "",
		"public.ecr.aws/nginx/nginx:1.27":                                  "",
	}
	for image, want := range cases {
		got, ok := iamscope.ECRRepositoryARN(image, "")
		if got != want || ok != (want != "") {
			t.Errorf("ECRRepositoryARN(%q) = %q, %v; want %q", image, got, ok, want)
		}
	}
}

func TestDocumentRoundTrip(t *testing.T) {
	d := iamscope.TrustPolicy("123456789012")
	back, err := iamscope.ParseDocument(d.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if back.JSON() != d.JSON() {
		t.Fatalf("round trip changed the document:\n%s\n%s", d.JSON(), back.JSON())
	}
	if !strings.Contains(d.JSON(), `"aws:SourceAccount":"123456789012"`) {
		t.Fatalf("trust policy lacks the SourceAccount condition: %s", d.JSON())
	}
}

// A tenant's execution role lives in the tenant's account but pulls from
// the company's registry: the pull is granted on that repository, in the
// registry's account and region, and the tenant's own resources stay its own.
func TestExecutionPolicy_pullsFromAnotherAccountsRegistry(t *testing.T) {
	tenant := iamscope.Scope{
		Region: "us-east-1", AccountID: "222222222222", Environment: "acme", Service: "messenger",
		Image: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/pivot/messenger:aaa111",
	}
	var pull, auth bool
	for _, s := range iamscope.ExecutionPolicy(tenant).Statement {
		if slices.Contains(s.Action, "ecr:BatchGetImage") && slices.Contains(s.Action, "ecr:GetDownloadUrlForLayer") {
			pull = slices.Equal(s.Resource, []string{"arn:aws:ecr:eu-west-1:111111111111:repository/pivot/messenger"})
		}
		if slices.Equal(s.Action, []string{"ecr:GetAuthorizationToken"}) {
			auth = true
		}
		if s.Sid == "ReadOwnSecrets" && !slices.Equal(s.Resource, []string{"arn:aws:ssm:us-east-1:222222222222:parameter/acme/messenger/*"}) {
			t.Errorf("secrets are not the tenant's own: %v", s.Resource)
		}
	}
	if !pull || !auth {
		t.Errorf("the tenant's execution role cannot pull from the registry's repository (pull %v, token %v): %s", pull, auth, iamscope.ExecutionPolicy(tenant).JSON())
	}
}

// The execution role reads exactly the platform parameters a service is
// given as secrets, never the whole /<environment>/_platform/ folder.
func TestExecutionPolicy_platformSecretsByName(t *testing.T) {
	s := scope
	s.PlatformSecrets = []string{"NATS_PASSWORD"}
	d := iamscope.ExecutionPolicy(s)
	var found bool
	for _, st := range d.Statement {
		if st.Sid != "ReadPlatformSecrets" {
			continue
		}
		found = true
		if !slices.Equal(st.Action, []string{"ssm:GetParameters"}) || !slices.Equal(st.Resource, []string{"arn:aws:ssm:eu-west-1:123456789012:parameter/staging/_platform/NATS_PASSWORD"}) {
			t.Errorf("ReadPlatformSecrets = %v on %v, want ssm:GetParameters on the one parameter", st.Action, st.Resource)
		}
	}
	if !found {
		t.Fatal("no ReadPlatformSecrets statement for a service given NATS_PASSWORD")
	}
	var decrypt bool
	for _, st := range d.Statement {
		if st.Sid == "DecryptPlatformSecret1" && slices.Equal(st.Action, []string{"kms:Decrypt"}) &&
			st.Condition["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"] == "arn:aws:ssm:eu-west-1:123456789012:parameter/staging/_platform/NATS_PASSWORD" {
			decrypt = true
		}
	}
	if !decrypt {
		t.Error("no kms:Decrypt grant for the platform secret under a customer-managed key")
	}
	for _, r := range resources(iamscope.ExecutionPolicy(scope)) {
		if strings.Contains(r, "_platform") {
			t.Errorf("a service without platform secrets may read %s", r)
		}
	}
}
