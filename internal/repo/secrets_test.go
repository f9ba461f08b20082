package repo

import (
	"slices"
	"testing"
)

func TestDeclaredSecrets(t *testing.T) {
	src := []byte(`
locals { image_tag = "abc" }
output "declaration" {
  value = {
    name    = "friend"
    env     = { A = "b" }
    secrets = ["JWT_HS256_SECRET", "OTHER"]
    env_schema_json = file("${path.module}/env-schema.json")
  }
}
`)
	got, err := declaredSecrets("service.tf", src)
	if err != nil || !slices.Equal(got, []string{"JWT_HS256_SECRET", "OTHER"}) {
		t.Fatalf("declaredSecrets = %v, %v", got, err)
	}
	got, err = declaredSecrets("service.tf", []byte(`output "declaration" { value = { secrets = [] } }`))
	if err != nil || len(got) != 0 {
		t.Fatalf("no secrets: %v, %v", got, err)
	}
}

func TestDeclaredSecretsOfThisRepository(t *testing.T) {
	got, err := DeclaredSecrets("../..")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got["friend"], []string{"JWT_HS256_SECRET"}) {
		t.Errorf("friend's secrets: %v", got)
	}
}
