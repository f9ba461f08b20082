package natsx

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// TestConnectRefusedCredentialsEndStartUp: a password the server refuses
// cannot get better by waiting, so start-up fails naming the variables;
// a server that is down is waited for instead.
func TestConnectRefusedCredentialsEndStartUp(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, Username: "platform", Password: "right"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(5e9) {
		t.Fatal("nats-server not ready")
	}
	url := URLs("nats://" + srv.Addr().String())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	if _, err := Connect(Config{URL: url, User: "platform", Password: "wrong"}, "test", logger); err == nil || !strings.Contains(err.Error(), "NATS_PASSWORD") {
		t.Errorf("connect with a refused password: err = %v, want one naming NATS_USER/NATS_PASSWORD", err)
	}
	c, err := Connect(Config{URL: url, User: "platform", Password: "right"}, "test", logger)
	if err != nil {
		t.Fatalf("connect with the right password: %v", err)
	}
	c.NC.Close()

	srv.Shutdown()
	down, err := Connect(Config{URL: url, User: "platform", Password: "right"}, "test", logger)
	if err != nil {
		t.Fatalf("connect while the server is down must wait, not fail: %v", err)
	}
	down.NC.Close()
}
