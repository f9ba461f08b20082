package kit

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// BuildFunc wires a service onto a process: it opens pools and connections,
// registers handlers, workers and release steps. It must not block.
type BuildFunc func(ctx context.Context, p *Process) error

// Flags every binary answers.
const (
	// PrintEnvSchemaFlag makes a binary print its env contract and exit.
	PrintEnvSchemaFlag = "print-env-schema"
	// HealthCheckFlag makes a service binary ask its own liveness endpoint
	// (LivePath) on 127.0.0.1:$PORT and exit 0 when it answers: the
	// container health check, since the image has no shell or curl. It
	// checks liveness only: a dependency's outage must not make ECS replace
	// the task (readiness, /health, reports dependencies).
	HealthCheckFlag = "health-check"
)

// Main is the whole main function of a service binary:
//
//   - `--print-env-schema` prints the env contract as JSON and exits 0;
//   - an invalid environment is refused with one message naming every bad
//     variable, exit code 2;
//   - otherwise it sets up logging and tracing, builds the service, serves
//     until SIGINT or SIGTERM, and drains before exiting.
//
// cfg is a pointer to the service's config struct, filled before build runs.
func Main(name string, cfg Configurable, build BuildFunc) {
	for _, a := range os.Args[1:] {
		if a == "-"+HealthCheckFlag || a == "--"+HealthCheckFlag {
			os.Exit(healthCheck(os.Getenv("PORT"), os.Stderr))
		}
	}
	flushTimeout := 5 * time.Second
	os.Exit(run(name, cfg, os.Args[1:], os.Stdout, os.Stderr, &flushTimeout, func(ctx context.Context, logger *slog.Logger) error {
		base := cfg.Base()
		p := NewProcess(name, *base, logger)
		// SHUTDOWN_TIMEOUT bounds the whole stop, the trace flush included.
		flushTimeout = p.FlushShare()
		if err := build(ctx, p); err != nil {
			closeCtx, cancel := context.WithTimeout(context.Background(), p.ShutdownTimeout)
			defer cancel()
			return errors.Join(fmt.Errorf("build: %w", err), p.Close(closeCtx))
		}
		return p.ListenAndServe(ctx, base.Port)
	}))
}

// RunTask is Main for one-shot binaries (the seeder): same flags, env
// validation, logging and tracing, but task runs once and its error sets the
// exit code.
func RunTask(name string, cfg TaskConfigurable, task func(ctx context.Context, logger *slog.Logger) error) {
	flushTimeout := 5 * time.Second
	os.Exit(run(name, cfg, os.Args[1:], os.Stdout, os.Stderr, &flushTimeout, task))
}

// run is Main's and RunTask's body; *flushTimeout (which body may change)
// bounds the trace flush before exit.
func run(name string, cfg TaskConfigurable, args []string, stdout, stderr io.Writer, flushTimeout *time.Duration, body func(context.Context, *slog.Logger) error) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if _, isService := cfg.(Configurable); isService {
		// Handled before parsing (see Main); declared for -help.
		fs.Bool(HealthCheckFlag, false, "check this service's liveness ("+LivePath+") on 127.0.0.1:$PORT and exit 0 if it answers")
	}
	printSchema := fs.Bool(PrintEnvSchemaFlag, false, "print the environment variables this binary reads, as JSON, and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *printSchema {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(EnvSchema(cfg)); err != nil {
			fmt.Fprintf(stderr, "%s: print env schema: %v\n", name, err)
			return 1
		}
		return 0
	}
	if err := LoadEnv(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: refusing to start: %v\n", name, err)
		return 2
	}
	base := cfg.Task()
	logger := NewLogger(stdout, base.LogLevel, name)
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one kills the process the
		// default way instead of waiting for the drain.
		<-ctx.Done()
		stop()
	}()

	shutdownTracing, err := SetupTracing(ctx, name, base.TelemetryConfig)
	if err != nil {
		logger.Error("refusing to start", "error", err)
		return 1
	}
	runErr := body(ctx, logger)
	flushCtx, cancel := context.WithTimeout(context.Background(), *flushTimeout)
	defer cancel()
	if err := shutdownTracing(flushCtx); err != nil {
		logger.Warn("flush traces", "error", err)
	}
	if runErr != nil {
		logger.Error("exiting after failure", "error", runErr)
		return 1
	}
	return 0
}

func healthCheck(port string, stderr io.Writer) int {
	if port == "" {
		port = "8080"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := ProbeLive(ctx, http.DefaultClient, "http://127.0.0.1:"+port); err != nil {
		fmt.Fprintf(stderr, "health check: %v\n", err)
		return 1
	}
	return 0
}
