package aurora

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// NetworkAPI is the part of the EC2 API this package uses; *ec2.Client
// satisfies it.
type NetworkAPI interface {
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, opts ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, opts ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
}

// DatabaseSecurityGroupName is the name of the security group made for a
// cluster with ClientSecurityGroupIDs.
func DatabaseSecurityGroupName(identifier string) string { return identifier + "-database" }

// ensureSubnetGroup returns the subnet group the cluster goes in: the one
// named, or (with SubnetIDs) one named after the cluster, made or updated
// here. Without either RDS picks the default VPC's, which need not be the
// VPC the services run in.
func (m *Manager) ensureSubnetGroup(ctx context.Context, spec Spec, named string) (string, error) {
	if named != "" || len(spec.SubnetIDs) == 0 {
		return named, nil
	}
	name := spec.Identifier
	cur, err := m.subnetGroup(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = m.RDS.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{
			DBSubnetGroupName:        aws.String(name),
			DBSubnetGroupDescription: aws.String("Subnets of Aurora cluster " + name + "; managed by pivot_aurora_cluster."),
			SubnetIds:                spec.SubnetIDs,
			Tags:                     spec.tags(),
		})
		if err != nil {
			return "", fmt.Errorf("create subnet group %s: %w", name, err)
		}
	case err != nil:
		return "", err
	default:
		var have []string
		for _, s := range cur.Subnets {
			have = append(have, aws.ToString(s.SubnetIdentifier))
		}
		if !slices.Equal(sortedCopy(have), sortedCopy(spec.SubnetIDs)) {
			_, err := m.RDS.ModifyDBSubnetGroup(ctx, &rds.ModifyDBSubnetGroupInput{DBSubnetGroupName: aws.String(name), SubnetIds: spec.SubnetIDs})
			if err != nil {
				return "", fmt.Errorf("modify subnet group %s: %w", name, err)
			}
		}
	}
	return name, nil
}

func (m *Manager) subnetGroup(ctx context.Context, name string) (rdstypes.DBSubnetGroup, error) {
	out, err := m.RDS.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(name)})
	var nf *rdstypes.DBSubnetGroupNotFoundFault
	if errors.As(err, &nf) {
		return rdstypes.DBSubnetGroup{}, ErrNotFound
	}
	if err != nil {
		return rdstypes.DBSubnetGroup{}, fmt.Errorf("describe subnet group %s: %w", name, err)
	}
	for _, g := range out.DBSubnetGroups {
		if aws.ToString(g.DBSubnetGroupName) == name {
			return g, nil
		}
	}
	return rdstypes.DBSubnetGroup{}, ErrNotFound
}

func (m *Manager) deleteSubnetGroup(ctx context.Context, name string) error {
	_, err := m.RDS.DeleteDBSubnetGroup(ctx, &rds.DeleteDBSubnetGroupInput{DBSubnetGroupName: aws.String(name)})
	var nf *rdstypes.DBSubnetGroupNotFoundFault
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete subnet group %s: %w", name, err)
	}
	return nil
}

// securityGroups returns the cluster's security groups: SecurityGroupIDs
// and, with ClientSecurityGroupIDs, the cluster's own group admitting them
// on Port. Without any, RDS uses the VPC's default group, which admits only
// its own members, so the services could not connect.
func (m *Manager) securityGroups(ctx context.Context, spec Spec, subnetGroup string) ([]string, error) {
	out := slices.Clone(spec.SecurityGroupIDs)
	if len(spec.ClientSecurityGroupIDs) == 0 {
		return out, nil
	}
	if m.EC2 == nil {
		return nil, errors.New("client security groups need an EC2 client")
	}
	vpc, err := m.vpcOf(ctx, spec, subnetGroup)
	if err != nil {
		return nil, err
	}
	name := DatabaseSecurityGroupName(spec.Identifier)
	g, err := m.findSecurityGroup(ctx, []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}},
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
	})
	if errors.Is(err, ErrNotFound) {
		created, cerr := m.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(name), VpcId: aws.String(vpc),
			Description: aws.String("Aurora cluster " + spec.Identifier + ": PostgreSQL from its clients"),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{
				{Key: aws.String("Name"), Value: aws.String(name)},
				{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")},
			}}},
		})
		if cerr != nil {
			return nil, fmt.Errorf("create security group %s: %w", name, cerr)
		}
		g, err = ec2types.SecurityGroup{GroupId: created.GroupId}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := m.syncClients(ctx, g, spec.ClientSecurityGroupIDs); err != nil {
		return nil, err
	}
	return append(out, aws.ToString(g.GroupId)), nil
}

// syncClients makes the group admit exactly clients on Port.
func (m *Manager) syncClients(ctx context.Context, g ec2types.SecurityGroup, clients []string) error {
	id := aws.ToString(g.GroupId)
	have := clientsOf(g)
	var add, drop []ec2types.UserIdGroupPair
	for _, c := range clients {
		if !slices.Contains(have, c) {
			add = append(add, ec2types.UserIdGroupPair{GroupId: aws.String(c)})
		}
	}
	for _, c := range have {
		if !slices.Contains(clients, c) {
			drop = append(drop, ec2types.UserIdGroupPair{GroupId: aws.String(c)})
		}
	}
	perm := func(pairs []ec2types.UserIdGroupPair) []ec2types.IpPermission {
		return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(Port), ToPort: aws.Int32(Port), UserIdGroupPairs: pairs}}
	}
	if len(add) > 0 {
		_, err := m.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perm(add)})
		if err != nil && awsx.ErrorCode(err) != "InvalidPermission.Duplicate" {
			return fmt.Errorf("allow clients on %s: %w", id, err)
		}
	}
	if len(drop) > 0 {
		_, err := m.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perm(drop)})
		if err != nil && awsx.ErrorCode(err) != "InvalidPermission.NotFound" {
			return fmt.Errorf("revoke clients on %s: %w", id, err)
		}
	}
	return nil
}

// clientsOf lists the groups a security group admits on Port.
func clientsOf(g ec2types.SecurityGroup) []string {
	var out []string
	for _, p := range g.IpPermissions {
		if aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) > Port || aws.ToInt32(p.ToPort) < Port {
			continue
		}
		for _, pair := range p.UserIdGroupPairs {
			if id := aws.ToString(pair.GroupId); !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// vpcOf finds the VPC the cluster is (or will be) in: its subnet group's,
// else the default VPC's, where RDS puts a cluster without one.
func (m *Manager) vpcOf(ctx context.Context, spec Spec, subnetGroup string) (string, error) {
	if subnetGroup != "" && subnetGroup != "default" {
		g, err := m.subnetGroup(ctx, subnetGroup)
		if err != nil {
			return "", err
		}
		return aws.ToString(g.VpcId), nil
	}
	out, err := m.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		return "", fmt.Errorf("find the default VPC: %w", err)
	}
	if len(out.Vpcs) == 0 {
		return "", fmt.Errorf("cluster %s has no subnet group and the account has no default VPC; set subnet_ids or db_subnet_group_name", spec.Identifier)
	}
	return aws.ToString(out.Vpcs[0].VpcId), nil
}

func (m *Manager) findSecurityGroup(ctx context.Context, filters []ec2types.Filter) (ec2types.SecurityGroup, error) {
	p := ec2.NewDescribeSecurityGroupsPaginator(m.EC2, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ec2types.SecurityGroup{}, fmt.Errorf("describe security groups: %w", err)
		}
		if len(page.SecurityGroups) > 0 {
			return page.SecurityGroups[0], nil
		}
	}
	return ec2types.SecurityGroup{}, ErrNotFound
}

// readDatabaseGroup moves the cluster's own group out of SecurityGroupIDs
// and reads whom it admits.
func (m *Manager) readDatabaseGroup(ctx context.Context, st *State) error {
	if m.EC2 == nil || len(st.SecurityGroupIDs) == 0 {
		return nil
	}
	g, err := m.findSecurityGroup(ctx, []ec2types.Filter{
		{Name: aws.String("group-id"), Values: st.SecurityGroupIDs},
		{Name: aws.String("group-name"), Values: []string{DatabaseSecurityGroupName(st.Identifier)}},
	})
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	st.DatabaseSecurityGroupID = aws.ToString(g.GroupId)
	st.ClientSecurityGroupIDs = clientsOf(g)
	st.SecurityGroupIDs = slices.DeleteFunc(st.SecurityGroupIDs, func(id string) bool { return id == st.DatabaseSecurityGroupID })
	return nil
}

// deleteSecurityGroup retries while the cluster's network interfaces,
// which outlive it for a while, still use the group.
func (m *Manager) deleteSecurityGroup(ctx context.Context, id string) error {
	if m.EC2 == nil {
		return nil
	}
	return m.wait(ctx, "deletion of security group "+id, func(ctx context.Context) (bool, error) {
		_, err := m.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		switch code := awsx.ErrorCode(err); {
		case err == nil || code == "InvalidGroup.NotFound":
			return true, nil
		case code == "DependencyViolation":
			return false, nil
		default:
			return false, fmt.Errorf("delete security group %s: %w", id, err)
		}
	})
}
