// Package ports exposes messenger's application over gRPC (Connect).
package ports

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/messenger/internal/app"
	"github.com/pivotapp/platform/services/messenger/internal/app/command"
	"github.com/pivotapp/platform/services/messenger/internal/app/query"
	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
)

type messengerServer struct {
	app    app.Application
	logger *slog.Logger
}

// NewMessengerServer returns the gRPC handler of messenger.
func NewMessengerServer(application app.Application, logger *slog.Logger) grpcv1connect.MessengerServiceHandler {
	if logger == nil {
		panic("ports: nil logger")
	}
	return &messengerServer{app: application, logger: logger}
}

func (s *messengerServer) CreateRoom(ctx context.Context, req *connect.Request[grpcv1.CreateRoomRequest]) (*connect.Response[grpcv1.CreateRoomResponse], error) {
	r, err := s.app.Commands.CreateRoom.Handle(ctx, command.CreateRoom{
		Principal:      req.Msg.GetPrincipalUserId(),
		IdempotencyKey: req.Msg.GetIdempotencyKey(),
		Name:           req.Msg.GetName(),
		MemberIDs:      req.Msg.GetMemberUserIds(),
	})
	if err != nil {
		return nil, s.fail(ctx, "CreateRoom", err)
	}
	return connect.NewResponse(&grpcv1.CreateRoomResponse{Room: roomToProto(r)}), nil
}

func (s *messengerServer) AddRoomMember(ctx context.Context, req *connect.Request[grpcv1.AddRoomMemberRequest]) (*connect.Response[grpcv1.AddRoomMemberResponse], error) {
	r, err := s.app.Commands.AddRoomMember.Handle(ctx, command.AddRoomMember{
		Principal:      req.Msg.GetPrincipalUserId(),
		IdempotencyKey: req.Msg.GetIdempotencyKey(),
		RoomID:         req.Msg.GetRoomId(),
		UserID:         req.Msg.GetUserId(),
	})
	if err != nil {
		return nil, s.fail(ctx, "AddRoomMember", err)
	}
	return connect.NewResponse(&grpcv1.AddRoomMemberResponse{Room: roomToProto(r)}), nil
}

func (s *messengerServer) SendMessage(ctx context.Context, req *connect.Request[grpcv1.SendMessageRequest]) (*connect.Response[grpcv1.SendMessageResponse], error) {
	m, err := s.app.Commands.SendMessage.Handle(ctx, command.SendMessage{
		Principal:      req.Msg.GetPrincipalUserId(),
		IdempotencyKey: req.Msg.GetIdempotencyKey(),
		RoomID:         req.Msg.GetRoomId(),
		Body:           req.Msg.GetBody(),
	})
	if err != nil {
		return nil, s.fail(ctx, "SendMessage", err)
	}
	return connect.NewResponse(&grpcv1.SendMessageResponse{Message: messageToProto(m)}), nil
}

func (s *messengerServer) GetRoom(ctx context.Context, req *connect.Request[grpcv1.GetRoomRequest]) (*connect.Response[grpcv1.GetRoomResponse], error) {
	r, err := s.app.Queries.GetRoom.Handle(ctx, query.GetRoom{Principal: req.Msg.GetPrincipalUserId(), RoomID: req.Msg.GetRoomId()})
	if err != nil {
		return nil, s.fail(ctx, "GetRoom", err)
	}
	return connect.NewResponse(&grpcv1.GetRoomResponse{Room: roomToProto(r)}), nil
}

func (s *messengerServer) ListRooms(ctx context.Context, req *connect.Request[grpcv1.ListRoomsRequest]) (*connect.Response[grpcv1.ListRoomsResponse], error) {
	rooms, err := s.app.Queries.ListRooms.Handle(ctx, query.ListRooms{Principal: req.Msg.GetPrincipalUserId()})
	if err != nil {
		return nil, s.fail(ctx, "ListRooms", err)
	}
	out := &grpcv1.ListRoomsResponse{Rooms: make([]*grpcv1.Room, 0, len(rooms))}
	for _, r := range rooms {
		out.Rooms = append(out.Rooms, roomToProto(r))
	}
	return connect.NewResponse(out), nil
}

func (s *messengerServer) ListMessages(ctx context.Context, req *connect.Request[grpcv1.ListMessagesRequest]) (*connect.Response[grpcv1.ListMessagesResponse], error) {
	page, err := s.app.Queries.ListMessages.Handle(ctx, query.ListMessages{
		Principal: req.Msg.GetPrincipalUserId(),
		RoomID:    req.Msg.GetRoomId(),
		PageSize:  int(req.Msg.GetPageSize()),
		PageToken: req.Msg.GetPageToken(),
	})
	if err != nil {
		return nil, s.fail(ctx, "ListMessages", err)
	}
	out := &grpcv1.ListMessagesResponse{NextPageToken: page.NextPageToken, Messages: make([]*grpcv1.Message, 0, len(page.Messages))}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, messageToProto(m))
	}
	return connect.NewResponse(out), nil
}

// fail maps err and logs what the caller will not see.
func (s *messengerServer) fail(ctx context.Context, method string, err error) error {
	cerr := toConnectError(err)
	switch connect.CodeOf(cerr) {
	case connect.CodeInternal:
		s.logger.ErrorContext(ctx, "request failed", "method", method, "error", err)
	case connect.CodeUnavailable:
		s.logger.WarnContext(ctx, "request failed", "method", method, "error", err)
	}
	return cerr
}

func roomToProto(r *room.Room) *grpcv1.Room {
	return &grpcv1.Room{
		Id:              r.ID,
		Name:            r.Name,
		CreatedByUserId: r.CreatedBy,
		MemberUserIds:   r.Members(),
		CreateTime:      timestamppb.New(r.CreatedAt),
	}
}

func messageToProto(m *room.Message) *grpcv1.Message {
	return &grpcv1.Message{
		Id:           m.ID,
		RoomId:       m.RoomID,
		SenderUserId: m.SenderID,
		Body:         m.Body,
		CreateTime:   timestamppb.New(m.CreatedAt),
	}
}
