package outbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/kit/outbox"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOutageIsWaitedOutOnTheBackoff: while NATS is unreachable, every
// commit still calls Notify. The relay must keep its backoff instead of
// retrying (and warning) once per commit.
func TestOutageIsWaitedOutOnTheBackoff(t *testing.T) {
	// Neither server exists: with NATS reported down, a pass touches
	// neither (the pool connects lazily).
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	nc, err := nats.Connect("nats://127.0.0.1:1", nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	relay := outbox.NewRelay(pool, natsx.NewPublisher(js), func() bool { return false }, slog.New(slog.NewTextHandler(&logs, nil)))
	relay.PollInterval = 50 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	// A second of outage with a commit every half millisecond.
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		relay.Notify()
		time.Sleep(500 * time.Microsecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The relay warns on the first failure and then every 20th; on the
	// backoff (50ms, 100ms, …) a second of outage is about 6 passes.
	if n := strings.Count(logs.String(), "publish failed"); n != 1 {
		t.Errorf("%d warnings during one outage, want 1:\n%s", n, logs.String())
	}
}
