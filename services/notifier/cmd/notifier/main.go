// Command notifier runs the notifier service.
package main

import (
	"context"

	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/notifier"
)

func main() {
	var cfg notifier.Config
	kit.Main(notifier.Name, &cfg, func(ctx context.Context, p *kit.Process) error {
		return notifier.Build(ctx, &cfg, p)
	})
}
