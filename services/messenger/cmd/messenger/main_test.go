package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pivotapp/platform/services/kit"
)

// The test binary re-executes itself as the real main, so these tests see
// exactly what an operator sees: stderr and the exit code.
func TestMain(m *testing.M) {
	if os.Getenv("RUN_AS_MESSENGER") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
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
