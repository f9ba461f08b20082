package aurora_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/aurora"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func newManager(t *testing.T) (*aurora.Manager, aws.Config) {
	t.Helper()
	cfg := acctest.NewAWS(t).Config(t)
	return &aurora.Manager{
		RDS: rds.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg),
		PollInterval: 10 * time.Millisecond, ModifyDelay: 10 * time.Millisecond, Timeout: time.Minute,
	}, cfg
}

func TestClusterLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, _ := newManager(t)
	spec := aurora.Spec{Identifier: "staging", EngineVersion: "16.4", ReaderCount: 1, Tags: map[string]string{"pivot:environment": "staging"}}
	st, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != "available" || st.Endpoint == "" || st.ReaderEndpoint == "" || st.Port != 5432 {
		t.Fatalf("endpoints: %+v", st)
	}
	if st.MasterUsername != aurora.DefaultMasterUsername || !strings.Contains(st.MasterUserSecretARN, ":secretsmanager:") {
		t.Fatalf("master user: %+v", st)
	}
	if st.InstanceClass != aurora.DefaultInstanceClass || st.ReaderCount != 1 || len(st.Instances) != 2 || !st.Instances[0].Writer {
		t.Fatalf("instances: %+v", st.Instances)
	}

	next := spec
	next.ReaderCount, next.InstanceClass, next.DeletionProtection = 2, "db.r6g.xlarge", true
	st, err = m.Update(ctx, next)
	if err != nil {
		t.Fatal(err)
	}
	if st.ReaderCount != 2 || st.InstanceClass != "db.r6g.xlarge" || !st.DeletionProtection {
		t.Fatalf("after update: %+v", st)
	}
	for _, in := range st.Instances {
		if in.Class != "db.r6g.xlarge" {
			t.Fatalf("instance %s kept class %s", in.Identifier, in.Class)
		}
	}
	if err := m.Delete(ctx, next); err == nil || !strings.Contains(err.Error(), "deletion_protection = false") {
		t.Fatalf("delete of a protected cluster: %v", err)
	}

	last := next
	last.ReaderCount, last.DeletionProtection = 0, false
	st, err = m.Update(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	if st.ReaderCount != 0 || len(st.Instances) != 1 || st.Instances[0].Identifier != "staging-1" {
		t.Fatalf("after scale-in: %+v", st.Instances)
	}
	if err := m.Delete(ctx, last); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, "staging"); !errors.Is(err, aurora.ErrNotFound) {
		t.Fatalf("read after delete: %v", err)
	}
	if err := m.Delete(ctx, last); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

// A primary in one region and a secondary in another make one global
// database.
//
// Moto keeps a global cluster in the region that created it, so
// RemoveFromGlobalCluster from the secondary's region finds nothing to
// remove and the global cluster outlives its members there; RDS's global
// cluster API is not regional. So this test checks the clusters are gone,
// and TestJoinAndLeaveGlobal checks the global cluster's own clean-up.
func TestGlobalDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	euCfg := cfg.Copy()
	euCfg.Region = "eu-west-1"
	eu := &aurora.Manager{RDS: rds.NewFromConfig(euCfg), PollInterval: 10 * time.Millisecond, ModifyDelay: 10 * time.Millisecond, Timeout: time.Minute}

	primary := aurora.Spec{Identifier: "prod-us", EngineVersion: "16.4", GlobalClusterIdentifier: "prod"}
	st, err := m.Create(ctx, primary)
	if err != nil {
		t.Fatal(err)
	}
	if st.GlobalClusterIdentifier != "prod" || !st.GlobalPrimary {
		t.Fatalf("primary: %+v", st)
	}
	// RDS does not manage the password in a global database; ours does.
	if !strings.Contains(st.MasterUserSecretARN, ":secretsmanager:") || !strings.Contains(st.MasterUserSecretARN, aurora.MasterSecretName("prod-us")) {
		t.Fatalf("primary's master secret: %q", st.MasterUserSecretARN)
	}
	secondary := aurora.Spec{Identifier: "prod-eu", EngineVersion: "16.4", GlobalClusterIdentifier: "prod"}
	st2, err := eu.Create(ctx, secondary)
	if err != nil {
		t.Fatal(err)
	}
	if st2.GlobalClusterIdentifier != "prod" || st2.GlobalPrimary || st2.MasterUserSecretARN != "" {
		t.Fatalf("secondary: %+v", st2)
	}
	if err := eu.Delete(ctx, secondary); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, primary); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, primary.Identifier); !errors.Is(err, aurora.ErrNotFound) {
		t.Fatalf("primary after delete: %v", err)
	}
	if _, err := eu.Read(ctx, secondary.Identifier); !errors.Is(err, aurora.ErrNotFound) {
		t.Fatalf("secondary after delete: %v", err)
	}
}

// A standalone cluster starts a global database in place, and leaves it.
func TestJoinAndLeaveGlobal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	spec := aurora.Spec{Identifier: "prod", EngineVersion: "16.4"}
	if _, err := m.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	global := spec
	global.GlobalClusterIdentifier = "prod-global"
	st, err := m.Update(ctx, global)
	if err != nil {
		t.Fatal(err)
	}
	if st.GlobalClusterIdentifier != "prod-global" || !strings.Contains(st.MasterUserSecretARN, aurora.MasterSecretName("prod")) {
		t.Fatalf("not global, or the password still RDS-managed: %+v", st)
	}
	st, err = m.Update(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.GlobalClusterIdentifier != "" || st.MasterUserSecretARN == "" || strings.Contains(st.MasterUserSecretARN, aurora.MasterSecretName("prod")) {
		t.Fatalf("still global, or the password not RDS-managed again: %+v", st)
	}
	if err := m.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	out, err := rds.NewFromConfig(cfg).DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.GlobalClusters) != 0 {
		t.Fatalf("global clusters left: %d", len(out.GlobalClusters))
	}
}

// With client groups the cluster gets a group of its own, in the VPC of the
// subnets it is placed in, that admits them on 5432; without, RDS would use
// the VPC's default group, which admits only its own members.
func TestClusterAdmitsClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	ec2c := ec2.NewFromConfig(cfg)
	vpcs, err := ec2c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("vpcs: %v", err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	subnets, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var subnetIDs []string
	for _, s := range subnets.Subnets {
		if aws.ToString(s.VpcId) == vpc {
			subnetIDs = append(subnetIDs, aws.ToString(s.SubnetId))
		}
	}
	services, err := ec2c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("staging-services"), Description: aws.String("tasks"), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	spec := aurora.Spec{Identifier: "staging", SubnetIDs: subnetIDs, ClientSecurityGroupIDs: []string{aws.ToString(services.GroupId)}}
	st, err := m.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if st.DBSubnetGroupName != "staging" || st.DatabaseSecurityGroupID == "" || len(st.SecurityGroupIDs) != 0 ||
		len(st.ClientSecurityGroupIDs) != 1 || st.ClientSecurityGroupIDs[0] != aws.ToString(services.GroupId) {
		t.Fatalf("placement: %+v", st)
	}
	groups, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{st.DatabaseSecurityGroupID}})
	if err != nil {
		t.Fatal(err)
	}
	if g := groups.SecurityGroups[0]; aws.ToString(g.VpcId) != vpc {
		t.Fatalf("database group in VPC %s, not %s", aws.ToString(g.VpcId), vpc)
	}
	// Out-of-band changes to the rules are undone.
	_, err = ec2c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(st.DatabaseSecurityGroupID), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: services.GroupId}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = m.Read(ctx, "staging"); err != nil || len(st.ClientSecurityGroupIDs) != 0 {
		t.Fatalf("revoked rule not seen: %+v, %v", st.ClientSecurityGroupIDs, err)
	}
	if st, err = m.Update(ctx, spec); err != nil || len(st.ClientSecurityGroupIDs) != 1 {
		t.Fatalf("rule not restored: %+v, %v", st.ClientSecurityGroupIDs, err)
	}
	if err := m.Delete(ctx, spec); err != nil {
		t.Fatal(err)
	}
	left, err := ec2c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{aurora.DatabaseSecurityGroupName("staging")}}}})
	if err != nil || len(left.SecurityGroups) != 0 {
		t.Fatalf("database group left: %v", err)
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		spec aurora.Spec
		want string
	}{
		"identifier case":   {aurora.Spec{Identifier: "Prod"}, "must start with a letter"},
		"identifier long":   {aurora.Spec{Identifier: strings.Repeat("a", 61)}, "1 to 60"},
		"identifier hyphen": {aurora.Spec{Identifier: "prod-"}, "must not end with a hyphen"},
		"version":           {aurora.Spec{Identifier: "p", EngineVersion: "latest"}, "not a version number"},
		"class":             {aurora.Spec{Identifier: "p", InstanceClass: "r6g.large"}, "not an RDS class"},
		"readers":           {aurora.Spec{Identifier: "p", ReaderCount: 16}, "between 0 and 15"},
		"master reserved":   {aurora.Spec{Identifier: "p", MasterUsername: "postgres"}, "reserved"},
		"global":            {aurora.Spec{Identifier: "p", GlobalClusterIdentifier: "Bad_ID"}, "global cluster identifier"},
	}
	for name, tc := range cases {
		if err := tc.spec.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		}
	}
}

// An apply killed after CreateDBCluster leaves a cluster with no instance
// and no state: the next create finishes it. A cluster made by hand is
// refused with its import ID.
func TestCreateAdoptsItsOwnClusterOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, cfg := newManager(t)
	r := rds.NewFromConfig(cfg)
	if _, err := r.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String("staging"), Engine: aws.String(aurora.Engine), MasterUsername: aws.String("pivot_master"),
		ManageMasterUserPassword: aws.Bool(true), StorageEncrypted: aws.Bool(true),
		Tags: []rdstypes.Tag{{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")}},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := m.Create(ctx, aurora.Spec{Identifier: "staging", ReaderCount: 1})
	if err != nil {
		t.Fatalf("create over an interrupted create: %v", err)
	}
	if len(st.Instances) != 2 {
		t.Fatalf("instances after adoption: %+v", st.Instances)
	}

	if _, err := r.CreateDBCluster(ctx, &rds.CreateDBClusterInput{
		DBClusterIdentifier: aws.String("by-hand"), Engine: aws.String(aurora.Engine), MasterUsername: aws.String("admin"), ManageMasterUserPassword: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	_, err = m.Create(ctx, aurora.Spec{Identifier: "by-hand"})
	if !errors.Is(err, aurora.ErrNotOurs) || !strings.Contains(err.Error(), "terraform import <address> by-hand") {
		t.Fatalf("create over a cluster made by hand: %v", err)
	}
}
