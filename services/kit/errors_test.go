package kit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/pivotapp/platform/services/kit"
)

type sqlStateError string

func (e sqlStateError) Error() string    { return "pg error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

type retryableError bool

func (e retryableError) Error() string     { return "conn closed" }
func (e retryableError) SafeToRetry() bool { return bool(e) }

func TestIsUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("store: %w", io.ErrUnexpectedEOF), true},
		{sqlStateError("08006"), true},
		{sqlStateError("57P01"), true},
		{retryableError(true), true},
		{retryableError(false), false},
		{sqlStateError("23505"), false},
		{errors.New("boom"), false},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		if got := kit.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
