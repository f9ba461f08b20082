package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack"
)

// The test binary doubles as pivotctl, so `local up` can start its detached
// `local serve` child without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PIVOTCTL_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	acctest.Main(m)
}

func runCtl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestLocal_upTwiceThenDown(t *testing.T) {
	t.Setenv("PIVOTCTL_TEST_AS_MAIN", "1")
	// Not t.TempDir: PostgreSQL runs as another user and must reach it.
	base, err := os.MkdirTemp("", "pivotctl-local-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "stack")

	out, err := runCtl(t, "local", "up", "--dir", dir)
	if err != nil {
		t.Fatalf("first up: %v\n%s", err, out)
	}
	first, err := localstack.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = localstack.Down(dir) })
	for _, want := range []string{"aws (moto):", "nats (jetstream):", "postgres (aurora):", "cloudflare (api v4):", "env file:"} {
		if !strings.Contains(out, want) {
			t.Errorf("up output lacks %q:\n%s", want, out)
		}
	}

	out, err = runCtl(t, "local", "up", "--dir", dir)
	if err != nil {
		t.Fatalf("second up: %v\n%s", err, out)
	}
	if !strings.Contains(out, "already running") {
		t.Errorf("second up should reuse the stack:\n%s", out)
	}
	second, _ := localstack.ReadState(dir)
	if second.PID != first.PID {
		t.Fatalf("second up started another stack: pid %d then %d", first.PID, second.PID)
	}

	// Every component answers with a real client.
	e := first.Endpoints
	// NATS requires the platform user's password, as a real system does.
	if nc, err := nats.Connect(e.NATS); err == nil {
		nc.Close()
		t.Error("the stack's NATS accepted a client without credentials")
	}
	nc, err := nats.Connect(e.NATS, nats.UserInfo(localstack.NATSUser, e.NATSPassword))
	if err != nil {
		t.Fatalf("connect nats: %v", err)
	}
	if _, err := nc.JetStream(); err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	nc.Close()
	conn, err := pgx.Connect(context.Background(), e.PostgresAdminURL)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	conn.Close(context.Background())
	envFile, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil || !strings.Contains(string(envFile), "AWS_ENDPOINT_URL=") || !strings.Contains(string(envFile), "CLOUDFLARE_BASE_URL=") {
		t.Fatalf("env file: %v\n%s", err, envFile)
	}
	if out, err := runCtl(t, "local", "status", "--dir", dir); err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}

	if out, err := runCtl(t, "local", "down", "--dir", dir); err != nil {
		t.Fatalf("down: %v\n%s", err, out)
	}
	for name, pid := range map[string]int{"stack": first.PID, "moto": first.MotoPID, "postgres": first.PostgresPID} {
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still running after down", name, pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("down left %s behind (stat: %v)", dir, err)
	}
	for _, addr := range []string{strings.TrimPrefix(e.NATS, "nats://"), strings.TrimPrefix(e.AWS, "http://")} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after down", addr)
		}
	}
	if out, err := runCtl(t, "local", "status", "--dir", dir); err == nil {
		t.Errorf("status after down should fail:\n%s", out)
	}
}
