// Command bench measures the services against the raw speed of the same
// Postgres, in one run on one machine, so the figures are ratios rather than
// absolute numbers that depend on the hardware:
//
//   - messenger's send-message path (gRPC call -> idempotency key + insert +
//     outbox row -> commit) against single-row INSERTs issued directly, by
//     the same number of concurrent clients;
//   - the Connect hop alone (the same client, server options and
//     interceptors, a handler that touches no database) against the same
//     INSERTs: the ceiling of any per-call send path on this machine;
//   - notifier's consumption rate (JetStream -> processed-event + notification
//     rows -> commit -> ack) against the same INSERT rate;
//   - p50/p99 latency of both at the same fixed, open-loop request rate;
//   - the CPU each sent message, Connect call and INSERT costs (this
//     process and Postgres together; a send until the relay published its
//     event), as the rate the machine's cores would allow each if CPU were
//     the only limit: the ratio of those rates is the highest
//     messenger_send_rate ratio this design can reach here.
//
// Each throughput pair is measured in alternating rounds, so a noisy
// neighbour slows both sides of a ratio alike. Postgres runs with fsync and
// synchronous commit on, as Aurora commits (-durable=false turns them off).
//
// Each figure is printed as one line:
//
//	bench: <name> <value> <unit> baseline <value> <unit> ratio <r>
//
// Run it with `go run ./services/bench` (flags: -duration, -concurrency,
// -rate). It starts its own throwaway Postgres and nats-server on loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pivotapp/platform/internal/localstack"
	grpcv1 "github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1"
	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/internal/stack"
	"github.com/pivotapp/platform/services/kit"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long each throughput and latency phase runs")
	concurrency := flag.Int("concurrency", 8, "concurrent clients in throughput phases (and pool size)")
	rate := flag.Int("rate", 200, "requests per second in the fixed-load latency phase")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	durable := flag.Bool("durable", true, "run Postgres crash-safe (fsync, synchronous commit), as Aurora is")
	breakdown := flag.String("breakdown", "", "instead of the figures, print the CPU per sent message by phase (Go and Postgres) and write each phase's profile to this folder")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	log.SetFlags(0)
	log.SetPrefix("bench: # ")
	// Interrupted or piped into head, the run still stops the Postgres and
	// nats-server it started (Postgres runs in its own process group and
	// would outlive us).
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *duration, *concurrency, *rate, *durable, *breakdown); err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

func run(ctx context.Context, duration time.Duration, concurrency, rate int, durable bool, breakdownDir string) error {
	// Tracing on, as in production (no exporter without an endpoint): its
	// cost belongs in the figures.
	shutdownTracing, err := kit.SetupTracing(ctx, "bench", kit.TelemetryConfig{})
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTracing(ctx) }()
	dir, err := os.MkdirTemp("", "services-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	pg, err := localstack.StartPostgres(ctx, localstack.PostgresOptions{
		Dir: filepath.Join(dir, "pg"), LogFile: filepath.Join(dir, "postgres.log"), Durable: durable,
	})
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	defer pg.Stop()
	natsDir := filepath.Join(dir, "nats")
	if err := os.MkdirAll(natsDir, 0o755); err != nil {
		return err
	}
	ns, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: natsDir})
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	defer ns.Stop()
	if err := createDatabases(ctx, pg, "baseline", "messenger", "notifier"); err != nil {
		return err
	}

	// Baseline: the same Postgres, single-row INSERTs of a message-shaped row.
	raw, err := pgxpool.New(ctx, pg.URL("baseline")+"&pool_max_conns="+fmt.Sprint(concurrency))
	if err != nil {
		return err
	}
	defer raw.Close()
	if _, err := raw.Exec(ctx, `CREATE TABLE raw_messages (id uuid PRIMARY KEY, room_id uuid NOT NULL, sender_id text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)`); err != nil {
		return err
	}
	roomForRaw := uuid.NewString()
	insert := func(ctx context.Context) error {
		_, err := raw.Exec(ctx, `INSERT INTO raw_messages VALUES ($1, $2, $3, $4, now())`, uuid.NewString(), roomForRaw, "alice", "benchmark message body")
		return err
	}

	m, err := stack.Messenger(ctx, map[string]string{
		"STAGE": "local", "DATABASE_URL": pg.URL("messenger"), "NATS_URL": ns.URL,
		"DATABASE_MAX_CONNS": fmt.Sprint(concurrency), "OUTBOX_POLL_INTERVAL": "200ms",
	}, stack.Options{})
	if err != nil {
		return err
	}
	client := grpcv1connect.NewMessengerServiceClient(kit.H2CClient(), m.URL, connect.WithGRPC())
	res, err := client.CreateRoom(ctx, connect.NewRequest(&grpcv1.CreateRoomRequest{PrincipalUserId: "alice", Name: "bench", MemberUserIds: []string{"bob"}}))
	if err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	roomID := res.Msg.GetRoom().GetId()
	send := func(ctx context.Context) error {
		_, err := client.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
			PrincipalUserId: "alice", IdempotencyKey: uuid.NewString(), RoomId: roomID, Body: "benchmark message body",
		}))
		return err
	}

	// Warm both paths (connections, plans) before measuring.
	if _, err := throughput(ctx, 300*time.Millisecond, concurrency, insert); err != nil {
		return err
	}
	if _, err := throughput(ctx, 300*time.Millisecond, concurrency, send); err != nil {
		return err
	}

	if breakdownDir != "" {
		conn, err := pgx.Connect(ctx, pg.URL("messenger"))
		if err != nil {
			return err
		}
		defer func() { _ = conn.Close(ctx) }()
		unsent := outboxProbe{conn}
		hop, err := startHop(ctx)
		if err != nil {
			return err
		}
		defer hop.stop()
		sendNoKey := func(ctx context.Context) error {
			_, err := client.SendMessage(ctx, connect.NewRequest(&grpcv1.SendMessageRequest{
				PrincipalUserId: "alice", RoomId: roomID, Body: "benchmark message body",
			}))
			return err
		}
		// The relay's claim and mark (outbox.Relay.Flush) without the
		// publish: n events in passes of 256, each its own transaction.
		claim := func(n int) (int, error) {
			done := 0
			for done < n {
				err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
					rows, err := tx.Query(ctx, `DELETE FROM outbox WHERE id IN (
							SELECT id FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
						RETURNING id, event_id, subject, payload, headers`, min(256, n-done))
					if err != nil {
						return err
					}
					var id int64
					var eventID, subject string
					var payload, headers []byte
					k, err := pgx.ForEachRow(rows, []any{&id, &eventID, &subject, &payload, &headers}, func() error { return nil })
					done += int(k.RowsAffected())
					return err
				})
				if err != nil {
					return done, err
				}
			}
			return done, nil
		}
		err = breakdownRun(ctx, breakdownDir, duration, concurrency, pg.PID(), ns, natsDir, unsent, claim, insert, send, sendNoKey, hop.call)
		var msgs, txs int
		if qerr := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT xmin::text) FROM messages`).Scan(&msgs, &txs); qerr == nil && txs > 0 {
			fmt.Printf("breakdown: %d messages in %d transactions (%.1f per group commit)\n", msgs, txs, float64(msgs)/float64(txs))
		}
		_ = m.Stop()
		return err
	}

	sendRate, baseRate, err := compare(ctx, duration, concurrency, send, insert)
	if err != nil {
		return err
	}
	report("messenger_send_rate", sendRate, "msg/s", baseRate, "rows/s")

	hop, err := startHop(ctx)
	if err != nil {
		return err
	}
	hopRate, hopBase, err := compare(ctx, duration, concurrency, hop.call, insert)
	if err != nil {
		hop.stop()
		return err
	}
	report("connect_hop_rate", hopRate, "calls/s", hopBase, "rows/s")

	// The bound: CPU per operation on each side, this process (clients,
	// messenger, its relay, the embedded nats-server) plus Postgres. A send
	// is charged until the relay has published its event.
	conn, err := pgx.Connect(ctx, pg.URL("messenger"))
	if err != nil {
		hop.stop()
		return err
	}
	cpu, err := cpuPerOp(ctx, cpuMeter{pgGroup: pg.PID()}, duration/2, concurrency, outboxProbe{conn}, send, insert, hop.call)
	hop.stop()
	_ = conn.Close(ctx)
	if err != nil {
		return err
	}
	cores := runtime.NumCPU()
	log.Printf("CPU per op: send %s; insert %s; hop %s; %d cores", cpu.send, cpu.insert, cpu.hop, cores)
	report("messenger_send_cpu_bound_rate", cpu.send.rate(cores), "msg/s", cpu.insert.rate(cores), "rows/s")
	report("connect_hop_cpu_bound_rate", cpu.hop.rate(cores), "calls/s", cpu.insert.rate(cores), "rows/s")

	baseLat, err := fixedLoad(ctx, duration, rate, insert)
	if err != nil {
		return err
	}
	sendLat, err := fixedLoad(ctx, duration, rate, send)
	if err != nil {
		return err
	}
	report(fmt.Sprintf("messenger_send_p50_at_%drps", rate), ms(percentile(sendLat, 50)), "ms", ms(percentile(baseLat, 50)), "ms")
	report(fmt.Sprintf("messenger_send_p99_at_%drps", rate), ms(percentile(sendLat, 99)), "ms", ms(percentile(baseLat, 99)), "ms")

	// Every message sent above is now an event in the stream; stopping
	// messenger flushes the outbox (the count below is of messages, whose
	// events the relay deleted from the outbox once published). Notifier then starts cold and works
	// through the backlog.
	if err := m.Stop(); err != nil {
		return fmt.Errorf("stop messenger: %w", err)
	}
	events, err := countRows(ctx, pg.URL("messenger"), `SELECT count(*) FROM messages`)
	if err != nil {
		return err
	}
	consumeRate, err := consumption(ctx, pg.URL("notifier"), ns.URL, concurrency, events)
	if err != nil {
		return err
	}
	// The backlog takes well under a second to drain: weigh it against the
	// insert rate just after it as well as the one before.
	after, err := throughput(ctx, duration/4, concurrency, insert)
	if err != nil {
		return err
	}
	report("notifier_consume_rate", consumeRate, "events/s", (baseRate+after)/2, "rows/s")
	return nil
}

func report(name string, value float64, unit string, baseline float64, baseUnit string) {
	ratio := 0.0
	if baseline > 0 {
		ratio = value / baseline
	}
	fmt.Printf("bench: %s %.2f %s baseline %.2f %s ratio %.3f\n", name, value, unit, baseline, baseUnit, ratio)
}

// throughput runs op from `workers` goroutines back to back for d and
// returns completed operations per second.
func throughput(ctx context.Context, d time.Duration, workers int, op func(context.Context) error) (float64, error) {
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := op(ctx); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds(), firstErr
}

// compare measures op and base in alternating rounds (op first) and
// returns both rates; each side runs for d in total.
func compare(ctx context.Context, d time.Duration, workers int, op, base func(context.Context) error) (opRate, baseRate float64, err error) {
	const rounds = 4
	var opSum, baseSum float64
	for range rounds {
		r, err := throughput(ctx, d/rounds, workers, op)
		if err != nil {
			return 0, 0, err
		}
		b, err := throughput(ctx, d/rounds, workers, base)
		if err != nil {
			return 0, 0, err
		}
		opSum, baseSum = opSum+r, baseSum+b
	}
	return opSum / rounds, baseSum / rounds, nil
}

// fixedLoad issues op at a fixed rate regardless of how long each takes
// (open loop, so slow responses do not hide queueing) and returns the
// latencies.
func fixedLoad(ctx context.Context, d time.Duration, rate int, op func(context.Context) error) ([]time.Duration, error) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Go(func() {
			t0 := time.Now()
			if err := op(ctx); err != nil {
				errs <- err
				return
			}
			lat[i] = time.Since(t0)
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return lat, nil
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	idx := (len(s)*p + 99) / 100
	return s[max(0, min(idx, len(s))-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// consumption starts notifier on a stream holding `events` unconsumed
// events and returns events processed per second, timed from the first
// processed event to the last (start-up and migrations excluded).
func consumption(ctx context.Context, dbURL, natsURL string, concurrency, events int) (float64, error) {
	if events == 0 {
		return 0, fmt.Errorf("no events to consume")
	}
	nt, err := stack.Notifier(ctx, map[string]string{
		"STAGE": "local", "DATABASE_URL": dbURL, "NATS_URL": natsURL,
		// NATS_CONCURRENCY stays at notifier's default: handlers share
		// transactions, so in-flight events are not connections.
		"DATABASE_MAX_CONNS": fmt.Sprint(concurrency),
	}, stack.Options{})
	if err != nil {
		return 0, err
	}
	defer func() { _ = nt.Stop() }()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(ctx) }()
	var first time.Time
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM processed_events`).Scan(&n); err != nil {
			return 0, err
		}
		if n > 0 && first.IsZero() {
			first = time.Now()
		}
		if n >= events {
			return float64(n) / time.Since(first).Seconds(), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("notifier did not finish %d events in time", events)
}

func createDatabases(ctx context.Context, pg *localstack.Postgres, names ...string) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	for _, n := range names {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+n); err != nil {
			return fmt.Errorf("create database %s: %w", n, err)
		}
	}
	return nil
}

func countRows(ctx context.Context, url, sql string) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close(ctx) }()
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

// outboxProbe reads messenger's outbox on its own connection.
type outboxProbe struct{ conn *pgx.Conn }

// count returns how many events wait in the outbox.
func (o outboxProbe) count(ctx context.Context) (int, error) {
	var n int
	err := o.conn.QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&n)
	return n, err
}

// empty reports whether the relay has published every event. It reads the
// primary key's first entry, as the relay's claim does: a scan of the
// table would read every row the relay deleted until vacuum, and its
// cost would be charged to the relay.
func (o outboxProbe) empty(ctx context.Context) bool {
	var any bool
	err := o.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM outbox ORDER BY id LIMIT 1)`).Scan(&any)
	return err == nil && !any
}
