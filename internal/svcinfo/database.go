package svcinfo

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

// DatabaseReach is the network path from a service's tasks to its
// environment's Aurora cluster, as AWS would enforce it: the local stack
// does not, so it is read from the configuration.
type DatabaseReach struct {
	Service, DBCluster string
	// ServiceVPC and DBVPC are the VPCs of the service's first subnet and
	// of the cluster's subnet group.
	ServiceVPC, DBVPC string
	// ServiceGroups are the tasks' security groups; Admitting maps each to
	// the cluster's group that admits it on 5432 (absent: none does).
	ServiceGroups []string
	ClusterGroups []string
	Admitting     map[string]string
}

// Problems says what would keep the tasks from the database.
func (r DatabaseReach) Problems() []string {
	var out []string
	if r.ServiceVPC != r.DBVPC {
		out = append(out, fmt.Sprintf("Aurora cluster %s is in VPC %s, service %s in %s", r.DBCluster, r.DBVPC, r.Service, r.ServiceVPC))
	}
	if len(r.ClusterGroups) == 0 {
		out = append(out, fmt.Sprintf("Aurora cluster %s has no security group", r.DBCluster))
	}
	for _, g := range r.ServiceGroups {
		if r.Admitting[g] == "" {
			out = append(out, fmt.Sprintf("no security group of Aurora cluster %s (%s) admits %s's group %s on 5432", r.DBCluster, strings.Join(r.ClusterGroups, ", "), r.Service, g))
		}
	}
	return out
}

// String is one line for an operator.
func (r DatabaseReach) String() string {
	if p := r.Problems(); len(p) > 0 {
		return strings.Join(p, "; ")
	}
	var pairs []string
	for _, g := range r.ServiceGroups {
		pairs = append(pairs, g+" -> "+r.Admitting[g]+":5432")
	}
	return fmt.Sprintf("%s reaches Aurora cluster %s in %s (%s)", r.Service, r.DBCluster, r.DBVPC, strings.Join(pairs, ", "))
}

// ReadDatabaseReach reads the path from service (in ECS cluster) to the
// Aurora cluster dbCluster.
func ReadDatabaseReach(ctx context.Context, cfg aws.Config, cluster, service, dbCluster string) (DatabaseReach, error) {
	r := DatabaseReach{Service: service, DBCluster: dbCluster, Admitting: map[string]string{}}
	svc, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return r, fmt.Errorf("describe service %s: %w", service, err)
	}
	if len(svc.Services) != 1 || svc.Services[0].NetworkConfiguration == nil || svc.Services[0].NetworkConfiguration.AwsvpcConfiguration == nil {
		return r, fmt.Errorf("service %s in cluster %s has no awsvpc network configuration", service, cluster)
	}
	vpcConf := svc.Services[0].NetworkConfiguration.AwsvpcConfiguration
	r.ServiceGroups = slices.Clone(vpcConf.SecurityGroups)
	rdsc := rds.NewFromConfig(cfg)
	clusters, err := rdsc.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(dbCluster)})
	if err != nil || len(clusters.DBClusters) != 1 {
		return r, fmt.Errorf("describe Aurora cluster %s: %w", dbCluster, err)
	}
	db := clusters.DBClusters[0]
	ec2c := ec2.NewFromConfig(cfg)
	if len(vpcConf.Subnets) > 0 {
		subnets, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: vpcConf.Subnets[:1]})
		if err != nil || len(subnets.Subnets) != 1 {
			return r, fmt.Errorf("describe subnet %s: %w", vpcConf.Subnets[0], err)
		}
		r.ServiceVPC = aws.ToString(subnets.Subnets[0].VpcId)
	}
	groups, err := rdsc.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: db.DBSubnetGroup})
	if err != nil || len(groups.DBSubnetGroups) != 1 {
		return r, fmt.Errorf("describe DB subnet group %s: %w", aws.ToString(db.DBSubnetGroup), err)
	}
	r.DBVPC = aws.ToString(groups.DBSubnetGroups[0].VpcId)
	for _, g := range db.VpcSecurityGroups {
		r.ClusterGroups = append(r.ClusterGroups, aws.ToString(g.VpcSecurityGroupId))
	}
	if len(r.ClusterGroups) == 0 {
		return r, nil
	}
	sgs, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: r.ClusterGroups})
	if err != nil {
		return r, fmt.Errorf("describe the security groups of Aurora cluster %s: %w", dbCluster, err)
	}
	for _, g := range sgs.SecurityGroups {
		for _, p := range g.IpPermissions {
			proto := aws.ToString(p.IpProtocol)
			if proto != "-1" && (proto != "tcp" || aws.ToInt32(p.FromPort) > 5432 || aws.ToInt32(p.ToPort) < 5432) {
				continue
			}
			for _, pair := range p.UserIdGroupPairs {
				if id := aws.ToString(pair.GroupId); slices.Contains(r.ServiceGroups, id) && r.Admitting[id] == "" {
					r.Admitting[id] = aws.ToString(g.GroupId)
				}
			}
		}
	}
	return r, nil
}
