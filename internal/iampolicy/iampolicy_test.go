package iampolicy_test

import (
	"net/url"
	"testing"

	"github.com/pivotapp/platform/internal/iampolicy"
)

func mustParse(t *testing.T, s string) iampolicy.Document {
	t.Helper()
	d, err := iampolicy.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// What the local ECS runtime asks: may an execution role read a parameter.
func TestIdentityAllows(t *testing.T) {
	own := mustParse(t, url.QueryEscape(`{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"ssm:GetParameters","Resource":"arn:aws:ssm:us-east-1:1:parameter/staging/messenger/*"},
	  {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"}}}]}`))
	deny := mustParse(t, `{"Statement":{"Effect":"Deny","NotAction":["s3:*"],"Resource":"arn:aws:ssm:*:*:parameter/staging/messenger/ADMIN"}}`)
	for _, tc := range []struct {
		action, resource string
		docs             []iampolicy.Document
		want             bool
	}{
		{"ssm:GetParameters", "arn:aws:ssm:us-east-1:1:parameter/staging/messenger/JWT_KEY", []iampolicy.Document{own}, true},
		{"SSM:getparameters", "arn:aws:ssm:us-east-1:1:parameter/staging/messenger/JWT_KEY", []iampolicy.Document{own}, true}, // actions ignore case
		{"ssm:GetParameters", "arn:aws:ssm:us-east-1:1:parameter/staging/friend/JWT_KEY", []iampolicy.Document{own}, false},
		{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/staging/messenger/JWT_KEY", []iampolicy.Document{own}, false},
		{"ssm:GetParameters", "arn:aws:ssm:us-east-1:1:parameter/staging/messenger/ADMIN", []iampolicy.Document{own, deny}, false},
		{"kms:Decrypt", "arn:aws:kms:us-east-1:1:key/k", []iampolicy.Document{own}, true}, // condition key absent: taken as met
	} {
		if got := iampolicy.IdentityAllows(tc.docs, iampolicy.Request{Action: tc.action, Resource: tc.resource}); got != tc.want {
			t.Errorf("%s on %s = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
	// With the key present the condition is evaluated.
	if iampolicy.IdentityAllows([]iampolicy.Document{own}, iampolicy.Request{Action: "kms:Decrypt", Resource: "k", Context: map[string]string{"kms:ViaService": "s3.us-east-1.amazonaws.com"}}) {
		t.Error("kms:Decrypt allowed through another service")
	}
}

func TestEvaluateAcrossAccounts(t *testing.T) {
	identity := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}`)
	repo := mustParse(t, `{"Statement":[{"Sid":"PivotDeployPull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":"ecr:BatchGetImage"}]}`)
	repo.Statement[0].Resource = []string{"*"}
	req := func(principal string) iampolicy.Request {
		return iampolicy.Request{PrincipalARN: principal, Action: "ecr:BatchGetImage", Resource: "arn:aws:ecr:us-east-1:111111111111:repository/messenger"}
	}
	if d := iampolicy.Evaluate(req("arn:aws:iam::222222222222:role/exec"), []iampolicy.Document{identity}, []iampolicy.Document{repo}, "111111111111"); !d.Allowed {
		t.Errorf("granted account refused: %s", d.Reason)
	}
	if d := iampolicy.Evaluate(req("arn:aws:iam::333333333333:role/exec"), []iampolicy.Document{identity}, []iampolicy.Document{repo}, "111111111111"); d.Allowed {
		t.Error("an account the repository policy does not name was allowed")
	}
	if d := iampolicy.Evaluate(req("arn:aws:iam::222222222222:role/exec"), nil, []iampolicy.Document{repo}, "111111111111"); d.Allowed {
		t.Error("cross-account access without an identity grant was allowed")
	}
}

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"arn:aws:s3:::b/*", "arn:aws:s3:::b/a/b/c", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*", "", true},
		{"sha-*-x", "sha-1-x", true},
	} {
		if got := iampolicy.Wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("Wildcard(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}
