// Package service is messenger's composition root: it reads the config,
// opens the database and NATS, and wires adapters, application and ports
// onto a kit.Process.
package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/services/internal/gen/messenger/grpc/v1/grpcv1connect"
	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/kit/natsx"
	"github.com/pivotapp/platform/services/kit/outbox"
	"github.com/pivotapp/platform/services/kit/pg"
	"github.com/pivotapp/platform/services/messenger/internal/adapters"
	"github.com/pivotapp/platform/services/messenger/internal/app"
	"github.com/pivotapp/platform/services/messenger/internal/app/command"
	"github.com/pivotapp/platform/services/messenger/internal/app/query"
	"github.com/pivotapp/platform/services/messenger/internal/ports"
)

// Name is the service's name in logs, traces and NATS connections.
const Name = "messenger"

// Config is messenger's environment.
type Config struct {
	kit.BaseConfig
	Postgres           pg.Config
	NATS               natsx.Config
	OutboxPollInterval time.Duration `env:"OUTBOX_POLL_INTERVAL" envDefault:"1s" desc:"how often the outbox relay looks for unpublished events besides being woken by each commit"`
}

// CheckEnv validates what the types alone cannot.
func (c *Config) CheckEnv() []kit.EnvProblem {
	if c.OutboxPollInterval <= 0 {
		// Zero would make the relay poll without pause.
		return []kit.EnvProblem{{Name: "OUTBOX_POLL_INTERVAL", Reason: fmt.Sprintf("must be positive, got %s", c.OutboxPollInterval)}}
	}
	return nil
}

// StreamConfig is the JetStream stream messenger publishes to. Terraform
// declares it outside STAGE=local; locally messenger declares it itself.
func StreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:     adapters.Stream,
		Subjects: []string{adapters.SubjectPrefix + ">"},
		Storage:  jetstream.FileStorage,
		// Matches the relay's worst case between publish and mark-sent.
		Duplicates: 2 * time.Minute,
		MaxAge:     7 * 24 * time.Hour,
	}
}

// Build wires messenger onto p.
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
	if cfg.Stage.IsLocal() {
		p.Go("declare-stream", func(ctx context.Context) error {
			return retry(ctx, func() error { return natsx.EnsureStream(ctx, nc.JS, StreamConfig()) })
		})
	}

	relay := outbox.NewRelay(db.Writer(), natsx.NewPublisher(nc.JS), nc.NC.IsConnected, p.Logger)
	relay.PollInterval = cfg.OutboxPollInterval
	p.Go("outbox-relay", relay.Run)

	repo := adapters.NewRoomRepository(db, relay.Notify, p.Abort())
	now := time.Now
	application := app.Application{
		Commands: app.Commands{
			CreateRoom:    command.NewCreateRoomHandler(repo, now),
			AddRoomMember: command.NewAddRoomMemberHandler(repo, now),
			SendMessage:   command.NewSendMessageHandler(repo, now),
		},
		Queries: app.Queries{
			GetRoom:      query.NewGetRoomHandler(repo),
			ListRooms:    query.NewListRoomsHandler(repo),
			ListMessages: query.NewListMessagesHandler(repo),
		},
	}
	path, handler := grpcv1connect.NewMessengerServiceHandler(ports.NewMessengerServer(application, p.Logger), p.HandlerOptions()...)
	p.Handle(grpcv1connect.MessengerServiceName, path, handler)
	p.Health.Add("database", db.Ping)
	p.Health.Add("nats", nc.Ping)
	return nil
}

// retry runs fn until it succeeds or ctx ends, backing off up to 5s; local
// start-up uses it because NATS may come up after the service.
func retry(ctx context.Context, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		if err := fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, 5*time.Second)
	}
}
