package ports

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// toConnectError maps domain errors to gRPC codes in one place; anything
// unrecognised is Internal, and its text stays in the logs, not the reply.
func toConnectError(err error) error {
	var invalid *room.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &invalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, room.ErrRoomNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, room.ErrNotMember):
		return connect.NewError(connect.CodePermissionDenied, err)
	case errors.Is(err, room.ErrRoomFull):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, room.ErrIdempotencyKeyReused):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	default:
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
