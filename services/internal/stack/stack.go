// Package stack runs the services in-process on loopback ports, the way
// their binaries run them, for the end-to-end tests, the seeder's tests and
// the benchmarks.
package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/pivotapp/platform/services/friend"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/messenger"
	"github.com/pivotapp/platform/services/notifier"
)

// Running is one service serving on loopback.
type Running struct {
	Name    string
	URL     string
	Process *kit.Process
	cancel  context.CancelFunc
	done    chan error
}

// Stop shuts the service down through the SIGTERM path and waits for it.
func (r *Running) Stop() error {
	r.cancel()
	return <-r.done
}

// Options tune a started service.
type Options struct {
	Logger       *slog.Logger
	Interceptors []kit.Interceptor
}

func run(ctx context.Context, name string, cfg kit.Configurable, env map[string]string, opts Options,
	build func(context.Context, *kit.Process) error) (*Running, error) {
	if err := kit.LoadEnvFrom(cfg, env); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = kit.DiscardLogger()
	}
	p := kit.NewProcess(name, *cfg.Base(), logger)
	p.Interceptors = append(p.Interceptors, opts.Interceptors...)
	if err := build(ctx, p); err != nil {
		_ = p.Close(context.Background())
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = p.Close(context.Background())
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	r := &Running{Name: name, URL: "http://" + ln.Addr().String(), Process: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Serve(sctx, ln) }()
	return r, nil
}

// Messenger starts messenger with env (STAGE, DATABASE_URL, NATS_URL, ...).
func Messenger(ctx context.Context, env map[string]string, opts Options) (*Running, error) {
	var cfg messenger.Config
	return run(ctx, messenger.Name, &cfg, env, opts, func(ctx context.Context, p *kit.Process) error {
		return messenger.Build(ctx, &cfg, p)
	})
}

// Notifier starts notifier with env.
func Notifier(ctx context.Context, env map[string]string, opts Options) (*Running, error) {
	var cfg notifier.Config
	return run(ctx, notifier.Name, &cfg, env, opts, func(ctx context.Context, p *kit.Process) error {
		return notifier.Build(ctx, &cfg, p)
	})
}

// Friend starts friend with env.
func Friend(ctx context.Context, env map[string]string, opts Options) (*Running, error) {
	var cfg friend.Config
	return run(ctx, friend.Name, &cfg, env, opts, func(ctx context.Context, p *kit.Process) error {
		return friend.Build(ctx, &cfg, p)
	})
}
