package environment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// placement is where the environment's tasks (and load balancer) run.
type placement struct {
	VPCID          string
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
	// ServicesGroup is the security group the environment owns, if any.
	ServicesGroup string
	IngressGroup  string
}

// resolveNetwork finds the VPC and subnets, and creates the environment's
// security groups when the spec names none.
func (m *Manager) resolveNetwork(ctx context.Context, spec Spec) (placement, error) {
	p := placement{Subnets: spec.Network.Subnets}
	defaultVPC := len(p.Subnets) == 0
	if defaultVPC {
		vpcs, err := m.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
		if err != nil {
			return placement{}, fmt.Errorf("find the default VPC: %w", err)
		}
		if len(vpcs.Vpcs) == 0 {
			return placement{}, &FieldError{Field: "network.subnet_ids", Err: errors.New("the account has no default VPC in this region; set the subnets the environment's tasks run in")}
		}
		p.VPCID = aws.ToString(vpcs.Vpcs[0].VpcId)
		subnets, err := m.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{p.VPCID}},
			{Name: aws.String("default-for-az"), Values: []string{"true"}},
		}})
		if err != nil {
			return placement{}, fmt.Errorf("list default subnets: %w", err)
		}
		for _, s := range subnets.Subnets {
			p.Subnets = append(p.Subnets, aws.ToString(s.SubnetId))
		}
		slices.Sort(p.Subnets)
	} else {
		subnets, err := m.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: p.Subnets})
		if err != nil {
			return placement{}, &FieldError{Field: "network.subnet_ids", Err: fmt.Errorf("look up subnets: %w", err)}
		}
		for _, s := range subnets.Subnets {
			if v := aws.ToString(s.VpcId); p.VPCID == "" {
				p.VPCID = v
			} else if v != p.VPCID {
				return placement{}, &FieldError{Field: "network.subnet_ids", Err: fmt.Errorf("subnets are in two VPCs (%s and %s); use subnets of one VPC", p.VPCID, v)}
			}
		}
	}
	p.AssignPublicIP = defaultVPC
	if spec.Network.AssignPublicIP != nil {
		p.AssignPublicIP = *spec.Network.AssignPublicIP
	}

	names := NamesOf(spec.Name)
	if spec.Ingress != nil {
		g, err := m.ensureSecurityGroup(ctx, p.VPCID, names.IngressSecurityGroup(), spec.Name, "Public ingress of Pivot environment "+spec.Name)
		if err != nil {
			return placement{}, err
		}
		p.IngressGroup = g
		for _, port := range []int32{80, 443} {
			if err := m.authorize(ctx, g, ec2types.IpPermission{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
				IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
				Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}},
			}); err != nil {
				return placement{}, err
			}
		}
	}
	if len(spec.Network.SecurityGroups) > 0 {
		p.SecurityGroups = spec.Network.SecurityGroups
		return p, nil
	}
	g, err := m.ensureSecurityGroup(ctx, p.VPCID, names.ServicesSecurityGroup(), spec.Name, "Tasks of Pivot environment "+spec.Name)
	if err != nil {
		return placement{}, err
	}
	p.ServicesGroup, p.SecurityGroups = g, []string{g}
	// Tasks reach each other (Service Connect proxies), and the load
	// balancer reaches them.
	sources := []ec2types.UserIdGroupPair{{GroupId: aws.String(g)}}
	if p.IngressGroup != "" {
		sources = append(sources, ec2types.UserIdGroupPair{GroupId: aws.String(p.IngressGroup)})
	}
	for _, src := range sources {
		if err := m.authorize(ctx, g, ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{src}}); err != nil {
			return placement{}, err
		}
	}
	return p, nil
}

func (m *Manager) ensureSecurityGroup(ctx context.Context, vpc, name, env, desc string) (string, error) {
	id, err := m.findOwnSecurityGroup(ctx, vpc, name, env)
	if err == nil || !errors.Is(err, errNoGroup) {
		return id, err
	}
	out, err := m.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(desc), VpcId: aws.String(vpc),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(name)},
			{Key: aws.String("pivot:environment"), Value: aws.String(env)},
			{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")},
		}}},
	})
	if awsx.ErrorCode(err) == "InvalidGroup.Duplicate" {
		// A create whose answer was lost and that the SDK sent again, or a
		// concurrent apply: the group is there now.
		return m.findOwnSecurityGroup(ctx, vpc, name, env)
	}
	if err != nil {
		return "", fmt.Errorf("create security group %s: %w", name, err)
	}
	return aws.ToString(out.GroupId), nil
}

var errNoGroup = errors.New("no such security group")

// findOwnSecurityGroup is findSecurityGroup for a group the environment
// creates: one of that name without the environment's tags is someone
// else's, and taking it would open it to the environment's rules and
// delete it with the environment.
func (m *Manager) findOwnSecurityGroup(ctx context.Context, vpc, name, env string) (string, error) {
	id, err := m.findSecurityGroup(ctx, vpc, name)
	if err != nil {
		return "", err
	}
	out, err := m.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil {
		return "", fmt.Errorf("describe security group %s: %w", id, err)
	}
	tags := map[string]string{}
	for _, g := range out.SecurityGroups {
		for _, t := range g.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if tags["pivot:managed-by"] != "terraform-provider-pivot" || tags["pivot:environment"] != env {
		return "", &FieldError{Field: "network.security_group_ids", Err: fmt.Errorf(
			"security group %s (%s) in %s was not created for environment %s (its pivot:environment tag is %q); rename or delete it, or give the environment its security groups in network.security_group_ids",
			name, id, vpc, env, tags["pivot:environment"])}
	}
	return id, nil
}

// findSecurityGroup looks a group up by name, in one VPC or (vpc empty) any.
func (m *Manager) findSecurityGroup(ctx context.Context, vpc, name string) (string, error) {
	filters := []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}}
	if vpc != "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
	}
	out, err := m.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	if err != nil {
		return "", fmt.Errorf("find security group %s: %w", name, err)
	}
	if len(out.SecurityGroups) == 0 {
		return "", errNoGroup
	}
	return aws.ToString(out.SecurityGroups[0].GroupId), nil
}

// findSecurityGroups is findSecurityGroup (in any VPC) for several names in
// one call: the IDs of those found, by name.
func (m *Manager) findSecurityGroups(ctx context.Context, names ...string) (map[string]string, error) {
	out, err := m.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: names}}})
	if err != nil {
		return nil, fmt.Errorf("find security groups %s: %w", strings.Join(names, ", "), err)
	}
	found := map[string]string{}
	for _, g := range out.SecurityGroups {
		if name := aws.ToString(g.GroupName); found[name] == "" {
			found[name] = aws.ToString(g.GroupId)
		}
	}
	return found, nil
}

func (m *Manager) authorize(ctx context.Context, group string, perm ec2types.IpPermission) error {
	_, err := m.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: []ec2types.IpPermission{perm}})
	if err != nil && awsx.ErrorCode(err) != "InvalidPermission.Duplicate" {
		return fmt.Errorf("allow ingress on %s: %w", group, err)
	}
	return nil
}

// deleteSecurityGroup retries while the group is still in use: network
// interfaces of stopped tasks and of a deleted load balancer linger for a
// few minutes.
func (m *Manager) deleteSecurityGroup(ctx context.Context, name string) error {
	id, err := m.findSecurityGroup(ctx, "", name)
	if errors.Is(err, errNoGroup) {
		return nil
	}
	if err != nil {
		return err
	}
	deadline := time.Now().Add(m.timeout(15 * time.Minute))
	interval := m.poll()
	for {
		_, err := m.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		switch code := awsx.ErrorCode(err); {
		case err == nil || code == "InvalidGroup.NotFound":
			return nil
		case code != "DependencyViolation" || time.Now().After(deadline):
			return fmt.Errorf("delete security group %s: %w", name, err)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
		interval = min(2*interval, 30*time.Second)
	}
}

// revokeIngressFrom removes the rules of group that admit source, so the
// source group can be deleted while group lives on.
func (m *Manager) revokeIngressFrom(ctx context.Context, group, source string) error {
	_, err := m.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{
		GroupId:       aws.String(group),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(source)}}}},
	})
	if err != nil && awsx.ErrorCode(err) != "InvalidPermission.NotFound" && awsx.ErrorCode(err) != "InvalidGroup.NotFound" {
		return fmt.Errorf("revoke ingress from %s on %s: %w", source, group, err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
