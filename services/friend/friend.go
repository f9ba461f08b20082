// Package friend is the external API service: clients call it with the
// Connect protocol and a user JWT; it authenticates, applies operation-level
// access, checks its API's required fields, and calls messenger. This
// package exposes its composition root to its binary, the in-repo
// end-to-end tests and the benchmarks.
package friend

import (
	"context"

	"github.com/pivotapp/platform/services/friend/internal/service"
	"github.com/pivotapp/platform/services/kit"
)

// Name is the service name.
const Name = service.Name

// Config is friend's environment.
type Config = service.Config

// Build wires friend onto p.
func Build(ctx context.Context, cfg *Config, p *kit.Process) error { return service.Build(ctx, cfg, p) }
