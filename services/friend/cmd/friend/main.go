// Command friend runs the friend service.
package main

import (
	"context"

	"github.com/pivotapp/platform/services/friend"
	"github.com/pivotapp/platform/services/kit"
)

func main() {
	var cfg friend.Config
	kit.Main(friend.Name, &cfg, func(ctx context.Context, p *kit.Process) error {
		return friend.Build(ctx, &cfg, p)
	})
}
