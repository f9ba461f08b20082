package kit

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// IsUnavailable reports whether err means a dependency (the database, a
// service) could not be reached or dropped the connection: a failure the
// caller may retry, which Connect handlers return as Unavailable rather
// than Internal. Cancellation and deadlines are not included; they have
// codes of their own.
//
// It recognises network errors and, without importing a driver, Postgres
// errors by SQLSTATE (pgconn.PgError has SQLState): class 08 (connection
// exception), 57P01-57P03 (the server is shutting down or starting) and
// 53300 (too many connections), and driver errors that say the statement
// never reached the server (SafeToRetry, as pgconn's "conn closed").
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) {
		code := state.SQLState()
		switch {
		case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
			return true
		}
	}
	// pgconn marks errors that happened before a statement reached the
	// server (a connection found closed, a failed dial) as safe to retry.
	var retryable interface{ SafeToRetry() bool }
	if errors.As(err, &retryable) && retryable.SafeToRetry() {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
