package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/gruntwork-io/terratest/modules/terraform"

	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
	"github.com/pivotapp/platform/services/probe"
)

// TestDeployedEnvironmentsServeMessages applies staging and production with
// the local ECS runtime running what they deploy, then sends a message the
// way a client does: a JWT-authenticated call to friend, which calls
// messenger over Service Connect, whose event reaches notifier through the
// environment's JetStream (with its own credentials, a secret of every
// service). The call's spans must arrive at the environment's collector
// under one trace. Breaking the wiring (a wrong NATS password) must fail
// the apply with the tasks' stop reasons.
func TestDeployedEnvironmentsServeMessages(t *testing.T) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	if os.Geteuid() != 0 {
		t.Skip("the local ECS runtime needs root for network namespaces; CI runs as root")
	}
	started := time.Now()
	cliConfig := buildProvider(t)
	dir, err := os.MkdirTemp("", "pivot-e2e-deployed-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()

	// Each environment's NATS requires its platform user's password.
	natsPassword := map[string]string{"staging": randomHex(t, 16), "prod": randomHex(t, 16)}
	nats := map[string]*localstack.NATS{}
	for env, pw := range natsPassword {
		n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: filepath.Join(dir, "nats-"+env), Accounts: []localstack.NATSAccount{{Name: "PLATFORM", User: "platform", Password: pw}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
		nats[env] = n
	}
	st, err := localstack.Start(ctx, localstack.Options{Dir: filepath.Join(dir, "stack"), SourceDir: repoRoot(), Logf: t.Logf})
	if err != nil {
		t.Fatalf("start local stack: %v", err)
	}
	t.Cleanup(st.Stop)
	s := &stack{moto: st.Moto, pg: st.Postgres, cf: st.Cloudflare, zoneID: st.Zones[localstack.DefaultZone]}
	// Clients reach AWS through the runtime's proxy: what ECS reports comes
	// from what runs.
	awsEndpoint := st.Proxy.URL
	tree := copyTree(t)
	accounts := map[string]string{"staging": newAccountID(t), "prod": newAccountID(t)}
	database := fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, s.postgresEndpoint(t))
	rootEnv := func(env string, extra ...string) map[string]string {
		e := s.providerEnv(nats[env])
		e["AWS_ENDPOINT_URL"] = awsEndpoint
		e["NATS_USER"], e["NATS_PASSWORD"] = "platform", natsPassword[env]
		for k, v := range map[string]string{
			"TF_VAR_deployer_role_arn": roleARN(accounts[env]), "TF_VAR_image_registry": registry,
			"TF_VAR_nats_url": nats[env].URL, "TF_VAR_nats_user": "platform", "TF_VAR_nats_password": natsPassword[env],
			"TF_VAR_database": database,
		} {
			e[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	staging := newRoot(tree, "staging", cliConfig, rootEnv("staging"))
	prod := newRoot(tree, "prod", cliConfig, rootEnv("prod", "TF_VAR_staging_release_reader_role_arn", roleARN(accounts["staging"])))
	for env, account := range accounts {
		s.putSecrets(t, account, "/"+env+"/friend/JWT_HS256_SECRET")
	}
	if !concurrently(t, "init", map[string]func(*testing.T){"staging": staging.init, "prod": prod.init}) {
		t.FailNow()
	}

	for _, env := range []string{"staging", "prod"} {
		root := map[string]*root{"staging": staging, "prod": prod}[env]
		if !t.Run(env, func(t *testing.T) {
			root.apply(t)
			sendAndTrace(t, s, st.ECS, accounts[env], env)
		}) {
			t.FailNow()
		}
	}

	t.Run("wrong NATS password fails the apply", func(t *testing.T) {
		// The environment stores a password NATS does not accept; a new
		// revision of the services (a changed variable) then cannot start.
		broken := newRoot(tree, "staging", cliConfig, rootEnv("staging",
			"TF_VAR_nats_password", "not-"+natsPassword["staging"],
			"TF_VAR_service_env", `{ messenger = { LOG_LEVEL = "DEBUG" }, notifier = { LOG_LEVEL = "DEBUG" } }`,
		))
		broken.opts.RetryableTerraformErrors = nil
		out, err := terraform.ApplyE(t, broken.opts)
		if err == nil {
			t.Fatal("apply with a wrong NATS password succeeded")
		}
		for _, want := range []string{"Stopped tasks", "messenger"} {
			if !strings.Contains(out, want) {
				t.Errorf("the failed apply does not say %q:\n%s", want, tail(out, 60))
			}
		}
		if !strings.Contains(out, "Essential container in task exited") && !strings.Contains(out, "Task failed container health checks") {
			t.Errorf("the failed apply gives no task stop reason:\n%s", tail(out, 60))
		}
	})
	t.Logf("deployed environments took %s", time.Since(started).Round(time.Second))
}

// sendAndTrace sends a message through one environment's deployed services
// and finds its trace at the environment's collector.
func sendAndTrace(t *testing.T, s *stack, rt *ecsrt.Runtime, account, env string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	param, err := ssm.NewFromConfig(s.aws(t, account)).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/" + env + "/friend/JWT_HS256_SECRET"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := probe.SendMessage(ctx, probe.Options{
		Dial: func(ctx context.Context, service string, port int) (net.Conn, error) {
			return rt.DialService(ctx, account, env, service, port)
		},
		JWTSecret: aws.ToString(param.Parameter.Value), Audience: "pivot-api",
	})
	if err != nil {
		t.Fatalf("%s: message through friend -> messenger -> JetStream -> notifier: %v", env, err)
	}
	var traceID string
	var path []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		spans, err := rt.Spans(account, env)
		if err != nil {
			t.Fatal(err)
		}
		if traceID, path = ecsrt.MessageTrace(spans); traceID != "" && strings.Contains(strings.Join(path, ","), "messenger") {
			break
		}
		time.Sleep(time.Second)
	}
	if traceID == "" || !strings.Contains(strings.Join(path, ","), "friend") || !strings.Contains(strings.Join(path, ","), "messenger") {
		t.Fatalf("%s: the collector has no trace of the call through friend and messenger (trace %q, services %v)", env, traceID, path)
	}
	t.Logf("%s: message %s reached notifier; trace %s through %v", env, res.MessageID, traceID, path)
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}
