// Package ports exposes notifier's application: a JetStream consumer of
// messenger's events and a gRPC (Connect) API to read notifications.
package ports

import (
	"context"
	"errors"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/notifier/internal/app"
	"github.com/pivotapp/platform/services/notifier/internal/app/query"
	"github.com/pivotapp/platform/services/notifier/internal/domain/notification"
)

type notifierServer struct {
	app    app.Application
	logger *slog.Logger
}

// NewNotifierServer returns the gRPC handler of notifier.
func NewNotifierServer(application app.Application, logger *slog.Logger) grpcv1connect.NotifierServiceHandler {
	if logger == nil {
		panic("ports: nil logger")
	}
	return &notifierServer{app: application, logger: logger}
}

func (s *notifierServer) ListNotifications(ctx context.Context, req *connect.Request[grpcv1.ListNotificationsRequest]) (*connect.Response[grpcv1.ListNotificationsResponse], error) {
	ns, err := s.app.Queries.ListNotifications.Handle(ctx, query.ListNotifications{
		Principal: req.Msg.GetPrincipalUserId(),
		PageSize:  int(req.Msg.GetPageSize()),
	})
	if err != nil {
		cerr := toConnectError(err)
		if connect.CodeOf(cerr) == connect.CodeInternal {
			s.logger.ErrorContext(ctx, "request failed", "method", "ListNotifications", "error", err)
		}
		return nil, cerr
	}
	out := &grpcv1.ListNotificationsResponse{Notifications: make([]*grpcv1.Notification, 0, len(ns))}
	for _, n := range ns {
		out.Notifications = append(out.Notifications, &grpcv1.Notification{
			Id: n.ID, UserId: n.UserID, Kind: kindToProto(n.Kind), RoomId: n.RoomID, MessageId: n.MessageID,
			ActorUserId: n.ActorID, Text: n.Text, CreateTime: timestamppb.New(n.CreatedAt),
		})
	}
	return connect.NewResponse(out), nil
}

// toConnectError maps domain and application errors to gRPC codes.
func toConnectError(err error) error {
	switch {
	case errors.Is(err, query.ErrInvalidPrincipal):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case kit.IsUnavailable(err):
		return connect.NewError(connect.CodeUnavailable, errors.New("database unavailable"))
	default:
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
}

func kindToProto(k notification.Kind) grpcv1.NotificationKind {
	switch k {
	case notification.KindNewMessage:
		return grpcv1.NotificationKind_NOTIFICATION_KIND_NEW_MESSAGE
	case notification.KindAddedToRoom:
		return grpcv1.NotificationKind_NOTIFICATION_KIND_ADDED_TO_ROOM
	default:
		return grpcv1.NotificationKind_NOTIFICATION_KIND_UNSPECIFIED
	}
}
