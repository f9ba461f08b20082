// Package service is notifier's composition root.
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/services/internal/gen/notifier/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/kit/pg"
	"github.com/pivotapp/platform/services/notifier/internal/adapters"
	"github.com/pivotapp/platform/services/notifier/internal/app"
	"github.com/pivotapp/platform/services/notifier/internal/app/command"
	"github.com/pivotapp/platform/services/notifier/internal/app/query"
	"github.com/pivotapp/platform/services/notifier/internal/ports"
)

// Name is the service's name in logs, traces and NATS connections.
const Name = "notifier"

// Config is notifier's environment.
type Config struct {
	kit.BaseConfig
	Postgres          pg.Config
	NATS              natsx.Config
	Stream            string          `env:"NATS_STREAM" envDefault:"MESSENGER" desc:"stream holding messenger's events"`
	Consumer          string          `env:"NATS_CONSUMER" envDefault:"notifier" desc:"durable consumer name on NATS_STREAM"`
	MaxDeliver        int             `env:"NATS_MAX_DELIVER" envDefault:"5" desc:"deliveries of a failing event before it is dead-lettered"`
	RetryBackoff      []time.Duration `env:"NATS_RETRY_BACKOFF" envDefault:"1s,5s,30s" desc:"NAK delays by attempt, comma-separated; the last repeats"`
	Concurrency       int             `env:"NATS_CONCURRENCY" envDefault:"64" desc:"events handled at once; they share database transactions (group commit), so this is not a connection count"`
	DeadLetterSubject string          `env:"NATS_DEAD_LETTER_SUBJECT" envDefault:"notifier.v1.dead_letter" desc:"subject receiving events that cannot be processed"`
}

// CheckEnv validates what the types alone cannot.
func (c *Config) CheckEnv() []kit.EnvProblem {
	var out []kit.EnvProblem
	if c.MaxDeliver < 1 {
		out = append(out, kit.EnvProblem{Name: "NATS_MAX_DELIVER", Reason: "must be at least 1"})
	}
	if c.Concurrency < 1 {
		out = append(out, kit.EnvProblem{Name: "NATS_CONCURRENCY", Reason: "must be at least 1"})
	}
	for _, d := range c.RetryBackoff {
		if d <= 0 {
			out = append(out, kit.EnvProblem{Name: "NATS_RETRY_BACKOFF", Reason: "delays must be positive"})
			break
		}
	}
	return out
}

// SubscriberConfig is the durable consumer notifier reads; Terraform
// declares the same outside STAGE=local.
func (c *Config) SubscriberConfig() natsx.SubscriberConfig {
	return natsx.SubscriberConfig{
		Stream:            c.Stream,
		Durable:           c.Consumer,
		FilterSubjects:    ports.Subjects,
		MaxDeliver:        c.MaxDeliver,
		Backoff:           c.RetryBackoff,
		DeadLetterSubject: c.DeadLetterSubject,
		Concurrency:       c.Concurrency,
		Declare:           c.Stage.IsLocal(),
	}
}

// DeadLetterStream keeps dead letters; declared locally, by Terraform
// elsewhere.
func (c *Config) DeadLetterStream() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:     "NOTIFIER_DEAD_LETTER",
		Subjects: []string{c.DeadLetterSubject},
		Storage:  jetstream.FileStorage,
		MaxAge:   30 * 24 * time.Hour,
	}
}

// Build wires notifier onto p.
func Build(ctx context.Context, cfg *Config, p *kit.Process) error {
	db, err := pg.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	p.OnStop("postgres", db.CloseContext)
	if err := pg.Migrate(ctx, db.Writer(), adapters.Migrations()...); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	nc, err := natsx.Connect(cfg.NATS, Name, p.Logger)
	if err != nil {
		return err
	}
	p.OnStop("nats", nc.Close)

	repo := adapters.NewNotificationRepository(db, p.Abort())
	application := app.Application{
		Commands: app.Commands{Notify: command.NewNotifyHandler(repo, p.Logger)},
		Queries:  app.Queries{ListNotifications: query.NewListNotificationsHandler(repo)},
	}
	sub := natsx.NewSubscriber(nc.JS, cfg.SubscriberConfig(), ports.NewEventHandler(application), p.Logger)
	p.Go("subscriber", func(ctx context.Context) error {
		if cfg.Stage.IsLocal() {
			if err := declareDeadLetter(ctx, nc, cfg); err != nil {
				return nil // ctx ended while NATS was unreachable
			}
		}
		return sub.Run(ctx)
	})

	path, handler := grpcv1connect.NewNotifierServiceHandler(ports.NewNotifierServer(application, p.Logger), p.HandlerOptions()...)
	p.Handle(grpcv1connect.NotifierServiceName, path, handler)
	p.Health.Add("database", db.Ping)
	p.Health.Add("nats", nc.Ping)
	return nil
}

func declareDeadLetter(ctx context.Context, nc *natsx.Conn, cfg *Config) error {
	wait := 100 * time.Millisecond
	for {
		if err := natsx.EnsureStream(ctx, nc.JS, cfg.DeadLetterStream()); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}
