// Package ports exposes friend's application to clients over Connect.
package ports

import (
	"context"
	"log/slog"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pivotapp/platform/services/friend/internal/app"
	"github.com/pivotapp/platform/services/friend/internal/app/command"
	"github.com/pivotapp/platform/services/friend/internal/app/query"
	"github.com/pivotapp/platform/services/friend/internal/domain/chat"
	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
)

type friendServer struct {
	app    app.Application
	stage  string
	logger *slog.Logger
}

// NewFriendServer returns friend's Connect handler; wrap it with
// NewAuthInterceptor.
func NewFriendServer(application app.Application, stage string, logger *slog.Logger) connectv1connect.FriendServiceHandler {
	if logger == nil {
		panic("ports: nil logger")
	}
	return &friendServer{app: application, stage: stage, logger: logger}
}

func (s *friendServer) GetStatus(ctx context.Context, _ *connect.Request[connectv1.GetStatusRequest]) (*connect.Response[connectv1.GetStatusResponse], error) {
	return connect.NewResponse(&connectv1.GetStatusResponse{Stage: s.stage, UserId: principal(ctx)}), nil
}

func (s *friendServer) CreateRoom(ctx context.Context, req *connect.Request[connectv1.CreateRoomRequest]) (*connect.Response[connectv1.CreateRoomResponse], error) {
	r, err := s.app.Commands.CreateRoom(ctx, command.CreateRoom{
		Principal: principal(ctx), RequestID: req.Msg.GetRequestId(), Name: req.Msg.GetName(), MemberIDs: req.Msg.GetMemberUserIds(),
	})
	if err != nil {
		return nil, s.fail(ctx, "CreateRoom", err)
	}
	return connect.NewResponse(&connectv1.CreateRoomResponse{Room: roomToProto(r)}), nil
}

func (s *friendServer) AddRoomMember(ctx context.Context, req *connect.Request[connectv1.AddRoomMemberRequest]) (*connect.Response[connectv1.AddRoomMemberResponse], error) {
	r, err := s.app.Commands.AddRoomMember(ctx, command.AddRoomMember{
		Principal: principal(ctx), RequestID: req.Msg.GetRequestId(), RoomID: req.Msg.GetRoomId(), UserID: req.Msg.GetUserId(),
	})
	if err != nil {
		return nil, s.fail(ctx, "AddRoomMember", err)
	}
	return connect.NewResponse(&connectv1.AddRoomMemberResponse{Room: roomToProto(r)}), nil
}

func (s *friendServer) SendMessage(ctx context.Context, req *connect.Request[connectv1.SendMessageRequest]) (*connect.Response[connectv1.SendMessageResponse], error) {
	m, err := s.app.Commands.SendMessage(ctx, command.SendMessage{
		Principal: principal(ctx), RequestID: req.Msg.GetRequestId(), RoomID: req.Msg.GetRoomId(), Body: req.Msg.GetBody(),
	})
	if err != nil {
		return nil, s.fail(ctx, "SendMessage", err)
	}
	return connect.NewResponse(&connectv1.SendMessageResponse{Message: messageToProto(m)}), nil
}

func (s *friendServer) ListRooms(ctx context.Context, _ *connect.Request[connectv1.ListRoomsRequest]) (*connect.Response[connectv1.ListRoomsResponse], error) {
	rooms, err := s.app.Queries.ListRooms(ctx, query.ListRooms{Principal: principal(ctx)})
	if err != nil {
		return nil, s.fail(ctx, "ListRooms", err)
	}
	out := &connectv1.ListRoomsResponse{Rooms: make([]*connectv1.Room, 0, len(rooms))}
	for _, r := range rooms {
		out.Rooms = append(out.Rooms, roomToProto(r))
	}
	return connect.NewResponse(out), nil
}

func (s *friendServer) ListMessages(ctx context.Context, req *connect.Request[connectv1.ListMessagesRequest]) (*connect.Response[connectv1.ListMessagesResponse], error) {
	page, err := s.app.Queries.ListMessages(ctx, query.ListMessages{
		Principal: principal(ctx), RoomID: req.Msg.GetRoomId(), PageSize: int(req.Msg.GetPageSize()), PageToken: req.Msg.GetPageToken(),
	})
	if err != nil {
		return nil, s.fail(ctx, "ListMessages", err)
	}
	out := &connectv1.ListMessagesResponse{NextPageToken: page.NextPageToken, Messages: make([]*connectv1.Message, 0, len(page.Messages))}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, messageToProto(m))
	}
	return connect.NewResponse(out), nil
}

func (s *friendServer) fail(ctx context.Context, method string, err error) error {
	cerr := toConnectError(err)
	switch connect.CodeOf(cerr) {
	case connect.CodeInternal, connect.CodeUnavailable:
		s.logger.ErrorContext(ctx, "request failed", "method", method, "error", err)
	}
	return cerr
}

func roomToProto(r *chat.Room) *connectv1.Room {
	return &connectv1.Room{Id: r.ID, Name: r.Name, MemberUserIds: r.Members, CreateTime: timestamppb.New(r.CreatedAt)}
}

func messageToProto(m *chat.Message) *connectv1.Message {
	return &connectv1.Message{Id: m.ID, RoomId: m.RoomID, SenderUserId: m.SenderID, Body: m.Body, CreateTime: timestamppb.New(m.CreatedAt)}
}
