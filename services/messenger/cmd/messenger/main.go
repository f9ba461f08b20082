// Command messenger runs the messenger service.
package main

import (
	"context"

	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/messenger"
)

func main() {
	var cfg messenger.Config
	kit.Main(messenger.Name, &cfg, func(ctx context.Context, p *kit.Process) error {
		return messenger.Build(ctx, &cfg, p)
	})
}
