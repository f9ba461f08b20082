package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/repo"
	"github.com/pivotapp/platform/internal/vpc"
)

// TestTenantParity applies staging and production, then adds a tenant the
// way an operator does (`pivotctl tenant add`, its secrets) and applies
// envs/tenants, all on the local ECS runtime. The same inspection then runs
// on production and on the tenant: the same services, a database per
// service that no other service's role can open, the same streams and
// consumers, and a message through friend reaching the tenant's notifier.
// The tenant also has what production is given: its own dual-stack VPC.
// Before its secret exists, the tenant is refused at plan with nothing
// created in its account; after, an env change reaches its task
// definition and an out-of-band change shows in the next plan.
func TestTenantParity(t *testing.T) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	if os.Geteuid() != 0 {
		t.Skip("the local ECS runtime needs root for network namespaces; CI runs as root")
	}
	started := time.Now()
	cliConfig := buildProvider(t)
	dir, err := os.MkdirTemp("", "pivot-e2e-tenant-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx := context.Background()

	natsPassword := map[string]string{"staging": randomHex(t, 16), "prod": randomHex(t, 16), "acme": randomHex(t, 16)}
	nats := map[string]*localstack.NATS{}
	for _, env := range []string{"staging", "prod"} {
		n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: filepath.Join(dir, "nats-"+env), Accounts: []localstack.NATSAccount{{Name: "PLATFORM", User: "platform", Password: natsPassword[env]}}})
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
	tree := copyTree(t)
	accounts := map[string]string{"staging": newAccountID(t), "prod": newAccountID(t), "acme": newAccountID(t)}
	database := fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, s.postgresEndpoint(t))
	// The tenant's NATS runs in its own network; the runtime publishes its
	// port on the host, as the tenants workspace's path to it.
	tenantNATS, err := st.ECS.Publish(accounts["acme"], "acme", "nats", 4222)
	if err != nil {
		t.Fatal(err)
	}
	env := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		out["AWS_ENDPOINT_URL"] = st.Proxy.URL
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	rootEnv := func(name string, extra ...string) map[string]string {
		e := env(s.providerEnv(nats[name]), "NATS_USER", "platform", "NATS_PASSWORD", natsPassword[name],
			"TF_VAR_deployer_role_arn", roleARN(accounts[name]), "TF_VAR_image_registry", registry,
			"TF_VAR_nats_url", nats[name].URL, "TF_VAR_nats_user", "platform", "TF_VAR_nats_password", natsPassword[name],
			"TF_VAR_database", database)
		return env(e, extra...)
	}
	staging := newRoot(tree, "staging", cliConfig, rootEnv("staging"))
	prod := newRoot(tree, "prod", cliConfig, rootEnv("prod", "TF_VAR_staging_release_reader_role_arn", roleARN(accounts["staging"])))
	tenantsEnv := func(extra ...string) map[string]string {
		return env(s.providerEnv(nats["prod"]), append([]string{
			"TF_VAR_deployer_role_arn", roleARN(accounts["prod"]), "TF_VAR_image_registry", registry,
			"TF_VAR_database", database,
			"TF_VAR_tenant_nats_passwords", fmt.Sprintf(`{ acme = %q }`, natsPassword["acme"]),
			"TF_VAR_tenant_jetstream_urls", fmt.Sprintf(`{ acme = "nats://%s" }`, tenantNATS),
		}, extra...)...)
	}
	tenants := newRoot(tree, "tenants", cliConfig, tenantsEnv())
	for _, name := range []string{"staging", "prod"} {
		s.putSecrets(t, accounts[name], "/"+name+"/friend/JWT_HS256_SECRET")
	}
	if !concurrently(t, "init", map[string]func(*testing.T){"staging": staging.init, "prod": prod.init, "tenants": tenants.init}) {
		t.FailNow()
	}
	for _, r := range []*root{staging, prod} {
		if !t.Run(r.name, r.apply) {
			t.FailNow()
		}
	}

	// Adding a tenant: one command (the tenants.tf entry) ...
	if err := hcledit.AddTenant(filepath.Join(tree, repo.TenantsFile), hcledit.Tenant{Name: "acme", AccountID: accounts["acme"], Region: localstack.Region, DeletionProtection: false}); err != nil {
		t.Fatalf("pivotctl tenant add acme: %v", err)
	}
	acmeAWS := s.aws(t, accounts["acme"])

	t.Run("missing secret refused at plan", func(t *testing.T) {
		opts := *tenants.opts
		opts.RetryableTerraformErrors = nil
		out, err := terraform.PlanE(t, &opts)
		if err == nil {
			t.Fatalf("the plan of a tenant without friend's JWT secret succeeded:\n%s", tail(out, 40))
		}
		if !strings.Contains(out, "JWT_HS256_SECRET") {
			t.Errorf("the refused plan does not name the missing secret:\n%s", tail(out, 40))
		}
		if got := ecsServices(t, acmeAWS, "acme"); len(got) > 0 {
			t.Errorf("the refused plan left services in the tenant's account: %v", slices.Sorted(maps.Keys(got)))
		}
		if net, err := vpc.New(acmeAWS).Read(ctx, vpc.Spec{Environment: "acme"}); err != nil || net != nil {
			t.Errorf("the refused plan left a network in the tenant's account: %+v, %v", net, err)
		}
	})

	t.Run("missing NATS password refused at plan", func(t *testing.T) {
		opts := *newRoot(tree, "tenants", cliConfig, tenantsEnv("TF_VAR_tenant_nats_passwords", "{}")).opts
		opts.RetryableTerraformErrors = nil
		out, err := terraform.PlanE(t, &opts)
		if err == nil || !strings.Contains(out, "tenant_nats_passwords") {
			t.Errorf("the plan of a tenant without its NATS password was not refused naming tenant_nats_passwords (%v):\n%s", err, tail(out, 30))
		}
	})

	// ... and what only an operator has: the tenant's secrets.
	s.putSecrets(t, accounts["acme"], "/acme/friend/JWT_HS256_SECRET")
	if !t.Run("tenants", tenants.apply) {
		t.FailNow()
	}

	prodAWS := s.aws(t, accounts["prod"])
	inspect := map[string]struct {
		aws  aws.Config
		nats string
	}{
		"prod": {prodAWS, strings.Replace(nats["prod"].URL, "nats://", "nats://platform:"+natsPassword["prod"]+"@", 1)},
		"acme": {acmeAWS, "nats://pivot:" + natsPassword["acme"] + "@" + tenantNATS},
	}
	seen := map[string]string{}
	for _, name := range []string{"prod", "acme"} {
		in := inspect[name]
		t.Run("inspect "+name, func(t *testing.T) {
			got := ecsServices(t, in.aws, name)
			var apps []string
			for svc := range got {
				if slices.Contains(services, svc) {
					apps = append(apps, svc)
				}
			}
			slices.Sort(apps)
			if _, ok := got["otel-collector"]; !ok {
				t.Errorf("%s: no collector (services %v)", name, slices.Sorted(maps.Keys(got)))
			}
			assertDatabaseIsolation(t, in.aws, name, "messenger", name+"_notifier")
			assertDatabaseIsolation(t, in.aws, name, "notifier", name+"_messenger")
			assertDatabaseReachable(t, in.aws, name, "messenger")
			if recs := dnsRecords(t, s, "friend."+map[string]string{"prod": "", "acme": "acme."}[name]+zone); len(recs) != 1 {
				t.Errorf("%s: want one DNS record for friend, got %+v", name, recs)
			}
			assertJetStream(t, in.nats)
			seen[name] = fmt.Sprintf("services %v, streams and consumers %v", apps, streamsAndConsumers(t, in.nats))
			sendAndTrace(t, s, st.ECS, accounts[name], name)
		})
	}
	t.Logf("prod: %s\nacme: %s", seen["prod"], seen["acme"])
	if seen["prod"] == "" || seen["prod"] != seen["acme"] {
		t.Errorf("prod and the tenant differ:\n prod: %s\n acme: %s", seen["prod"], seen["acme"])
	}

	t.Run("own network", func(t *testing.T) {
		net, err := vpc.New(acmeAWS).Read(ctx, vpc.Spec{Environment: "acme"})
		if err != nil || net == nil || len(net.Missing) > 0 {
			t.Fatalf("the tenant's network: %+v, %v", net, err)
		}
		svc, err := ecs.NewFromConfig(acmeAWS).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("acme"), Services: []string{"messenger"}})
		if err != nil || len(svc.Services) != 1 {
			t.Fatalf("describe messenger: %v", err)
		}
		subnets := svc.Services[0].NetworkConfiguration.AwsvpcConfiguration.Subnets
		slices.Sort(subnets)
		want := slices.Sorted(slices.Values(net.PrivateSubnets))
		if !slices.Equal(subnets, want) || svc.Services[0].NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != "DISABLED" {
			t.Errorf("messenger runs in %v (public IP %s), want the tenant's private subnets %v", subnets, svc.Services[0].NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp, want)
		}
		def, err := ec2.NewFromConfig(acmeAWS).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
		if err == nil && len(def.Vpcs) > 0 && aws.ToString(def.Vpcs[0].VpcId) == net.VPCID {
			t.Errorf("the tenant runs in the account's default VPC")
		}
	})

	t.Run("converged", tenants.assertNoChanges)

	t.Run("env change reaches the task definition", func(t *testing.T) {
		changed := newRoot(tree, "tenants", cliConfig, tenantsEnv("TF_VAR_service_env", `{ notifier = { LOG_LEVEL = "DEBUG" } }`))
		changed.apply(t)
		if got := ecsServices(t, acmeAWS, "acme")["notifier"].Env["LOG_LEVEL"]; got != "DEBUG" {
			t.Errorf("the tenant's notifier runs with LOG_LEVEL=%q, want DEBUG", got)
		}
	})

	t.Run("out-of-band change shows in the plan", func(t *testing.T) {
		if _, err := ecs.NewFromConfig(acmeAWS).UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("acme"), Service: aws.String("friend"), DesiredCount: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		changes := newRoot(tree, "tenants", cliConfig, tenantsEnv("TF_VAR_service_env", `{ notifier = { LOG_LEVEL = "DEBUG" } }`)).plannedChanges(t)
		if !slices.ContainsFunc(changes, func(c string) bool {
			return strings.Contains(c, `["friend"]`) && strings.Contains(c, "pivot_service.this")
		}) {
			t.Errorf("friend's desired count, changed in the tenant's account, is not in the plan: %v", changes)
		}
	})
	t.Logf("tenant parity took %s", time.Since(started).Round(time.Second))
}

// streamsAndConsumers lists a NATS system's streams with their consumers,
// as `STREAM/consumer`, sorted.
func streamsAndConsumers(t *testing.T, natsURL string) []string {
	t.Helper()
	ctx := context.Background()
	js := jetStream(t, natsURL)
	var out []string
	names := js.StreamNames(ctx)
	for n := range names.Name() {
		out = append(out, n)
		s, err := js.Stream(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		cs := s.ConsumerNames(ctx)
		for c := range cs.Name() {
			out = append(out, n+"/"+c)
		}
	}
	if err := names.Err(); err != nil && err != jetstream.ErrEndOfData {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
