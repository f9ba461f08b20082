package seed

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
)

// Friend seeds through friend's public API, as each user with a token it
// mints with the local HS256 secret.
type Friend struct {
	client   connectv1connect.FriendServiceClient
	secret   []byte
	audience string
}

// NewFriend returns a Friend target; friend speaks the Connect protocol over
// HTTP/1.1 or h2c, like a browser client.
func NewFriend(httpClient *http.Client, baseURL string, secret []byte, audience string) *Friend {
	return &Friend{client: connectv1connect.NewFriendServiceClient(httpClient, baseURL), secret: secret, audience: audience}
}

func (f *Friend) auth(req connect.AnyRequest, user string) error {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject:   user,
		Audience:  jwt.ClaimStrings{f.audience},
		IssuedAt:  jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(5 * time.Minute)),
	}).SignedString(f.secret)
	if err != nil {
		return err
	}
	req.Header().Set("Authorization", "Bearer "+token)
	return nil
}

// CreateRoom implements Target.
func (f *Friend) CreateRoom(ctx context.Context, user, key, name string, members []string) (string, error) {
	req := connect.NewRequest(&connectv1.CreateRoomRequest{RequestId: key, Name: name, MemberUserIds: members})
	if err := f.auth(req, user); err != nil {
		return "", err
	}
	res, err := f.client.CreateRoom(ctx, req)
	if err != nil {
		return "", err
	}
	return res.Msg.GetRoom().GetId(), nil
}

// AddRoomMember implements Target.
func (f *Friend) AddRoomMember(ctx context.Context, user, key, roomID, member string) error {
	req := connect.NewRequest(&connectv1.AddRoomMemberRequest{RequestId: key, RoomId: roomID, UserId: member})
	if err := f.auth(req, user); err != nil {
		return err
	}
	_, err := f.client.AddRoomMember(ctx, req)
	return err
}

// SendMessage implements Target.
func (f *Friend) SendMessage(ctx context.Context, user, key, roomID, body string) error {
	req := connect.NewRequest(&connectv1.SendMessageRequest{RequestId: key, RoomId: roomID, Body: body})
	if err := f.auth(req, user); err != nil {
		return err
	}
	_, err := f.client.SendMessage(ctx, req)
	return err
}

// Messenger seeds through messenger's internal gRPC API directly.
type Messenger struct {
	client grpcv1connect.MessengerServiceClient
}

// NewMessenger returns a Messenger target.
func NewMessenger(httpClient *http.Client, baseURL string) *Messenger {
	return &Messenger{client: grpcv1connect.NewMessengerServiceClient(httpClient, baseURL, kit.ClientOptions()...)}
}

// CreateRoom implements Target.
func (m *Messenger) CreateRoom(ctx context.Context, user, key, name string, members []string) (string, error) {
	res, err := m.client.CreateRoom(ctx, connect.NewRequest(&grpcv1.CreateRoomRequest{
		PrincipalUserId: user, IdempotencyKey: key, Name: name, MemberUserIds: members,
	}))
	if err != nil {
		return "", err
	}
	return res.Msg.GetRoom().GetId(), nil
}

// AddRoomMember implements Target.
func (m *Messenger) AddRoomMember(ctx context.Context, user, key, roomID, member string) error {
	_, err := m.client.AddRoomMember(ctx, connect.NewRequest(&grpcv1.AddRoomMemberRequest{
		PrincipalUserId: user, IdempotencyKey: key, RoomId: roomID, UserId: member,
	}))
	return err
}

// SendMessage implements Target.
func (m *Messenger) SendMessage(ctx context.Context, user, key, roomID, body string) error {
	_, err := m.client.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
		PrincipalUserId: user, IdempotencyKey: key, RoomId: roomID, Body: body,
	}))
	return err
}
