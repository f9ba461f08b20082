// Package testenv runs service tests against real servers: one throwaway
// Postgres cluster per test package (started by Main from TestMain), a fresh
// database per test, and a fresh embedded nats-server per test. Everything
// binds to 127.0.0.1 on random ports, so tests run in parallel.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/services/kit"
)

var recorder = tracetest.NewSpanRecorder()

// Spans returns every span ended so far in this test package.
func Spans() []sdktrace.ReadOnlySpan { return recorder.Ended() }

var (
	pgMu      sync.Mutex
	pgCluster *localstack.Postgres
	pgErr     error
	pgDir     string
)

// Main runs a test package: it starts the package's Postgres lazily (only
// packages that ask for a database pay for it), runs the tests, and removes
// everything afterwards. Call it from TestMain.
func Main(m *testing.M) {
	// Tracing as in production (SDK provider, W3C propagation), recording
	// spans in memory so tests can check how traces connect.
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	otel.SetTextMapPropagator(kit.Propagator)
	code := m.Run()
	pgMu.Lock()
	if pgCluster != nil {
		pgCluster.Stop()
	}
	if pgDir != "" {
		_ = os.RemoveAll(pgDir)
	}
	pgMu.Unlock()
	os.Exit(code)
}

func cluster(t testing.TB) *localstack.Postgres {
	t.Helper()
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgCluster == nil && pgErr == nil {
		// Not t.TempDir: that is 0700 and owned by root, and the cluster
		// runs as the postgres user when tests run as root.
		pgDir, pgErr = os.MkdirTemp("", "services-pg-")
		if pgErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			pgCluster, pgErr = localstack.StartPostgres(ctx, localstack.PostgresOptions{Dir: pgDir, LogFile: filepath.Join(pgDir, "postgres.log")})
			cancel()
		}
	}
	if pgErr != nil {
		t.Fatalf("start postgres (did testenv.Main run from TestMain?): %v", pgErr)
	}
	return pgCluster
}

// Database creates an empty database for this test and returns its URL; it
// is dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	pg := cluster(t)
	name := "t_" + strings.ToLower(randomHex(6))
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			return
		}
		defer func() { _ = conn.Close(ctx) }()
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return pg.URL(name)
}

// AdminURL returns the superuser URL of the package's cluster for a
// database; benchmarks and fault-injection tests use it.
func AdminURL(t testing.TB, database string) string {
	return cluster(t).URL(database)
}

// NATS is a per-test nats-server that can be stopped and restarted on the
// same port with the same storage, to simulate an outage.
type NATS struct {
	*localstack.NATS
	dir string
	t   testing.TB
}

// StartNATS starts a JetStream-enabled nats-server for this test.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	dir, err := os.MkdirTemp("", "services-nats-")
	if err != nil {
		t.Fatal(err)
	}
	n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: dir})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	s := &NATS{NATS: n, dir: dir, t: t}
	t.Cleanup(func() {
		s.NATS.Stop()
		_ = os.RemoveAll(dir)
	})
	return s
}

// Stop shuts the server down, keeping its storage.
func (n *NATS) Stop() { n.NATS.Stop() }

// Restart starts the server again on the same port with the same storage.
func (n *NATS) Restart() {
	n.t.Helper()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var started *localstack.NATS
		started, err = localstack.StartNATS(localstack.NATSOptions{StoreDir: n.dir, Port: n.Port})
		if err == nil {
			n.NATS = started
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.t.Fatalf("restart nats: %v", err)
}

// Logger returns a logger for the code under test: silent unless
// TEST_LOG=1, when it writes JSON to stderr.
func Logger(t testing.TB) *slog.Logger {
	var w io.Writer = io.Discard //nolint:staticcheck // the explicit type is what the branches below assign
	if os.Getenv("TEST_LOG") != "" {
		w = os.Stderr
	}
	return kit.NewLogger(w, slog.LevelDebug, t.Name())
}

// Serve runs p on a random loopback port until the test ends and returns its
// base URL. Stop (returned) shuts it down early through the same path as
// SIGTERM and returns Serve's error.
func Serve(t testing.TB, p *kit.Process) (baseURL string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			serveErr = <-done
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve %s: %v", p.Name, err)
		}
	})
	return "http://" + ln.Addr().String(), stop
}

// HTTPClient is an h2c client for the services under test.
func HTTPClient() *http.Client { return kit.H2CClient() }

// Eventually polls cond until it returns nil or the timeout passes.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Unique returns a short random string for names in a test.
func Unique(prefix string) string { return fmt.Sprintf("%s-%s", prefix, randomHex(4)) }
