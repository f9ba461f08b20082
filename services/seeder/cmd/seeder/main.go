// Command seeder fills a local environment with sample data through the
// services' APIs (FRIEND_URL or MESSENGER_URL).
package main

import (
	"context"
	"log/slog"

	"github.com/pivotapp/platform/services/kit"
	"github.com/pivotapp/platform/services/seeder/internal/seed"
)

func main() {
	var cfg seed.Config
	kit.RunTask("seeder", &cfg, func(ctx context.Context, logger *slog.Logger) error {
		return seed.Main(ctx, &cfg, logger)
	})
}
