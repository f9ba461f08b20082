// Package outbox solves the dual-write problem for services that publish
// events: Write stores an event in the same transaction as the change that
// caused it, and a Relay publishes stored events to JetStream after commit
// and deletes them once acknowledged. A NATS outage delays events but loses
// none; a crash between publish and delete republishes with the same
// Nats-Msg-Id, which JetStream's duplicate window drops (consumers stay
// idempotent for anything older).
package outbox

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/kit/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations creates the outbox table; pass it to pg.Migrate next to the
// service's own migrations.
var Migrations = func() pg.Migrations {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return pg.Migrations{Source: "kit/outbox", FS: sub}
}()

// Event is one event to publish once its transaction commits.
type Event struct {
	// ID is unique per event; it becomes the Nats-Msg-Id.
	ID      string
	Subject string
	Payload proto.Message
}

// Write stores events in tx, with ctx's trace context.
func Write(ctx context.Context, tx pgx.Tx, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	if err := Queue(ctx, batch, events...); err != nil {
		return err
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("insert outbox events: %w", err)
	}
	return nil
}

// Queue adds the inserts of events to batch, for a caller that sends its
// own statements and the events in one round trip. The batch must be sent
// inside the transaction of the change.
func Queue(ctx context.Context, batch *pgx.Batch, events ...Event) error {
	rows, err := Encode(ctx, events...)
	if err != nil {
		return err
	}
	QueueRows(batch, rows)
	return nil
}

// Row is an event encoded for the outbox table, carrying the trace context
// of the request that caused it.
type Row struct {
	EventID string
	Subject string
	Payload []byte
	Headers []byte
}

// Encode turns events into rows with ctx's trace context. A caller writing
// several requests' events in one transaction encodes each request's events
// with that request's context, then queues them all with QueueRows.
func Encode(ctx context.Context, events ...Event) ([]Row, error) {
	if len(events) == 0 {
		return nil, nil
	}
	h := nats.Header{}
	natsx.InjectTrace(ctx, h)
	headers, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode trace headers: %w", err)
	}
	rows := make([]Row, len(events))
	for i, e := range events {
		payload, err := proto.Marshal(e.Payload)
		if err != nil {
			return nil, fmt.Errorf("marshal event %s: %w", e.Subject, err)
		}
		rows[i] = Row{EventID: e.ID, Subject: e.Subject, Payload: payload, Headers: headers}
	}
	return rows, nil
}

// QueueRows adds one INSERT of all rows to batch.
func QueueRows(batch *pgx.Batch, rows []Row) {
	if len(rows) == 0 {
		return
	}
	ids, subjects := make([]string, len(rows)), make([]string, len(rows))
	payloads, headers := make([][]byte, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		ids[i], subjects[i], payloads[i], headers[i] = r.EventID, r.Subject, r.Payload, string(r.Headers)
	}
	// unnest keeps the statement's text, and so its prepared plan, the same
	// whatever the number of rows.
	batch.Queue(`INSERT INTO outbox (event_id, subject, payload, headers)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[])`, ids, subjects, payloads, headers)
}

// Relay publishes stored events. Several relays (one per task) may run on
// the same table: rows are claimed with FOR UPDATE SKIP LOCKED.
type Relay struct {
	pool      *pgxpool.Pool
	pub       *natsx.Publisher
	connected func() bool
	logger    *slog.Logger
	wake      chan struct{}

	// PollInterval bounds how long an event waits when no Notify arrives
	// (another task wrote it, or a publish failed).
	PollInterval time.Duration
	// Linger is the shortest time between two passes woken by Notify: under
	// load one pass then publishes the events of many commits instead of
	// paying a transaction (and a WAL flush) for each.
	Linger time.Duration
	// BatchSize is how many events one pass claims.
	BatchSize int
}

// NewRelay returns a relay reading pool and publishing with pub; connected
// reports whether NATS is reachable, so an outage is waited out quietly.
func NewRelay(pool *pgxpool.Pool, pub *natsx.Publisher, connected func() bool, logger *slog.Logger) *Relay {
	if pool == nil || pub == nil || connected == nil || logger == nil {
		panic("outbox: nil dependency")
	}
	return &Relay{
		pool: pool, pub: pub, connected: connected, logger: logger,
		wake:         make(chan struct{}, 1),
		PollInterval: time.Second,
		Linger:       50 * time.Millisecond,
		BatchSize:    256,
	}
}

// Notify wakes the relay; call it after committing a transaction that wrote
// events. It never blocks.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends, then makes one last pass so events written
// by the requests drained during shutdown leave with this task.
func (r *Relay) Run(ctx context.Context) error {
	failures := 0
	for {
		// A pass is never cancelled half-way: an aborted claim would keep
		// its rows locked until Postgres notices, and the final pass (SKIP
		// LOCKED) would skip exactly the events it is meant to send.
		passCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		passStart := time.Now()
		n, err := r.Flush(passCtx)
		cancel()
		switch {
		case err != nil:
			failures++
			if failures == 1 || failures%20 == 0 {
				r.logger.Warn("outbox relay: publish failed; will retry", "error", err, "failures", failures)
			}
		case n == r.BatchSize && ctx.Err() == nil:
			failures = 0
			continue // more are waiting
		default:
			failures = 0
		}
		wait, wake := r.PollInterval, r.wake
		if failures > 0 {
			// An outage is waited out on the backoff alone: commits keep
			// calling Notify, and answering each would retry (and warn) per
			// request.
			wait, wake = min(r.PollInterval*time.Duration(failures), 5*time.Second), nil
		}
		select {
		case <-ctx.Done():
			return r.finalFlush()
		case <-wake:
			if linger := time.Until(passStart.Add(r.Linger)); linger > 0 {
				select {
				case <-ctx.Done():
					return r.finalFlush()
				case <-time.After(linger):
				}
			}
		case <-time.After(wait):
		}
	}
}

func (r *Relay) finalFlush() error {
	if !r.connected() {
		return nil // the next task to start publishes them
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		n, err := r.Flush(ctx)
		if err != nil {
			r.logger.Warn("outbox relay: final flush", "error", err)
			return nil
		}
		if n < r.BatchSize {
			return nil
		}
	}
}

// ErrNotConnected is returned by Flush while NATS is unreachable.
var ErrNotConnected = errors.New("nats not connected")

type pending struct {
	id      int64
	eventID string
	subject string
	payload []byte
	headers []byte
}

// Flush claims up to BatchSize events, publishes them and deletes them
// once JetStream acknowledged every one. It returns how many it claimed.
//
// The claim is the delete itself (DELETE … RETURNING, skipping rows another
// relay holds), inside a transaction that commits only after the
// acknowledgements: one statement per pass, and no row is written twice
// (marking rows sent would rewrite every index of the table). If a publish
// fails the transaction rolls back and the whole batch stays for the next
// pass; the events that did go out are sent again with the same
// Nats-Msg-Id, which JetStream drops as duplicates.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	if !r.connected() {
		return 0, ErrNotConnected
	}
	var batch []pending
	err := pg.WithTx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `DELETE FROM outbox WHERE id IN (
				SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
			RETURNING id, event_id, subject, payload, headers`, r.BatchSize)
		if err != nil {
			return fmt.Errorf("claim events: %w", err)
		}
		batch, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (pending, error) {
			var x pending
			err := row.Scan(&x.id, &x.eventID, &x.subject, &x.payload, &x.headers)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		// RETURNING follows no order; publish in the order of writing.
		slices.SortFunc(batch, func(a, b pending) int { return cmp.Compare(a.id, b.id) })
		return r.publish(ctx, batch)
	})
	return len(batch), err
}

// publish sends batch and waits for every acknowledgement.
func (r *Relay) publish(ctx context.Context, batch []pending) error {
	waits := make([]func(context.Context) error, 0, len(batch))
	var publishErr error
	for _, x := range batch {
		var h nats.Header
		if err := json.Unmarshal(x.headers, &h); err != nil {
			h = nats.Header{}
		}
		// The publish span continues the trace of the request that wrote
		// the event.
		parent := trace.ContextWithRemoteSpanContext(ctx, natsx.ExtractSpanContext(h))
		wait, err := r.pub.PublishAsync(parent, natsx.Outgoing{Subject: x.subject, ID: x.eventID, Data: x.payload})
		if err != nil {
			publishErr = err
			break
		}
		waits = append(waits, wait)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, wait := range waits {
		if err := wait(waitCtx); err != nil {
			publishErr = errors.Join(publishErr, err)
		}
	}
	return publishErr
}
