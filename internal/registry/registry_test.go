package registry

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestDocumentKeepsOtherStatements(t *testing.T) {
	var doc document
	src := `{"Version":"2012-10-17","Statement":[{"Sid":"CIPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"ecr:PutImage"}]}`
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if got, err := doc.grantees(Sid); err != nil || got != nil {
		t.Fatalf("no pivot statement yet: grantees = %v, %v", got, err)
	}
	c := &Client{partition: "aws"}
	if err := doc.set(Sid, c.statement(Sid, []string{"333333333333", "222222222222"})); err != nil {
		t.Fatal(err)
	}
	got, err := doc.grantees(Sid)
	if err != nil || !slices.Equal(got, []string{"222222222222", "333333333333"}) {
		t.Fatalf("grantees = %v, %v", got, err)
	}
	out, _ := json.Marshal(doc)
	if !strings.Contains(string(out), `"Sid":"CIPush","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"ecr:PutImage"`) {
		t.Errorf("the other statement changed: %s", out)
	}
	if err := doc.set(Sid, nil); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || doc.has(Sid) {
		t.Errorf("after removal: %d statements, has = %v", len(doc.Statement), doc.has(Sid))
	}
}

// AWS may store a single principal as a string and an account as a bare ID.
func TestGranteesAnyPrincipalForm(t *testing.T) {
	var doc document
	src := `{"Version":"2012-10-17","Statement":[{"Sid":"` + Sid + `","Effect":"Allow","Principal":{"AWS":"444444444444"},"Action":["ecr:BatchGetImage"]}]}`
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if got, err := doc.grantees(Sid); err != nil || !slices.Equal(got, []string{"444444444444"}) {
		t.Errorf("grantees = %v, %v", got, err)
	}
}
