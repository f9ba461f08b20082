// Package messenger is the internal chat service: rooms and messages in its
// own database, authorization by principal_user_id, events to JetStream
// through a transactional outbox. This package exposes its composition root
// to its binary, the in-repo end-to-end tests and the benchmarks; the code
// lives under internal/.
package messenger

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/messenger/internal/service"
)

// Name is the service name.
const Name = service.Name

// Config is messenger's environment.
type Config = service.Config

// Build wires messenger onto p.
func Build(ctx context.Context, cfg *Config, p *kit.Process) error { return service.Build(ctx, cfg, p) }

// StreamConfig is the stream messenger publishes to.
func StreamConfig() jetstream.StreamConfig { return service.StreamConfig() }
