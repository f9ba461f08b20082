package seed_test

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/internal/stack"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/seeder/internal/seed"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const secret = "seed-secret-seed-secret-seed-secret!"

func TestSeedTwiceThroughEitherAPIChangesNothing(t *testing.T) {
	t.Parallel()
	n := testenv.StartNATS(t)
	ctx := context.Background()
	m, err := stack.Messenger(ctx, map[string]string{"STAGE": "local", "DATABASE_URL": testenv.Database(t), "NATS_URL": n.URL}, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	f, err := stack.Friend(ctx, map[string]string{"STAGE": "local", "MESSENGER_URL": m.URL, "JWT_HS256_SECRET": secret, "JWT_AUDIENCE": "pivot-app"}, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop() })

	targets := []seed.Target{
		seed.NewFriend(kit.H2CClient(), f.URL, []byte(secret), "pivot-app"),
		seed.NewFriend(kit.H2CClient(), f.URL, []byte(secret), "pivot-app"),
		seed.NewMessenger(kit.H2CClient(), m.URL),
	}
	for i, target := range targets {
		if _, err := seed.Run(ctx, target, testenv.Logger(t)); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}

	client := grpcv1connect.NewMessengerServiceClient(kit.H2CClient(), m.URL, connect.WithGRPC())
	rooms, err := client.ListRooms(ctx, connect.NewRequest(&grpcv1.ListRoomsRequest{PrincipalUserId: seed.Alice}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms.Msg.GetRooms()) != 2 {
		t.Fatalf("alice's rooms = %d, want 2 after three seedings", len(rooms.Msg.GetRooms()))
	}
	total := 0
	for _, r := range rooms.Msg.GetRooms() {
		msgs, err := client.ListMessages(ctx, connect.NewRequest(&grpcv1.ListMessagesRequest{PrincipalUserId: seed.Alice, RoomId: r.GetId()}))
		if err != nil {
			t.Fatal(err)
		}
		total += len(msgs.Msg.GetMessages())
	}
	if total != 5 {
		t.Errorf("messages = %d, want 5", total)
	}
}

func TestSeederRefusesNonLocalStages(t *testing.T) {
	t.Parallel()
	var cfg seed.Config
	err := kit.LoadEnvFrom(&cfg, map[string]string{"STAGE": "production", "FRIEND_URL": "http://friend:8080"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"STAGE", "JWT_HS256_SECRET", "JWT_AUDIENCE"} {
		found := false
		var envErr *kit.EnvError
		_ = errors.As(err, &envErr)
		for _, p := range envErr.Problems {
			found = found || p.Name == want
		}
		if !found {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}
