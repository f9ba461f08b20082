// Package e2e_test runs friend, messenger and notifier together in-process,
// against a real Postgres and a real nats-server: a client's message goes
// friend -> messenger (gRPC) -> outbox -> JetStream -> notifier.
package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"github.com/golang-jwt/jwt/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	connectv1 "github.com/pivotapp/platform/services/internal/gen/friend/connect/v1"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
	notifierv1 "github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/internal/stack"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	secret   = "e2e-secret-e2e-secret-e2e-secret-0123"
	audience = "pivot-app"
)

type platform struct {
	friend   connectv1connect.FriendServiceClient
	notifier grpcv1connect.NotifierServiceClient
}

func startPlatform(t *testing.T) *platform {
	t.Helper()
	n := testenv.StartNATS(t)
	ctx := context.Background()
	opts := stack.Options{Logger: testenv.Logger(t)}
	m, err := stack.Messenger(ctx, map[string]string{
		"STAGE": "local", "DATABASE_URL": testenv.Database(t), "NATS_URL": n.URL, "OUTBOX_POLL_INTERVAL": "100ms",
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	nt, err := stack.Notifier(ctx, map[string]string{
		"STAGE": "local", "DATABASE_URL": testenv.Database(t), "NATS_URL": n.URL, "NATS_RETRY_BACKOFF": "50ms",
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nt.Stop() })
	f, err := stack.Friend(ctx, map[string]string{
		"STAGE": "local", "MESSENGER_URL": m.URL, "JWT_HS256_SECRET": secret, "JWT_AUDIENCE": audience,
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop() })
	tracing, err := otelconnect.NewInterceptor(otelconnect.WithoutMetrics())
	if err != nil {
		t.Fatal(err)
	}
	return &platform{
		// Clients speak the Connect protocol over plain HTTP/1.1, as a
		// browser would; the interceptor sends the test's trace context.
		friend:   connectv1connect.NewFriendServiceClient(http.DefaultClient, f.URL, connect.WithInterceptors(tracing)),
		notifier: grpcv1connect.NewNotifierServiceClient(testenv.HTTPClient(), nt.URL, kit.ClientOptions()...),
	}
}

func token(t *testing.T, user string) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: user, Audience: jwt.ClaimStrings{audience},
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func as[T any](t *testing.T, user string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+token(t, user))
	return req
}

func TestMessageReachesNotifier(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	ctx, clientSpan := otel.Tracer("e2e").Start(context.Background(), "client")
	room, err := p.friend.CreateRoom(ctx, as(t, "alice", &connectv1.CreateRoomRequest{RequestId: "r1", Name: "e2e", MemberUserIds: []string{"bob", "carol"}}))
	if err != nil {
		t.Fatal(err)
	}
	roomID := room.Msg.GetRoom().GetId()
	sent, err := p.friend.SendMessage(ctx, as(t, "alice", &connectv1.SendMessageRequest{RequestId: "m1", RoomId: roomID, Body: "see you at 3"}))
	if err != nil {
		t.Fatal(err)
	}
	clientSpan.End()
	messageID := sent.Msg.GetMessage().GetId()

	for _, user := range []string{"bob", "carol"} {
		testenv.Eventually(t, 15*time.Second, func() error {
			res, err := p.notifier.ListNotifications(context.Background(), connect.NewRequest(&notifierv1.ListNotificationsRequest{PrincipalUserId: user}))
			if err != nil {
				return err
			}
			for _, n := range res.Msg.GetNotifications() {
				if n.GetMessageId() == messageID && strings.Contains(n.GetText(), "see you at 3") {
					return nil
				}
			}
			return fmt.Errorf("%s has no notification for %s yet: %v", user, messageID, res.Msg.GetNotifications())
		})
	}
	res, err := p.notifier.ListNotifications(context.Background(), connect.NewRequest(&notifierv1.ListNotificationsRequest{PrincipalUserId: "alice"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Msg.GetNotifications() {
		if n.GetMessageId() == messageID {
			t.Error("the sender was notified of their own message")
		}
	}

	checkTrace(t, clientSpan.SpanContext())
}

// checkTrace follows the message through the recorded spans: friend starts
// a new trace (its callers are untrusted) linked to the client's; messenger
// continues friend's trace; the outbox publish joins it; notifier's
// processing starts yet another trace, linked to the publish.
func checkTrace(t *testing.T, client oteltrace.SpanContext) {
	t.Helper()
	var friendSpan, messengerSpan, publish, consume trace.ReadOnlySpan
	testenv.Eventually(t, 10*time.Second, func() error {
		spans := testenv.Spans()
		friendSpan = find(spans, func(s trace.ReadOnlySpan) bool {
			return s.SpanKind() == oteltrace.SpanKindServer && s.Name() == "friend.connect.v1.FriendService/SendMessage" && linksToTrace(s, client.TraceID())
		})
		if friendSpan == nil {
			return fmt.Errorf("no friend span linked to the client")
		}
		tid := friendSpan.SpanContext().TraceID()
		messengerSpan = find(spans, func(s trace.ReadOnlySpan) bool {
			return s.SpanKind() == oteltrace.SpanKindServer && s.Name() == "messenger.grpc.v1.MessengerService/SendMessage" && s.SpanContext().TraceID() == tid
		})
		publish = find(spans, func(s trace.ReadOnlySpan) bool {
			return s.SpanKind() == oteltrace.SpanKindProducer && s.Name() == "publish messenger.v1.message.created" && s.SpanContext().TraceID() == tid
		})
		if messengerSpan == nil || publish == nil {
			return fmt.Errorf("messenger span %v, publish span %v", messengerSpan != nil, publish != nil)
		}
		consume = find(spans, func(s trace.ReadOnlySpan) bool {
			return s.SpanKind() == oteltrace.SpanKindConsumer && linksTo(s, publish.SpanContext())
		})
		if consume == nil {
			return fmt.Errorf("no consumer span linked to the publish")
		}
		return nil
	})
	if friendSpan.SpanContext().TraceID() == client.TraceID() {
		t.Error("friend continued an external caller's trace; it should start its own and link")
	}
	if consume.SpanContext().TraceID() == publish.SpanContext().TraceID() || consume.Parent().IsValid() {
		t.Error("processing a message must start a new trace, not continue the producer's")
	}
}

func find(spans []trace.ReadOnlySpan, match func(trace.ReadOnlySpan) bool) trace.ReadOnlySpan {
	for _, s := range spans {
		if match(s) {
			return s
		}
	}
	return nil
}

func linksToTrace(s trace.ReadOnlySpan, id oteltrace.TraceID) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == id {
			return true
		}
	}
	return false
}

func linksTo(s trace.ReadOnlySpan, sc oteltrace.SpanContext) bool {
	for _, l := range s.Links() {
		if l.SpanContext.TraceID() == sc.TraceID() && l.SpanContext.SpanID() == sc.SpanID() {
			return true
		}
	}
	return false
}

// TestFriendDefersToMessengersRules: friend has no length rule of its own;
// messenger's limit and its explanation reach the client unchanged, and
// messenger's membership rule applies to friend's callers.
func TestFriendDefersToMessengersRules(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	ctx := context.Background()
	room, err := p.friend.CreateRoom(ctx, as(t, "alice", &connectv1.CreateRoomRequest{Name: "rules"}))
	if err != nil {
		t.Fatal(err)
	}
	roomID := room.Msg.GetRoom().GetId()
	if _, err := p.friend.SendMessage(ctx, as(t, "alice", &connectv1.SendMessageRequest{RoomId: roomID, Body: strings.Repeat("a", 4000)})); err != nil {
		t.Fatalf("4000 characters: %v", err)
	}
	_, err = p.friend.SendMessage(ctx, as(t, "alice", &connectv1.SendMessageRequest{RoomId: roomID, Body: strings.Repeat("a", 4001)}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "at most 4000") {
		t.Errorf("4001 characters: %v, want messenger's InvalidArgument", err)
	}
	_, err = p.friend.SendMessage(ctx, as(t, "mallory", &connectv1.SendMessageRequest{RoomId: roomID, Body: "let me in"}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("non-member: %v, want PermissionDenied", err)
	}
	_, err = p.friend.ListMessages(ctx, as(t, "mallory", &connectv1.ListMessagesRequest{RoomId: roomID}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("non-member reading: %v, want PermissionDenied", err)
	}
	_, err = p.friend.SendMessage(ctx, as(t, "alice", &connectv1.SendMessageRequest{RoomId: roomID}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "body: is required") {
		t.Errorf("missing body: %v, want friend's own required-field check", err)
	}
	if _, err := p.friend.AddRoomMember(ctx, as(t, "alice", &connectv1.AddRoomMemberRequest{RoomId: roomID, UserId: "mallory"})); err != nil {
		t.Fatal(err)
	}
	list, err := p.friend.ListMessages(ctx, as(t, "mallory", &connectv1.ListMessagesRequest{RoomId: roomID}))
	if err != nil || len(list.Msg.GetMessages()) != 1 {
		t.Errorf("new member reading: %v %v", list, err)
	}
}
