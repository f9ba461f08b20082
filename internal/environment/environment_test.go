package environment_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/environment"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func newManager(t *testing.T) (*environment.Manager, aws.Config) {
	t.Helper()
	cfg := acctest.NewAWS(t).Config(t)
	m := environment.New(cfg)
	// The platform services' tasks run on the local ECS runtime behind the
	// tests' endpoint: a rollout waits for its new tasks' health checks.
	m.PollInterval, m.Timeout = 10*time.Millisecond, 3*time.Minute
	return m, cfg
}

func components(st environment.State) []string {
	return slices.Sorted(maps.Keys(st.Components))
}

func wantComponents(t *testing.T, st environment.State, spec environment.Spec) {
	t.Helper()
	if got, want := components(st), spec.ExpectedComponents(); !slices.Equal(got, want) {
		t.Fatalf("components\n got %v\nwant %v", got, want)
	}
}

func TestApplyReadDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	spec := environment.Spec{Name: "staging", LogRetentionDays: 30, NATS: environment.NATS{URL: "nats://nats.example.com:4222", User: "svc", Password: "s3cret"}}
	st, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)
	if st.Spec.ContainerInsights != "enabled" || st.Spec.Stage != "staging" || st.Spec.LogRetentionDays != 30 {
		t.Fatalf("spec read back: %+v", st.Spec)
	}
	if st.Spec.NATS.URL != spec.NATS.URL || st.Spec.NATS.User != "svc" || st.Spec.NATS.Password != "s3cret" || st.Spec.NATS.Managed {
		t.Fatalf("nats read back: %+v", st.Spec.NATS)
	}
	if st.Spec.Collector.Image != environment.DefaultCollectorImage || st.Spec.Collector.Config != environment.DefaultCollectorConfig || st.Spec.Collector.DesiredCount != 1 {
		t.Fatalf("collector read back: %+v", st.Spec.Collector)
	}
	if st.VPCID == "" || len(st.Subnets) == 0 || len(st.SecurityGroups) != 1 || !st.AssignPublicIP {
		t.Fatalf("placement: vpc %q subnets %v groups %v public %v", st.VPCID, st.Subnets, st.SecurityGroups, st.AssignPublicIP)
	}

	// Converge (what a tenant roll-out uses) places services exactly where
	// the full state read says.
	pl, err := m.Converge(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if pl.ClusterARN != st.ClusterARN || pl.NamespaceARN != st.NamespaceARN || !slices.Equal(pl.Subnets, st.Subnets) ||
		!slices.Equal(pl.SecurityGroups, st.SecurityGroups) || pl.AssignPublicIP != st.AssignPublicIP {
		t.Fatalf("converge placement %+v, state cluster %s namespace %s subnets %v groups %v public %v",
			pl, st.ClusterARN, st.NamespaceARN, st.Subnets, st.SecurityGroups, st.AssignPublicIP)
	}

	// Independently of the package: the cluster's Service Connect default
	// is the environment's HTTP namespace.
	ecsc := ecs.NewFromConfig(cfg)
	cl, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"staging"}})
	if err != nil || len(cl.Clusters) != 1 {
		t.Fatalf("describe cluster: %v", err)
	}
	ns, err := sd.NewFromConfig(cfg).GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(st.NamespaceID)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(cl.Clusters[0].ServiceConnectDefaults.Namespace) != aws.ToString(ns.Namespace.Arn) || ns.Namespace.Type != "HTTP" || aws.ToString(ns.Namespace.Name) != "staging" {
		t.Fatalf("namespace %+v, cluster defaults %+v", ns.Namespace, cl.Clusters[0].ServiceConnectDefaults)
	}
	ssmc := ssm.NewFromConfig(cfg)
	params, err := ssmc.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/staging/_platform"), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range params.Parameters {
		got[strings.TrimPrefix(aws.ToString(p.Name), "/staging/_platform/")] = string(p.Type) + "=" + aws.ToString(p.Value)
	}
	want := map[string]string{
		"STAGE": "String=staging", "OTEL_EXPORTER_OTLP_ENDPOINT": "String=http://otel-collector:4318",
		"NATS_URL": "String=nats://nats.example.com:4222", "NATS_USER": "String=svc", "NATS_PASSWORD": "SecureString=s3cret",
	}
	if !maps.Equal(got, want) {
		t.Fatalf("parameters\n got %v\nwant %v", got, want)
	}

	// Re-applying the same spec changes nothing.
	again, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.Components["service/otel-collector"] != st.Components["service/otel-collector"] || again.Parameters["NATS_URL"].Version != st.Parameters["NATS_URL"].Version {
		t.Fatal("a second apply changed the environment")
	}

	if err := m.Delete(ctx, "staging"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, "staging"); !errors.Is(err, environment.ErrNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	assertNothingLeft(t, cfg, "staging")
	if err := m.Delete(ctx, "staging"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

// assertNothingLeft inspects the account with the SDK directly.
func assertNothingLeft(t *testing.T, cfg aws.Config, env string) {
	t.Helper()
	ctx := context.Background()
	cl, err := ecs.NewFromConfig(cfg).DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{env}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cl.Clusters {
		if aws.ToString(c.Status) == "ACTIVE" {
			t.Errorf("cluster %s still active", env)
		}
	}
	tds, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(env + "-")})
	if err != nil || len(tds.TaskDefinitionArns) > 0 {
		t.Errorf("task definitions left: %v %v", tds.TaskDefinitionArns, err)
	}
	nss, err := sd.NewFromConfig(cfg).ListNamespaces(ctx, &sd.ListNamespacesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == env {
			t.Errorf("namespace %s left", env)
		}
	}
	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/" + env)})
	if err != nil || len(groups.LogGroups) > 0 {
		t.Errorf("log groups left: %d %v", len(groups.LogGroups), err)
	}
	if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(env + "-platform-execution")}); err == nil {
		t.Errorf("execution role left")
	}
	params, err := ssm.NewFromConfig(cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/" + env), Recursive: aws.Bool(true)})
	if err != nil || len(params.Parameters) > 0 {
		t.Errorf("parameters left: %d %v", len(params.Parameters), err)
	}
	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:pivot:environment"), Values: []string{env}}}})
	if err != nil || len(sgs.SecurityGroups) > 0 {
		t.Errorf("security groups left: %d %v", len(sgs.SecurityGroups), err)
	}
	lbs, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil || len(lbs.LoadBalancers) > 0 {
		t.Errorf("load balancers left: %d %v", len(lbs.LoadBalancers), err)
	}
}

func TestApplyUpdatesInPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	spec := environment.Spec{Name: "acme", LogRetentionDays: 30, NATS: environment.NATS{URL: "nats://nats.acme.internal:4222", User: "svc", Password: "configured"}}
	first, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.ContainerInsights = "disabled"
	spec.LogRetentionDays = 90
	spec.Stage = "production"
	spec.Collector = environment.Collector{Image: "otel/opentelemetry-collector-contrib:0.120.0", DesiredCount: 2, CPU: 512, Memory: 1024}
	spec.NATS = environment.NATS{Managed: true, Replicas: 3}
	st, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)
	if st.ClusterARN != first.ClusterARN || st.NamespaceARN != first.NamespaceARN {
		t.Fatal("cluster or namespace replaced by an in-place update")
	}
	if st.Spec.ContainerInsights != "disabled" || st.Spec.LogRetentionDays != 90 || st.Spec.Stage != "production" {
		t.Fatalf("settings: %+v", st.Spec)
	}
	c := st.Spec.Collector
	if c.Image != spec.Collector.Image || c.DesiredCount != 2 || c.CPU != 512 || c.Memory != 1024 {
		t.Fatalf("collector: %+v", c)
	}
	if n := st.Spec.NATS; !n.Managed || n.Replicas != 3 || n.Image != environment.DefaultNATSImage || n.URL != "" {
		t.Fatalf("nats: %+v", n)
	}
	// The previous collector revision stays active next to the new one: it
	// is what the circuit breaker rolls back to.
	collectorRevisions := func() []string {
		t.Helper()
		tds, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("acme-otel-collector"), Status: ecstypes.TaskDefinitionStatusActive})
		if err != nil {
			t.Fatal(err)
		}
		return tds.TaskDefinitionArns
	}
	firstRevisions := collectorRevisions()
	if len(firstRevisions) != 2 {
		t.Fatalf("collector revisions after an update: %v, want the new one and the previous", firstRevisions)
	}
	ssmc := ssm.NewFromConfig(cfg)
	url, err := ssmc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/acme/_platform/NATS_URL")})
	if err != nil || aws.ToString(url.Parameter.Value) != "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222" {
		t.Fatalf("NATS_URL: %v", err)
	}
	pw, err := ssmc.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/acme/_platform/NATS_PASSWORD"), WithDecryption: aws.Bool(true)})
	// The password Terraform knew (the external system's) is not reused.
	if err != nil || len(aws.ToString(pw.Parameter.Value)) < 32 || pw.Parameter.Type != "SecureString" || aws.ToString(pw.Parameter.Value) == "configured" {
		t.Fatalf("NATS_PASSWORD: %v", err)
	}
	// The password never appears in the task definitions.
	svc, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("acme"), Services: []string{"nats-2"}})
	if err != nil || len(svc.Services) != 1 {
		t.Fatalf("nats-2: %v", err)
	}
	td, err := ecs.NewFromConfig(cfg).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.Services[0].TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(mustJSON(t, td.TaskDefinition), aws.ToString(pw.Parameter.Value)) {
		t.Fatal("the NATS password is in the task definition")
	}

	pwVersion := pw.Parameter.Version
	// Back to one server: the cluster members go, the password stays.
	spec.NATS = environment.NATS{Managed: true, Replicas: 1}
	spec.Collector.Image = "otel/opentelemetry-collector-contrib:0.121.0"
	st, err = m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Two revisions at most: the running one and the one before.
	if revs := collectorRevisions(); len(revs) != 2 || !slices.Contains(revs, firstRevisions[1]) || slices.Contains(revs, firstRevisions[0]) {
		t.Fatalf("collector revisions after a second update: %v (before: %v)", revs, firstRevisions)
	}
	wantComponents(t, st, spec)
	if st.Parameters["NATS_PASSWORD"].Version != pwVersion {
		t.Fatalf("managed password rewritten: version %d", st.Parameters["NATS_PASSWORD"].Version)
	}
	if err := m.Delete(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, cfg, "acme")
}

// Parts deleted or changed out of band drop out of Components, and Apply
// puts them back.
func TestDriftIsReportedAndRepaired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	spec := environment.Spec{Name: "drift", LogRetentionDays: 30, NATS: environment.NATS{URL: "nats://n:4222"}}
	if _, err := m.Apply(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.NewFromConfig(cfg).DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("drift"), Service: aws.String("otel-collector"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/drift/_platform/OTEL_EXPORTER_OTLP_ENDPOINT"), Value: aws.String("http://elsewhere:4318"), Overwrite: aws.Bool(true), Type: "String"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/pivot/drift")}); err != nil {
		t.Fatal(err)
	}
	// The services' group (its only user, the collector, is gone).
	e := ec2.NewFromConfig(cfg)
	groups, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{environment.NamesOf("drift").ServicesSecurityGroup()}}}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("find the services' group: %v", err)
	}
	if _, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: groups.SecurityGroups[0].GroupId}); err != nil {
		t.Fatal(err)
	}
	st, err := m.Read(ctx, "drift")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"service/otel-collector", "parameter/OTEL_EXPORTER_OTLP_ENDPOINT", "log_group", "security_group/services"} {
		if _, ok := st.Components[k]; ok {
			t.Errorf("component %s still reported", k)
		}
	}
	if st.LogGroupExists {
		t.Error("log group reported")
	}
	st, err = m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)

	// A deleted cluster is a deleted environment.
	if _, err := ecs.NewFromConfig(cfg).DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("drift"), Service: aws.String("otel-collector"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecs.NewFromConfig(cfg).DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("drift")}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, "drift"); !errors.Is(err, environment.ErrNotFound) {
		t.Fatalf("read after cluster delete: %v", err)
	}
	if err := m.Delete(ctx, "drift"); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, cfg, "drift")
}

func TestIngress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	spec := environment.Spec{Name: "web", LogRetentionDays: 30, NATS: environment.NATS{URL: "nats://n:4222"}, Ingress: &environment.Ingress{}}
	st, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)
	lb := st.LoadBalancer
	if lb == nil || lb.DNSName == "" || lb.HTTPListener == "" || lb.HTTPSListener != "" || lb.ListenerARN() != lb.HTTPListener {
		t.Fatalf("load balancer: %+v", lb)
	}
	// The services' group admits the load balancer's.
	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: st.SecurityGroups})
	if err != nil {
		t.Fatal(err)
	}
	admits := false
	for _, p := range sgs.SecurityGroups[0].IpPermissions {
		for _, pair := range p.UserIdGroupPairs {
			admits = admits || aws.ToString(pair.GroupId) == st.IngressSecurityGroup
		}
	}
	if !admits {
		t.Fatal("services security group does not admit the load balancer")
	}

	spec.Ingress = &environment.Ingress{CertificateARN: uploadCertificate(t, cfg, "web.pivot.app")}
	st, err = m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)
	if st.LoadBalancer.HTTPSListener == "" || !st.LoadBalancer.HTTPRedirects || st.Spec.Ingress.CertificateARN != spec.Ingress.CertificateARN {
		t.Fatalf("https: %+v", st.LoadBalancer)
	}

	spec.Ingress = nil
	st, err = m.Apply(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	wantComponents(t, st, spec)
	if st.LoadBalancer != nil || st.IngressSecurityGroup != "" {
		t.Fatalf("ingress left: %+v", st.LoadBalancer)
	}
	if err := m.Delete(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, cfg, "web")
}

// The managed NATS configuration is one nats-server accepts.
func TestManagedNATSConfigParses(t *testing.T) {
	t.Setenv("NATS_PASSWORD", "pw")
	for _, replicas := range environment.NATSReplicaCounts {
		for _, name := range environment.NATSServices(replicas) {
			cfg := environment.NATSConfig("prod", name, environment.NATSServices(replicas))
			path := filepath.Join(t.TempDir(), "nats.conf")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			opts, err := server.ProcessConfigFile(path)
			if err != nil {
				t.Fatalf("%s/%d: %v\n%s", name, replicas, err, cfg)
			}
			if !opts.JetStream || opts.Username != "pivot" || opts.Password != "pw" || opts.ServerName != name {
				t.Fatalf("%s: options %+v", name, opts)
			}
			if replicas > 1 && (len(opts.Routes) != replicas-1 || opts.Cluster.Name != "prod") {
				t.Fatalf("%s: routes %v cluster %q", name, opts.Routes, opts.Cluster.Name)
			}
		}
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	ok := environment.Spec{Name: "staging", LogRetentionDays: 30, NATS: environment.NATS{URL: "nats://n:4222"}}
	cases := map[string]struct {
		edit  func(*environment.Spec)
		field string
		want  string
	}{
		"name chars":    {func(s *environment.Spec) { s.Name = "Staging" }, "name", "must be a DNS label"},
		"name long":     {func(s *environment.Spec) { s.Name = strings.Repeat("a", 33) }, "name", "1 to 32"},
		"name internal": {func(s *environment.Spec) { s.Name = "internal-x" }, "name", `"internal-"`},
		"name hyphens":  {func(s *environment.Spec) { s.Name = "a--b" }, "name", "two consecutive hyphens"},
		"insights":      {func(s *environment.Spec) { s.ContainerInsights = "on" }, "container_insights", `"on" is not one of`},
		"retention":     {func(s *environment.Spec) { s.LogRetentionDays = 10 }, "log_retention_days", "10 is not a retention"},
		"subnet":        {func(s *environment.Spec) { s.Network.Subnets = []string{"sn-1"} }, "network.subnet_ids", "not a subnet ID"},
		"sg": {func(s *environment.Spec) {
			s.Network.Subnets, s.Network.SecurityGroups = []string{"subnet-1"}, []string{"x"}
		}, "network.security_group_ids", "not a security group ID"},
		"sg without sub":  {func(s *environment.Spec) { s.Network.SecurityGroups = []string{"sg-1"} }, "network.security_group_ids", "need subnet_ids"},
		"collector size":  {func(s *environment.Spec) { s.Collector.CPU, s.Collector.Memory = 256, 4096 }, "collector.cpu", "does not fit cpu 256"},
		"collector cpu":   {func(s *environment.Spec) { s.Collector.CPU = 300 }, "collector.cpu", "not a Fargate size"},
		"collector count": {func(s *environment.Spec) { s.Collector.DesiredCount = -1 }, "collector.desired_count", "at least 1"},
		"collector yaml":  {func(s *environment.Spec) { s.Collector.Config = "receivers: [" }, "collector.config", "not valid YAML"},
		"collector keys":  {func(s *environment.Spec) { s.Collector.Config = "receivers: {}\nexporters: {}\n" }, "collector.config", `"service"`},
		"nats none":       {func(s *environment.Spec) { s.NATS = environment.NATS{} }, "nats", "set url"},
		"nats both":       {func(s *environment.Spec) { s.NATS.Managed = true }, "nats", "not both"},
		"nats url":        {func(s *environment.Spec) { s.NATS.URL = "http://n:4222" }, "nats", "not a NATS URL"},
		"nats user":       {func(s *environment.Spec) { s.NATS.User = "u" }, "nats", "user and password"},
		"nats creds":      {func(s *environment.Spec) { s.NATS.Credentials = "x" }, "nats", ".creds file"},
		"nats replicas":   {func(s *environment.Spec) { s.NATS = environment.NATS{Managed: true, Replicas: 2} }, "nats", "must be 1 or 3"},
		"certificate":     {func(s *environment.Spec) { s.Ingress = &environment.Ingress{CertificateARN: "cert"} }, "ingress.certificate_arn", "not an ACM certificate ARN"},
		"ingress subnets": {func(s *environment.Spec) { s.Ingress = &environment.Ingress{Subnets: []string{"subnet-1"}} }, "ingress.subnet_ids", "at least two"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	for name, tc := range cases {
		s := ok
		tc.edit(&s)
		err := s.Validate()
		var fe *environment.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s: ...%s", name, err, tc.field, tc.want)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// uploadCertificate stores a self-signed certificate in IAM, which the load
// balancer accepts like an ACM one.
func uploadCertificate(t *testing.T, cfg aws.Config, host string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out, err := iam.NewFromConfig(cfg).UploadServerCertificate(context.Background(), &iam.UploadServerCertificateInput{
		ServerCertificateName: aws.String(host),
		CertificateBody:       aws.String(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
		PrivateKey:            aws.String(string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ServerCertificateMetadata.Arn)
}

// A security group of the environment's name that it did not create is
// refused, not taken over (its rules would be changed and the group deleted
// with the environment).
func TestApplyRefusesASecurityGroupNotOurs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	e := ec2.NewFromConfig(cfg)
	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("staging-services"), Description: aws.String("by hand"), VpcId: vpcs.Vpcs[0].VpcId}); err != nil {
		t.Fatal(err)
	}
	spec := environment.Spec{Name: "staging", NATS: environment.NATS{URL: "nats://nats.example.com:4222", User: "svc", Password: "s3cret"}}
	_, err = m.Apply(ctx, spec)
	var fe *environment.FieldError
	if !errors.As(err, &fe) || fe.Field != "network.security_group_ids" || !strings.Contains(err.Error(), "was not created for environment staging") {
		t.Fatalf("apply over a group made by hand: %v", err)
	}
}
