// Package notifier is the subscriber service: it consumes messenger's events
// from a durable JetStream consumer and stores notifications in its own
// database, idempotently. This package exposes its composition root to its
// binary, the in-repo end-to-end tests and the benchmarks.
package notifier

import (
	"context"

	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/notifier/internal/service"
)

// Name is the service name.
const Name = service.Name

// Config is notifier's environment.
type Config = service.Config

// Build wires notifier onto p.
func Build(ctx context.Context, cfg *Config, p *kit.Process) error { return service.Build(ctx, cfg, p) }
