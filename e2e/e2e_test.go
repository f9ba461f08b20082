// Package e2e applies the real root configurations (envs/staging,
// envs/prod, envs/tenants) with the real modules and service declarations
// against the local platform stack, and checks what they created with the
// AWS SDK, PostgreSQL, NATS and the Cloudflare API: the release flow from a
// bumped image tag through staging and production to the tenants, and a
// destroy that leaves nothing behind.
package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/faults"
	"github.com/pivotapp/platform/internal/repo"
)

// registry is where the test pretends CI pushed the images.
const registry = "registry.local/pivotapp"

var services = []string{"friend", "messenger", "notifier"}

// TestReleaseFlow is the platform's whole delivery path on the local stack:
//
//  1. staging and production, each in its own AWS account, applied from
//     envs/staging and envs/prod; what they created is checked with the
//     SDKs, and a second plan of each is empty;
//  2. `pivotctl image bump` of one service, staging applied: its release
//     moves; production's plan changes exactly that service, and applying
//     it moves only that service;
//  3. two tenants added with `pivotctl tenant add`, envs/tenants applied:
//     both run production's image set in their own accounts; removing a
//     protected tenant is refused;
//  4. tenants unprotected and removed, production and staging destroyed:
//     no ECS service, role, parameter, database, DNS record or stream is
//     left.
func TestReleaseFlow(t *testing.T) {
	t.Parallel() // its own stack; the runtime tests run alone before
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	started := time.Now()

	cliConfig := buildProvider(t)
	s := startStack(t)
	// Every apply below goes through AWS's failure modes: throttling,
	// server errors, answers lost after the call took effect, new roles
	// unusable and new clusters unknown for a while. make test keeps the
	// shares modest (the SDK's backoff makes 30% throttling take minutes
	// more); PIVOT_E2E_FAULTS sets them, as `make faults` does.
	spec := os.Getenv("PIVOT_E2E_FAULTS")
	if spec == "" {
		spec = "throttle=0.1,5xx=0.02,lost=0.01,role=3s,cluster=3s"
	}
	fc, err := faults.Parse(spec)
	if err != nil {
		t.Fatalf("PIVOT_E2E_FAULTS: %v", err)
	}
	s.withFaults(t, fc)
	tree := copyTree(t)

	accounts := map[string]string{"staging": newAccountID(t), "prod": newAccountID(t), "acme": newAccountID(t), "globex": newAccountID(t), "registry": newAccountID(t)}
	pgEndpoint := s.postgresEndpoint(t)
	database := func(extra string) string {
		return fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q }%s }`, pgEndpoint, extra)
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	staging := newRoot(tree, "staging", cliConfig, with(s.providerEnv(s.natsStaging),
		"TF_VAR_deployer_role_arn", roleARN(accounts["staging"]),
		"TF_VAR_image_registry", registry,
		"TF_VAR_nats_url", s.natsStaging.URL,
		"TF_VAR_database", database(""),
	))
	prod := newRoot(tree, "prod", cliConfig, with(s.providerEnv(s.natsProd),
		"TF_VAR_deployer_role_arn", roleARN(accounts["prod"]),
		"TF_VAR_staging_release_reader_role_arn", roleARN(accounts["staging"]),
		"TF_VAR_image_registry", registry,
		"TF_VAR_nats_url", s.natsProd.URL,
		// Production differs from staging in inputs only: a reader, its own
		// log level, two tasks of friend (steady only once both run and
		// pass their health check). Protection is off so the test can
		// destroy it.
		"TF_VAR_database", database(`, reader_count = 1, deletion_protection = false`),
		"TF_VAR_service_env", `{ friend = { LOG_LEVEL = "WARN" } }`,
		"TF_VAR_desired_counts", `{ friend = 2 }`,
		// Production manages the services' repositories in the registry
		// account, keeping the tags staging's and its own release name.
		"TF_VAR_registry", fmt.Sprintf(`{ role_arn = %q, pull_account_ids = [%q, %q] }`, roleARN(accounts["registry"]), accounts["staging"], accounts["prod"]),
	))
	// Each tenant's managed NATS runs as a task in the tenant's own
	// network; the runtime publishes its port on the host, as the tenants
	// workspace's private path to it, where Terraform puts the streams.
	tenantNATS, tenantJetStream, tenantPasswords := map[string]string{}, map[string]string{}, map[string]string{}
	for _, name := range []string{"acme", "globex"} {
		addr, err := s.ecs.Publish(accounts[name], name, "nats", 4222)
		if err != nil {
			t.Fatal(err)
		}
		tenantPasswords[name] = randomHex(t, 16)
		tenantJetStream[name] = "nats://" + addr
		tenantNATS[name] = "nats://pivot:" + tenantPasswords[name] + "@" + addr
	}
	tenants := newRoot(tree, "tenants", cliConfig, with(s.providerEnv(s.natsProd),
		"TF_VAR_deployer_role_arn", roleARN(accounts["prod"]),
		"TF_VAR_image_registry", registry,
		"TF_VAR_database", database(""),
		"TF_VAR_tenant_nats_passwords", fmt.Sprintf(`{ acme = %q, globex = %q }`, tenantPasswords["acme"], tenantPasswords["globex"]),
		"TF_VAR_tenant_jetstream_urls", fmt.Sprintf(`{ acme = %q, globex = %q }`, tenantJetStream["acme"], tenantJetStream["globex"]),
	))

	stagingAWS, prodAWS := s.aws(t, accounts["staging"]), s.aws(t, accounts["prod"])
	// Operators put each environment's secrets before its first apply.
	s.putSecrets(t, accounts["staging"], "/staging/friend/JWT_HS256_SECRET")
	s.putSecrets(t, accounts["prod"], "/prod/friend/JWT_HS256_SECRET")

	if !concurrently(t, "init", map[string]func(*testing.T){
		"staging": staging.init, "prod": prod.init, "tenants": tenants.init,
	}) {
		t.FailNow()
	}

	declared := map[string]string{}
	for _, name := range services {
		tag, err := hcledit.ImageTag(filepath.Join(tree, "services", name, "service.tf"))
		if err != nil {
			t.Fatal(err)
		}
		declared[name] = tag
	}

	// 1. Staging, then production from staging's release.
	if !t.Run("staging apply", staging.apply) {
		t.FailNow()
	}
	if !concurrently(t, "staging checks and prod apply", map[string]func(*testing.T){
		"staging plan is empty": staging.assertNoChanges,
		"staging resources": func(t *testing.T) {
			checkEnvironment(t, s, stagingAWS, "staging", "friend.staging."+zone, s.natsStaging.URL, declared)
			assertTasksRunning(t, stagingAWS, "staging")
		},
		"staging release": func(t *testing.T) {
			if got := releaseImages(t, stagingAWS, "staging"); !maps.Equal(got, declared) {
				t.Errorf("release staging = %v, want the declared tags %v", got, declared)
			}
		},
		"prod apply": prod.apply,
	}) {
		t.FailNow()
	}
	var prodTaskDefinitions map[string]runningService
	if !concurrently(t, "prod checks", map[string]func(*testing.T){
		"prod plan is empty": prod.assertNoChanges,
		"prod resources": func(t *testing.T) {
			checkEnvironment(t, s, prodAWS, "prod", "friend."+zone, s.natsProd.URL, releaseImages(t, stagingAWS, "staging"))
			if tasks := assertTasksRunning(t, prodAWS, "prod"); tasks["friend"] != 2 {
				t.Errorf("prod friend runs %d tasks, want 2 (desired_counts input)", tasks["friend"])
			}
			running := ecsServices(t, prodAWS, "prod")
			if got := running["friend"].Env["LOG_LEVEL"]; got != "WARN" {
				t.Errorf("prod friend LOG_LEVEL = %q, want WARN (service_env input)", got)
			}
			if got := running["messenger"].Env["STAGE"]; got != "production" {
				t.Errorf("prod messenger STAGE = %q, want production", got)
			}
			if got := releaseImages(t, prodAWS, "prod"); !maps.Equal(got, declared) {
				t.Errorf("release prod = %v, want staging's %v", got, declared)
			}
			assertRepositories(t, s.aws(t, accounts["registry"]), declared, accounts["staging"], accounts["prod"])
		},
		"staging and prod accounts are apart": func(t *testing.T) {
			if got := ecsServices(t, stagingAWS, "prod"); len(got) > 0 {
				t.Errorf("the staging account has prod services: %v", slices.Collect(maps.Keys(got)))
			}
			if got := ecsServices(t, prodAWS, "staging"); len(got) > 0 {
				t.Errorf("the prod account has staging services: %v", slices.Collect(maps.Keys(got)))
			}
		},
	}) {
		t.FailNow()
	}
	prodTaskDefinitions = ecsServices(t, prodAWS, "prod")

	// 2. Promotion: CI bumps messenger; staging applies; prod follows.
	newSHA := randomHex(t, 20)
	promoted := maps.Clone(declared)
	promoted["messenger"] = newSHA
	if !t.Run("promotion", func(t *testing.T) {
		path, err := repo.DeclarationPath(tree, "messenger")
		if err != nil {
			t.Fatal(err)
		}
		if changed, err := hcledit.BumpImageTag(path, newSHA); err != nil || !changed {
			t.Fatalf("pivotctl image bump messenger: changed %v, %v", changed, err)
		}
		// Production's plan does not move before staging verified the tag.
		if got := prod.plannedChanges(t); len(got) > 0 {
			t.Fatalf("prod plans changes before staging applied the bump: %v", got)
		}
		staging.apply(t)
		if got := releaseImages(t, stagingAWS, "staging"); !maps.Equal(got, promoted) {
			t.Fatalf("release staging after the bump = %v, want %v", got, promoted)
		}
		want := []string{
			`module.service["messenger"].pivot_service.this[0]: update`,
			`pivot_release.prod: update`,
			// Its lifecycle policy now keeps staging's new tag too.
			`pivot_service_repository.this["messenger"]: update`,
		}
		if got := prod.plannedChanges(t); !slices.Equal(got, want) {
			t.Fatalf("prod plan after staging's release moved:\n  got  %v\n  want %v", got, want)
		}
		prod.apply(t)
		after := ecsServices(t, prodAWS, "prod")
		assertImages(t, "prod", after, promoted)
		assertTasksRunning(t, prodAWS, "prod")
		for _, name := range []string{"friend", "notifier"} {
			if after[name].TaskDefinition != prodTaskDefinitions[name].TaskDefinition {
				t.Errorf("prod %s moved from %s to %s, though only messenger was promoted", name, prodTaskDefinitions[name].TaskDefinition, after[name].TaskDefinition)
			}
		}
		if got := releaseImages(t, prodAWS, "prod"); !maps.Equal(got, promoted) {
			t.Errorf("release prod after promotion = %v, want %v", got, promoted)
		}
		prod.assertNoChanges(t)
	}) {
		t.FailNow()
	}

	// 3. Two tenants, each in its own account, at production's release.
	tenantsFile := filepath.Join(tree, repo.TenantsFile)
	tenantNames := []string{"acme", "globex"}
	if !t.Run("tenants", func(t *testing.T) {
		for _, name := range tenantNames {
			if err := hcledit.AddTenant(tenantsFile, hcledit.Tenant{Name: name, AccountID: accounts[name], Region: localstack.Region}); err != nil {
				t.Fatalf("pivotctl tenant add %s: %v", name, err)
			}
			// Tenant onboarding: the secrets only an operator has, in the
			// tenant's account (the databases' URLs the tenant makes itself).
			s.putSecrets(t, accounts[name], "/"+name+"/friend/JWT_HS256_SECRET")
		}
		tenants.apply(t)
		for _, name := range tenantNames {
			got := ecsServices(t, s.aws(t, accounts[name]), name)
			assertImages(t, "tenant "+name, got, promoted)
			assertTasksRunning(t, s.aws(t, accounts[name]), name)
			for _, platform := range []string{"otel-collector", "nats"} {
				if _, ok := got[platform]; !ok {
					t.Errorf("tenant %s: platform service %s is not running (services: %v)", name, platform, slices.Sorted(maps.Keys(got)))
				}
			}
		}
		for _, name := range tenantNames {
			assertJetStream(t, tenantNATS[name])
			assertDatabaseIsolation(t, s.aws(t, accounts[name]), name, "messenger", name+"_notifier")
		}
		tenants.assertNoChanges(t)
		err := hcledit.RemoveTenant(tenantsFile, "acme")
		if err == nil || !strings.Contains(err.Error(), "deletion_protection") {
			t.Errorf("pivotctl tenant remove acme while protected: got %v, want a refusal naming deletion_protection", err)
		}
	}) {
		t.FailNow()
	}

	// 4. Tear down: tenants first (two reviewed changes), then both
	// environments at once.
	t.Run("destroy", func(t *testing.T) {
		src, err := os.ReadFile(tenantsFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tenantsFile, []byte(strings.ReplaceAll(string(src), "deletion_protection = true", "deletion_protection = false")), 0o644); err != nil {
			t.Fatal(err)
		}
		tenants.apply(t)
		for _, name := range tenantNames {
			if err := hcledit.RemoveTenant(tenantsFile, name); err != nil {
				t.Fatalf("pivotctl tenant remove %s once unprotected: %v", name, err)
			}
		}
		tenants.apply(t)
		for _, name := range tenantNames {
			cfg := s.aws(t, accounts[name])
			if got := ecsServices(t, cfg, name); len(got) > 0 {
				t.Errorf("tenant %s: services left after removal: %v", name, slices.Sorted(maps.Keys(got)))
			}
			if got := roleNames(t, cfg, name+"-"); len(got) > 0 {
				t.Errorf("tenant %s: roles left after removal: %v", name, got)
			}
		}
		concurrently(t, "environments", map[string]func(*testing.T){"staging": staging.destroy, "prod": prod.destroy})
		for env, cfg := range map[string]struct {
			aws  awsConfig
			nats string
			host string
		}{
			"staging": {stagingAWS, s.natsStaging.URL, "friend.staging." + zone},
			"prod":    {prodAWS, s.natsProd.URL, "friend." + zone},
		} {
			if got := ecsServices(t, cfg.aws, env); len(got) > 0 {
				t.Errorf("%s: services left after destroy: %v", env, slices.Sorted(maps.Keys(got)))
			}
			if got := roleNames(t, cfg.aws, env+"-"); len(got) > 0 {
				t.Errorf("%s: roles left after destroy: %v", env, got)
			}
			params := parameters(t, cfg.aws, "/"+env)
			delete(params, "/"+env+"/friend/JWT_HS256_SECRET") // the operator's, not Terraform's
			if len(params) > 0 {
				t.Errorf("%s: parameters left after destroy: %v", env, slices.Sorted(maps.Keys(params)))
			}
			if got := parameters(t, cfg.aws, "/pivot/releases"); len(got) > 0 {
				t.Errorf("%s: release records left after destroy: %v", env, slices.Sorted(maps.Keys(got)))
			}
			for _, svc := range []string{"messenger", "notifier"} {
				if databaseExists(t, s, env+"_"+svc) {
					t.Errorf("%s: database %s_%s left after destroy", env, env, svc)
				}
			}
			if recs := dnsRecords(t, s, cfg.host); len(recs) > 0 {
				t.Errorf("%s: DNS records of %s left after destroy: %v", env, cfg.host, recs)
			}
			assertNoStreams(t, cfg.nats)
		}
	})
	t.Logf("release flow took %s", time.Since(started).Round(time.Second))
}

// checkEnvironment inspects one applied environment with the SDKs: its
// services run the wanted tags with their own roles, its parameters exist,
// each database is its service's alone, the public hostname is in
// Cloudflare, and the streams and consumer exist.
func checkEnvironment(t *testing.T, s *stack, cfg awsConfig, env, publicHost, natsURL string, want map[string]string) {
	t.Helper()
	assertImages(t, env, ecsServices(t, cfg, env), want)
	roles := roleNames(t, cfg, env+"-")
	for _, name := range services {
		for _, kind := range []string{"task", "exec"} {
			if !slices.Contains(roles, env+"-"+name+"-"+kind) {
				t.Errorf("%s: role %s-%s-%s is missing (roles: %v)", env, env, name, kind, roles)
			}
		}
	}
	params := parameters(t, cfg, "/"+env)
	for _, p := range []string{"/_platform/NATS_URL", "/_platform/STAGE", "/messenger/DATABASE_URL", "/messenger/DATABASE_READER_URL", "/notifier/DATABASE_URL"} {
		if !params["/"+env+p] {
			t.Errorf("%s: parameter /%s%s is missing (have %v)", env, env, p, slices.Sorted(maps.Keys(params)))
		}
	}
	assertDatabaseIsolation(t, cfg, env, "messenger", env+"_notifier")
	assertDatabaseIsolation(t, cfg, env, "notifier", env+"_messenger")
	assertDatabaseReachable(t, cfg, env, "messenger")
	assertOwnBucket(t, cfg, env, "messenger", "friend")
	recs := dnsRecords(t, s, publicHost)
	if len(recs) != 1 || recs[0].Type != "CNAME" {
		t.Errorf("%s: want one CNAME record for %s in Cloudflare, got %+v", env, publicHost, recs)
	}
	assertJetStream(t, natsURL)
}
