// Package adapters connects friend to what it depends on: messenger over
// gRPC, and JWT verification.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/pivotapp/platform/services/friend/internal/domain/chat"
	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
)

// callTimeout bounds a messenger call when the client set no deadline.
const callTimeout = 10 * time.Second

// MessengerClient is chat.Rooms over messenger's gRPC API.
type MessengerClient struct {
	client grpcv1connect.MessengerServiceClient
}

var _ chat.Rooms = (*MessengerClient)(nil)

// NewMessengerClient calls messenger at baseURL.
func NewMessengerClient(httpClient *http.Client, baseURL string) *MessengerClient {
	if httpClient == nil {
		panic("adapters: nil http client")
	}
	return &MessengerClient{client: grpcv1connect.NewMessengerServiceClient(httpClient, baseURL, kit.ClientOptions()...)}
}

// CreateRoom implements chat.Rooms.
func (c *MessengerClient) CreateRoom(ctx context.Context, principal, requestID, name string, members []string) (*chat.Room, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.client.CreateRoom(ctx, connect.NewRequest(&grpcv1.CreateRoomRequest{
		PrincipalUserId: principal, IdempotencyKey: requestID, Name: name, MemberUserIds: members,
	}))
	if err != nil {
		return nil, fromMessenger("create room", err)
	}
	return roomFromProto(res.Msg.GetRoom()), nil
}

// AddRoomMember implements chat.Rooms.
func (c *MessengerClient) AddRoomMember(ctx context.Context, principal, requestID, roomID, userID string) (*chat.Room, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.client.AddRoomMember(ctx, connect.NewRequest(&grpcv1.AddRoomMemberRequest{
		PrincipalUserId: principal, IdempotencyKey: requestID, RoomId: roomID, UserId: userID,
	}))
	if err != nil {
		return nil, fromMessenger("add room member", err)
	}
	return roomFromProto(res.Msg.GetRoom()), nil
}

// SendMessage implements chat.Rooms.
func (c *MessengerClient) SendMessage(ctx context.Context, principal, requestID, roomID, body string) (*chat.Message, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.client.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
		PrincipalUserId: principal, IdempotencyKey: requestID, RoomId: roomID, Body: body,
	}))
	if err != nil {
		return nil, fromMessenger("send message", err)
	}
	return messageFromProto(res.Msg.GetMessage()), nil
}

// ListRooms implements chat.Rooms.
func (c *MessengerClient) ListRooms(ctx context.Context, principal string) ([]*chat.Room, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.client.ListRooms(ctx, connect.NewRequest(&grpcv1.ListRoomsRequest{PrincipalUserId: principal}))
	if err != nil {
		return nil, fromMessenger("list rooms", err)
	}
	out := make([]*chat.Room, 0, len(res.Msg.GetRooms()))
	for _, r := range res.Msg.GetRooms() {
		out = append(out, roomFromProto(r))
	}
	return out, nil
}

// ListMessages implements chat.Rooms.
func (c *MessengerClient) ListMessages(ctx context.Context, principal, roomID string, pageSize int, pageToken string) (chat.MessagePage, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	res, err := c.client.ListMessages(ctx, connect.NewRequest(&grpcv1.ListMessagesRequest{
		PrincipalUserId: principal, RoomId: roomID, PageSize: int32(min(pageSize, 1<<20)), PageToken: pageToken,
	}))
	if err != nil {
		return chat.MessagePage{}, fromMessenger("list messages", err)
	}
	page := chat.MessagePage{NextPageToken: res.Msg.GetNextPageToken()}
	for _, m := range res.Msg.GetMessages() {
		page.Messages = append(page.Messages, messageFromProto(m))
	}
	return page, nil
}

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, callTimeout)
}

// fromMessenger turns messenger's gRPC status into friend's errors, keeping
// messenger's explanation for invalid input so clients see the owner's rule.
func fromMessenger(op string, err error) error {
	var cerr *connect.Error
	if !errors.As(err, &cerr) {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch cerr.Code() {
	case connect.CodeInvalidArgument:
		return &chat.InvalidInputError{Reason: cerr.Message()}
	case connect.CodeNotFound:
		return fmt.Errorf("%s: %w", op, chat.ErrNotFound)
	case connect.CodePermissionDenied:
		return fmt.Errorf("%s: %w", op, chat.ErrPermissionDenied)
	case connect.CodeAlreadyExists:
		return fmt.Errorf("%s: %w", op, chat.ErrConflict)
	case connect.CodeFailedPrecondition:
		return fmt.Errorf("%s: %w: %s", op, chat.ErrFailedPrecondition, cerr.Message())
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeResourceExhausted:
		return fmt.Errorf("%s: %w: %w", op, chat.ErrUnavailable, err)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

func roomFromProto(r *grpcv1.Room) *chat.Room {
	return &chat.Room{ID: r.GetId(), Name: r.GetName(), Members: r.GetMemberUserIds(), CreatedAt: r.GetCreateTime().AsTime()}
}

func messageFromProto(m *grpcv1.Message) *chat.Message {
	return &chat.Message{ID: m.GetId(), RoomID: m.GetRoomId(), SenderID: m.GetSenderUserId(), Body: m.GetBody(), CreatedAt: m.GetCreateTime().AsTime()}
}
