package awsx

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// DefaultMaxAttempts is how often the SDK tries a call that failed with a
// throttling or server error. The SDK's own default (3) gives up on a
// throttled account within a second; AWS asks for backoff and retry
// instead (terraform-provider-aws uses 25).
const DefaultMaxAttempts = 10

// PropagationTimeout bounds the retries of a call that fails because
// something made moments ago is not visible yet (IAM roles, new clusters).
// AWS documents IAM changes as eventually consistent with no bound; two
// minutes is what terraform-provider-aws allows.
const PropagationTimeout = 2 * time.Minute

// ErrorCode is the API error code of err, or "".
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// ErrorMessage is the API error message of err, or "".
func ErrorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}

// IsError says whether err is an API error with the code and, if contains
// is not empty, a message containing it.
func IsError(err error, code, contains string) bool {
	return ErrorCode(err) == code && strings.Contains(ErrorMessage(err), contains)
}

// Retryer is the SDK retryer every session uses: the standard one with more
// attempts, and without the client-side retry quota, which under sustained
// throttling turns AWS's "slow down" into a hard failure of the apply.
func Retryer(maxAttempts int) func() aws.Retryer {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return func() aws.Retryer {
		return countingRetryer{retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = 20 * time.Second
			o.RateLimiter = ratelimit.None
		})}
	}
}

// countingRetryer counts the SDK's retries by error code.
type countingRetryer struct{ aws.RetryerV2 }

func (r countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	code := ErrorCode(err)
	if code == "" {
		code = "transport"
	}
	Retries.Add("sdk " + code)
	return r.RetryerV2.RetryDelay(attempt, err)
}

// RetryCounter counts retries by reason, for progress output and the
// fault-injection tests' reports.
type RetryCounter struct {
	mu sync.Mutex
	n  map[string]int
}

// Retries counts every retry of this process: the SDK's and Retry's.
var Retries = &RetryCounter{}

// Add counts one retry for reason, for retry loops of their own.
func (c *RetryCounter) Add(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[reason]++
}

// Snapshot returns the counts so far.
func (c *RetryCounter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// String renders the counts, largest first.
func (c *RetryCounter) String() string {
	snap := c.Snapshot()
	keys := make([]string, 0, len(snap))
	for k := range snap {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return snap[keys[i]] > snap[keys[j]] || snap[keys[i]] == snap[keys[j]] && keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, snap[k])
	}
	return strings.Join(parts, " ")
}

// LogFunc receives one line per retry.
type LogFunc func(msg string, keyvals ...any)

type logKey struct{}

// WithLog makes Retry report its retries to f.
func WithLog(ctx context.Context, f LogFunc) context.Context {
	return context.WithValue(ctx, logKey{}, f)
}

// Retry calls op until it succeeds, fails with an error for which
// retryable gives no reason, or timeout passes (then the last error is
// returned). Waits grow from half a second to ten. Each retry is counted
// under its reason and reported to the context's LogFunc.
func Retry(ctx context.Context, what string, timeout time.Duration, retryable func(error) string, op func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	wait := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil {
			return nil
		}
		reason := retryable(err)
		if reason == "" || time.Now().Add(wait).After(deadline) {
			return err
		}
		Retries.Add(reason)
		if f, ok := ctx.Value(logKey{}).(LogFunc); ok && f != nil {
			f("retrying", "call", what, "reason", reason, "attempt", attempt, "wait", wait.String())
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 10*time.Second)
	}
}
