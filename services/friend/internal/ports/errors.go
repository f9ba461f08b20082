package ports

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/pivotapp/platform/services/friend/internal/domain/chat"
)

// toConnectError maps friend's errors to Connect codes in one place.
func toConnectError(err error) error {
	var invalid *chat.InvalidInputError
	switch {
	case errors.As(err, &invalid):
		return connect.NewError(connect.CodeInvalidArgument, invalid)
	case errors.Is(err, chat.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, chat.ErrNotFound)
	case errors.Is(err, chat.ErrPermissionDenied):
		return connect.NewError(connect.CodePermissionDenied, chat.ErrPermissionDenied)
	case errors.Is(err, chat.ErrConflict):
		return connect.NewError(connect.CodeAlreadyExists, chat.ErrConflict)
	case errors.Is(err, chat.ErrFailedPrecondition):
		return connect.NewError(connect.CodeFailedPrecondition, chat.ErrFailedPrecondition)
	case errors.Is(err, chat.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, chat.ErrUnavailable)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	default:
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
