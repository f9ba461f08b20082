package awsx

import (
	"strings"
	"testing"
)

func TestValidateRoleARN(t *testing.T) {
	t.Parallel()
	good := []string{"arn:aws:iam::123456789012:role/deployer", "arn:aws-us-gov:iam::123456789012:role/path/x"}
	for _, arn := range good {
		if err := ValidateRoleARN(arn); err != nil {
			t.Errorf("%s: %v", arn, err)
		}
	}
	bad := []string{"", "arn:aws:iam::12345:role/x", "arn:aws:iam::123456789012:user/x", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:role/"}
	for _, arn := range bad {
		err := ValidateRoleARN(arn)
		if err == nil || !strings.Contains(err.Error(), "expected arn:aws:iam::<12-digit account>:role/<name>") {
			t.Errorf("%q: got %v", arn, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	err := Config{AllowedAccountIDs: []string{"12"}, AccessKey: "x", AssumeRole: &AssumeRole{RoleARN: "nope"}}.Validate()
	for _, want := range []string{"allowed_account_ids", "access_key and secret_key", "assume_role.role_arn"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}

func TestCheckAllowed(t *testing.T) {
	t.Parallel()
	s := NewSessions(Config{AllowedAccountIDs: []string{"111111111111"}})
	if err := s.checkAllowed("111111111111"); err != nil {
		t.Fatal(err)
	}
	if err := s.checkAllowed("222222222222"); err == nil || !strings.Contains(err.Error(), "not in allowed_account_ids") {
		t.Fatalf("got %v", err)
	}
}
