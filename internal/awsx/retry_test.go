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
