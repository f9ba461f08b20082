package awsx

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

func TestRetry_retriesOnlyWhatItIsTold(t *testing.T) {
	ctx := context.Background()
	propagating := &smithy.GenericAPIError{Code: "ClientException", Message: "ECS was unable to assume the role 'arn:aws:iam::1:role/x'"}
	reason := func(err error) string {
		if IsError(err, "ClientException", "unable to assume the role") {
			return "role propagation"
		}
		return ""
	}
	before := Retries.Snapshot()["role propagation"]
	calls := 0
	var logged []string
	ctx = WithLog(ctx, func(msg string, kv ...any) { logged = append(logged, msg) })
	err := Retry(ctx, "RegisterTaskDefinition", time.Minute, reason, func(context.Context) error {
		calls++
		if calls < 3 {
			return propagating
		}
		return nil
	})
	if err != nil || calls != 3 || len(logged) != 2 {
		t.Fatalf("err %v after %d calls, %d log lines", err, calls, len(logged))
	}
	if got := Retries.Snapshot()["role propagation"] - before; got != 2 {
		t.Fatalf("counted %d retries, want 2", got)
	}

	other := errors.New("InvalidParameterException: no such subnet")
	calls = 0
	if err := Retry(ctx, "CreateService", time.Minute, reason, func(context.Context) error { calls++; return other }); !errors.Is(err, other) || calls != 1 {
		t.Fatalf("a non-retryable error: %v after %d calls", err, calls)
	}

	// The bound holds: the last error comes back once the next wait would
	// pass it.
	calls = 0
	if err := Retry(ctx, "CreateService", 600*time.Millisecond, reason, func(context.Context) error { calls++; return propagating }); err != propagating || calls != 2 {
		t.Fatalf("bounded retry: %v after %d calls", err, calls)
	}
}

func TestValidateTagsBucketsRegions(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	if errs := ValidateTags(map[string]string{"team": string(long)}, 2); len(errs) != 1 {
		t.Fatalf("300-character value: %v", errs)
	}
	many := map[string]string{}
	for i := range 49 {
		many[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	if errs := ValidateTags(many, 2); len(errs) != 1 {
		t.Fatalf("49 tags and 2 managed: %v", errs)
	}
	if errs := ValidateTags(map[string]string{"team": "core", "cost-centre": "a/b:c=d+e@f"}, 2); len(errs) != 0 {
		t.Fatalf("valid tags refused: %v", errs)
	}
	for name, ok := range map[string]bool{"pivot-messenger-uploads": true, "a": false, "Upper": false, "a..b": false, "192.168.1.1": false, "xn--abc": false, "foo-s3alias": false, "my.bucket-1": true} {
		if err := ValidateBucketName(name); (err == nil) != ok {
			t.Errorf("bucket %q: %v", name, err)
		}
	}
	for region, ok := range map[string]bool{"us-east-1": true, "eu-central-2": true, "us-gov-west-1": true, "us-east": false, "useast1": false, "US-EAST-1": false} {
		if err := ValidateRegion(region); (err == nil) != ok {
			t.Errorf("region %q: %v", region, err)
		}
	}
}
