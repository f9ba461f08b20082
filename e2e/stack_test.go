package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/cfemu"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
	"github.com/pivotapp/platform/internal/localstack/faults"
)

// repoRoot is the folder holding go.mod.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), ".."))
}

func terraformBinary() string { return filepath.Join(repoRoot(), "bin", "terraform") }

// stack is the local platform stack of one end-to-end run. Staging and
// production get NATS systems of their own, as they would in AWS: both
// declare the stream MESSENGER.
type stack struct {
	moto *localstack.Moto
	// ecs runs the services' tasks as processes; clients reach AWS through
	// its proxy (ecsProxy), so what ECS reports comes from what runs. Set
	// by startStack, not by the tests that start a whole localstack.Stack.
	ecs      *ecsrt.Runtime
	ecsProxy *ecsrt.Proxy
	// faults, when set, stands between the providers and the proxy.
	faults      *faults.Server
	natsStaging *localstack.NATS
	natsProd    *localstack.NATS
	pg          *localstack.Postgres
	cf          *cfemu.Server
	zoneID      string
}

// startStack brings the components up concurrently and stops them when the
// test ends. The local ECS runtime needs root (network namespaces); CI runs
// as root.
func startStack(t testing.TB) *stack {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the local ECS runtime needs root for network namespaces; CI runs as root")
	}
	ctx := context.Background()
	// Not t.TempDir: its 0700 folders are closed to the postgres user the
	// local PostgreSQL drops to when the tests run as root.
	dir, err := os.MkdirTemp("", "pivot-e2e-stack-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	s := &stack{}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Add(4)
	go func() {
		defer wg.Done()
		if s.moto, errs[0] = localstack.StartMoto(ctx, localstack.MotoOptions{LogFile: filepath.Join(dir, "moto.log")}); errs[0] != nil {
			return
		}
		s.ecs = ecsrt.New(ecsrt.Options{
			MotoEndpoint: s.moto.Endpoint, Region: localstack.Region, AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
			SourceDir: repoRoot(), Dir: filepath.Join(dir, "ecs"),
		})
		if errs[0] = s.ecs.Start(ctx); errs[0] == nil {
			s.ecsProxy, errs[0] = ecsrt.StartProxy(s.ecs)
		}
	}()
	go func() {
		defer wg.Done()
		s.pg, errs[1] = localstack.StartPostgres(ctx, localstack.PostgresOptions{Dir: filepath.Join(dir, "postgres"), LogFile: filepath.Join(dir, "postgres.log")})
	}()
	go func() {
		defer wg.Done()
		if s.natsStaging, errs[2] = localstack.StartNATS(localstack.NATSOptions{StoreDir: filepath.Join(dir, "nats-staging")}); errs[2] == nil {
			s.natsProd, errs[2] = localstack.StartNATS(localstack.NATSOptions{StoreDir: filepath.Join(dir, "nats-prod")})
		}
	}()
	go func() {
		defer wg.Done()
		if s.cf, errs[3] = cfemu.Start(cfemu.Options{APIToken: localstack.CloudflareToken}); errs[3] == nil {
			var z cfemu.Zone
			if z, errs[3] = s.cf.AddZone(zone); errs[3] == nil {
				s.zoneID = z.ID
			}
		}
	}()
	wg.Wait()
	t.Cleanup(func() {
		if s.cf != nil {
			_ = s.cf.Close()
		}
		if s.ecsProxy != nil {
			_ = s.ecsProxy.Close()
		}
		if s.ecs != nil {
			s.ecs.Stop()
		}
		s.natsProd.Stop()
		s.natsStaging.Stop()
		s.pg.Stop()
		s.moto.Stop()
	})
	for _, err := range errs {
		if err != nil {
			t.Fatalf("start local stack: %v", err)
		}
	}
	return s
}

// withFaults puts AWS's throttling, server errors and eventual consistency
// between the providers and moto, and reports at the end what it injected:
// the apply converged only if every one of those was retried.
func (s *stack) withFaults(t testing.TB, cfg faults.Config) {
	t.Helper()
	f, err := faults.Start(s.awsEndpoint(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.faults = f
	t.Cleanup(func() {
		t.Logf("faults injected into the providers' AWS calls: %v", f.Counts())
		_ = f.Close()
	})
}

// providerEnv is what the provider reads from its environment: the local
// stack's endpoints, as `pivotctl local up` writes them to .pivot/local/env.
func (s *stack) providerEnv(nats *localstack.NATS) map[string]string {
	endpoint := s.awsEndpoint()
	if s.faults != nil {
		endpoint = s.faults.URL
	}
	return map[string]string{
		"AWS_ENDPOINT_URL":         endpoint,
		"AWS_REGION":               localstack.Region,
		"AWS_DEFAULT_REGION":       localstack.Region,
		"AWS_ACCESS_KEY_ID":        localstack.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":    localstack.SecretAccessKey,
		"NATS_URL":                 nats.URL,
		"CLOUDFLARE_API_TOKEN":     localstack.CloudflareToken,
		"CLOUDFLARE_BASE_URL":      s.cf.URL,
		"PIVOT_POSTGRES_ADMIN_URL": s.pg.MasterURL("postgres"),
	}
}

// awsEndpoint is AWS without faults: the ECS runtime's proxy in front of
// moto, or moto itself for a stack made without startStack.
func (s *stack) awsEndpoint() string {
	if s.ecsProxy != nil {
		return s.ecsProxy.URL
	}
	return s.moto.Endpoint
}

// postgresEndpoint is the host:port of the local PostgreSQL, which stands
// in for Aurora's writer and reader.
func (s *stack) postgresEndpoint(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(s.pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// aws returns an SDK configuration acting in account, through assume-role,
// independent of the provider.
func (s *stack) aws(t testing.TB, account string) aws.Config {
	t.Helper()
	sess := awsx.NewSessions(awsx.Config{
		Region: localstack.Region, Endpoint: s.awsEndpoint(), AccessKey: localstack.AccessKeyID, SecretKey: localstack.SecretAccessKey,
		AssumeRole: &awsx.AssumeRole{RoleARN: roleARN(account), SessionName: "e2e-inspect"},
	})
	cfg, err := sess.For(context.Background(), awsx.Target{})
	if err != nil {
		t.Fatalf("aws config for account %s: %v", account, err)
	}
	return cfg
}

// putSecrets stores SecureString parameters, as an operator does before an
// environment's first apply (secret values never pass through Terraform).
func (s *stack) putSecrets(t testing.TB, account string, names ...string) {
	t.Helper()
	client := ssm.NewFromConfig(s.aws(t, account))
	for _, n := range names {
		_, err := client.PutParameter(context.Background(), &ssm.PutParameterInput{
			Name: aws.String(n), Value: aws.String(randomHex(t, 32)), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("put parameter %s in %s: %v", n, account, err)
		}
	}
}

const (
	zone       = localstack.DefaultZone
	deployRole = "pivot-deployer"
)

func roleARN(account string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, deployRole)
}

// newAccountID returns a random account ID, so runs never share state on
// a long-lived moto.
func newAccountID(t testing.TB) string {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(8_999_999_999_99))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%012d", n.Int64()+1_000_000_000_00)
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// buildProvider builds the provider from this tree into a filesystem
// mirror of its own and returns a Terraform CLI configuration using it, so
// the test exercises the code it sits next to and downloads nothing.
func buildProvider(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	const version = "0.1.0"
	dest := filepath.Join(dir, "mirror", "registry.terraform.io", "pivotapp", "pivot", version, runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dest, "terraform-provider-pivot_v"+version), ".")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build provider: %v\n%s", err, out)
	}
	rc := filepath.Join(dir, "terraformrc")
	cfg := fmt.Sprintf(`provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/pivotapp/pivot"]
  }
  direct {
    exclude = ["registry.terraform.io/pivotapp/pivot"]
  }
}
disable_checkpoint = true
`, filepath.Join(dir, "mirror"))
	if err := os.WriteFile(rc, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return rc
}

// copyTree copies what the root configurations need (modules, the service
// catalog and declarations, envs, go.mod for pivotctl's repository lookup)
// into a temporary repository, and adds each env's documented local
// override, so edits (image bumps, tenants) never touch the real tree.
func copyTree(t testing.TB) string {
	t.Helper()
	src := repoRoot()
	dst := t.TempDir()
	copyFile := func(rel string) {
		b, err := os.ReadFile(filepath.Join(src, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("go.mod")
	for _, pattern := range []string{"modules/*/*.tf", "envs/*/*.tf", "envs/*/*/*.tf", "envs/*/local_override.tf.example", "services/*.tf", "services/*/service.tf", "services/*/env-schema.json"} {
		matches, err := filepath.Glob(filepath.Join(src, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(src, m)
			if strings.HasSuffix(rel, "_override.tf") {
				continue // a developer's own override never enters the test
			}
			copyFile(rel)
		}
	}
	for _, env := range []string{"staging", "prod", "tenants"} {
		example := filepath.Join(dst, "envs", env, "local_override.tf.example")
		b, err := os.ReadFile(example)
		if err != nil {
			t.Fatalf("envs/%s has no local_override.tf.example: %v", env, err)
		}
		if err := os.WriteFile(filepath.Join(dst, "envs", env, "local_override.tf"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
