package kit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/otelconnect"
)

// TaskConfig is the environment every binary reads, one-shot tasks (the
// seeder) included.
type TaskConfig struct {
	Stage    Stage      `env:"STAGE,required" desc:"deployment stage: local, staging, production or a tenant name; local turns on gRPC reflection and self-declared JetStream streams"`
	LogLevel slog.Level `env:"LOG_LEVEL" envDefault:"INFO" desc:"minimum log level: DEBUG, INFO, WARN or ERROR"`
	TelemetryConfig
}

// Task returns the embedded task configuration.
func (c *TaskConfig) Task() *TaskConfig { return c }

// BaseConfig is the environment every service reads. Service configs embed
// it next to their own variables.
type BaseConfig struct {
	TaskConfig
	Port            int           `env:"PORT" envDefault:"8080" desc:"TCP port of the h2c server carrying Connect, gRPC, gRPC-Web and /health"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s" desc:"how long SIGTERM may take, from the signal to the exit (draining, in-flight requests, workers, closing); keep it below the ECS stopTimeout (30s)"`
}

// Base returns the embedded base configuration; Main uses it to find the
// common settings in any service's config.
func (c *BaseConfig) Base() *BaseConfig { return c }

// CheckEnv validates what the types alone cannot.
func (c *BaseConfig) CheckEnv() []EnvProblem {
	var out []EnvProblem
	if c.Port < 1 || c.Port > 65535 {
		out = append(out, EnvProblem{"PORT", fmt.Sprintf("must be between 1 and 65535, got %d", c.Port)})
	}
	if c.ShutdownTimeout <= 0 {
		out = append(out, EnvProblem{"SHUTDOWN_TIMEOUT", fmt.Sprintf("must be positive, got %s", c.ShutdownTimeout)})
	}
	return out
}

// Configurable is a service config: it embeds BaseConfig.
type Configurable interface {
	TaskConfigurable
	Base() *BaseConfig
}

// TaskConfigurable is a task config: it embeds TaskConfig (or BaseConfig).
type TaskConfigurable interface {
	Task() *TaskConfig
}

// Process is one running service: its HTTP server, its background workers
// and the resources to release when it stops. A service's Build function
// registers onto it; Serve runs it until the context ends and then shuts
// down in order: stop accepting and drain in-flight requests, stop workers
// (consumers finish their current messages, the outbox relay flushes), then
// close what was opened (NATS, pools) in reverse order.
type Process struct {
	Name   string
	Stage  Stage
	Logger *slog.Logger
	Health *Health
	Mux    *http.ServeMux
	// Public marks an edge service: callers are clients on the internet, so
	// their trace headers start a linked trace instead of being continued.
	Public bool
	// Interceptors run inside tracing on every handler built with
	// HandlerOptions; tests add their own before Build.
	Interceptors []connect.Interceptor
	// ShutdownTimeout bounds the whole stop, from the signal to the return
	// of Serve and the flush of traces (see Serve).
	ShutdownTimeout time.Duration
	// DrainDelay is how long /health answers 503 before the listener
	// closes, so probes and load balancers see the drain and route new
	// traffic elsewhere; requests arriving meanwhile are still served.
	DrainDelay time.Duration

	// abort ends work that runs detached from its callers (group commits)
	// when the shutdown budget for requests has run out.
	abort       context.Context
	cancelAbort context.CancelFunc

	mu       sync.Mutex
	services []string
	workers  []worker
	closers  []closer
}

type worker struct {
	name string
	run  func(ctx context.Context) error
}

type closer struct {
	name  string
	close func(ctx context.Context) error
}

// NewProcess returns an empty process for the named service.
func NewProcess(name string, base BaseConfig, logger *slog.Logger) *Process {
	timeout := base.ShutdownTimeout
	if timeout <= 0 {
		timeout = 25 * time.Second
	}
	abort, cancelAbort := context.WithCancel(context.Background())
	return &Process{
		Name:            name,
		Stage:           base.Stage,
		Logger:          logger,
		Health:          NewHealth(),
		Mux:             http.NewServeMux(),
		ShutdownTimeout: timeout,
		DrainDelay:      min(timeout/6, 2*time.Second),
		abort:           abort,
		cancelAbort:     cancelAbort,
	}
}

// Abort returns a context that ends when the shutdown budget for requests
// has run out. Work that runs detached from its callers' cancellation (a
// group commit shared by several requests) must derive from it, or a
// request stuck on a lock would hold the process past SHUTDOWN_TIMEOUT.
func (p *Process) Abort() context.Context { return p.abort }

// FlushShare is the part of ShutdownTimeout left, after Serve returns, for
// flushing traces.
func (p *Process) FlushShare() time.Duration { return p.ShutdownTimeout / 10 }

// HandlerOptions returns the options every Connect handler of this process
// uses: OpenTelemetry spans (continuing the caller's trace unless Public) and
// then the process's interceptors.
func (p *Process) HandlerOptions() []connect.HandlerOption {
	opts := []otelconnect.Option{otelconnect.WithoutMetrics()}
	if !p.Public {
		// Internal callers are other services: continue their trace, as the
		// seeds ask ("existing traces should be honored").
		opts = append(opts, otelconnect.WithTrustRemote())
	}
	otelInterceptor, err := otelconnect.NewInterceptor(opts...)
	if err != nil {
		// Only invalid options make NewInterceptor fail; ours are fixed.
		panic(fmt.Sprintf("create otel interceptor: %v", err))
	}
	interceptors := append([]connect.Interceptor{otelInterceptor}, p.Interceptors...)
	return []connect.HandlerOption{
		connect.WithInterceptors(interceptors...),
		// Compressing small replies costs more CPU than the bytes it saves
		// on a datacenter network.
		connect.WithCompressMinBytes(4096),
	}
}

// Handle mounts a generated Connect handler and records its service name for
// gRPC reflection.
func (p *Process) Handle(serviceName, path string, h http.Handler) {
	p.mu.Lock()
	p.services = append(p.services, serviceName)
	p.mu.Unlock()
	p.Mux.Handle(path, h)
}

// Go registers a background worker (consumer, outbox relay). Its context is
// cancelled after the HTTP server drained; a worker that returns an error
// before that stops the whole process.
func (p *Process) Go(name string, run func(ctx context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers = append(p.workers, worker{name, run})
}

// OnStop registers a release step; steps run last-registered first, after
// the workers stopped, so a pool closes only when nothing uses it.
func (p *Process) OnStop(name string, close func(ctx context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closers = append(p.closers, closer{name, close})
}

// ListenAndServe listens on the configured port on every interface and
// serves until ctx ends.
func (p *Process) ListenAndServe(ctx context.Context, port int) error {
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return p.Serve(ctx, ln)
}

// Serve runs the process on ln until ctx ends, then shuts down gracefully.
// It returns the first error of the server, a worker or a release step.
func (p *Process) Serve(ctx context.Context, ln net.Listener) error {
	p.mountCommon()
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	// h2c: gRPC needs HTTP/2, and inside the VPC TLS is the mesh's job.
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           p.Mux,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(p.Logger.Handler(), slog.LevelWarn),
	}

	workCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	errs := make(chan error, len(p.workers)+1)
	var workers sync.WaitGroup
	for _, w := range p.workers {
		workers.Go(func() {
			if err := w.run(workCtx); err != nil && workCtx.Err() == nil {
				errs <- fmt.Errorf("worker %s: %w", w.name, err)
			}
		})
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("serve http: %w", err)
		}
	}()
	p.Logger.InfoContext(ctx, "serving", "addr", ln.Addr().String(), "stage", string(p.Stage))

	var runErr error
	select {
	case <-ctx.Done():
		p.Logger.Info("shutting down", "reason", context.Cause(ctx))
	case runErr = <-errs:
		p.Logger.Error("stopping after failure", "error", runErr)
	}

	return errors.Join(runErr, p.shutdown(srv, stopWorkers, &workers))
}

// shutdown stops the process within ShutdownTimeout (less FlushShare, which
// the trace flush gets afterwards):
//
//  1. /health turns 503 and the listener stays open for DrainDelay, so the
//     drain is seen and new traffic goes elsewhere;
//  2. the listener closes and in-flight requests finish, until 80% of the
//     budget has passed; then Abort ends detached work and the remaining
//     requests are cancelled (their connections close);
//  3. workers stop (consumers finish their messages, the relay flushes);
//  4. release steps run (NATS drains, pools close) with what is left.
//
// Each step is bounded, so the whole stop is.
func (p *Process) shutdown(srv *http.Server, stopWorkers context.CancelFunc, workers *sync.WaitGroup) error {
	start := time.Now()
	budget := p.ShutdownTimeout - p.FlushShare()
	deadline := start.Add(budget)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	defer p.cancelAbort()

	p.Health.SetDraining()
	select {
	case <-time.After(p.DrainDelay):
	case <-ctx.Done():
	}

	var err error
	requestsCtx, cancelRequests := context.WithDeadline(ctx, start.Add(budget*8/10))
	defer cancelRequests()
	// Shutdown closes the listener, then waits for every in-flight request
	// (HTTP/1 and HTTP/2 streams) to finish.
	if serr := srv.Shutdown(requestsCtx); serr != nil {
		// Not an error of the process: the budget is the operator's
		// decision; the cut requests fail with Canceled or Unavailable.
		p.Logger.Warn("requests still running at the shutdown deadline; cancelling them", "error", serr)
		p.cancelAbort()
		_ = srv.Close()
	}
	stopWorkers()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	workersCtx, cancelWorkers := context.WithDeadline(ctx, start.Add(budget*9/10))
	defer cancelWorkers()
	select {
	case <-done:
	case <-workersCtx.Done():
		p.cancelAbort()
		err = errors.Join(err, errors.New("workers did not stop before the shutdown timeout"))
	}
	return errors.Join(err, p.Close(ctx))
}

// Close runs the release steps, last registered first. Serve calls it; Main
// calls it when Build fails half-way.
func (p *Process) Close(ctx context.Context) error {
	p.mu.Lock()
	closers := p.closers
	p.closers = nil
	p.mu.Unlock()
	var err error
	for i := len(closers) - 1; i >= 0; i-- {
		if cerr := closers[i].close(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close %s: %w", closers[i].name, cerr))
		}
	}
	if err == nil {
		p.Logger.Info("stopped")
	}
	return err
}

func (p *Process) mountCommon() {
	p.Mux.Handle("GET "+HealthPath, p.Health)
	p.Mux.Handle("GET "+ReadyPath, p.Health)
	p.Mux.Handle("GET "+LivePath, p.Health.Live())
	p.mu.Lock()
	services := append([]string(nil), p.services...)
	p.mu.Unlock()
	if p.Stage.IsLocal() && len(services) > 0 {
		// Reflection lets grpcurl and IDEs explore the API on a laptop; it is
		// off elsewhere so deployed services do not advertise their surface.
		reflector := grpcreflect.NewStaticReflector(services...)
		p.Mux.Handle(grpcreflect.NewHandlerV1(reflector))
		p.Mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	}
}

// Interceptor is a Connect interceptor (re-exported so callers configuring a
// Process need not import connect just for the type).
type Interceptor = connect.Interceptor
