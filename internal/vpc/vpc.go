// Package vpc builds an environment's own network: a dual-stack VPC with,
// in each of two or three availability zones, a private subnet for the
// services (IPv6 egress through an egress-only internet gateway, as the
// company runs its tasks: no NAT gateway) and a public subnet for the load
// balancer (IPv4 and IPv6 through an internet gateway).
//
// Every object is created with its tags in the same call
// (pivot:managed-by, pivot:environment, pivot:part), and Apply looks for
// each by those tags before creating it, so an apply interrupted halfway is
// finished by the next one instead of leaving a second VPC beside the first.
package vpc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tag keys every object carries; values of ManagedBy and the part names are
// fixed.
const (
	TagManagedBy   = "pivot:managed-by"
	TagEnvironment = "pivot:environment"
	TagPart        = "pivot:part"
	ManagedBy      = "terraform-provider-pivot"

	// DefaultCIDR is the VPC's IPv4 block when the spec names none.
	DefaultCIDR = "10.0.0.0/16"
	// DefaultZones is how many availability zones the subnets span.
	DefaultZones = 2
)

// EC2 is the part of the EC2 API the building block uses.
type EC2 interface {
	DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
	DescribeVpcs(context.Context, *ec2.DescribeVpcsInput, ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	CreateVpc(context.Context, *ec2.CreateVpcInput, ...func(*ec2.Options)) (*ec2.CreateVpcOutput, error)
	DeleteVpc(context.Context, *ec2.DeleteVpcInput, ...func(*ec2.Options)) (*ec2.DeleteVpcOutput, error)
	ModifyVpcAttribute(context.Context, *ec2.ModifyVpcAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyVpcAttributeOutput, error)
	AssociateVpcCidrBlock(context.Context, *ec2.AssociateVpcCidrBlockInput, ...func(*ec2.Options)) (*ec2.AssociateVpcCidrBlockOutput, error)
	DescribeSubnets(context.Context, *ec2.DescribeSubnetsInput, ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	CreateSubnet(context.Context, *ec2.CreateSubnetInput, ...func(*ec2.Options)) (*ec2.CreateSubnetOutput, error)
	DeleteSubnet(context.Context, *ec2.DeleteSubnetInput, ...func(*ec2.Options)) (*ec2.DeleteSubnetOutput, error)
	ModifySubnetAttribute(context.Context, *ec2.ModifySubnetAttributeInput, ...func(*ec2.Options)) (*ec2.ModifySubnetAttributeOutput, error)
	DescribeInternetGateways(context.Context, *ec2.DescribeInternetGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeInternetGatewaysOutput, error)
	CreateInternetGateway(context.Context, *ec2.CreateInternetGatewayInput, ...func(*ec2.Options)) (*ec2.CreateInternetGatewayOutput, error)
	AttachInternetGateway(context.Context, *ec2.AttachInternetGatewayInput, ...func(*ec2.Options)) (*ec2.AttachInternetGatewayOutput, error)
	DetachInternetGateway(context.Context, *ec2.DetachInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DetachInternetGatewayOutput, error)
	DeleteInternetGateway(context.Context, *ec2.DeleteInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DeleteInternetGatewayOutput, error)
	DescribeEgressOnlyInternetGateways(context.Context, *ec2.DescribeEgressOnlyInternetGatewaysInput, ...func(*ec2.Options)) (*ec2.DescribeEgressOnlyInternetGatewaysOutput, error)
	CreateEgressOnlyInternetGateway(context.Context, *ec2.CreateEgressOnlyInternetGatewayInput, ...func(*ec2.Options)) (*ec2.CreateEgressOnlyInternetGatewayOutput, error)
	DeleteEgressOnlyInternetGateway(context.Context, *ec2.DeleteEgressOnlyInternetGatewayInput, ...func(*ec2.Options)) (*ec2.DeleteEgressOnlyInternetGatewayOutput, error)
	DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	CreateRouteTable(context.Context, *ec2.CreateRouteTableInput, ...func(*ec2.Options)) (*ec2.CreateRouteTableOutput, error)
	DeleteRouteTable(context.Context, *ec2.DeleteRouteTableInput, ...func(*ec2.Options)) (*ec2.DeleteRouteTableOutput, error)
	CreateRoute(context.Context, *ec2.CreateRouteInput, ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
	AssociateRouteTable(context.Context, *ec2.AssociateRouteTableInput, ...func(*ec2.Options)) (*ec2.AssociateRouteTableOutput, error)
	DisassociateRouteTable(context.Context, *ec2.DisassociateRouteTableInput, ...func(*ec2.Options)) (*ec2.DisassociateRouteTableOutput, error)
}

// Spec is the wanted network of one environment.
type Spec struct {
	// Environment names the network (tags and Name tags).
	Environment string
	// CIDR is the VPC's IPv4 block, /16 to /24; DefaultCIDR when empty.
	CIDR string
	// Zones is the number of availability zones, 2 or 3; DefaultZones when 0.
	Zones int
}

// WithDefaults fills the defaulted fields.
func (s Spec) WithDefaults() Spec {
	if s.CIDR == "" {
		s.CIDR = DefaultCIDR
	}
	if s.Zones == 0 {
		s.Zones = DefaultZones
	}
	return s
}

// Validate says what is wrong with the spec, naming the field.
func (s Spec) Validate() error {
	s = s.WithDefaults()
	var errs []error
	if s.Environment == "" {
		errs = append(errs, errors.New("environment: required"))
	}
	p, err := netip.ParsePrefix(s.CIDR)
	switch {
	case err != nil || !p.Addr().Is4():
		errs = append(errs, fmt.Errorf("cidr: %q is not an IPv4 block such as 10.0.0.0/16", s.CIDR))
	case p.Bits() < 16 || p.Bits() > 24:
		errs = append(errs, fmt.Errorf("cidr: %q must be between /16 and /24 (a VPC's limits, with room for six subnets)", s.CIDR))
	case p.Masked() != p:
		errs = append(errs, fmt.Errorf("cidr: %q has host bits set; use %s", s.CIDR, p.Masked()))
	}
	if s.Zones != 2 && s.Zones != 3 {
		errs = append(errs, fmt.Errorf("zones: %d must be 2 or 3 (a load balancer needs two availability zones)", s.Zones))
	}
	return errors.Join(errs...)
}

// State is the network as it exists.
type State struct {
	VPCID    string
	CIDR     string
	IPv6CIDR string
	// Zones are the availability zones, in the order of the subnets.
	Zones             []string
	PrivateSubnets    []string
	PublicSubnets     []string
	InternetGateway   string
	EgressOnlyGateway string
	PrivateRouteTable string
	PublicRouteTable  string
	// Missing names the parts that do not exist or are not as Apply left
	// them (a route or an association removed out of band); Apply restores
	// them.
	Missing []string
}

// Manager creates, reads and deletes environment networks.
type Manager struct {
	EC2 EC2
	// Wait bounds waits for the VPC's IPv6 block (default 1 minute).
	Wait time.Duration
}

// New returns a Manager acting with cfg.
func New(cfg aws.Config) *Manager { return &Manager{EC2: ec2.NewFromConfig(cfg)} }

// Part names, the pivot:part tag values.
func partPrivate(az string) string { return "private-" + az }
func partPublic(az string) string  { return "public-" + az }

const (
	partVPC        = "vpc"
	partIGW        = "internet-gateway"
	partEIGW       = "egress-only-gateway"
	partPrivateRTB = "private-routes"
	partPublicRTB  = "public-routes"
)

func (m *Manager) filters(env string) []ec2types.Filter {
	return []ec2types.Filter{
		{Name: aws.String("tag:" + TagManagedBy), Values: []string{ManagedBy}},
		{Name: aws.String("tag:" + TagEnvironment), Values: []string{env}},
	}
}

func tagSpec(rt ec2types.ResourceType, env, part string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{
		{Key: aws.String("Name"), Value: aws.String(env + "-" + part)},
		{Key: aws.String(TagManagedBy), Value: aws.String(ManagedBy)},
		{Key: aws.String(TagEnvironment), Value: aws.String(env)},
		{Key: aws.String(TagPart), Value: aws.String(part)},
	}}}
}

func partOf(tags []ec2types.Tag) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == TagPart {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// found is what exists of an environment's network, by part.
type found struct {
	vpc     *ec2types.Vpc
	subnets map[string]ec2types.Subnet
	igw     *ec2types.InternetGateway
	eigw    *ec2types.EgressOnlyInternetGateway
	rtbs    map[string]ec2types.RouteTable
}

// find reads every object tagged for env: one call per kind.
func (m *Manager) find(ctx context.Context, env string) (*found, error) {
	f := &found{subnets: map[string]ec2types.Subnet{}, rtbs: map[string]ec2types.RouteTable{}}
	vpcs, err := m.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: m.filters(env)})
	if err != nil {
		return nil, fmt.Errorf("find the VPC: %w", err)
	}
	for i, v := range vpcs.Vpcs {
		if partOf(v.Tags) == partVPC && v.State != ec2types.VpcState("deleted") {
			if f.vpc != nil {
				return nil, fmt.Errorf("two VPCs are tagged %s=%s (%s, %s); delete the one not in use", TagEnvironment, env, aws.ToString(f.vpc.VpcId), aws.ToString(v.VpcId))
			}
			f.vpc = &vpcs.Vpcs[i]
		}
	}
	if f.vpc == nil {
		return f, nil
	}
	vpcFilter := append(m.filters(env), ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{aws.ToString(f.vpc.VpcId)}})
	subnets, err := m.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: vpcFilter})
	if err != nil {
		return nil, fmt.Errorf("find the subnets: %w", err)
	}
	for _, s := range subnets.Subnets {
		f.subnets[partOf(s.Tags)] = s
	}
	igws, err := m.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: m.filters(env)})
	if err != nil {
		return nil, fmt.Errorf("find the internet gateway: %w", err)
	}
	for i, g := range igws.InternetGateways {
		if partOf(g.Tags) == partIGW {
			f.igw = &igws.InternetGateways[i]
		}
	}
	eigws, err := m.EC2.DescribeEgressOnlyInternetGateways(ctx, &ec2.DescribeEgressOnlyInternetGatewaysInput{Filters: m.filters(env)})
	if err != nil {
		return nil, fmt.Errorf("find the egress-only internet gateway: %w", err)
	}
	for i, g := range eigws.EgressOnlyInternetGateways {
		if partOf(g.Tags) == partEIGW {
			f.eigw = &eigws.EgressOnlyInternetGateways[i]
		}
	}
	rtbs, err := m.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: vpcFilter})
	if err != nil {
		return nil, fmt.Errorf("find the route tables: %w", err)
	}
	for _, r := range rtbs.RouteTables {
		f.rtbs[partOf(r.Tags)] = r
	}
	return f, nil
}

// Read reports the environment's network; nil when its VPC does not exist.
func (m *Manager) Read(ctx context.Context, spec Spec) (*State, error) {
	spec = spec.WithDefaults()
	f, err := m.find(ctx, spec.Environment)
	if err != nil || f.vpc == nil {
		return nil, err
	}
	st := f.state()
	st.Missing = f.missing(spec, st.Zones)
	return st, nil
}

func (f *found) state() *State {
	st := &State{VPCID: aws.ToString(f.vpc.VpcId), CIDR: aws.ToString(f.vpc.CidrBlock)}
	for _, a := range f.vpc.Ipv6CidrBlockAssociationSet {
		if a.Ipv6CidrBlockState != nil && a.Ipv6CidrBlockState.State == ec2types.VpcCidrBlockStateCodeAssociated {
			st.IPv6CIDR = aws.ToString(a.Ipv6CidrBlock)
		}
	}
	var zones []string
	for part, s := range f.subnets {
		if len(part) > len("private-") && part[:len("private-")] == "private-" {
			zones = append(zones, aws.ToString(s.AvailabilityZone))
		}
	}
	sort.Strings(zones)
	st.Zones = zones
	for _, az := range zones {
		st.PrivateSubnets = append(st.PrivateSubnets, aws.ToString(f.subnets[partPrivate(az)].SubnetId))
		if s, ok := f.subnets[partPublic(az)]; ok {
			st.PublicSubnets = append(st.PublicSubnets, aws.ToString(s.SubnetId))
		}
	}
	if f.igw != nil {
		st.InternetGateway = aws.ToString(f.igw.InternetGatewayId)
	}
	if f.eigw != nil {
		st.EgressOnlyGateway = aws.ToString(f.eigw.EgressOnlyInternetGatewayId)
	}
	if r, ok := f.rtbs[partPrivateRTB]; ok {
		st.PrivateRouteTable = aws.ToString(r.RouteTableId)
	}
	if r, ok := f.rtbs[partPublicRTB]; ok {
		st.PublicRouteTable = aws.ToString(r.RouteTableId)
	}
	return st
}

// missing lists the parts that are absent or not as Apply leaves them.
func (f *found) missing(spec Spec, zones []string) []string {
	var out []string
	if f.vpc == nil {
		return []string{partVPC}
	}
	if len(zones) < spec.Zones {
		out = append(out, fmt.Sprintf("subnets (%d of %d zones)", len(zones), spec.Zones))
	}
	for _, az := range zones {
		if _, ok := f.subnets[partPublic(az)]; !ok {
			out = append(out, partPublic(az))
		}
	}
	igwAttached := f.igw != nil && slices.ContainsFunc(f.igw.Attachments, func(a ec2types.InternetGatewayAttachment) bool {
		return aws.ToString(a.VpcId) == aws.ToString(f.vpc.VpcId)
	})
	if !igwAttached {
		out = append(out, partIGW)
	}
	if f.eigw == nil {
		out = append(out, partEIGW)
	}
	check := func(part string, routes map[string]bool, subnetPart func(string) string) {
		r, ok := f.rtbs[part]
		if !ok {
			out = append(out, part)
			return
		}
		for _, route := range r.Routes {
			if route.State == ec2types.RouteStateBlackhole {
				continue
			}
			delete(routes, aws.ToString(route.DestinationCidrBlock)+aws.ToString(route.DestinationIpv6CidrBlock))
		}
		for dst := range routes {
			out = append(out, part+" (route "+dst+")")
		}
		for _, az := range zones {
			s, ok := f.subnets[subnetPart(az)]
			if ok && !slices.ContainsFunc(r.Associations, func(a ec2types.RouteTableAssociation) bool {
				return aws.ToString(a.SubnetId) == aws.ToString(s.SubnetId)
			}) {
				out = append(out, part+" (association "+subnetPart(az)+")")
			}
		}
	}
	check(partPublicRTB, map[string]bool{"0.0.0.0/0": true, "::/0": true}, partPublic)
	check(partPrivateRTB, map[string]bool{"::/0": true}, partPrivate)
	sort.Strings(out)
	return out
}
