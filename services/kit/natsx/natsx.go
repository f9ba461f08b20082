// Package natsx connects a service to NATS JetStream and carries protobuf
// events with trace context: a publisher that sets Nats-Msg-Id for
// server-side dedupe and W3C traceparent headers, and a durable subscriber
// that acks, NAKs with backoff, and dead-letters what cannot succeed.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/services/kit"
)

// Config is the NATS part of a service's environment.
type Config struct {
	URL      URLs   `env:"NATS_URL,required" desc:"NATS server URL(s), comma-separated (nats://host:4222)"`
	User     string `env:"NATS_USER" desc:"NATS user name, if the server requires one"`
	Password string `env:"NATS_PASSWORD" secret:"true" desc:"NATS password for NATS_USER"`
}

// CheckEnv validates what the types alone cannot.
func (c *Config) CheckEnv() []kit.EnvProblem {
	if c.Password != "" && c.User == "" {
		return []kit.EnvProblem{{Name: "NATS_USER", Reason: "required when NATS_PASSWORD is set"}}
	}
	return nil
}

// URLs is a comma-separated list of NATS server URLs.
type URLs string

// UnmarshalText checks every URL's scheme and host.
func (u *URLs) UnmarshalText(b []byte) error {
	for _, s := range strings.Split(string(b), ",") {
		parsed, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		switch parsed.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("scheme must be nats, tls, ws or wss, got %q", parsed.Scheme)
		}
		if parsed.Host == "" {
			return errors.New("host is missing")
		}
	}
	*u = URLs(b)
	return nil
}

// Conn is a NATS connection with its JetStream context.
type Conn struct {
	NC *nats.Conn
	JS jetstream.JetStream
}

// Connect connects without waiting for the server: when NATS is down at
// start-up the service still starts (writes keep landing in the outbox and
// /health says NATS is unreachable) and the client keeps reconnecting.
func Connect(cfg Config, name string, logger *slog.Logger) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted()) }),
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	// A server that is down is waited for (the outbox keeps the events);
	// credentials it refuses are a wrong configuration that waiting cannot
	// fix, so the first attempt is made without retrying and a refusal
	// ends start-up, naming the variables to fix.
	if probe, err := nats.Connect(string(cfg.URL), append(opts[:len(opts):len(opts)], nats.RetryOnFailedConnect(false), nats.MaxReconnects(0), nats.Timeout(5*time.Second))...); err == nil {
		probe.Close()
	} else if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization violation") {
		return nil, fmt.Errorf("connect nats: the server refused NATS_USER/NATS_PASSWORD: %w", err)
	}
	nc, err := nats.Connect(string(cfg.URL), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(5*time.Second),
		jetstream.WithPublishAsyncMaxPending(4096),
	)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("create jetstream context: %w", err)
	}
	return &Conn{NC: nc, JS: js}, nil
}

// Ping reports whether the server is reachable; /health uses it.
func (c *Conn) Ping(ctx context.Context) error {
	if !c.NC.IsConnected() {
		return fmt.Errorf("not connected (%s)", c.NC.Status())
	}
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := c.NC.FlushTimeout(timeout); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// Close drains the connection (pending publishes go out, subscriptions
// finish) and waits until it is closed or ctx ends.
func (c *Conn) Close(ctx context.Context) error {
	closed := make(chan struct{})
	c.NC.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := c.NC.Drain(); err != nil {
		c.NC.Close()
		return nil
	}
	select {
	case <-closed:
	case <-ctx.Done():
		c.NC.Close()
	}
	return nil
}

// EnsureStream creates or updates a stream. Only STAGE=local calls it:
// elsewhere Terraform (pivot_nats_stream) owns streams.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("declare stream %s: %w", cfg.Name, err)
	}
	return nil
}
