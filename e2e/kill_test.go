package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/jsm.go"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/repo"
)

// TestKillAnywhereConverges kills `terraform apply` of envs/staging with
// SIGKILL (Terraform and its provider, the whole process group) at points
// spread over the time a whole apply takes, then applies once more. Each
// point must converge with that one apply (the plan after it is empty),
// and a destroy must then leave the account, NATS, PostgreSQL and
// Cloudflare as they were before: anything the killed apply made outside
// the state would survive the destroy.
//
// PIVOT_KILL_POINTS sets the number of points (default 12). On the local
// ECS runtime each point's apply waits for real tasks: 12 points took
// about 17 minutes on a loaded 2-core machine (TestKillTenantApplyConverges
// 20-26), so `make test` runs 4 and `make kill` all 12.
func TestKillAnywhereConverges(t *testing.T) {
	t.Parallel() // its own stack; the runtime tests run alone before
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	points := killPoints(t)
	cliConfig := buildProvider(t)
	s := startStack(t)
	tree := copyTree(t)
	database := fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, s.postgresEndpoint(t))
	stagingRoot := func(account string) *root {
		env := s.providerEnv(s.natsStaging)
		for k, v := range map[string]string{
			"TF_VAR_deployer_role_arn": roleARN(account), "TF_VAR_image_registry": registry,
			"TF_VAR_nats_url": s.natsStaging.URL, "TF_VAR_database": database,
		} {
			env[k] = v
		}
		return newRoot(tree, "staging", cliConfig, env)
	}
	template := stagingRoot(newAccountID(t))
	template.init(t)

	run := func(t *testing.T, i int) (*root, string) {
		account := newAccountID(t)
		s.putSecrets(t, account, "/staging/friend/JWT_HS256_SECRET")
		r := stagingRoot(account)
		r.opts.TerraformDir = cloneRoot(t, template.opts.TerraformDir, fmt.Sprintf("kill-%d", i))
		return r, account
	}
	converged, killed := s.killAtPoints(t, "staging", points, run)
	t.Logf("kill -9 of a staging apply: %d of %d points converged with one apply and left nothing outside the state (%d killed mid-apply)", converged, points, killed)
}

// TestKillTenantApplyConverges is TestKillAnywhereConverges for a tenant's
// first apply (envs/tenants with one tenant selected, as its workspace
// runs it), after staging and production are up.
func TestKillTenantApplyConverges(t *testing.T) {
	t.Parallel() // its own stack; the runtime tests run alone before
	if _, err := os.Stat(terraformBinary()); err != nil {
		t.Skipf("no Terraform at %s: run `make tools` to install the pinned Terraform", terraformBinary())
	}
	points := killPoints(t)
	cliConfig := buildProvider(t)
	s := startStack(t)
	tree := copyTree(t)
	staging, prod := newAccountID(t), newAccountID(t)
	database := fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, s.postgresEndpoint(t))
	with := func(base map[string]string, kv ...string) map[string]string {
		out := maps.Clone(base)
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	s.putSecrets(t, staging, "/staging/friend/JWT_HS256_SECRET")
	s.putSecrets(t, prod, "/prod/friend/JWT_HS256_SECRET")
	stagingRoot := newRoot(tree, "staging", cliConfig, with(s.providerEnv(s.natsStaging),
		"TF_VAR_deployer_role_arn", roleARN(staging), "TF_VAR_image_registry", registry,
		"TF_VAR_nats_url", s.natsStaging.URL, "TF_VAR_database", database))
	prodRoot := newRoot(tree, "prod", cliConfig, with(s.providerEnv(s.natsProd),
		"TF_VAR_deployer_role_arn", roleARN(prod), "TF_VAR_staging_release_reader_role_arn", roleARN(staging),
		"TF_VAR_image_registry", registry, "TF_VAR_nats_url", s.natsProd.URL,
		"TF_VAR_database", strings.TrimSuffix(database, " }")+", deletion_protection = false }"))
	tenants := newRoot(tree, "tenants", cliConfig, with(s.providerEnv(s.natsProd),
		"TF_VAR_deployer_role_arn", roleARN(prod), "TF_VAR_image_registry", registry, "TF_VAR_database", database))
	for _, r := range []*root{stagingRoot, prodRoot, tenants} {
		r.init(t)
	}
	stagingRoot.apply(t)
	prodRoot.apply(t)

	run := func(t *testing.T, i int) (*root, string) {
		account, name := newAccountID(t), fmt.Sprintf("kill%d", i)
		s.putSecrets(t, account, "/"+name+"/friend/JWT_HS256_SECRET")
		dir := cloneRoot(t, tenants.opts.TerraformDir, "tenants-kill-"+strconv.Itoa(i))
		file := filepath.Join(dir, filepath.Base(repo.TenantsFile))
		if err := hcledit.AddTenant(file, hcledit.Tenant{Name: name, AccountID: account, Region: localstack.Region}); err != nil {
			t.Fatal(err)
		}
		// The test destroys what it made; a real tenant keeps protection.
		unprotect(t, file)
		passwords, urls := s.tenantNATS(t, map[string]string{name: account})
		r := newRoot(tree, "tenants", cliConfig, with(tenants.opts.EnvVars, "TF_VAR_tenant", name,
			"TF_VAR_tenant_nats_passwords", passwords, "TF_VAR_tenant_jetstream_urls", urls))
		r.opts.TerraformDir = dir
		return r, account
	}
	converged, killed := s.killAtPoints(t, "tenant", points, run)
	t.Logf("kill -9 of a tenant's apply: %d of %d points converged with one apply and left nothing outside the state (%d killed mid-apply)", converged, points, killed)
}

func killPoints(t *testing.T) int {
	t.Helper()
	points := 12
	if v := os.Getenv("PIVOT_KILL_POINTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PIVOT_KILL_POINTS=%q: want a positive number", v)
		}
		points = n
	}
	return points
}

func unprotect(t *testing.T, file string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(string(src), "deletion_protection = true", "deletion_protection = false")), 0o644); err != nil {
		t.Fatal(err)
	}
}

// killAtPoints measures one whole apply (run 0), then for each point kills
// a fresh apply (its own account and folder) part way, applies once more,
// checks the plan is empty, destroys, and compares the inventory with the
// one before. It returns how many points passed and how many kills landed
// before the apply ended.
func (s *stack) killAtPoints(t *testing.T, what string, points int, run func(t *testing.T, i int) (*root, string)) (converged, killedMidway int) {
	t.Helper()
	whole, wholeAccount := run(t, 0)
	before := s.inventory(t, wholeAccount)
	began := time.Now()
	whole.apply(t)
	span := time.Since(began)
	whole.destroy(t)
	if after := s.inventory(t, wholeAccount); !slices.Equal(after, before) {
		t.Fatalf("an uninterrupted %s apply and destroy left %v", what, diff(after, before))
	}
	t.Logf("a whole %s apply takes %s; killing at %d points over it", what, span.Round(time.Millisecond), points)
	for i := 1; i <= points; i++ {
		// Over 85% of the measured span: an apply is no faster on a second
		// run, and a kill after its end tests nothing.
		at := time.Duration(0.85 * float64(span) * (float64(i) - 0.5) / float64(points))
		ok := t.Run(fmt.Sprintf("kill at %s", at.Round(time.Millisecond)), func(t *testing.T) {
			r, account := run(t, i)
			base := s.inventory(t, account)
			if r.applyKilledAfter(t, at) {
				killedMidway++
			}
			r.apply(t)
			r.assertNoChanges(t)
			r.destroy(t)
			if left := s.inventory(t, account); !slices.Equal(left, base) {
				t.Fatalf("objects outside the state after kill, apply and destroy: %v", diff(left, base))
			}
		})
		if ok {
			converged++
		}
	}
	return converged, killedMidway
}

// cloneRoot copies an initialised root folder (with .terraform and the lock
// file, without state) so each run has its own state.
func cloneRoot(t *testing.T, src, name string) string {
	t.Helper()
	dst := filepath.Join(filepath.Dir(src), name)
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup", ".terraform.tfstate.lock.info"} {
		_ = os.Remove(filepath.Join(dst, f))
	}
	return dst
}

// applyKilledAfter starts an apply and kills its process group with
// SIGKILL after d; it says whether the apply was still running then.
func (r *root) applyKilledAfter(t *testing.T, d time.Duration) bool {
	t.Helper()
	cmd := exec.Command(r.opts.TerraformBinary, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism="+strconv.Itoa(r.opts.Parallelism))
	cmd.Dir = r.opts.TerraformDir
	cmd.Env = os.Environ()
	for k, v := range r.opts.EnvVars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Logf("the apply finished before the kill (%v)", err)
		return false
	case <-time.After(d):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		t.Logf("killed after %s; its last line: %s", d.Round(time.Millisecond), lines[len(lines)-1])
		return true
	}
}

// inventory names what exists in an account (ECS, IAM, logs, the network,
// load balancing, Cloud Map, parameters, RDS, secrets) and in the shared
// NATS, PostgreSQL and Cloudflare zone, for comparing before and after.
func (s *stack) inventory(t *testing.T, account string) []string {
	t.Helper()
	ctx := context.Background()
	cfg := s.aws(t, account)
	var inv []string
	add := func(kind string, names ...string) {
		for _, n := range names {
			inv = append(inv, kind+" "+n)
		}
	}
	check := func(what string, err error) {
		if err != nil {
			t.Fatalf("inventory %s: %v", what, err)
		}
	}
	e := ecs.NewFromConfig(cfg)
	clusters, err := e.ListClusters(ctx, &ecs.ListClustersInput{})
	check("clusters", err)
	// Deleted clusters and services stay visible as INACTIVE for a while,
	// as in ECS: only live ones count.
	if len(clusters.ClusterArns) > 0 {
		cs, err := e.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: clusters.ClusterArns})
		check("clusters", err)
		for _, c := range cs.Clusters {
			if aws.ToString(c.Status) == "INACTIVE" {
				continue
			}
			add("ecs cluster", aws.ToString(c.ClusterName))
			svcs, err := e.ListServices(ctx, &ecs.ListServicesInput{Cluster: c.ClusterArn})
			check("services", err)
			for chunk := range slices.Chunk(svcs.ServiceArns, 10) {
				d, err := e.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: c.ClusterArn, Services: chunk})
				check("services", err)
				for _, x := range d.Services {
					if aws.ToString(x.Status) != "INACTIVE" {
						add("ecs service", aws.ToString(c.ClusterName)+"/"+aws.ToString(x.ServiceName))
					}
				}
			}
		}
	}
	tds, err := e.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusActive})
	check("task definitions", err)
	add("task definition", tds.TaskDefinitionArns...)
	roles, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{})
	check("roles", err)
	for _, r := range roles.Roles {
		add("iam role", aws.ToString(r.RoleName))
	}
	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	check("log groups", err)
	for _, g := range groups.LogGroups {
		add("log group", aws.ToString(g.LogGroupName))
	}
	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	check("security groups", err)
	for _, g := range sgs.SecurityGroups {
		add("security group", aws.ToString(g.VpcId)+"/"+aws.ToString(g.GroupName))
	}
	ec := ec2.NewFromConfig(cfg)
	vpcs, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	check("vpcs", err)
	for _, v := range vpcs.Vpcs {
		add("vpc", aws.ToString(v.VpcId))
	}
	subnets, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	check("subnets", err)
	for _, x := range subnets.Subnets {
		add("subnet", aws.ToString(x.SubnetId))
	}
	igws, err := ec.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	check("internet gateways", err)
	for _, x := range igws.InternetGateways {
		add("internet gateway", aws.ToString(x.InternetGatewayId))
	}
	eigws, err := ec.DescribeEgressOnlyInternetGateways(ctx, &ec2.DescribeEgressOnlyInternetGatewaysInput{})
	check("egress-only gateways", err)
	for _, x := range eigws.EgressOnlyInternetGateways {
		add("egress-only gateway", aws.ToString(x.EgressOnlyInternetGatewayId))
	}
	rts, err := ec.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	check("route tables", err)
	for _, x := range rts.RouteTables {
		add("route table", aws.ToString(x.RouteTableId))
	}
	lbc := elb.NewFromConfig(cfg)
	lbs, err := lbc.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	check("load balancers", err)
	for _, l := range lbs.LoadBalancers {
		add("load balancer", aws.ToString(l.LoadBalancerName))
	}
	tgs, err := lbc.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	check("target groups", err)
	for _, g := range tgs.TargetGroups {
		add("target group", aws.ToString(g.TargetGroupName))
	}
	sd := servicediscovery.NewFromConfig(cfg)
	nss, err := sd.ListNamespaces(ctx, &servicediscovery.ListNamespacesInput{})
	check("namespaces", err)
	for _, n := range nss.Namespaces {
		add("namespace", aws.ToString(n.Name))
	}
	sds, err := sd.ListServices(ctx, &servicediscovery.ListServicesInput{})
	check("cloud map services", err)
	for _, x := range sds.Services {
		add("cloud map service", aws.ToString(x.Name))
	}
	params, err := ssm.NewFromConfig(cfg).DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(50)})
	check("parameters", err)
	for _, p := range params.Parameters {
		add("parameter", aws.ToString(p.Name))
	}
	dbs, err := rds.NewFromConfig(cfg).DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{})
	check("db clusters", err)
	for _, c := range dbs.DBClusters {
		add("db cluster", aws.ToString(c.DBClusterIdentifier))
	}
	insts, err := rds.NewFromConfig(cfg).DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	check("db instances", err)
	for _, i := range insts.DBInstances {
		add("db instance", aws.ToString(i.DBInstanceIdentifier))
	}
	sgroups, err := rds.NewFromConfig(cfg).DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
	check("db subnet groups", err)
	for _, g := range sgroups.DBSubnetGroups {
		add("db subnet group", aws.ToString(g.DBSubnetGroupName))
	}
	secrets, err := secretsmanager.NewFromConfig(cfg).ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	check("secrets", err)
	for _, x := range secrets.SecretList {
		add("secret", aws.ToString(x.Name))
	}
	buckets, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
	check("buckets", err)
	for _, b := range buckets.Buckets {
		add("s3 bucket", aws.ToString(b.Name))
	}

	// The shared servers: only one run at a time uses them.
	nc, err := nats.Connect(s.natsStaging.URL)
	check("nats", err)
	defer nc.Close()
	mgr, err := jsm.New(nc)
	check("jetstream", err)
	streams, err := mgr.StreamNames(nil)
	check("streams", err)
	add("stream", streams...)
	conn, err := pgx.Connect(ctx, s.pg.URL("postgres"))
	check("postgres", err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT 'database ' || datname FROM pg_database UNION ALL SELECT 'role ' || rolname FROM pg_roles")
	check("postgres objects", err)
	pgNames, err := pgx.CollectRows(rows, pgx.RowTo[string])
	check("postgres objects", err)
	add("postgres", pgNames...)
	for _, r := range dnsRecords(t, s, "") {
		add("dns record", r.Type+" "+r.Name)
	}
	slices.Sort(inv)
	return inv
}

// diff lists what is in got and not in want (+) and the reverse (-).
func diff(got, want []string) []string {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range list {
			m[x] = true
		}
		return m
	}
	g, w := in(got), in(want)
	var out []string
	for _, x := range slices.Sorted(maps.Keys(g)) {
		if !w[x] {
			out = append(out, "+"+x)
		}
	}
	for _, x := range slices.Sorted(maps.Keys(w)) {
		if !g[x] {
			out = append(out, "-"+x)
		}
	}
	return out
}
