package jetstream

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/jsm.go"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/localstack"
)

func testClient(t *testing.T) *Client {
	t.Helper()
	n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(n.Stop)
	nc, err := nats.Connect(n.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c, err := New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientStreamLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testClient(t)

	lvl, err := c.APILevel(ctx)
	if err != nil || lvl < 2 {
		t.Fatalf("APILevel = %d, %v; the embedded server should be at least level 2", lvl, err)
	}

	cfg := validStream()
	cfg.Owner = "orders"
	cfg.Metadata = map[string]string{"team": "core"}
	cfg.MaxAge = time.Hour
	cfg.ConsumerLimits = ConsumerLimits{MaxAckPending: 100}
	got, err := c.CreateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "orders" || !reflect.DeepEqual(got.Metadata, map[string]string{"team": "core"}) {
		t.Fatalf("owner/metadata read back as %q %v; server keys must be filtered out", got.Owner, got.Metadata)
	}
	if got.DuplicateWindow != DefaultDuplicateWindow {
		t.Fatalf("duplicate window = %s, want the server default", got.DuplicateWindow)
	}
	// A second create, as after an apply killed before it saved its state,
	// adopts the stream this package made.
	if again, err := c.CreateStream(ctx, cfg); err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("second create: %+v, %v", again, err)
	}
	// One made by someone else is refused.
	if _, err := c.mgr.NewStream("BYHAND", jsm.Subjects("byhand.>"), jsm.MemoryStorage()); err != nil {
		t.Fatal(err)
	}
	other := validStream()
	other.Name, other.Subjects = "BYHAND", []string{"byhand.>"}
	if _, err := c.CreateStream(ctx, other); !errors.Is(err, ErrExists) {
		t.Fatalf("create over a stream made by hand: %v, want ErrExists", err)
	}

	cfg.MaxMsgs = 1000
	cfg.Retention = RetentionInterest
	got, err = c.UpdateStream(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got.MaxMsgs != 1000 || got.Retention != RetentionInterest {
		t.Fatalf("update not applied: %+v", got)
	}

	cc := validConsumer()
	cc.MaxAckPending = 50
	cc.FilterSubject = "orders.created"
	cc.PauseUntil = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	gotc, err := c.CreateConsumer(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	if !gotc.PauseUntil.Equal(cc.PauseUntil) || gotc.MaxAckPending != 50 {
		t.Fatalf("consumer read back as %+v", gotc)
	}
	// Created again after an interrupted apply: adopted, not refused.
	if again, err := c.CreateConsumer(ctx, cc); err != nil || again.MaxAckPending != 50 || len(again.Metadata) != 0 {
		t.Fatalf("second create of the consumer: %+v, %v", again, err)
	}
	if _, err := c.mgr.NewConsumer("ORDERS", jsm.DurableName("byhand"), jsm.FilterStreamBySubject("orders.created")); err != nil {
		t.Fatal(err)
	}
	byHand := validConsumer()
	byHand.Durable, byHand.FilterSubject = "byhand", "orders.created"
	if _, err := c.CreateConsumer(ctx, byHand); !errors.Is(err, ErrExists) {
		t.Fatalf("create over a consumer made by hand: %v, want ErrExists", err)
	}
	cc.Description = "updated"
	cc.PauseUntil = time.Time{}
	if gotc, err = c.UpdateConsumer(ctx, cc); err != nil || gotc.Description != "updated" || !gotc.PauseUntil.IsZero() {
		t.Fatalf("update consumer: %+v, %v", gotc, err)
	}
	if _, st, err := c.ConsumerInfo(ctx, "ORDERS", "worker"); err != nil || st.Paused {
		t.Fatalf("consumer should be resumed: %+v %v", st, err)
	}

	if err := c.DeleteConsumer(ctx, "ORDERS", "worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consumer(ctx, "ORDERS", "worker"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("consumer after delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteConsumer(ctx, "ORDERS", "worker"); err != nil {
		t.Fatalf("deleting a missing consumer: %v", err)
	}
	if err := c.DeleteStream(ctx, "ORDERS"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stream(ctx, "ORDERS"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stream after delete: %v, want ErrNotFound", err)
	}
	if err := c.DeleteStream(ctx, "ORDERS"); err != nil {
		t.Fatalf("deleting a missing stream: %v", err)
	}
	if _, err := c.UpdateStream(ctx, cfg); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of a missing stream: %v, want ErrNotFound", err)
	}
	if _, err := c.EnsureStream(ctx, cfg); err != nil {
		t.Fatalf("ensure recreates: %v", err)
	}
}

func TestClientServerRefusesImmutableChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := testClient(t)
	cfg := validStream()
	cfg.AllowMsgCounter = true
	if _, err := c.CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	nw := cfg
	nw.AllowMsgCounter = false
	if fields := StreamReplaceFields(cfg, nw); len(fields) != 1 || fields[0] != "allow_msg_counter" {
		t.Fatalf("StreamReplaceFields = %v", fields)
	}
	if _, err := c.UpdateStream(ctx, nw); err == nil {
		t.Fatal("the server should refuse to change the counter setting in place")
	}
}
