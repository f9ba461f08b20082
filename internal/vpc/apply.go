package vpc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Apply converges the environment's network to spec: it finds each part
// by its tags, creates what is missing (tagged in the creating call),
// restores routes and associations removed out of band, and returns what
// exists. Running it again changes nothing.
func (m *Manager) Apply(ctx context.Context, spec Spec) (*State, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	env := spec.Environment
	f, err := m.find(ctx, env)
	if err != nil {
		return nil, err
	}
	if f.vpc == nil {
		err := m.created(ctx, func(g *found) bool { f.vpc = g.vpc; return g.vpc != nil }, env, func(noRetry func(*ec2.Options)) error {
			out, err := m.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{
				CidrBlock:                   aws.String(spec.CIDR),
				AmazonProvidedIpv6CidrBlock: aws.Bool(true),
				TagSpecifications:           tagSpec(ec2types.ResourceTypeVpc, env, partVPC),
			}, noRetry)
			if err == nil {
				f.vpc = out.Vpc
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("create the VPC: %w", err)
		}
		// Service Connect and the AWS SDKs resolve names in the VPC.
		for _, in := range []*ec2.ModifyVpcAttributeInput{
			{VpcId: f.vpc.VpcId, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
			{VpcId: f.vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
		} {
			if _, err := m.EC2.ModifyVpcAttribute(ctx, in); err != nil {
				return nil, fmt.Errorf("enable DNS in VPC %s: %w", aws.ToString(f.vpc.VpcId), err)
			}
		}
	} else if aws.ToString(f.vpc.CidrBlock) != spec.CIDR {
		return nil, fmt.Errorf("cidr: VPC %s has %s, and a VPC's primary block cannot change; keep cidr = %q or replace the network",
			aws.ToString(f.vpc.VpcId), aws.ToString(f.vpc.CidrBlock), aws.ToString(f.vpc.CidrBlock))
	}
	vpcID := aws.ToString(f.vpc.VpcId)
	v6, err := m.ipv6Block(ctx, f.vpc)
	if err != nil {
		return nil, err
	}

	zones, err := m.zones(ctx, f, spec.Zones)
	if err != nil {
		return nil, err
	}
	v4 := netip.MustParsePrefix(spec.CIDR)
	used := map[string]bool{}
	for _, s := range f.subnets {
		used[aws.ToString(s.CidrBlock)] = true
	}
	var private, public []string
	for _, az := range zones {
		for _, kind := range []struct {
			part  string
			first int
			into  *[]string
		}{{partPrivate(az), 0, &private}, {partPublic(az), 8, &public}} {
			s, ok := f.subnets[kind.part]
			if !ok {
				n := kind.first
				for used[subnetOf(v4, 4, n).String()] {
					n++
				}
				used[subnetOf(v4, 4, n).String()] = true
				part := kind.part
				err := m.created(ctx, func(g *found) bool { got, ok := g.subnets[part]; s = got; return ok }, env, func(noRetry func(*ec2.Options)) error {
					out, err := m.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
						VpcId: aws.String(vpcID), AvailabilityZone: aws.String(az),
						CidrBlock:         aws.String(subnetOf(v4, 4, n).String()),
						Ipv6CidrBlock:     aws.String(subnetOf(v6, 64-v6.Bits(), n).String()),
						TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, env, part),
					}, noRetry)
					if err == nil {
						s = *out.Subnet
					}
					return err
				})
				if err != nil {
					return nil, fmt.Errorf("create subnet %s: %w", kind.part, err)
				}
			}
			id := aws.ToString(s.SubnetId)
			*kind.into = append(*kind.into, id)
			// Tasks get an IPv6 address (their egress); the load balancer's
			// subnets give public IPv4 addresses.
			if kind.first == 0 && !aws.ToBool(s.AssignIpv6AddressOnCreation) {
				if _, err := m.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(id), AssignIpv6AddressOnCreation: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
					return nil, fmt.Errorf("subnet %s: assign IPv6 on launch: %w", kind.part, err)
				}
			}
			if kind.first == 8 && !aws.ToBool(s.MapPublicIpOnLaunch) {
				if _, err := m.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(id), MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
					return nil, fmt.Errorf("subnet %s: map public IPv4 on launch: %w", kind.part, err)
				}
			}
		}
	}

	igw := f.igw
	if igw == nil {
		err := m.created(ctx, func(g *found) bool { igw = g.igw; return igw != nil }, env, func(noRetry func(*ec2.Options)) error {
			out, err := m.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, env, partIGW)}, noRetry)
			if err == nil {
				igw = out.InternetGateway
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("create the internet gateway: %w", err)
		}
	}
	if !slices.ContainsFunc(igw.Attachments, func(a ec2types.InternetGatewayAttachment) bool { return aws.ToString(a.VpcId) == vpcID }) {
		if _, err := m.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: aws.String(vpcID)}); err != nil && !isCode(err, "Resource.AlreadyAssociated") {
			return nil, fmt.Errorf("attach the internet gateway: %w", err)
		}
	}
	eigw := f.eigw
	if eigw == nil {
		err := m.created(ctx, func(g *found) bool { eigw = g.eigw; return eigw != nil }, env, func(noRetry func(*ec2.Options)) error {
			out, err := m.EC2.CreateEgressOnlyInternetGateway(ctx, &ec2.CreateEgressOnlyInternetGatewayInput{VpcId: aws.String(vpcID), TagSpecifications: tagSpec(ec2types.ResourceTypeEgressOnlyInternetGateway, env, partEIGW)}, noRetry)
			if err == nil {
				eigw = out.EgressOnlyInternetGateway
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("create the egress-only internet gateway: %w", err)
		}
	}

	if err := m.routes(ctx, f, env, vpcID, partPublicRTB, public, []ec2.CreateRouteInput{
		{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGatewayId},
		{DestinationIpv6CidrBlock: aws.String("::/0"), GatewayId: igw.InternetGatewayId},
	}); err != nil {
		return nil, err
	}
	if err := m.routes(ctx, f, env, vpcID, partPrivateRTB, private, []ec2.CreateRouteInput{
		{DestinationIpv6CidrBlock: aws.String("::/0"), EgressOnlyInternetGatewayId: eigw.EgressOnlyInternetGatewayId},
	}); err != nil {
		return nil, err
	}
	st, err := m.Read(ctx, spec)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return nil, fmt.Errorf("VPC %s is gone after it was created; apply again", vpcID)
	}
	return st, nil
}

// ipv6Block returns the VPC's Amazon-provided IPv6 block, asking for one
// when the VPC has none and waiting until it is associated.
func (m *Manager) ipv6Block(ctx context.Context, v *ec2types.Vpc) (netip.Prefix, error) {
	wait := m.Wait
	if wait == 0 {
		wait = time.Minute
	}
	deadline := time.Now().Add(wait)
	asked := false
	for {
		pending := false
		for _, a := range v.Ipv6CidrBlockAssociationSet {
			if a.Ipv6CidrBlockState == nil {
				continue
			}
			switch a.Ipv6CidrBlockState.State {
			case ec2types.VpcCidrBlockStateCodeAssociated:
				p, err := netip.ParsePrefix(aws.ToString(a.Ipv6CidrBlock))
				if err != nil {
					return netip.Prefix{}, fmt.Errorf("VPC %s: IPv6 block %q: %w", aws.ToString(v.VpcId), aws.ToString(a.Ipv6CidrBlock), err)
				}
				if p.Bits() > 56 {
					return netip.Prefix{}, fmt.Errorf("VPC %s: IPv6 block %s is smaller than /56", aws.ToString(v.VpcId), p)
				}
				return p, nil
			case ec2types.VpcCidrBlockStateCodeAssociating:
				pending = true
			}
		}
		if !pending && !asked {
			if _, err := m.EC2.AssociateVpcCidrBlock(ctx, &ec2.AssociateVpcCidrBlockInput{VpcId: v.VpcId, AmazonProvidedIpv6CidrBlock: aws.Bool(true)}); err != nil {
				return netip.Prefix{}, fmt.Errorf("VPC %s: associate an IPv6 block: %w", aws.ToString(v.VpcId), err)
			}
			asked = true
		}
		if time.Now().After(deadline) {
			return netip.Prefix{}, fmt.Errorf("VPC %s: no IPv6 block associated after %s", aws.ToString(v.VpcId), wait)
		}
		select {
		case <-ctx.Done():
			return netip.Prefix{}, ctx.Err()
		case <-time.After(time.Second):
		}
		out, err := m.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{aws.ToString(v.VpcId)}})
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("read VPC %s: %w", aws.ToString(v.VpcId), err)
		}
		if len(out.Vpcs) == 0 {
			return netip.Prefix{}, fmt.Errorf("VPC %s disappeared", aws.ToString(v.VpcId))
		}
		v = &out.Vpcs[0]
	}
}

// zones keeps the zones the subnets already use and adds available ones
// (in name order) up to n.
func (m *Manager) zones(ctx context.Context, f *found, n int) ([]string, error) {
	var zones []string
	for part, s := range f.subnets {
		if strings.HasPrefix(part, "private-") {
			zones = append(zones, aws.ToString(s.AvailabilityZone))
		}
	}
	sort.Strings(zones)
	if len(zones) >= n {
		return zones, nil
	}
	out, err := m.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
		{Name: aws.String("state"), Values: []string{"available"}},
		{Name: aws.String("zone-type"), Values: []string{"availability-zone"}},
	}})
	if err != nil {
		return nil, fmt.Errorf("list availability zones: %w", err)
	}
	var avail []string
	for _, z := range out.AvailabilityZones {
		avail = append(avail, aws.ToString(z.ZoneName))
	}
	sort.Strings(avail)
	for _, z := range avail {
		if len(zones) == n {
			break
		}
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	if len(zones) < n {
		return nil, fmt.Errorf("zones: the region has %d available zones, %d wanted", len(avail), n)
	}
	return zones, nil
}

// routes makes sure route table part exists with the routes given and is
// associated with the subnets.
func (m *Manager) routes(ctx context.Context, f *found, env, vpcID, part string, subnets []string, routes []ec2.CreateRouteInput) error {
	rt, ok := f.rtbs[part]
	if !ok {
		err := m.created(ctx, func(g *found) bool { got, ok := g.rtbs[part]; rt = got; return ok }, env, func(noRetry func(*ec2.Options)) error {
			out, err := m.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID), TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, env, part)}, noRetry)
			if err == nil {
				rt = *out.RouteTable
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("create route table %s: %w", part, err)
		}
	}
	have := map[string]bool{}
	for _, r := range rt.Routes {
		if r.State != ec2types.RouteStateBlackhole {
			have[aws.ToString(r.DestinationCidrBlock)+aws.ToString(r.DestinationIpv6CidrBlock)] = true
		}
	}
	for _, r := range routes {
		if have[aws.ToString(r.DestinationCidrBlock)+aws.ToString(r.DestinationIpv6CidrBlock)] {
			continue
		}
		r.RouteTableId = rt.RouteTableId
		if _, err := m.EC2.CreateRoute(ctx, &r); err != nil && !isCode(err, "RouteAlreadyExists") {
			return fmt.Errorf("route table %s: add route to %s: %w", part, aws.ToString(r.DestinationCidrBlock)+aws.ToString(r.DestinationIpv6CidrBlock), err)
		}
	}
	for _, s := range subnets {
		if slices.ContainsFunc(rt.Associations, func(a ec2types.RouteTableAssociation) bool { return aws.ToString(a.SubnetId) == s }) {
			continue
		}
		// A subnet is associated with one table: one left on another
		// table (by hand) is moved.
		if _, err := m.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTableId, SubnetId: aws.String(s)}); err != nil {
			if !isCode(err, "Resource.AlreadyAssociated") {
				return fmt.Errorf("route table %s: associate subnet %s: %w", part, s, err)
			}
		}
	}
	return nil
}

// Delete removes the environment's network: route tables, subnets,
// gateways, then the VPC. Whatever else still sits in it (security groups
// of the environment, a database subnet group) must be gone first; the VPC
// is retried while AWS still reports a dependency (ENIs are released
// asynchronously). A network that does not exist is not an error.
func (m *Manager) Delete(ctx context.Context, env string) error {
	f, err := m.find(ctx, env)
	if err != nil || f.vpc == nil {
		return err
	}
	vpcID := aws.ToString(f.vpc.VpcId)
	for _, rt := range f.rtbs {
		for _, a := range rt.Associations {
			if aws.ToBool(a.Main) {
				continue
			}
			if _, err := m.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !notFound(err) {
				return fmt.Errorf("disassociate route table %s: %w", aws.ToString(rt.RouteTableId), err)
			}
		}
		if _, err := m.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTableId}); err != nil && !notFound(err) {
			return fmt.Errorf("delete route table %s: %w", aws.ToString(rt.RouteTableId), err)
		}
	}
	for _, s := range f.subnets {
		if err := m.retryDependency(ctx, func() error {
			_, err := m.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: s.SubnetId})
			return err
		}); err != nil && !notFound(err) {
			return fmt.Errorf("delete subnet %s: %w", aws.ToString(s.SubnetId), err)
		}
	}
	if f.eigw != nil {
		if _, err := m.EC2.DeleteEgressOnlyInternetGateway(ctx, &ec2.DeleteEgressOnlyInternetGatewayInput{EgressOnlyInternetGatewayId: f.eigw.EgressOnlyInternetGatewayId}); err != nil && !notFound(err) {
			return fmt.Errorf("delete egress-only internet gateway: %w", err)
		}
	}
	if f.igw != nil {
		for _, a := range f.igw.Attachments {
			if _, err := m.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: f.igw.InternetGatewayId, VpcId: a.VpcId}); err != nil && !notFound(err) && !isCode(err, "Gateway.NotAttached") {
				return fmt.Errorf("detach internet gateway: %w", err)
			}
		}
		if _, err := m.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: f.igw.InternetGatewayId}); err != nil && !notFound(err) {
			return fmt.Errorf("delete internet gateway: %w", err)
		}
	}
	if err := m.retryDependency(ctx, func() error {
		_, err := m.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpcID)})
		return err
	}); err != nil && !notFound(err) {
		return fmt.Errorf("delete VPC %s: %w", vpcID, err)
	}
	return nil
}

// created makes one object without the SDK's retries: a create whose answer
// was lost would be sent again and make a second object (EC2's creates
// here are not idempotent). When the call fails as AWS says to retry
// (throttling, a server error, no answer), it first looks for the object
// by its tags (have reports whether the environment's objects hold it: the
// lost answer's) and creates again only when it is not there.
func (m *Manager) created(ctx context.Context, have func(*found) bool, env string, create func(noRetry func(*ec2.Options)) error) error {
	noRetry := func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} }
	var err error
	for attempt := range 10 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * 300 * time.Millisecond):
			}
			g, ferr := m.find(ctx, env)
			if ferr != nil {
				return ferr
			}
			if have(g) {
				return nil
			}
		}
		if err = create(noRetry); err == nil || !retryable(err) {
			return err
		}
	}
	return err
}

// retryable says whether the SDK would have retried err.
func retryable(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary ||
		retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

func (m *Manager) retryDependency(ctx context.Context, f func() error) error {
	wait := m.Wait
	if wait == 0 {
		wait = time.Minute
	}
	deadline := time.Now().Add(wait)
	for {
		err := f()
		if err == nil || !isCode(err, "DependencyViolation") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// subnetOf is the n-th block of prefix p extended by bits.
func subnetOf(p netip.Prefix, bits, n int) netip.Prefix {
	a := p.Addr().AsSlice()
	// Set bits [p.Bits(), p.Bits()+bits) of the address to n.
	for i := range bits {
		pos := p.Bits() + i
		bit := (n >> (bits - 1 - i)) & 1
		mask := byte(1) << (7 - pos%8)
		if bit == 1 {
			a[pos/8] |= mask
		} else {
			a[pos/8] &^= mask
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	return netip.PrefixFrom(addr, p.Bits()+bits).Masked()
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

func notFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasSuffix(ae.ErrorCode(), ".NotFound")
}
