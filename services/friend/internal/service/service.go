// Package service is friend's composition root.
package service

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pivotapp/platform/services/friend/internal/adapters"
	"github.com/pivotapp/platform/services/friend/internal/app"
	"github.com/pivotapp/platform/services/friend/internal/app/command"
	"github.com/pivotapp/platform/services/friend/internal/app/query"
	"github.com/pivotapp/platform/services/friend/internal/ports"
	"github.com/pivotapp/platform/services/internal/gen/friend/connect/v1/connectv1connect"
	"github.com/pivotapp/platform/services/kit"
)

// Name is the service's name in logs and traces.
const Name = "friend"

// MinHS256SecretLength is the shortest accepted HS256 secret (RFC 7518
// §3.2: a key at least as long as the hash).
const MinHS256SecretLength = 32

// Config is friend's environment.
type Config struct {
	kit.BaseConfig
	MessengerURL kit.HTTPURL `env:"MESSENGER_URL,required" desc:"messenger's gRPC base URL (its ECS Service Connect address), e.g. http://messenger:8080"`
	Auth         AuthConfig
}

// AuthConfig says how users' JWTs are verified: HS256 with a shared secret
// or RS256 with the issuer's public key (exactly one).
type AuthConfig struct {
	HS256Secret    string        `env:"JWT_HS256_SECRET" secret:"true" desc:"shared secret of HS256 user tokens (at least 32 bytes); set this or JWT_RS256_PUBLIC_KEY"`
	RS256PublicKey RSAPublicKey  `env:"JWT_RS256_PUBLIC_KEY" desc:"PEM public key of RS256 user tokens; set this or JWT_HS256_SECRET"`
	Audience       string        `env:"JWT_AUDIENCE,required" desc:"audience (aud) user tokens must carry"`
	Issuer         string        `env:"JWT_ISSUER" desc:"issuer (iss) user tokens must carry; unset skips the check"`
	Leeway         time.Duration `env:"JWT_LEEWAY" envDefault:"30s" desc:"clock skew tolerated on exp, nbf and iat"`
}

// CheckEnv enforces exactly one verification key.
func (c *AuthConfig) CheckEnv() []kit.EnvProblem {
	hs, rs := c.HS256Secret != "", c.RS256PublicKey.Key != nil
	switch {
	case hs && rs:
		return []kit.EnvProblem{
			{Name: "JWT_HS256_SECRET", Reason: "set only one of JWT_HS256_SECRET and JWT_RS256_PUBLIC_KEY"},
			{Name: "JWT_RS256_PUBLIC_KEY", Reason: "set only one of JWT_HS256_SECRET and JWT_RS256_PUBLIC_KEY"},
		}
	case !hs && !rs:
		return []kit.EnvProblem{
			{Name: "JWT_HS256_SECRET", Reason: "one of JWT_HS256_SECRET and JWT_RS256_PUBLIC_KEY is required"},
			{Name: "JWT_RS256_PUBLIC_KEY", Reason: "one of JWT_HS256_SECRET and JWT_RS256_PUBLIC_KEY is required"},
		}
	case hs && len(c.HS256Secret) < MinHS256SecretLength:
		return []kit.EnvProblem{{Name: "JWT_HS256_SECRET", Reason: "must be at least 32 bytes"}}
	}
	return nil
}

// MinRSAKeyBits is the smallest accepted RS256 key (RFC 7518 §3.3 asks
// for 2048 bits; Go's crypto/rsa refuses to verify with much smaller
// keys, so a service started with one would reject every token).
const MinRSAKeyBits = 2048

// RSAPublicKey is a PEM-encoded RSA public key.
type RSAPublicKey struct{ Key *rsa.PublicKey }

// UnmarshalText parses the PEM and checks the key's size.
func (k *RSAPublicKey) UnmarshalText(b []byte) error {
	key, err := jwt.ParseRSAPublicKeyFromPEM(b)
	if err != nil {
		return errors.New("not a PEM-encoded RSA public key")
	}
	if bits := key.N.BitLen(); bits < MinRSAKeyBits {
		return fmt.Errorf("RSA key has %d bits, must have at least %d", bits, MinRSAKeyBits)
	}
	k.Key = key
	return nil
}

// Build wires friend onto p.
func Build(_ context.Context, cfg *Config, p *kit.Process) error {
	p.Public = true
	httpClient := kit.H2CClient()
	rooms := adapters.NewMessengerClient(httpClient, cfg.MessengerURL.String())
	application := app.Application{Commands: command.NewHandler(rooms), Queries: query.NewHandler(rooms)}
	var verifier *adapters.JWTVerifier
	if cfg.Auth.HS256Secret != "" {
		verifier = adapters.NewHS256Verifier([]byte(cfg.Auth.HS256Secret), cfg.Auth.Audience, cfg.Auth.Issuer, cfg.Auth.Leeway)
	} else {
		verifier = adapters.NewRS256Verifier(cfg.Auth.RS256PublicKey.Key, cfg.Auth.Audience, cfg.Auth.Issuer, cfg.Auth.Leeway)
	}
	opts := append(p.HandlerOptions(), connect.WithInterceptors(ports.NewAuthInterceptor(verifier, ports.Policies)))
	path, handler := connectv1connect.NewFriendServiceHandler(ports.NewFriendServer(application, string(cfg.Stage), p.Logger), opts...)
	p.Handle(connectv1connect.FriendServiceName, path, handler)
	// Readiness: friend can serve nothing while messenger does not answer.
	// It asks messenger's liveness, not its readiness, so a NATS outage
	// behind messenger (which messenger's outbox absorbs) does not take
	// friend out of service.
	p.Health.Add("messenger", func(ctx context.Context) error {
		return kit.ProbeLive(ctx, httpClient, cfg.MessengerURL.String())
	})
	return nil
}
