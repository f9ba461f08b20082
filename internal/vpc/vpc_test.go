package vpc_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack/faults"
	"github.com/pivotapp/platform/internal/vpc"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		spec vpc.Spec
		ok   bool
	}{
		{vpc.Spec{Environment: "acme"}, true},
		{vpc.Spec{Environment: "acme", CIDR: "10.1.0.0/20", Zones: 3}, true},
		{vpc.Spec{Environment: "acme", CIDR: "10.1.0.1/16"}, false},
		{vpc.Spec{Environment: "acme", CIDR: "10.0.0.0/8"}, false},
		{vpc.Spec{Environment: "acme", CIDR: "fd00::/56"}, false},
		{vpc.Spec{Environment: "acme", Zones: 1}, false},
		{vpc.Spec{}, false},
	} {
		if err := tc.spec.Validate(); (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.spec, err, tc.ok)
		}
	}
}

// TestApplyReadDelete creates a network, checks its shape (dual-stack
// private subnets with IPv6 egress only, public subnets through the
// internet gateway, two zones), applies again with no change, restores a
// route removed out of band, adopts what an interrupted apply left, and
// deletes it all.
func TestApplyReadDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := acctest.NewAWS(t).Config(t)
	m := vpc.New(cfg)
	c := ec2.NewFromConfig(cfg)
	spec := vpc.Spec{Environment: "acme"}

	st, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(st.Missing) != 0 {
		t.Fatalf("after Apply, missing: %v", st.Missing)
	}
	if len(st.Zones) != 2 || st.Zones[0] == st.Zones[1] || len(st.PrivateSubnets) != 2 || len(st.PublicSubnets) != 2 {
		t.Fatalf("want two zones with a private and a public subnet each, got %+v", st)
	}
	if _, err := netip.ParsePrefix(st.IPv6CIDR); err != nil {
		t.Fatalf("the VPC has no IPv6 block: %+v", st)
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: append(slices.Clone(st.PrivateSubnets), st.PublicSubnets...)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subnets.Subnets {
		private := slices.Contains(st.PrivateSubnets, aws.ToString(s.SubnetId))
		if len(s.Ipv6CidrBlockAssociationSet) == 0 {
			t.Errorf("subnet %s is not dual-stack", aws.ToString(s.SubnetId))
		}
		if private && !aws.ToBool(s.AssignIpv6AddressOnCreation) {
			t.Errorf("private subnet %s does not give tasks an IPv6 address", aws.ToString(s.SubnetId))
		}
		if !private && !aws.ToBool(s.MapPublicIpOnLaunch) {
			t.Errorf("public subnet %s gives no public IPv4 address", aws.ToString(s.SubnetId))
		}
	}
	routes := func(id string) map[string]string {
		out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range out.RouteTables[0].Routes {
			got[aws.ToString(r.DestinationCidrBlock)+aws.ToString(r.DestinationIpv6CidrBlock)] = aws.ToString(r.GatewayId) + aws.ToString(r.EgressOnlyInternetGatewayId)
		}
		return got
	}
	if got := routes(st.PrivateRouteTable); got["::/0"] != st.EgressOnlyGateway || got["0.0.0.0/0"] != "" {
		t.Errorf("private routes %v: want ::/0 through the egress-only gateway %s and no IPv4 default route", got, st.EgressOnlyGateway)
	}
	if got := routes(st.PublicRouteTable); got["::/0"] != st.InternetGateway || got["0.0.0.0/0"] != st.InternetGateway {
		t.Errorf("public routes %v: want both defaults through the internet gateway %s", got, st.InternetGateway)
	}

	again, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if again.VPCID != st.VPCID || !slices.Equal(again.PrivateSubnets, st.PrivateSubnets) || again.EgressOnlyGateway != st.EgressOnlyGateway {
		t.Fatalf("second Apply made new objects: %+v, was %+v", again, st)
	}

	// Out of band: the private default route goes; Read says so, Apply
	// restores it.
	if _, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: aws.String(st.PrivateRouteTable), DestinationIpv6CidrBlock: aws.String("::/0")}); err != nil {
		t.Fatal(err)
	}
	read, err := m.Read(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(read.Missing) != 1 {
		t.Fatalf("Read after the route was removed: missing %v, want the private route", read.Missing)
	}
	if _, err := m.Apply(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if got := routes(st.PrivateRouteTable); got["::/0"] != st.EgressOnlyGateway {
		t.Fatalf("Apply did not restore the private default route: %v", got)
	}

	// An interrupted apply: the gateways and route tables were never made.
	// The next Apply adopts the tagged VPC and subnets instead of making a
	// second VPC.
	if err := m.Delete(ctx, "acme"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	out, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(vpc.DefaultCIDR), AmazonProvidedIpv6CidrBlock: aws.Bool(true),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc, Tags: []ec2types.Tag{
			{Key: aws.String(vpc.TagManagedBy), Value: aws.String(vpc.ManagedBy)},
			{Key: aws.String(vpc.TagEnvironment), Value: aws.String("acme")},
			{Key: aws.String(vpc.TagPart), Value: aws.String("vpc")},
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := m.Apply(ctx, spec)
	if err != nil {
		t.Fatalf("Apply after an interrupted one: %v", err)
	}
	if adopted.VPCID != aws.ToString(out.Vpc.VpcId) || len(adopted.Missing) != 0 {
		t.Fatalf("Apply did not adopt the interrupted VPC %s: %+v", aws.ToString(out.Vpc.VpcId), adopted)
	}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + vpc.TagEnvironment), Values: []string{"acme"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 {
		t.Fatalf("%d VPCs are tagged for acme, want 1", len(vpcs.Vpcs))
	}
	if err := m.Delete(ctx, "acme"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if gone, err := m.Read(ctx, spec); err != nil || gone != nil {
		t.Fatalf("Read after Delete = %+v, %v; want nothing", gone, err)
	}
	if err := m.Delete(ctx, "acme"); err != nil {
		t.Fatalf("Delete of nothing: %v", err)
	}
}

func TestSubnetsDoNotOverlap(t *testing.T) {
	// Four bits more than the VPC's block: private subnets from 0, public
	// from 8; the IPv6 /64s from the /56 in the same positions.
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/16", "10.0.128.0/20"},
		{"10.1.0.0/24", "10.1.0.128/28"},
	} {
		if got := vpc.SubnetOf(netip.MustParsePrefix(tc.in), 4, 8).String(); got != tc.want {
			t.Errorf("SubnetOf(%s, 4, 8) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := vpc.SubnetOf(netip.MustParsePrefix("2600:1f18:abcd:ef00::/56"), 8, 9).String(); got != "2600:1f18:abcd:ef09::/64" {
		t.Errorf("IPv6 subnet 9 = %s", got)
	}
}

// TestApplyThroughLostAnswers builds a network while a sixth of the calls
// that succeed lose their answer (AWS did the work; the client saw a server
// error): each create must find its own object instead of making a second.
func TestApplyThroughLostAnswers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := acctest.NewAWS(t).Config(t)
	f, err := faults.Start(aws.ToString(cfg.BaseEndpoint), faults.Config{LostResponseShare: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	m := &vpc.Manager{EC2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(f.URL) })}
	st, err := m.Apply(ctx, vpc.Spec{Environment: "lossy"})
	if err != nil {
		t.Fatalf("Apply through lost answers: %v", err)
	}
	if len(st.Missing) != 0 || len(st.PrivateSubnets) != 2 || len(st.PublicSubnets) != 2 {
		t.Fatalf("incomplete network: %+v", st)
	}
	c := ec2.NewFromConfig(cfg)
	tagged := []ec2types.Filter{{Name: aws.String("tag:" + vpc.TagEnvironment), Values: []string{"lossy"}}}
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: tagged})
	if err != nil {
		t.Fatal(err)
	}
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: tagged})
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: tagged})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || len(igws.InternetGateways) != 1 || len(subnets.Subnets) != 4 {
		t.Errorf("lost answers made extra objects: %d VPCs, %d internet gateways, %d subnets (faults %v)", len(vpcs.Vpcs), len(igws.InternetGateways), len(subnets.Subnets), f.Counts())
	}
	t.Logf("faults: %v", f.Counts())
}
