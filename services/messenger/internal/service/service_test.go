package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	natsv1 "github.com/pivotapp/platform/services/internal/gen/messenger/nats/v1"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/messenger/internal/domain/room"
	"github.com/pivotapp/platform/services/messenger/internal/service"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type harness struct {
	url    string
	dbURL  string
	nats   *testenv.NATS
	grpc   grpcv1connect.MessengerServiceClient
	conn   grpcv1connect.MessengerServiceClient // Connect protocol
	stop   func() error
	health func() (int, kit.HealthReport)
}

type options struct {
	stage        string
	interceptors []connect.Interceptor
	env          map[string]string // overrides
	dbURL        string            // instead of a fresh database (a proxy to it)
	nats         *testenv.NATS     // instead of a fresh server
}

func start(t *testing.T, opts options) *harness {
	t.Helper()
	if opts.stage == "" {
		opts.stage = "local"
	}
	h := &harness{dbURL: opts.dbURL, nats: opts.nats}
	if h.nats == nil {
		h.nats = testenv.StartNATS(t)
	}
	if h.dbURL == "" {
		h.dbURL = testenv.Database(t)
	}
	var cfg service.Config
	env := map[string]string{
		"STAGE":                opts.stage,
		"DATABASE_URL":         h.dbURL,
		"DATABASE_READER_URL":  h.dbURL,
		"NATS_URL":             h.nats.URL,
		"OUTBOX_POLL_INTERVAL": "100ms",
		"SHUTDOWN_TIMEOUT":     "10s",
	}
	for k, v := range opts.env {
		env[k] = v
	}
	if err := kit.LoadEnvFrom(&cfg, env); err != nil {
		t.Fatal(err)
	}
	p := kit.NewProcess(service.Name, cfg.BaseConfig, testenv.Logger(t))
	p.Interceptors = opts.interceptors
	if err := service.Build(context.Background(), &cfg, p); err != nil {
		t.Fatal(err)
	}
	h.url, h.stop = testenv.Serve(t, p)
	h.grpc = grpcv1connect.NewMessengerServiceClient(testenv.HTTPClient(), h.url, connect.WithGRPC())
	h.conn = grpcv1connect.NewMessengerServiceClient(http.DefaultClient, h.url)
	h.health = func() (int, kit.HealthReport) {
		resp, err := http.Get(h.url + "/health")
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
	if opts.stage == "local" {
		waitForStream(t, h.nats.URL)
	}
	return h
}

func waitForStream(t *testing.T, url string) {
	t.Helper()
	nc, js := jetStream(t, url)
	defer nc.Close()
	testenv.Eventually(t, 10*time.Second, func() error {
		_, err := js.Stream(context.Background(), service.StreamConfig().Name)
		return err
	})
}

func jetStream(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// readEvents reads every MessageCreated in the stream until want message IDs
// were all seen or the timeout passes.
func readEvents(t *testing.T, url string, want int, timeout time.Duration) map[string]jetstream.Msg {
	t.Helper()
	nc, js := jetStream(t, url)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	seen := map[string]jetstream.Msg{}
	var cons jetstream.Consumer
	testenv.Eventually(t, timeout, func() error {
		var err error
		cons, err = js.OrderedConsumer(ctx, service.StreamConfig().Name, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{"messenger.v1.message.created"},
		})
		return err
	})
	for len(seen) < want && ctx.Err() == nil {
		batch, err := cons.Fetch(want, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			continue
		}
		for msg := range batch.Messages() {
			var ev natsv1.MessageCreated
			if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
				t.Fatalf("decode event: %v", err)
			}
			seen[ev.GetMessageId()] = msg
		}
	}
	return seen
}

const (
	alice   = "alice"
	bob     = "bob"
	mallory = "mallory"
)

func createRoom(t *testing.T, c grpcv1connect.MessengerServiceClient, owner string, members ...string) *grpcv1.Room {
	t.Helper()
	res, err := c.CreateRoom(context.Background(), connect.NewRequest(&grpcv1.CreateRoomRequest{
		PrincipalUserId: owner, Name: "general", MemberUserIds: members,
	}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.GetRoom()
}

func send(c grpcv1connect.MessengerServiceClient, user, key, roomID, body string) (*grpcv1.Message, error) {
	res, err := c.SendMessage(context.Background(), connect.NewRequest(&grpcv1.SendMessageRequest{
		PrincipalUserId: user, IdempotencyKey: key, RoomId: roomID, Body: body,
	}))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetMessage(), nil
}

func TestRoomsAndMessagesOverBothProtocols(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	for name, c := range map[string]grpcv1connect.MessengerServiceClient{"grpc": h.grpc, "connect": h.conn} {
		t.Run(name, func(t *testing.T) {
			r := createRoom(t, c, alice, bob)
			if got := strings.Join(r.GetMemberUserIds(), ","); got != "alice,bob" {
				t.Fatalf("members = %s", got)
			}
			var sent []string
			for i := range 3 {
				m, err := send(c, bob, "", r.GetId(), fmt.Sprintf("hello %d", i))
				if err != nil {
					t.Fatal(err)
				}
				sent = append(sent, m.GetId())
			}
			var got []string
			token := ""
			for pages := 0; ; pages++ {
				res, err := c.ListMessages(context.Background(), connect.NewRequest(&grpcv1.ListMessagesRequest{
					PrincipalUserId: alice, RoomId: r.GetId(), PageSize: 2, PageToken: token,
				}))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range res.Msg.GetMessages() {
					got = append(got, m.GetId())
				}
				if token = res.Msg.GetNextPageToken(); token == "" {
					if pages != 1 {
						t.Errorf("pages = %d, want 2 pages of size 2 for 3 messages", pages+1)
					}
					break
				}
			}
			if strings.Join(got, ",") != strings.Join(sent, ",") {
				t.Errorf("listed %v, want %v in order", got, sent)
			}
			rooms, err := c.ListRooms(context.Background(), connect.NewRequest(&grpcv1.ListRoomsRequest{PrincipalUserId: bob}))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, x := range rooms.Msg.GetRooms() {
				found = found || x.GetId() == r.GetId()
			}
			if !found {
				t.Error("ListRooms misses a room bob is in")
			}
		})
	}
}

func TestAuthorizationAndValidationAreMessengers(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	r := createRoom(t, h.grpc, alice, bob)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
		want connect.Code
	}{
		{"non-member posts", func() error { _, err := send(h.grpc, mallory, "", r.GetId(), "hi"); return err }, connect.CodePermissionDenied},
		{"non-member reads", func() error {
			_, err := h.grpc.ListMessages(ctx, connect.NewRequest(&grpcv1.ListMessagesRequest{PrincipalUserId: mallory, RoomId: r.GetId()}))
			return err
		}, connect.CodePermissionDenied},
		{"non-member gets room", func() error {
			_, err := h.grpc.GetRoom(ctx, connect.NewRequest(&grpcv1.GetRoomRequest{PrincipalUserId: mallory, RoomId: r.GetId()}))
			return err
		}, connect.CodePermissionDenied},
		{"non-member adds themselves", func() error {
			_, err := h.grpc.AddRoomMember(ctx, connect.NewRequest(&grpcv1.AddRoomMemberRequest{PrincipalUserId: mallory, RoomId: r.GetId(), UserId: mallory}))
			return err
		}, connect.CodePermissionDenied},
		{"unknown room", func() error {
			_, err := send(h.grpc, alice, "", "0b7c7d5e-32a5-4bb8-b5a8-0c2b0e6c2f11", "hi")
			return err
		}, connect.CodeNotFound},
		{"malformed room id", func() error { _, err := send(h.grpc, alice, "", "nope", "hi"); return err }, connect.CodeInvalidArgument},
		{"no principal", func() error { _, err := send(h.grpc, "", "", r.GetId(), "hi"); return err }, connect.CodeInvalidArgument},
		{"too long", func() error {
			_, err := send(h.grpc, alice, "", r.GetId(), strings.Repeat("x", room.MaxMessageLength+1))
			return err
		}, connect.CodeInvalidArgument},
		{"bad page token", func() error {
			_, err := h.grpc.ListMessages(ctx, connect.NewRequest(&grpcv1.ListMessagesRequest{PrincipalUserId: alice, RoomId: r.GetId(), PageToken: "!!"}))
			return err
		}, connect.CodeInvalidArgument},
	}
	for _, c := range cases {
		if got := connect.CodeOf(c.call()); got != c.want {
			t.Errorf("%s: code = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := send(h.grpc, alice, "", r.GetId(), strings.Repeat("x", room.MaxMessageLength)); err != nil {
		t.Errorf("a message of exactly the limit must pass: %v", err)
	}
	// Nothing refused above may have left an event behind.
	if n := h.published(t, subjectMessageCreated); n != 1 {
		t.Errorf("message events in outbox = %d, want 1 (only the accepted message)", n)
	}
}

const subjectMessageCreated = "messenger.v1.message.created"

// published waits until the relay published every stored event (it deletes
// them then) and returns how many events the stream holds on subject.
func (h *harness) published(t *testing.T, subject string) int {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := count(t, h.dbURL, `SELECT count(*) FROM outbox`); n != 0 {
			return fmt.Errorf("%d events not yet published", n)
		}
		return nil
	})
	nc, js := jetStream(t, h.nats.URL)
	defer nc.Close()
	stream, err := js.Stream(context.Background(), service.StreamConfig().Name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Subjects[subject])
}

func count(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotentSendMessage(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	r := createRoom(t, h.grpc, alice, bob)

	// Concurrent retries with one key: the key's row lock serializes them
	// and all but the first replay its result.
	const n = 12
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := send(h.grpc, alice, "key-1", r.GetId(), "only once")
			errs[i] = err
			if err == nil {
				ids[i] = m.GetId()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("retry %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("retry %d got message %s, want %s", i, ids[i], ids[0])
		}
	}
	if got := count(t, h.dbURL, `SELECT count(*) FROM messages`); got != 1 {
		t.Errorf("messages = %d, want 1", got)
	}
	if got := h.published(t, subjectMessageCreated); got != 1 {
		t.Errorf("events = %d, want 1", got)
	}
	// The key belongs to alice: bob may use the same string independently.
	if m, err := send(h.grpc, bob, "key-1", r.GetId(), "only once"); err != nil || m.GetId() == ids[0] {
		t.Errorf("bob's key-1 must be his own: id=%s err=%v", m.GetId(), err)
	}
	if _, err := send(h.grpc, alice, "key-1", r.GetId(), "something else"); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf("reused key with another body: code = %v, want AlreadyExists", connect.CodeOf(err))
	}
	// A refused attempt does not burn the key.
	if _, err := send(h.grpc, alice, "key-2", r.GetId(), strings.Repeat("x", room.MaxMessageLength+1)); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("code = %v, want InvalidArgument", connect.CodeOf(err))
	}
	if _, err := send(h.grpc, alice, "key-2", r.GetId(), strings.Repeat("x", room.MaxMessageLength+1)); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("retrying the refused request: code = %v, want InvalidArgument again", connect.CodeOf(err))
	}
}

// barrier holds SendMessage calls until n have arrived, then lets them all
// through at once, so they reach the repository together and share
// transactions.
func barrier(n int) connect.UnaryInterceptorFunc {
	var mu sync.Mutex
	arrived := 0
	open := make(chan struct{})
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if strings.HasSuffix(req.Spec().Procedure, "/SendMessage") {
				mu.Lock()
				if arrived++; arrived == n {
					close(open)
				}
				mu.Unlock()
				<-open
			}
			return next(ctx, req)
		}
	}
}

func TestConcurrentSendsShareTransactionsKeepingOutcomes(t *testing.T) {
	t.Parallel()
	const valid, strangers, tooLong, replays = 40, 5, 5, 10
	const total = valid + strangers + tooLong + replays
	h := start(t, options{interceptors: []connect.Interceptor{barrier(total)}})
	r1 := createRoom(t, h.grpc, alice, bob)
	r2 := createRoom(t, h.grpc, alice, "carol")

	type outcome struct {
		msg *grpcv1.Message
		err error
	}
	out := make([]outcome, total)
	type call struct{ user, key, room, body string }
	calls := make([]call, 0, total)
	for i := range valid {
		switch i % 3 {
		case 0:
			calls = append(calls, call{alice, fmt.Sprintf("a-%d", i), r1.GetId(), fmt.Sprintf("to r1 %d", i)})
		case 1:
			calls = append(calls, call{alice, fmt.Sprintf("a-%d", i), r2.GetId(), fmt.Sprintf("to r2 %d", i)})
		default:
			calls = append(calls, call{bob, fmt.Sprintf("b-%d", i), r1.GetId(), fmt.Sprintf("bob %d", i)})
		}
	}
	for i := range strangers {
		calls = append(calls, call{"carol", fmt.Sprintf("c-%d", i), r1.GetId(), "not my room"})
	}
	for i := range tooLong {
		calls = append(calls, call{alice, fmt.Sprintf("long-%d", i), r1.GetId(), strings.Repeat("x", room.MaxMessageLength+1)})
	}
	for range replays {
		calls = append(calls, call{bob, "same-key", r1.GetId(), "once"})
	}
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			m, err := send(h.grpc, c.user, c.key, c.room, c.body)
			out[i] = outcome{m, err}
		})
	}
	wg.Wait()

	var replayID string
	for i, c := range calls {
		o := out[i]
		switch {
		case i < valid:
			if o.err != nil || o.msg.GetBody() != c.body || o.msg.GetRoomId() != c.room || o.msg.GetSenderUserId() != c.user {
				t.Errorf("send %d (%s): got %v, %v", i, c.body, o.msg, o.err)
			}
		case i < valid+strangers:
			if connect.CodeOf(o.err) != connect.CodePermissionDenied {
				t.Errorf("send %d by a non-member: code %v, want PermissionDenied", i, connect.CodeOf(o.err))
			}
		case i < valid+strangers+tooLong:
			if connect.CodeOf(o.err) != connect.CodeInvalidArgument {
				t.Errorf("send %d too long: code %v, want InvalidArgument", i, connect.CodeOf(o.err))
			}
		default:
			if o.err != nil {
				t.Fatalf("replay %d: %v", i, o.err)
			}
			if replayID == "" {
				replayID = o.msg.GetId()
			}
			if o.msg.GetId() != replayID {
				t.Errorf("replay %d got message %s, want %s", i, o.msg.GetId(), replayID)
			}
		}
	}
	if got := count(t, h.dbURL, `SELECT count(*) FROM messages`); got != valid+1 {
		t.Errorf("messages = %d, want %d", got, valid+1)
	}
	if got := h.published(t, subjectMessageCreated); got != valid+1 {
		t.Errorf("events = %d, want %d", got, valid+1)
	}
	if got := count(t, h.dbURL, `SELECT count(*) FROM idempotency_keys k JOIN messages m ON m.id::text = k.result_id`); got != valid+1 {
		t.Errorf("keys pointing at their message = %d, want %d", got, valid+1)
	}
	// Refused sends burned no key: the same key works with a valid body.
	if _, err := send(h.grpc, alice, "long-0", r1.GetId(), "short now"); err != nil {
		t.Errorf("retry of a refused send: %v", err)
	}
	// Sends arriving together shared transactions (xmin is the inserting
	// transaction).
	if txs := count(t, h.dbURL, `SELECT count(DISTINCT xmin::text) FROM messages WHERE body <> 'short now'`); txs >= valid+1 {
		t.Errorf("%d messages took %d transactions; concurrent sends should share them", valid+1, txs)
	}
}

func TestEventsPublishedAfterCommit(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	r := createRoom(t, h.grpc, alice, bob)
	m, err := send(h.grpc, alice, "", r.GetId(), "event please")
	if err != nil {
		t.Fatal(err)
	}
	got := readEvents(t, h.nats.URL, 1, 10*time.Second)
	msg, ok := got[m.GetId()]
	if !ok {
		t.Fatalf("no MessageCreated for %s", m.GetId())
	}
	var ev natsv1.MessageCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.GetRoomId() != r.GetId() || ev.GetSenderUserId() != alice || strings.Join(ev.GetRecipientUserIds(), ",") != bob || ev.GetBody() != "event please" {
		t.Errorf("event = %v", &ev)
	}
	if id := msg.Headers().Get(jetstream.MsgIDHeader); id == "" || id != ev.GetEventId() {
		t.Errorf("Nats-Msg-Id = %q, want the event ID %q", id, ev.GetEventId())
	}
	if tp := msg.Headers().Get("traceparent"); tp == "" {
		t.Error("no traceparent header on the event")
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if n := count(t, h.dbURL, `SELECT count(*) FROM outbox`); n != 0 {
			return fmt.Errorf("%d events unsent", n)
		}
		return nil
	})
}

// TestOutboxSurvivesNATSOutage stops NATS while messages are written: every
// write that returned must still produce its event once NATS is back.
func TestOutboxSurvivesNATSOutage(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	r := createRoom(t, h.grpc, alice, bob)

	h.nats.Stop()
	testenv.Eventually(t, 5*time.Second, func() error {
		if code, rep := h.health(); code != http.StatusServiceUnavailable || rep.Checks["nats"].OK {
			return fmt.Errorf("health = %d %+v, want 503 with nats failing", code, rep)
		}
		return nil
	})
	// Liveness (the container health check) does not depend on NATS: ECS
	// must not replace a task that keeps accepting writes into its outbox.
	if err := kit.ProbeLive(context.Background(), http.DefaultClient, h.url); err != nil {
		t.Errorf("liveness during the NATS outage: %v", err)
	}
	var ids []string
	for i := range 20 {
		m, err := send(h.grpc, bob, fmt.Sprintf("outage-%d", i), r.GetId(), fmt.Sprintf("during outage %d", i))
		if err != nil {
			t.Fatalf("write %d during the outage: %v", i, err)
		}
		ids = append(ids, m.GetId())
	}
	time.Sleep(300 * time.Millisecond) // let the relay try and fail a few times
	if err := kit.ProbeLive(context.Background(), http.DefaultClient, h.url); err != nil {
		t.Errorf("liveness during the NATS outage, after writes: %v", err)
	}
	h.nats.Restart()

	got := readEvents(t, h.nats.URL, len(ids), 20*time.Second)
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			t.Errorf("event for message %s never arrived", id)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if code, _ := h.health(); code != http.StatusOK {
			return fmt.Errorf("health = %d after NATS came back", code)
		}
		return nil
	})
}

// TestShutdownUnderLoad drives SendMessage from many clients and shuts the
// process down through the kit's SIGTERM path mid-load: every request that
// reached a handler must complete successfully, and every event of a
// committed message must leave before the process exits.
func TestShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	var entered, completed, failed atomic.Int64
	slow := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			entered.Add(1)
			time.Sleep(100 * time.Millisecond) // keep requests in flight when the signal lands
			res, err := next(ctx, req)
			if err != nil {
				failed.Add(1)
			} else {
				completed.Add(1)
			}
			return res, err
		}
	})
	h := start(t, options{interceptors: []connect.Interceptor{slow}})
	r := createRoom(t, h.grpc, alice, bob)
	entered.Store(0)
	completed.Store(0)

	var ok, refused, inFlightAtStop atomic.Int64
	var stopping atomic.Bool
	var mu sync.Mutex
	var unexpected []error
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				startedBeforeStop := !stopping.Load()
				_, err := send(h.grpc, alice, fmt.Sprintf("w%d-%d", w, i), r.GetId(), "load")
				switch {
				case err == nil:
					ok.Add(1)
					if startedBeforeStop && stopping.Load() {
						inFlightAtStop.Add(1)
					}
				case connect.CodeOf(err) == connect.CodeUnavailable && stopping.Load():
					// Refused at the door (listener closed or GOAWAY before
					// the request was accepted): never in flight.
					refused.Add(1)
					return
				default:
					mu.Lock()
					unexpected = append(unexpected, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	time.Sleep(350 * time.Millisecond)
	stopping.Store(true)
	if err := h.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	wg.Wait()

	for _, err := range unexpected {
		t.Errorf("client saw %v", err)
	}
	if failed.Load() != 0 || entered.Load() != completed.Load() {
		t.Errorf("handlers: entered %d, completed %d, failed %d; want every accepted request completed", entered.Load(), completed.Load(), failed.Load())
	}
	if ok.Load() != completed.Load() {
		t.Errorf("clients got %d successes, handlers completed %d: a response was lost", ok.Load(), completed.Load())
	}
	if inFlightAtStop.Load() == 0 {
		t.Error("no request was in flight when shutdown began; the test proved nothing")
	}
	if got := count(t, h.dbURL, `SELECT count(*) FROM messages`); int64(got) != ok.Load() {
		t.Errorf("messages stored = %d, successes = %d", got, ok.Load())
	}
	if n := count(t, h.dbURL, `SELECT count(*) FROM outbox`); n != 0 {
		t.Errorf("%d events left unsent at exit; the relay's final flush should send them", n)
	}
	t.Logf("ok=%d in-flight-at-stop=%d refused=%d", ok.Load(), inFlightAtStop.Load(), refused.Load())
}

func TestHealth(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	code, rep := h.health()
	if code != http.StatusOK || rep.Status != "ok" || !rep.Checks["database"].OK || !rep.Checks["nats"].OK {
		t.Fatalf("health = %d %+v", code, rep)
	}
}

// TestReplaysReturnTheStoredResponse replays every mutation with its key
// after the entity changed: each replay must return the first response
// byte for byte, and a different request under a used key is refused, also
// when its inputs join to the same text.
func TestReplaysReturnTheStoredResponse(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	ctx := context.Background()
	marshal := func(m proto.Message, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	createRoom := func(key string, members ...string) (proto.Message, error) {
		res, err := h.grpc.CreateRoom(ctx, connect.NewRequest(&grpcv1.CreateRoomRequest{
			PrincipalUserId: alice, IdempotencyKey: key, Name: "replayed", MemberUserIds: members,
		}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	addMember := func(key, roomID, user string) (proto.Message, error) {
		res, err := h.grpc.AddRoomMember(ctx, connect.NewRequest(&grpcv1.AddRoomMemberRequest{
			PrincipalUserId: alice, IdempotencyKey: key, RoomId: roomID, UserId: user,
		}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}
	sendMessage := func(key, roomID string) (proto.Message, error) {
		res, err := h.grpc.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
			PrincipalUserId: alice, IdempotencyKey: key, RoomId: roomID, Body: "hello",
		}))
		if err != nil {
			return nil, err
		}
		return res.Msg, nil
	}

	created, err := createRoom("create-1", bob)
	first := marshal(created, err)
	roomID := created.(*grpcv1.CreateRoomResponse).GetRoom().GetId()
	added := marshal(addMember("add-carol", roomID, "carol"))
	sent := marshal(sendMessage("send-1", roomID))
	// The room changes after each of them.
	marshal(addMember("add-dave", roomID, "dave"))

	for name, replay := range map[string]struct {
		want []byte
		call func() (proto.Message, error)
	}{
		"CreateRoom":    {first, func() (proto.Message, error) { return createRoom("create-1", bob) }},
		"AddRoomMember": {added, func() (proto.Message, error) { return addMember("add-carol", roomID, "carol") }},
		"SendMessage":   {sent, func() (proto.Message, error) { return sendMessage("send-1", roomID) }},
	} {
		if got := marshal(replay.call()); !bytes.Equal(got, replay.want) {
			msg, _ := replay.call()
			t.Errorf("%s replay differs from the first response:\nreplay %v", name, msg)
		}
	}

	// ["x","y"] and then ["x,y"] under one key are two different requests.
	marshal(createRoom("create-2", "x", "y"))
	if _, err := createRoom("create-2", "x,y"); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf(`["x,y"] under the key of ["x","y"]: code = %v, want AlreadyExists`, connect.CodeOf(err))
	}
	if _, err := createRoom("create-2", "x"); connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Errorf(`["x"] under the key of ["x","y"]: code = %v, want AlreadyExists`, connect.CodeOf(err))
	}
}

// TestShutdownKeepsItsBudget stops messenger (SHUTDOWN_TIMEOUT=3s) while
// requests are stuck on locks another transaction holds, one on the
// one-transaction path (AddRoomMember waits for the room's row) and one in
// a shared group commit (SendMessage waits for its idempotency key). The
// stop must end within the budget (plus slack for a loaded machine), and
// /health must answer 503 while the process drains.
func TestShutdownKeepsItsBudget(t *testing.T) {
	t.Parallel()
	const budget = 3 * time.Second
	h := start(t, options{env: map[string]string{"SHUTDOWN_TIMEOUT": budget.String()}})
	r := createRoom(t, h.grpc, alice, bob)

	ctx := context.Background()
	blocker, err := pgx.Connect(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Close(ctx)
	tx, err := blocker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE`, r.GetId()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (principal, key, operation, fingerprint) VALUES ($1, 'stuck', 'SendMessage', 'x')`, alice); err != nil {
		t.Fatal(err)
	}
	stuck := make(chan error, 2)
	go func() {
		_, err := h.grpc.AddRoomMember(ctx, connect.NewRequest(&grpcv1.AddRoomMemberRequest{PrincipalUserId: alice, RoomId: r.GetId(), UserId: "carol"}))
		stuck <- err
	}()
	go func() { _, err := send(h.grpc, alice, "stuck", r.GetId(), "stuck"); stuck <- err }()
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := count(t, h.dbURL, `SELECT count(*) FROM pg_locks WHERE NOT granted`); n < 2 {
			return fmt.Errorf("%d requests wait on a lock, want 2", n)
		}
		return nil
	})

	began := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	saw503 := false
	for !saw503 {
		resp, err := http.Get(h.url + "/health")
		if err != nil {
			break // the listener closed
		}
		saw503 = resp.StatusCode == http.StatusServiceUnavailable
		resp.Body.Close()
		time.Sleep(10 * time.Millisecond)
	}
	<-stopped // its error (requests cut at the deadline) is expected
	took := time.Since(began)
	if !saw503 {
		t.Error("/health never answered 503 while the process drained")
	}
	if took > budget+budget/6 {
		t.Errorf("stop took %s with SHUTDOWN_TIMEOUT=%s", took, budget)
	}
	for range 2 {
		if err := <-stuck; err == nil {
			t.Error("a request stuck on a lock succeeded; want it cut at the deadline")
		}
	}
}

// TestDatabaseOutageIsUnavailable: while the database cannot be reached,
// mutations and queries fail with Unavailable (worth a retry), not
// Internal; they succeed again once it is back.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	db := testenv.Database(t)
	proxy, viaProxy := testenv.StartProxy(t, db)
	h := start(t, options{dbURL: viaProxy})
	r := createRoom(t, h.grpc, alice, bob)
	ctx := context.Background()

	proxy.Cut()
	calls := map[string]func() error{
		"SendMessage": func() error { _, err := send(h.grpc, alice, "during-outage", r.GetId(), "hi"); return err },
		"CreateRoom": func() error {
			_, err := h.grpc.CreateRoom(ctx, connect.NewRequest(&grpcv1.CreateRoomRequest{PrincipalUserId: alice, Name: "x"}))
			return err
		},
		"ListMessages": func() error {
			_, err := h.grpc.ListMessages(ctx, connect.NewRequest(&grpcv1.ListMessagesRequest{PrincipalUserId: alice, RoomId: r.GetId()}))
			return err
		},
	}
	for name, call := range calls {
		if code := connect.CodeOf(call()); code != connect.CodeUnavailable {
			t.Errorf("%s with the database down: code = %v, want Unavailable", name, code)
		}
	}
	if code, rep := h.health(); code != http.StatusServiceUnavailable || rep.Checks["database"].OK {
		t.Errorf("readiness with the database down = %d %+v", code, rep)
	}
	if err := kit.ProbeLive(ctx, http.DefaultClient, h.url); err != nil {
		t.Errorf("liveness with the database down: %v", err)
	}
	proxy.Restore()
	testenv.Eventually(t, 10*time.Second, func() error {
		_, err := send(h.grpc, alice, "after-outage", r.GetId(), "hi")
		return err
	})
}

// TestGroupedPostsSeeMembersAddedByAnotherTask: a task's grouped posts read
// rooms from its cache; a member added through another task (same
// database) may post at once, and posts notify the new member.
func TestGroupedPostsSeeMembersAddedByAnotherTask(t *testing.T) {
	t.Parallel()
	h1 := start(t, options{})
	h2 := start(t, options{dbURL: h1.dbURL, nats: h1.nats}) // a second task
	r := createRoom(t, h1.grpc, alice, bob)
	if _, err := send(h1.grpc, alice, "", r.GetId(), "fills the cache"); err != nil {
		t.Fatal(err)
	}
	if _, err := h2.grpc.AddRoomMember(context.Background(), connect.NewRequest(&grpcv1.AddRoomMemberRequest{
		PrincipalUserId: alice, RoomId: r.GetId(), UserId: "carol",
	})); err != nil {
		t.Fatal(err)
	}
	// alice is in the cached list, which misses carol: the statement's
	// member_count check must catch it.
	m, err := send(h1.grpc, alice, "", r.GetId(), "to everyone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(h1.grpc, "carol", "", r.GetId(), "carol was added elsewhere"); err != nil {
		t.Errorf("the new member's post through the other task: %v", err)
	}
	got := readEvents(t, h1.nats.URL, 3, 10*time.Second)
	msg, ok := got[m.GetId()]
	if !ok {
		t.Fatalf("no event for %s", m.GetId())
	}
	var ev natsv1.MessageCreated
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ev.GetRecipientUserIds(), ","); got != "bob,carol" {
		t.Errorf("recipients = %s, want bob,carol", got)
	}
}

// TestSendsDoNotWaitOnAMembershipChange: AddRoomMember holds its room FOR
// UPDATE while it works. Posts must not queue behind it: a foreign key from
// messages to rooms made every grouped insert lock the room (FOR KEY
// SHARE), which waits for FOR UPDATE.
func TestSendsDoNotWaitOnAMembershipChange(t *testing.T) {
	t.Parallel()
	h := start(t, options{})
	r := createRoom(t, h.grpc, alice, bob)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, h.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE`, r.GetId()); err != nil {
		t.Fatal(err)
	}
	sendCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := h.grpc.SendMessage(sendCtx, connect.NewRequest(&grpcv1.SendMessageRequest{
		PrincipalUserId: alice, RoomId: r.GetId(), Body: "while a member is being added",
	})); err != nil {
		t.Fatalf("send while the room is locked for a membership change: %v", err)
	}
}
