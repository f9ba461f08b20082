package ports

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/pivotapp/platform/services/kit"

	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

// toConnectError maps domain errors to gRPC codes in one place; an
// unreachable database is Unavailable; anything unrecognised is Internal,
// and its text stays in the logs, not the reply.
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
	case kit.IsUnavailable(err):
		// The database is unreachable: worth a retry, unlike Internal.
		return connect.NewError(connect.CodeUnavailable, errors.New("database unavailable"))
	default:
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}
