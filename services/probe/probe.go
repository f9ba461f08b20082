// Package probe sends a message through a deployed environment the way a
// client does: a JWT-authenticated call to friend, which calls messenger,
// whose event reaches notifier through JetStream. The end-to-end tests and
// the demo use it against the local ECS runtime's tasks.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
	notifierv1 "github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1/grpcv1connect"
)

// Dialer connects to a port of a running task of a service.
type Dialer func(ctx context.Context, service string, port int) (net.Conn, error)

// Options says how to reach and authenticate to the environment.
type Options struct {
	Dial      Dialer
	JWTSecret string // friend's JWT_HS256_SECRET
	Audience  string // friend's JWT_AUDIENCE
	// Port of friend and notifier (8080, their declared port).
	Port int
	// Wait bounds how long the notification may take.
	Wait time.Duration
}

// Result is what the message did.
type Result struct {
	RoomID, MessageID string
	// Recipient is the member whose notification arrived.
	Recipient string
}

// SendMessage creates a room, sends a message into it as its creator and
// waits until notifier has the other member's notification.
func SendMessage(ctx context.Context, o Options) (Result, error) {
	if o.Port == 0 {
		o.Port = 8080
	}
	if o.Wait == 0 {
		o.Wait = 30 * time.Second
	}
	friend := connectv1connect.NewFriendServiceClient(client(o.Dial, "friend", o.Port, false), "http://friend")
	notifier := grpcv1connect.NewNotifierServiceClient(client(o.Dial, "notifier", o.Port, true), "http://notifier", connect.WithGRPC())
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	room, err := friend.CreateRoom(ctx, as(o, "alice", &connectv1.CreateRoomRequest{RequestId: "probe-room-" + stamp, Name: "probe", MemberUserIds: []string{"bob"}}))
	if err != nil {
		return Result{}, fmt.Errorf("create room through friend: %w", err)
	}
	res := Result{RoomID: room.Msg.GetRoom().GetId(), Recipient: "bob"}
	body := "probe " + stamp
	sent, err := friend.SendMessage(ctx, as(o, "alice", &connectv1.SendMessageRequest{RequestId: "probe-msg-" + stamp, RoomId: res.RoomID, Body: body}))
	if err != nil {
		return res, fmt.Errorf("send message through friend: %w", err)
	}
	res.MessageID = sent.Msg.GetMessage().GetId()
	deadline := time.Now().Add(o.Wait)
	var last error
	for time.Now().Before(deadline) {
		list, err := notifier.ListNotifications(ctx, connect.NewRequest(&notifierv1.ListNotificationsRequest{PrincipalUserId: "bob"}))
		if err == nil {
			for _, n := range list.Msg.GetNotifications() {
				if n.GetMessageId() == res.MessageID && strings.Contains(n.GetText(), body) {
					return res, nil
				}
			}
			last = errors.New("no notification yet")
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return res, fmt.Errorf("notifier has no notification of message %s for bob after %s: %w", res.MessageID, o.Wait, last)
}

// client is an HTTP client whose every connection is a new one to a task
// of service; h2c speaks HTTP/2 without TLS, as the services do inside.
func client(dial Dialer, service string, port int, h2c bool) *http.Client {
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx, service, port) },
		DisableKeepAlives: true,
	}
	if h2c {
		var p http.Protocols
		p.SetUnencryptedHTTP2(true)
		tr.Protocols = &p
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func as[T any](o Options, user string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: user, Audience: jwt.ClaimStrings{o.Audience},
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(10 * time.Minute)),
	}).SignedString([]byte(o.JWTSecret))
	req.Header().Set("Authorization", "Bearer "+tok)
	return req
}
