package seed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pivotapp/platform/services/kit"
)

// Config is the seeder's environment.
type Config struct {
	kit.TaskConfig
	FriendURL    kit.HTTPURL   `env:"FRIEND_URL" desc:"seed through friend's public API at this URL; set this or MESSENGER_URL"`
	MessengerURL kit.HTTPURL   `env:"MESSENGER_URL" desc:"seed through messenger's gRPC API at this URL; set this or FRIEND_URL"`
	JWTSecret    string        `env:"JWT_HS256_SECRET" secret:"true" desc:"friend's HS256 secret, to mint the sample users' tokens; required with FRIEND_URL"`
	JWTAudience  string        `env:"JWT_AUDIENCE" desc:"friend's token audience; required with FRIEND_URL"`
	Timeout      time.Duration `env:"SEED_TIMEOUT" envDefault:"2m" desc:"how long seeding may take, including waiting for the services to answer"`
}

// CheckEnv enforces one target, its credentials, and a local stage: the
// sample users must never land in a real environment.
func (c *Config) CheckEnv() []kit.EnvProblem {
	var out []kit.EnvProblem
	if !c.Stage.IsLocal() {
		out = append(out, kit.EnvProblem{Name: "STAGE", Reason: fmt.Sprintf("the seeder only runs with STAGE=local, got %q", c.Stage)})
	}
	switch {
	case c.FriendURL == "" && c.MessengerURL == "":
		out = append(out, kit.EnvProblem{Name: "FRIEND_URL", Reason: "one of FRIEND_URL and MESSENGER_URL is required"})
	case c.FriendURL != "" && c.MessengerURL != "":
		out = append(out, kit.EnvProblem{Name: "MESSENGER_URL", Reason: "set only one of FRIEND_URL and MESSENGER_URL"})
	case c.FriendURL != "":
		if c.JWTSecret == "" {
			out = append(out, kit.EnvProblem{Name: "JWT_HS256_SECRET", Reason: "required with FRIEND_URL"})
		}
		if c.JWTAudience == "" {
			out = append(out, kit.EnvProblem{Name: "JWT_AUDIENCE", Reason: "required with FRIEND_URL"})
		}
	}
	return out
}

// Main runs a seeding with cfg; services may still be starting, so each
// step is retried until the timeout.
func Main(ctx context.Context, cfg *Config, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var target Target
	if cfg.FriendURL != "" {
		target = NewFriend(kit.H2CClient(), cfg.FriendURL.String(), []byte(cfg.JWTSecret), cfg.JWTAudience)
	} else {
		target = NewMessenger(kit.H2CClient(), cfg.MessengerURL.String())
	}
	for {
		res, err := Run(ctx, target, logger)
		if err == nil {
			logger.InfoContext(ctx, "seeded", "rooms", res.Rooms, "messages", res.Messages)
			return nil
		}
		logger.WarnContext(ctx, "seeding failed; retrying", "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("seed: %w", err)
		case <-time.After(2 * time.Second):
		}
	}
}
