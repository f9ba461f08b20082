// Package localstack runs the local platform stack: moto for AWS, an
// embedded nats-server with JetStream, a throwaway PostgreSQL cluster for
// Aurora, and the Cloudflare API emulator. The demo, the tests and local
// development all use it; nothing in it reaches the internet.
package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pivotapp/platform/internal/cfemu"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
	"github.com/pivotapp/platform/internal/localstack/faults"
)

// Local stand-in defaults. Moto accepts any credentials; its default
// account is 123456789012.
const (
	Region          = "us-east-1"
	AccessKeyID     = "test"
	SecretAccessKey = "test"
	DefaultAccount  = "123456789012"
	CloudflareToken = "pivot-local-token"
	DefaultZone     = "pivot.app"
	// NATSUser is the platform user of the stack's NATS systems.
	NATSUser = "platform"
)

func randomPassword() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Options configures Start.
type Options struct {
	Dir   string   // state folder: logs, Postgres data, JetStream store
	Zones []string // Cloudflare zones to create; default DefaultZone
	// Skip* leave a component out, for callers that need only part.
	SkipPostgres bool
	// SourceDir is the repository the local ECS runtime builds the service
	// binaries from; empty runs no ECS runtime: moto alone answers ECS, runs
	// no task and reports none running, so no service becomes steady.
	SourceDir string
	// Faults, when set, puts a fault-injecting endpoint in front of AWS:
	// throttling, server errors and eventual consistency, as AWS has them.
	Faults *faults.Config
	Logf   func(format string, a ...any) // progress; nil is quiet
}

// Stack is a running local platform stack.
type Stack struct {
	Dir  string
	Moto *Moto
	// ECS runs moto's services as processes; AWS is the endpoint clients
	// use (the runtime's proxy in front of moto, or moto itself).
	ECS   *ecsrt.Runtime
	Proxy *ecsrt.Proxy
	// Faults stands in front of AWS when Options.Faults is set.
	Faults *faults.Server
	NATS   *NATS
	// NATSProd is production's NATS system: staging and production never
	// share one, so the demo's two environments do not either.
	NATSProd *NATS
	// The platform user's passwords of NATS and NATSProd.
	NATSPassword, NATSProdPassword string
	Postgres                       *Postgres
	Cloudflare                     *cfemu.Server
	Zones                          map[string]string // zone name -> ID
}

// Start brings every component up; on failure it stops what it started.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Dir == "" {
		return nil, errors.New("start local stack: Dir is required")
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create stack dir: %w", err)
	}
	s := &Stack{Dir: opts.Dir, Zones: map[string]string{}}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	logf("starting moto (AWS)")
	if s.Moto, err = StartMoto(ctx, MotoOptions{LogFile: filepath.Join(opts.Dir, "moto.log")}); err != nil {
		return nil, err
	}
	if opts.SourceDir != "" {
		logf("starting the local ECS runtime")
		s.ECS = ecsrt.New(ecsrt.Options{
			MotoEndpoint: s.Moto.Endpoint, Region: Region, AccessKey: AccessKeyID, SecretKey: SecretAccessKey,
			SourceDir: opts.SourceDir, Dir: filepath.Join(opts.Dir, "ecs"), Logf: logf,
		})
		if err := s.ECS.Start(ctx); err != nil {
			return nil, err
		}
		if s.Proxy, err = ecsrt.StartProxy(s.ECS); err != nil {
			return nil, fmt.Errorf("start ECS proxy: %w", err)
		}
	}
	if opts.Faults != nil {
		upstream := s.Moto.Endpoint
		if s.Proxy != nil {
			upstream = s.Proxy.URL
		}
		logf("starting the fault injector in front of AWS: %+v", *opts.Faults)
		if s.Faults, err = faults.Start(upstream, *opts.Faults); err != nil {
			return nil, fmt.Errorf("start fault injector: %w", err)
		}
	}
	logf("starting nats-server (JetStream)")
	// Each NATS system requires the platform user's password, as a real
	// one does: services get it as a secret, never as plain env.
	s.NATSPassword, s.NATSProdPassword = randomPassword(), randomPassword()
	if s.NATS, err = StartNATS(NATSOptions{StoreDir: filepath.Join(opts.Dir, "jetstream"), Accounts: []NATSAccount{{Name: "PLATFORM", User: NATSUser, Password: s.NATSPassword}}}); err != nil {
		return nil, err
	}
	if s.NATSProd, err = StartNATS(NATSOptions{StoreDir: filepath.Join(opts.Dir, "jetstream-prod"), Accounts: []NATSAccount{{Name: "PLATFORM", User: NATSUser, Password: s.NATSProdPassword}}}); err != nil {
		return nil, err
	}
	if !opts.SkipPostgres {
		logf("starting PostgreSQL (Aurora stand-in)")
		if s.Postgres, err = StartPostgres(ctx, PostgresOptions{Dir: filepath.Join(opts.Dir, "postgres"), LogFile: filepath.Join(opts.Dir, "postgres.log")}); err != nil {
			return nil, err
		}
	}
	logf("starting Cloudflare API emulator")
	if s.Cloudflare, err = cfemu.Start(cfemu.Options{APIToken: CloudflareToken}); err != nil {
		return nil, fmt.Errorf("start cloudflare emulator: %w", err)
	}
	zones := opts.Zones
	if len(zones) == 0 {
		zones = []string{DefaultZone}
	}
	for _, z := range zones {
		zone, err := s.Cloudflare.AddZone(z)
		if err != nil {
			return nil, fmt.Errorf("add zone %s: %w", z, err)
		}
		s.Zones[z] = zone.ID
	}
	return s, nil
}

// Stop stops every component, in reverse order of start.
func (s *Stack) Stop() {
	if s.Cloudflare != nil {
		_ = s.Cloudflare.Close()
	}
	if s.Faults != nil {
		_ = s.Faults.Close()
	}
	if s.Proxy != nil {
		_ = s.Proxy.Close()
	}
	if s.ECS != nil {
		s.ECS.Stop()
	}
	s.Postgres.Stop()
	s.NATSProd.Stop()
	s.NATS.Stop()
	s.Moto.Stop()
}

// Endpoints is what clients need to reach the stack; pivotctl persists it.
type Endpoints struct {
	AWS  string `json:"aws"`
	Moto string `json:"moto,omitempty"` // moto itself, behind AWS
	// ECS is the local ECS runtime's proxy, when the stack runs one.
	ECS string `json:"ecs,omitempty"`

	NATS             string            `json:"nats"`
	NATSProd         string            `json:"nats_prod"`
	NATSPassword     string            `json:"nats_password"`
	NATSProdPassword string            `json:"nats_prod_password"`
	PostgresAdminURL string            `json:"postgres_admin_url,omitempty"`
	CloudflareURL    string            `json:"cloudflare_url"`
	Zones            map[string]string `json:"zones"`
}

// Endpoints returns the running stack's addresses.
func (s *Stack) Endpoints() Endpoints {
	e := Endpoints{AWS: s.Moto.Endpoint, Moto: s.Moto.Endpoint, NATS: s.NATS.URL, NATSProd: s.NATSProd.URL, NATSPassword: s.NATSPassword, NATSProdPassword: s.NATSProdPassword, CloudflareURL: s.Cloudflare.URL, Zones: s.Zones}
	if s.Proxy != nil {
		e.AWS, e.ECS = s.Proxy.URL, s.Proxy.URL
	}
	if s.Faults != nil {
		e.AWS = s.Faults.URL
	}
	if s.Postgres != nil {
		e.PostgresAdminURL = s.Postgres.MasterURL("postgres")
	}
	return e
}

// ECSRuntime reports whether a runtime's proxy stands in front of moto.
func (e Endpoints) ECSRuntime() bool { return e.ECS != "" }

// Env returns the variables the provider, Terraform, the AWS CLI and the
// services read, in a stable order.
func (e Endpoints) Env() [][2]string {
	env := [][2]string{
		{"AWS_ENDPOINT_URL", e.AWS},
		{"AWS_REGION", Region},
		{"AWS_DEFAULT_REGION", Region},
		{"AWS_ACCESS_KEY_ID", AccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", SecretAccessKey},
		{"NATS_URL", e.NATS},
		{"NATS_USER", NATSUser},
		{"NATS_PASSWORD", e.NATSPassword},
		{"PIVOT_LOCAL_NATS_PROD_URL", e.NATSProd},
		{"PIVOT_LOCAL_NATS_PROD_PASSWORD", e.NATSProdPassword},
		{"CLOUDFLARE_API_TOKEN", CloudflareToken},
		{"CLOUDFLARE_BASE_URL", e.CloudflareURL},
	}
	if e.PostgresAdminURL != "" {
		env = append(env, [2]string{"PIVOT_POSTGRES_ADMIN_URL", e.PostgresAdminURL})
	}
	return env
}
