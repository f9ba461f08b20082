// Package acctest is the harness for acceptance and end-to-end tests. It
// starts the local platform stack for a test package (one moto, one local
// ECS runtime with its proxy in front of moto, and one PostgreSQL per
// package; one nats-server and one Cloudflare emulator per test), hands out
// protocol-6 provider factories, and points terraform-plugin-testing at the
// project's pinned ./bin/terraform.
//
// Tests share moto but never its state: each test acts in an AWS account of
// its own, reached by assume-role, which isolates parallel tests the way a
// reset would isolate serial ones. Their AWS endpoint is the runtime's
// proxy: an ECS service a test creates runs its tasks as local processes,
// and what ECS reports about them (counts, deployments, tasks and their
// stop reasons) comes from those processes.
package acctest

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/cfemu"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// TerraformPath is the pinned Terraform that `make tools` installs.
func TerraformPath() string { return filepath.Join(RepoRoot(), "bin", "terraform") }

var shared struct {
	motoOnce sync.Once
	moto     *localstack.Moto
	motoErr  error

	ecsOnce  sync.Once
	ecs      *ecsrt.Runtime
	ecsProxy *ecsrt.Proxy
	ecsDir   string
	ecsErr   error

	pgOnce sync.Once
	pg     *localstack.Postgres
	pgDir  string
	pgErr  error
}

// Main runs a package's tests and stops the shared servers afterwards. Call
// it from TestMain.
func Main(m *testing.M) {
	if _, err := os.Stat(TerraformPath()); err == nil {
		_ = os.Setenv("TF_ACC_TERRAFORM_PATH", TerraformPath())
	}
	_ = os.Setenv("CHECKPOINT_DISABLE", "1")
	code := m.Run()
	if shared.ecsProxy != nil {
		_ = shared.ecsProxy.Close()
	}
	if shared.ecs != nil {
		shared.ecs.Stop()
		os.RemoveAll(shared.ecsDir)
	}
	if shared.moto != nil {
		shared.moto.Stop()
	}
	if shared.pg != nil {
		shared.pg.Stop()
		os.RemoveAll(shared.pgDir)
	}
	os.Exit(code)
}

// Moto returns the package's moto server, starting it on first use.
func Moto(t testing.TB) *localstack.Moto {
	t.Helper()
	shared.motoOnce.Do(func() {
		shared.moto, shared.motoErr = localstack.StartMoto(context.Background(), localstack.MotoOptions{})
	})
	if shared.motoErr != nil {
		t.Fatalf("start moto: %v", shared.motoErr)
	}
	return shared.moto
}

// ECS returns the package's local ECS runtime and its proxy in front of
// the package's moto, starting them on first use. The runtime runs every
// ACTIVE service's tasks as processes built from the repository's
// services; without root it runs none, and their tasks stop saying so.
func ECS(t testing.TB) (*ecsrt.Runtime, *ecsrt.Proxy) {
	t.Helper()
	m := Moto(t)
	shared.ecsOnce.Do(func() {
		// Not t.TempDir: the runtime outlives the test that starts it.
		shared.ecsDir, shared.ecsErr = os.MkdirTemp("", "pivot-acc-ecs-")
		if shared.ecsErr != nil {
			return
		}
		rt := ecsrt.New(ecsrt.Options{
			MotoEndpoint: m.Endpoint, Region: localstack.Region, AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
			SourceDir: RepoRoot(), Dir: shared.ecsDir,
		})
		if shared.ecsErr = rt.Start(context.Background()); shared.ecsErr != nil {
			return
		}
		shared.ecs = rt
		shared.ecsProxy, shared.ecsErr = ecsrt.StartProxy(rt)
	})
	if shared.ecsErr != nil {
		t.Fatalf("start local ECS runtime: %v", shared.ecsErr)
	}
	return shared.ecs, shared.ecsProxy
}

// Postgres returns the package's PostgreSQL cluster, starting it on first use.
func Postgres(t testing.TB) *localstack.Postgres {
	t.Helper()
	shared.pgOnce.Do(func() {
		// Not t.TempDir: its 0700 folders are closed to the postgres user.
		shared.pgDir, shared.pgErr = os.MkdirTemp("", "pivot-acc-pg-")
		if shared.pgErr == nil {
			shared.pg, shared.pgErr = localstack.StartPostgres(context.Background(), localstack.PostgresOptions{Dir: shared.pgDir})
		}
	})
	if shared.pgErr != nil {
		t.Fatalf("start postgres: %v", shared.pgErr)
	}
	return shared.pg
}

// NATS starts a nats-server for one test.
func NATS(t testing.TB) *localstack.NATS {
	t.Helper()
	n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start nats: %v", err)
	}
	t.Cleanup(n.Stop)
	return n
}

// Cloudflare starts a Cloudflare emulator for one test, with the given zones.
func Cloudflare(t testing.TB, zones ...string) *cfemu.Server {
	t.Helper()
	s, err := cfemu.Start(cfemu.Options{APIToken: localstack.CloudflareToken})
	if err != nil {
		t.Fatalf("start cloudflare emulator: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	for _, z := range zones {
		if _, err := s.AddZone(z); err != nil {
			t.Fatalf("add zone %s: %v", z, err)
		}
	}
	return s
}

// NewAccountID returns a random account ID, unlikely to collide with any
// other test's.
func NewAccountID(t testing.TB) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(8_999_999_999_99))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%012d", n.Int64()+1_000_000_000_00)
}

// RoleARN is the role a test assumes to act in account.
func RoleARN(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/pivot-acc", account)
}

// AWS is one test's view of the local AWS: its own account.
type AWS struct {
	// Endpoint is the ECS runtime's proxy in front of moto.
	Endpoint  string
	AccountID string
}

// NewAWS gives a test a fresh account on the package's moto server, reached
// through the package's ECS runtime proxy.
func NewAWS(t testing.TB) AWS {
	t.Helper()
	_, proxy := ECS(t)
	return AWS{Endpoint: proxy.URL, AccountID: NewAccountID(t)}
}

// ProviderBlock renders the aws block of a provider configuration that acts
// in the test's account.
func (a AWS) ProviderBlock() string {
	return fmt.Sprintf(`
  aws {
    region     = %[1]q
    endpoint   = %[2]q
    access_key = %[3]q
    secret_key = %[4]q
    assume_role {
      role_arn = %[5]q
    }
  }
`, localstack.Region, a.Endpoint, localstack.AccessKeyID, localstack.SecretAccessKey, RoleARN(a.AccountID))
}

// Config returns an SDK configuration acting in the test's account, for
// inspecting what the provider created, independently of the provider.
func (a AWS) Config(t testing.TB) aws.Config {
	t.Helper()
	s := awsx.NewSessions(awsx.Config{
		Region: localstack.Region, Endpoint: a.Endpoint, AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
		AssumeRole: &awsx.AssumeRole{RoleARN: RoleARN(a.AccountID), SessionName: "acctest-inspect"},
	})
	cfg, err := s.For(context.Background(), awsx.Target{})
	if err != nil {
		t.Fatalf("aws config for account %s: %v", a.AccountID, err)
	}
	return cfg
}

// ProviderConfig joins blocks into a provider "pivot" configuration.
func ProviderConfig(blocks ...string) string {
	return "provider \"pivot\" {\n" + strings.Join(blocks, "\n") + "\n}\n"
}

// NATSBlock renders the provider's nats block for a test server.
func NATSBlock(n *localstack.NATS) string {
	return fmt.Sprintf("  nats {\n    servers = [%q]\n  }\n", n.URL)
}

// CloudflareBlock renders the provider's cloudflare block for an emulator.
func CloudflareBlock(s *cfemu.Server) string {
	return fmt.Sprintf("  cloudflare {\n    api_token = %q\n    base_url  = %q\n  }\n", localstack.CloudflareToken, s.URL)
}

// PostgresBlock renders the provider's postgres block. The provider acts as
// the stand-in for Aurora's master user, which is not a superuser.
func PostgresBlock(p *localstack.Postgres) string {
	return fmt.Sprintf("  postgres {\n    admin_url = %q\n  }\n", p.MasterURL("postgres"))
}

// ErrorText matches an error message however Terraform wraps its lines:
// the words must appear in order, any run of whitespace between them.
func ErrorText(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, `.*`))
}
