package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pivotapp/platform/services/internal/stack"
	"github.com/pivotapp/platform/services/internal/testenv"
	"github.com/pivotapp/platform/services/kit"
)

// The test binary re-executes itself as the real main, so these tests see
// exactly what an operator sees: stderr and the exit code.
func TestMain(m *testing.M) {
	if os.Getenv("RUN_AS_MESSENGER") == "1" {
		main()
		return
	}
	testenv.Main(m)
}

func runMain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"RUN_AS_MESSENGER=1"}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

func TestInvalidEnvironmentRefusesToStart(t *testing.T) {
	t.Parallel()
	_, stderr, code := runMain(t, []string{
		"STAGE=Production!",
		"PORT=eighty",
		"NATS_URL=http://nats:4222",
		"DATABASE_URL=postgres://user:hunter2@db:5432/x?sslmode=bogus",
		"OUTBOX_POLL_INTERVAL=often",
		"DATABASE_MAX_CONNS=0",
	})
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr:\n%s", code, stderr)
	}
	for _, name := range []string{"STAGE", "PORT", "NATS_URL", "DATABASE_URL", "OUTBOX_POLL_INTERVAL", "DATABASE_MAX_CONNS"} {
		if !strings.Contains(stderr, "\n  "+name+": ") {
			t.Errorf("message does not name %s:\n%s", name, stderr)
		}
	}
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("a secret leaked into the message:\n%s", stderr)
	}
	if strings.Count(stderr, "refusing to start") != 1 {
		t.Errorf("want one message naming every problem:\n%s", stderr)
	}

	_, stderr, code = runMain(t, nil)
	if code != 2 || !strings.Contains(stderr, "STAGE: required but not set") ||
		!strings.Contains(stderr, "DATABASE_URL: required but not set") || !strings.Contains(stderr, "NATS_URL: required but not set") {
		t.Fatalf("empty environment: code %d\n%s", code, stderr)
	}
}

func TestPrintEnvSchema(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := runMain(t, nil, "--print-env-schema")
	if code != 0 {
		t.Fatalf("exit code = %d; stderr:\n%s", code, stderr)
	}
	var vars []kit.EnvVar
	if err := json.Unmarshal([]byte(stdout), &vars); err != nil {
		t.Fatalf("schema is not JSON: %v\n%s", err, stdout)
	}
	byName := map[string]kit.EnvVar{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	if v := byName["DATABASE_URL"]; !v.Required || !v.Secret || v.Description == "" {
		t.Errorf("DATABASE_URL = %+v, want required secret with a description", v)
	}
	if v := byName["PORT"]; v.Required || v.Default != "8080" {
		t.Errorf("PORT = %+v, want optional with default 8080", v)
	}
	for _, name := range []string{"STAGE", "NATS_URL", "DATABASE_READER_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("schema misses %s", name)
		}
	}
}

// TestSettingsThatWouldBreakTheProcessAreRefused: values that parse but
// cannot work are refused at start, with the variable named.
func TestSettingsThatWouldBreakTheProcessAreRefused(t *testing.T) {
	t.Parallel()
	valid := []string{"STAGE=local", "NATS_URL=nats://127.0.0.1:4222", "DATABASE_URL=postgres://u:p@127.0.0.1:5432/x"}
	for _, c := range []struct{ name, value, want string }{
		{"OUTBOX_POLL_INTERVAL", "0s", "must be positive"},
		{"OUTBOX_POLL_INTERVAL", "-1s", "must be positive"},
		{"SHUTDOWN_TIMEOUT", "-3s", "must be positive"},
		{"SHUTDOWN_TIMEOUT", "0s", "must be positive"},
	} {
		_, stderr, code := runMain(t, append(valid, c.name+"="+c.value))
		if code != 2 || !strings.Contains(stderr, "\n  "+c.name+": "+c.want) {
			t.Errorf("%s=%s: exit code %d, stderr:\n%s", c.name, c.value, code, stderr)
		}
	}
}

// TestUnreachableDatabaseNamesTheVariable: a DATABASE_URL that parses but
// reaches no server stops the process with a message naming the variable,
// and not its password.
func TestUnreachableDatabaseNamesTheVariable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	stdout, stderr, code := runMain(t, []string{"STAGE=local", "NATS_URL=nats://" + addr,
		"DATABASE_URL=postgres://u:hunter2@" + addr + "/x?sslmode=disable"})
	out := stdout + stderr
	if code == 0 || !strings.Contains(out, "DATABASE_URL") {
		t.Errorf("exit code %d; the failure does not name DATABASE_URL:\n%s", code, out)
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("the password leaked:\n%s", out)
	}
}

// TestHealthCheckIsLivenessOnly runs the container health check
// (`messenger --health-check`) against a messenger whose NATS is down: the
// check passes while readiness (/health) reports NATS down, so ECS does not
// replace a task that keeps accepting writes into its outbox.
func TestHealthCheckIsLivenessOnly(t *testing.T) {
	t.Parallel()
	n := testenv.StartNATS(t)
	m, err := stack.Messenger(context.Background(), map[string]string{
		"STAGE": "local", "DATABASE_URL": testenv.Database(t), "NATS_URL": n.URL, "SHUTDOWN_TIMEOUT": "3s",
	}, stack.Options{Logger: testenv.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	u, err := url.Parse(m.URL)
	if err != nil {
		t.Fatal(err)
	}
	check := func() (string, int) {
		_, stderr, code := runMain(t, []string{"PORT=" + u.Port()}, "--health-check")
		return stderr, code
	}
	if stderr, code := check(); code != 0 {
		t.Fatalf("health check with everything up: exit %d\n%s", code, stderr)
	}
	n.Stop()
	testenv.Eventually(t, 5*time.Second, func() error {
		resp, err := http.Get(m.URL + kit.HealthPath)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return errors.New("readiness still ok with NATS down")
		}
		return nil
	})
	if stderr, code := check(); code != 0 {
		t.Errorf("health check with NATS down: exit %d, want 0 (liveness only)\n%s", code, stderr)
	}
}
