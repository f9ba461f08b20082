package ingress_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/ingress"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/faults"
)

func TestMain(m *testing.M) { acctest.Main(m) }

type fixture struct {
	acct acctest.AWS
	c    *ingress.Client
	cf   *cfdns.Client
	elb  *elb.Client
	lb   ingress.LoadBalancer
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	acct := acctest.NewAWS(t)
	cfg := acct.Config(t)
	emu := acctest.Cloudflare(t, "pivot.app")
	cf, err := cfdns.New(cfdns.Config{APIToken: localstack.CloudflareToken, BaseURL: emu.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := ingress.New(cfg, ingress.Cloudflare(cf))
	e := ec2.NewFromConfig(cfg)
	vpcs, err := e.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(vpcs.Vpcs[0].VpcId)}}}})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := c.ApplyLoadBalancer(ctx, ingress.LoadBalancerSpec{Name: "staging", Subnets: []string{aws.ToString(subnets.Subnets[0].SubnetId), aws.ToString(subnets.Subnets[1].SubnetId)}})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{acct: acct, c: c, cf: cf, elb: elb.NewFromConfig(cfg), lb: lb}
}

func (f fixture) spec(service, host string) ingress.EndpointSpec {
	return ingress.EndpointSpec{
		Name: ingress.TargetGroupName("staging", service), ListenerARN: f.lb.ListenerARN(), VPCID: f.lb.VPCID,
		Hostname: host, Port: 8080, Zone: "pivot.app", Target: f.lb.DNSName, Proxied: true,
	}
}

func TestEndpointLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	spec := f.spec("friend", "friend.staging.pivot.app")
	ep, err := f.c.ApplyEndpoint(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Priority != 1 || ep.HealthCheckPath != "/health" || ep.Port != 8080 || ep.Hostname != spec.Hostname {
		t.Fatalf("endpoint: %+v", ep)
	}
	// Checked with the Cloudflare client directly.
	recs, err := f.cf.Find(ctx, ep.ZoneID, "friend.staging.pivot.app", "CNAME")
	if err != nil || len(recs) != 1 || recs[0].Content != f.lb.DNSName || !recs[0].Proxied || recs[0].TTL != 1 {
		t.Fatalf("dns record: %+v %v", recs, err)
	}

	// A second endpoint takes the next priority.
	other, err := f.c.ApplyEndpoint(ctx, f.spec("admin", "admin.staging.pivot.app"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.Priority != 2 {
		t.Fatalf("second priority %d", other.Priority)
	}

	spec.Hostname, spec.HealthCheckPath, spec.Proxied, spec.TTL = "friends.staging.pivot.app", "/healthz", false, 300
	updated, err := f.c.ApplyEndpoint(ctx, spec, &ep)
	if err != nil {
		t.Fatal(err)
	}
	if updated.TargetGroupARN != ep.TargetGroupARN || updated.RuleARN != ep.RuleARN || updated.Record.ID != ep.Record.ID {
		t.Fatalf("update replaced parts: %+v", updated)
	}
	read, err := f.c.ReadEndpoint(ctx, updated.Ref())
	if err != nil {
		t.Fatal(err)
	}
	if read.Hostname != "friends.staging.pivot.app" || read.HealthCheckPath != "/healthz" || read.Record.Proxied || read.Record.TTL != 300 || read.Record.Name != "friends.staging.pivot.app" {
		t.Fatalf("after update: %+v", read)
	}

	found, err := f.c.FindEndpoint(ctx, f.lb.ListenerARN(), spec.Name, "pivot.app")
	if err != nil || found.Ref() != read.Ref() {
		t.Fatalf("find: %+v %v", found, err)
	}

	// A rule deleted out of band reads as gone; applying again adopts the
	// target group and record and restores the rule.
	if _, err := f.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(read.RuleARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ReadEndpoint(ctx, read.Ref()); !errors.Is(err, ingress.ErrNotFound) {
		t.Fatalf("read after rule delete: %v", err)
	}
	repaired, err := f.c.ApplyEndpoint(ctx, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if repaired.TargetGroupARN != read.TargetGroupARN || repaired.Record.ID != read.Record.ID || repaired.RuleARN == read.RuleARN {
		t.Fatalf("repair: %+v", repaired)
	}

	for _, e := range []ingress.Endpoint{repaired, other} {
		if err := f.c.DeleteEndpoint(ctx, e.Ref()); err != nil {
			t.Fatal(err)
		}
		if err := f.c.DeleteEndpoint(ctx, e.Ref()); err != nil {
			t.Fatalf("second delete: %v", err)
		}
	}
	recs, err = f.cf.Find(ctx, ep.ZoneID, "", "CNAME")
	if err != nil || len(recs) != 0 {
		t.Fatalf("records left: %+v %v", recs, err)
	}
	tgs, err := f.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 0 {
		t.Fatalf("target groups left: %d %v", len(tgs.TargetGroups), err)
	}
	rules, err := f.elb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(f.lb.ListenerARN())})
	if err != nil || len(rules.Rules) != 1 { // the default rule
		t.Fatalf("rules left: %d %v", len(rules.Rules), err)
	}
	if err := f.c.DeleteLoadBalancer(ctx, "staging"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.ReadLoadBalancer(ctx, "staging"); !errors.Is(err, ingress.ErrNotFound) {
		t.Fatalf("load balancer after delete: %v", err)
	}
}

func TestHostnames(t *testing.T) {
	t.Parallel()
	if got := ingress.Hostname("friend", "acme", "pivot.app"); got != "friend.acme.pivot.app" {
		t.Errorf("Hostname = %q", got)
	}
	if got := ingress.Hostname("friend", "", "pivot.app"); got != "friend.pivot.app" {
		t.Errorf("Hostname = %q", got)
	}
	bad := map[string]string{
		"friend.example.com": "not inside the zone",
		"Friend.pivot.app":   "is not a DNS name",
		"-x.pivot.app":       "is not a DNS name",
		"pivot.app":          "not inside the zone",
		"a..pivot.app":       "is not a DNS name",
	}
	for host, want := range bad {
		if err := ingress.ValidateHostname(host, "pivot.app"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", host, err)
		}
	}
	if err := ingress.ValidateHostname("friend.acme.pivot.app", "pivot.app"); err != nil {
		t.Error(err)
	}
	if n := ingress.TargetGroupName("acme-enterprise-prod", "notifications-gateway"); len(n) > 32 || !strings.HasPrefix(n, "acme-enterprise-prod-not") {
		t.Errorf("long target group name %q", n)
	}
	if a, b := ingress.TargetGroupName("acme-enterprise-prod", "notifications-gateway-a"), ingress.TargetGroupName("acme-enterprise-prod", "notifications-gateway-b"); a == b {
		t.Errorf("names collide: %s", a)
	}
	if n := ingress.TargetGroupName("staging", "friend"); n != "staging-friend" {
		t.Errorf("short name %q", n)
	}
}

// Endpoints created at once read the same free priority; all but one get
// PriorityInUse from the listener, read again and take the next one.
func TestEndpointsCreatedAtOnceGetDistinctPriorities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	services := []string{"friend", "messenger", "notifier", "admin", "search", "billing"}
	got := make([]ingress.Endpoint, len(services))
	errs := make([]error, len(services))
	var wg sync.WaitGroup
	for i, svc := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = f.c.ApplyEndpoint(ctx, f.spec(svc, svc+".staging.pivot.app"), nil)
		}()
	}
	wg.Wait()
	seen := map[int]string{}
	for i, ep := range got {
		if errs[i] != nil {
			t.Fatalf("%s: %v", services[i], errs[i])
		}
		if other, ok := seen[ep.Priority]; ok {
			t.Fatalf("%s and %s share priority %d", other, services[i], ep.Priority)
		}
		seen[ep.Priority] = services[i]
	}
	t.Logf("retries: %s", awsx.Retries)
}

// Half of the answers lost after the call took effect (the SDK sends the
// call again): every endpoint still converges, with one target group each.
func TestEndpointsConvergeThroughLostAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := setup(t)
	fs, err := faults.Start(f.acct.Endpoint, faults.Config{LostResponseShare: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	lossyCfg := acctest.AWS{Endpoint: fs.URL, AccountID: f.acct.AccountID}.Config(t)
	lossyCfg.Retryer = awsx.Retryer(0)
	c := ingress.New(lossyCfg, ingress.Cloudflare(f.cf))
	for _, svc := range []string{"friend", "messenger", "notifier", "admin"} {
		if _, err := c.ApplyEndpoint(ctx, f.spec(svc, svc+".staging.pivot.app"), nil); err != nil {
			t.Fatalf("%s through lost answers: %v (injected %v)", svc, err, fs.Counts())
		}
	}
	tgs, err := f.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil || len(tgs.TargetGroups) != 4 {
		t.Fatalf("target groups: %d, %v", len(tgs.TargetGroups), err)
	}
	if fs.Counts()["lost response"] == 0 {
		t.Fatal("no answer was lost")
	}
	t.Logf("injected %v", fs.Counts())
}
