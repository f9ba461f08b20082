package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/gruntwork-io/terratest/modules/terraform"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/release"
	"github.com/pivotapp/platform/internal/repo"
)

// BenchmarkTenantRollout50vs1 rolls a release (messenger's new tag in the
// release record "prod") to 50 tenants and to 1 tenant with envs/tenants
// itself: every tenant the whole stack production has (its own VPC,
// Aurora with a database per service, NATS with the declared streams and
// consumers, collector, load balancer and DNS, three services), each in its
// own account. Both sides run in the same run on one local stack, with the
// root's apply as `pivotctl release promote --to tenants` runs it. The
// tenants' stacks are created first and not timed; each side is the median
// of three roll-outs. AWS calls are counted at a proxy in front of moto
// (every service: ECS, EC2, RDS, SSM, IAM, ELB, STS) and reported per tenant.
// The tenants' tasks run on the local ECS runtime; each tenant's managed
// NATS is a task of its own, its port published on the host for Terraform.
//
// To tell what bounds the 50-tenant side, each roll-out also measures the
// CPU seconds of moto, terraform, the provider plugins, this process (the
// proxy) and the rest of the stack, and the bench prints the floor they
// imply against the target of 5 times one tenant; an apply that changes
// nothing is measured too, for the refresh's share.
func BenchmarkTenantRollout50vs1(b *testing.B) {
	if _, err := os.Stat(terraformBinary()); err != nil {
		b.Fatalf("no Terraform at %s: run `make tools`", terraformBinary())
	}
	cliConfig := buildProvider(b)
	s := startStack(b)
	var calls atomic.Int64
	var opsMu sync.Mutex
	ops := map[string]int{}
	upstream, err := url.Parse(s.awsEndpoint())
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	// Keep connections to moto open: with the default two idle connections
	// per host, the proxy dialled moto anew for most of the concurrent
	// calls, work (here and in moto) no real roll-out does.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	rp.Transport = transport
	counting := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			// Query APIs (EC2, IAM, RDS, STS, ELB) name the action in the body.
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if v, err := url.ParseQuery(string(body)); err == nil {
				op = v.Get("Action")
			}
		}
		if op == "" {
			// REST APIs (S3): the method and the subresource.
			op = "REST " + r.Method + " ?" + strings.Join(slices.Sorted(maps.Keys(r.URL.Query())), "&")
		}
		opsMu.Lock()
		ops[op]++
		opsMu.Unlock()
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 30 * time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = counting.Serve(l) }()
	b.Cleanup(func() { _ = counting.Close() })
	proxy := "http://" + l.Addr().String()
	pg := s.postgresEndpoint(b)

	type result struct {
		took  time.Duration
		calls float64
		cpu   cpuUse
	}
	// Terraform's default parallelism, as Terraform Cloud runs it, unless
	// PIVOT_BENCH_PARALLELISM says otherwise.
	parallelism := 10
	if v, err := strconv.Atoi(os.Getenv("PIVOT_BENCH_PARALLELISM")); err == nil && v > 0 {
		parallelism = v
	}
	rollout := func(n int) result {
		tree := copyTree(b)
		prodAccount := newAccountID(b)
		prodAWS := s.aws(b, prodAccount)
		store := release.NewStore(prodAWS)
		images := map[string]string{"friend": "aaa111", "messenger": "aaa111", "notifier": "aaa111"}
		put := func() {
			if _, err := store.Put(context.Background(), release.Record{Name: "prod", Images: images, Source: "staging@1"}); err != nil {
				b.Fatalf("write the prod release: %v", err)
			}
		}
		put()
		var passwords, urls, accounts []string
		for i := range n {
			name := fmt.Sprintf("t%02d", i+1)
			account := newAccountID(b)
			accounts = append(accounts, account)
			if err := hcledit.AddTenant(filepath.Join(tree, repo.TenantsFile), hcledit.Tenant{Name: name, AccountID: account, Region: localstack.Region}); err != nil {
				b.Fatal(err)
			}
			s.putSecrets(b, account, "/"+name+"/friend/JWT_HS256_SECRET")
			addr, err := s.ecs.Publish(account, name, "nats", 4222)
			if err != nil {
				b.Fatal(err)
			}
			passwords = append(passwords, fmt.Sprintf("%s = %q", name, randomHex(b, 16)))
			urls = append(urls, fmt.Sprintf("%s = %q", name, "nats://"+addr))
		}
		env := maps.Clone(s.providerEnv(s.natsProd))
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL":             proxy,
			"TF_CLI_CONFIG_FILE":           cliConfig,
			"CHECKPOINT_DISABLE":           "1",
			"TF_IN_AUTOMATION":             "1",
			"TF_VAR_deployer_role_arn":     roleARN(prodAccount),
			"TF_VAR_image_registry":        registry,
			"TF_VAR_database":              fmt.Sprintf(`{ ssl_mode = "disable", endpoint_override = { writer = %q } }`, pg),
			"TF_VAR_tenant_nats_passwords": "{ " + strings.Join(passwords, ", ") + " }",
			"TF_VAR_tenant_jetstream_urls": "{ " + strings.Join(urls, ", ") + " }",
		} {
			env[k] = v
		}
		opts := &terraform.Options{TerraformDir: filepath.Join(tree, "envs", "tenants"), TerraformBinary: terraformBinary(), EnvVars: env, NoColor: true, Parallelism: parallelism}
		terraform.Init(b, opts)
		start := time.Now()
		terraform.Apply(b, opts)
		fmt.Printf("step: tenant_rollout set-up of %d tenants %.1f s\n", n, time.Since(start).Seconds())
		var runs []result
		for _, tag := range []string{"bbb222", "ccc333", "ddd444"} {
			images["messenger"] = tag
			put()
			calls.Store(0)
			opsMu.Lock()
			clear(ops)
			opsMu.Unlock()
			cpu := measureCPU(s.moto.PID(), func() { terraform.Apply(b, opts) })
			runs = append(runs, result{took: time.Duration(cpu.Wall * float64(time.Second)), calls: float64(calls.Load()) / float64(n), cpu: cpu})
			fmt.Printf("step: tenant_rollout %d tenants %s: wall %.2f s, CPU s: moto %.2f terraform %.2f provider %.2f harness %.2f stack %.2f (ours %.2f), machine %.2f; moto's busiest second %.2f cores, machine saturated %.0f%% of the seconds\n",
				n, tag, cpu.Wall, cpu.Moto, cpu.Terraform, cpu.Provider, cpu.Harness, cpu.Stack, cpu.Ours(), cpu.Machine, cpu.MotoPeak, 100*cpu.Saturated)
		}
		// What one roll-out asked, per tenant (the last one).
		opsMu.Lock()
		for _, op := range slices.SortedFunc(maps.Keys(ops), func(a, b string) int { return ops[b] - ops[a] }) {
			fmt.Printf("step: tenant_rollout %d tenants: %-60s %6.2f calls per tenant\n", n, op, float64(ops[op])/float64(n))
		}
		opsMu.Unlock()
		// An apply that changes nothing (the refresh, the plan and an empty
		// apply) tells the roll-out's own share from the rest.
		calls.Store(0)
		noop := measureCPU(s.moto.PID(), func() { terraform.Apply(b, opts) })
		fmt.Printf("step: tenant_rollout %d tenants no-op apply: wall %.2f s, CPU s: moto %.2f terraform %.2f provider %.2f harness %.2f stack %.2f (ours %.2f), machine %.2f; %.1f calls per tenant\n",
			n, noop.Wall, noop.Moto, noop.Terraform, noop.Provider, noop.Harness, noop.Stack, noop.Ours(), noop.Machine, float64(calls.Load())/float64(n))
		// The release reached every tenant.
		for i, account := range accounts {
			name := fmt.Sprintf("t%02d", i+1)
			if img := ecsImage(b, s.aws(b, account), name, "messenger"); !strings.HasSuffix(img, ":ddd444") {
				b.Fatalf("tenant %s runs messenger %s after the roll-out, want ddd444", name, img)
			}
		}
		slices.SortFunc(runs, func(a, b result) int { return int(a.took - b.took) })
		return runs[1]
	}
	tenants := 50
	if v, err := strconv.Atoi(os.Getenv("PIVOT_BENCH_TENANTS")); err == nil && v > 0 {
		tenants = v // a quicker look
	}
	b.ResetTimer()
	many := rollout(tenants)
	one := rollout(1)
	b.StopTimer()
	fmt.Printf("bench: tenant_rollout_%d_tenants %.2f s baseline %.2f s ratio %.2f\n", tenants, many.took.Seconds(), one.took.Seconds(), many.took.Seconds()/one.took.Seconds())
	fmt.Printf("bench: tenant_rollout_aws_calls_per_tenant %.1f calls baseline %.1f calls ratio %.2f\n", many.calls, one.calls, many.calls/one.calls)
	// Where the time goes: CPU seconds by process class during the median
	// roll-out of each side.
	for _, c := range []struct {
		name      string
		many, one float64
	}{
		{"moto_cpu", many.cpu.Moto, one.cpu.Moto},
		{"terraform_cpu", many.cpu.Terraform, one.cpu.Terraform},
		{"provider_cpu", many.cpu.Provider, one.cpu.Provider},
		{"harness_cpu", many.cpu.Harness, one.cpu.Harness},
		{"stack_cpu", many.cpu.Stack, one.cpu.Stack},
		{"own_cpu", many.cpu.Ours(), one.cpu.Ours()},
		{"machine_cpu", many.cpu.Machine, one.cpu.Machine},
	} {
		fmt.Printf("bench: tenant_rollout_%s %.2f s baseline %.2f s ratio %.2f\n", c.name, c.many, c.one, c.many/c.one)
	}
	// The floor the 50-tenant side cannot go under on this machine: moto
	// serves one request at a time (one Python thread holds the GIL), so not
	// under its CPU seconds; and everything the run itself burns shares
	// runtime.NumCPU() cores, so not under that total over the cores.
	cores := float64(runtime.NumCPU())
	floor := max(many.cpu.Moto, many.cpu.Ours()/cores)
	target := 5 * one.took.Seconds()
	// Here the baseline is the target: a ratio above 1 means unreachable.
	fmt.Printf("bench: tenant_rollout_%d_tenants_floor_vs_target %.2f s baseline %.2f s ratio %.2f\n", tenants, floor, target, floor/target)
	fmt.Printf("step: tenant_rollout floor: moto %.2f s, own CPU %.2f s over %.0f cores %.2f s; target 5x one tenant %.2f s: %s\n",
		many.cpu.Moto, many.cpu.Ours(), cores, many.cpu.Ours()/cores, target, map[bool]string{true: "below the floor, unreachable on this machine", false: "above the floor"}[target < floor])
}

// ecsImage is the app container image a service of a cluster runs.
func ecsImage(b *testing.B, cfg aws.Config, cluster, service string) string {
	ctx := context.Background()
	c := ecs.NewFromConfig(cfg)
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil || len(out.Services) != 1 {
		b.Fatalf("describe %s/%s: %v", cluster, service, err)
	}
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		b.Fatal(err)
	}
	for _, cd := range td.TaskDefinition.ContainerDefinitions {
		if aws.ToString(cd.Name) == "app" {
			return aws.ToString(cd.Image)
		}
	}
	return ""
}
