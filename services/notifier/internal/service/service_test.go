package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	natsv1 "github.com/pivotapp/platform/services/internal/gen/messenger/nats/v1"
	grpcv1 "github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/notifier/internal/service"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type harness struct {
	dbURL  string
	nats   *testenv.NATS
	nc     *nats.Conn
	js     jetstream.JetStream
	cfg    service.Config
	client grpcv1connect.NotifierServiceClient
	url    string
}

// start runs notifier against a stream shaped like messenger's, declared
// here because a service's tests do not import another service.
func start(t *testing.T, overrides ...string) *harness {
	t.Helper()
	h := &harness{dbURL: testenv.Database(t), nats: testenv.StartNATS(t)}
	var err error
	if h.nc, err = nats.Connect(h.nats.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.nc.Close)
	if h.js, err = jetstream.New(h.nc); err != nil {
		t.Fatal(err)
	}
	if _, err := h.js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "MESSENGER", Subjects: []string{"messenger.v1.>"}, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"STAGE":              "local",
		"DATABASE_URL":       h.dbURL,
		"NATS_URL":           h.nats.URL,
		"NATS_RETRY_BACKOFF": "50ms",
		"NATS_MAX_DELIVER":   "3",
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		env[overrides[i]] = overrides[i+1]
	}
	if err := kit.LoadEnvFrom(&h.cfg, env); err != nil {
		t.Fatal(err)
	}
	p := kit.NewProcess(service.Name, h.cfg.BaseConfig, testenv.Logger(t))
	if err := service.Build(context.Background(), &h.cfg, p); err != nil {
		t.Fatal(err)
	}
	h.url, _ = testenv.Serve(t, p)
	h.client = grpcv1connect.NewNotifierServiceClient(testenv.HTTPClient(), h.url, connect.WithGRPC())
	return h
}

func messageCreated(recipients ...string) *natsv1.MessageCreated {
	return &natsv1.MessageCreated{
		EventId: uuid.NewString(), OccurTime: timestamppb.Now(), MessageId: uuid.NewString(), RoomId: uuid.NewString(),
		RoomName: "general", SenderUserId: "alice", Body: "hello", RecipientUserIds: recipients,
	}
}

// publish sends ev with its own Nats-Msg-Id; passing a fresh msgID for the
// same event simulates a redelivery that JetStream's dedupe cannot catch
// (a producer retry after the duplicate window, or a replayed stream).
func (h *harness) publish(t *testing.T, subject, msgID string, data []byte) {
	t.Helper()
	msg := nats.NewMsg(subject)
	msg.Data = data
	if _, err := h.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// drained waits until the consumer has nothing pending or unacknowledged.
func (h *harness) drained(t *testing.T) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() error {
		cons, err := h.js.Consumer(context.Background(), "MESSENGER", h.cfg.Consumer)
		if err != nil {
			return err
		}
		info, err := cons.Info(context.Background())
		if err != nil {
			return err
		}
		if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
			return fmt.Errorf("pending %d, ack pending %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
		}
		return nil
	})
}

func query(t *testing.T, url, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func TestDuplicateDeliveryIsProcessedOnce(t *testing.T) {
	t.Parallel()
	h := start(t)
	ev := messageCreated("bob", "carol")
	data := marshal(t, ev)
	// Five deliveries of one event, some back to back so they are handled
	// concurrently.
	for i := range 5 {
		h.publish(t, "messenger.v1.message.created", fmt.Sprintf("%s-%d", ev.GetEventId(), i), data)
	}
	h.drained(t)
	if n := query(t, h.dbURL, `SELECT count(*) FROM notifications WHERE event_id = $1`, ev.GetEventId()); n != 2 {
		t.Errorf("notifications = %d, want 2 (one per recipient, once)", n)
	}
	if n := query(t, h.dbURL, `SELECT count(*) FROM processed_events`); n != 1 {
		t.Errorf("processed events = %d, want 1", n)
	}

	res, err := h.client.ListNotifications(context.Background(), connect.NewRequest(&grpcv1.ListNotificationsRequest{PrincipalUserId: "bob"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Msg.GetNotifications()) != 1 {
		t.Fatalf("bob's notifications = %v", res.Msg.GetNotifications())
	}
	n := res.Msg.GetNotifications()[0]
	if n.GetKind() != grpcv1.NotificationKind_NOTIFICATION_KIND_NEW_MESSAGE || n.GetMessageId() != ev.GetMessageId() || !strings.Contains(n.GetText(), "hello") {
		t.Errorf("notification = %v", n)
	}
}

func TestMemberAddedNotifiesTheNewMember(t *testing.T) {
	t.Parallel()
	h := start(t)
	ev := &natsv1.RoomMemberAdded{EventId: uuid.NewString(), OccurTime: timestamppb.Now(), RoomId: uuid.NewString(), RoomName: "launch", UserId: "carol", AddedByUserId: "bob"}
	h.publish(t, "messenger.v1.room.member_added", ev.GetEventId(), marshal(t, ev))
	h.drained(t)
	if n := query(t, h.dbURL, `SELECT count(*) FROM notifications WHERE user_id = 'carol' AND kind = 'added_to_room'`); n != 1 {
		t.Errorf("notifications = %d, want 1", n)
	}
}

func deadLetters(t *testing.T, h *harness, want int) []jetstream.Msg {
	t.Helper()
	var got []jetstream.Msg
	testenv.Eventually(t, 15*time.Second, func() error {
		cons, err := h.js.OrderedConsumer(context.Background(), h.cfg.DeadLetterStream().Name, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		batch, err := cons.Fetch(want+1, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return err
		}
		got = nil
		for m := range batch.Messages() {
			got = append(got, m)
		}
		if len(got) != want {
			return fmt.Errorf("dead letters = %d, want %d", len(got), want)
		}
		return nil
	})
	return got
}

func TestTerminalErrorsAreDeadLettered(t *testing.T) {
	t.Parallel()
	h := start(t)
	h.publish(t, "messenger.v1.message.created", "garbage-1", []byte("\xff\xffnot protobuf"))
	h.drained(t)
	got := deadLetters(t, h, 1)
	m := got[0]
	if string(m.Data()) != "\xff\xffnot protobuf" {
		t.Errorf("dead letter payload = %q, want the original", m.Data())
	}
	if m.Headers().Get(natsx.HeaderDeadSubject) != "messenger.v1.message.created" ||
		!strings.Contains(m.Headers().Get(natsx.HeaderDeadReason), "decode MessageCreated") ||
		m.Headers().Get(natsx.HeaderDeadDeliveries) != "1" {
		t.Errorf("dead letter headers = %v", m.Headers())
	}
}

// TestFailuresAreRetriedThenDeadLettered breaks the database under the
// consumer: a failing event is NAKed and retried with backoff, succeeds
// once the database is back, and is dead-lettered when it never does.
func TestFailuresAreRetriedThenDeadLettered(t *testing.T) {
	t.Parallel()
	// The first retry waits 1s, long enough to repair the database
	// deterministically; later retries are quick.
	h := start(t, "NATS_RETRY_BACKOFF", "1s,50ms")
	h.drained(t) // the consumer exists

	exec(t, h.dbURL, `ALTER TABLE notifications RENAME TO notifications_away`)
	recovered := messageCreated("bob")
	h.publish(t, "messenger.v1.message.created", recovered.GetEventId(), marshal(t, recovered))
	time.Sleep(300 * time.Millisecond) // the first delivery fails and is NAKed for 1s
	exec(t, h.dbURL, `ALTER TABLE notifications_away RENAME TO notifications`)
	h.drained(t)
	if n := query(t, h.dbURL, `SELECT count(*) FROM notifications WHERE event_id = $1`, recovered.GetEventId()); n != 1 {
		t.Fatalf("after recovery: notifications = %d, want 1", n)
	}
	if d := h.delivered(t); d != 2 {
		t.Errorf("deliveries = %d, want 2 (one failure, one retry)", d)
	}

	exec(t, h.dbURL, `ALTER TABLE notifications RENAME TO notifications_away`)
	doomed := messageCreated("bob")
	h.publish(t, "messenger.v1.message.created", doomed.GetEventId(), marshal(t, doomed))
	got := deadLetters(t, h, 1)
	if d := got[0].Headers().Get(natsx.HeaderDeadDeliveries); d != "3" {
		t.Errorf("dead-lettered after %s deliveries, want 3 (NATS_MAX_DELIVER)", d)
	}
	if !strings.Contains(got[0].Headers().Get(natsx.HeaderDeadReason), "gave up after 3 deliveries") {
		t.Errorf("reason = %q", got[0].Headers().Get(natsx.HeaderDeadReason))
	}
	exec(t, h.dbURL, `ALTER TABLE notifications_away RENAME TO notifications`)
	if n := query(t, h.dbURL, `SELECT count(*) FROM processed_events WHERE event_id = $1`, doomed.GetEventId()); n != 0 {
		t.Errorf("a failed event must not be marked processed")
	}
}

// delivered returns how many deliveries the consumer has made in total.
func (h *harness) delivered(t *testing.T) uint64 {
	t.Helper()
	cons, err := h.js.Consumer(context.Background(), "MESSENGER", h.cfg.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.Delivered.Consumer
}

// TestNATSOutageKeepsLiveness: with NATS down, readiness reports it while
// liveness (the container health check) keeps passing, and events
// published once NATS is back are processed.
func TestNATSOutageKeepsLiveness(t *testing.T) {
	t.Parallel()
	h := start(t)
	ready := func() (int, kit.HealthReport) {
		t.Helper()
		resp, err := http.Get(h.url + kit.ReadyPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep kit.HealthReport
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, rep
	}
	h.nats.Stop()
	testenv.Eventually(t, 5*time.Second, func() error {
		if code, rep := ready(); code != http.StatusServiceUnavailable || rep.Checks["nats"].OK {
			return fmt.Errorf("readiness = %d %+v, want 503 with nats failing", code, rep)
		}
		return nil
	})
	if err := kit.ProbeLive(context.Background(), http.DefaultClient, h.url); err != nil {
		t.Errorf("liveness during the NATS outage: %v", err)
	}
	h.nats.Restart()
	testenv.Eventually(t, 10*time.Second, func() error {
		if code, rep := ready(); code != http.StatusOK {
			return fmt.Errorf("readiness = %d %+v after NATS came back", code, rep)
		}
		return nil
	})
	h.publish(t, "messenger.v1.message.created", "after-outage", marshal(t, messageCreated("bob")))
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := query(t, h.dbURL, `SELECT count(*) FROM processed_events`); n != 1 {
			return fmt.Errorf("processed events = %d, want 1", n)
		}
		return nil
	})
}
