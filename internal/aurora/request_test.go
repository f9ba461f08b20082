package aurora_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/pivotapp/platform/internal/aurora"
)

// fakeRDS answers as RDS does where moto does not: it refuses what RDS
// refuses, and after a modification it replays clusterScript and
// instanceScript, one entry per Describe call, so a change shows up late.
type fakeRDS struct {
	aurora.API // calls a test does not expect panic

	mu             sync.Mutex
	calls          []string
	createCluster  *rds.CreateDBClusterInput
	modifyCluster  []*rds.ModifyDBClusterInput
	cluster        rdstypes.DBCluster
	instances      []rdstypes.DBInstance
	clusterScript  []rdstypes.DBCluster
	instanceScript [][]rdstypes.DBInstance
	globals        []rdstypes.GlobalCluster
}

func (f *fakeRDS) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeRDS) CreateDBCluster(_ context.Context, in *rds.CreateDBClusterInput, _ ...func(*rds.Options)) (*rds.CreateDBClusterOutput, error) {
	f.record("CreateDBCluster")
	f.createCluster = in
	f.cluster = rdstypes.DBCluster{
		DBClusterIdentifier: in.DBClusterIdentifier, DBClusterArn: aws.String("arn:aws:rds:eu-west-1:123456789012:cluster:" + aws.ToString(in.DBClusterIdentifier)),
		Status: aws.String("available"), EngineVersion: aws.String("16.4"), Port: aws.Int32(5432),
		ServerlessV2ScalingConfiguration: scalingInfo(in.ServerlessV2ScalingConfiguration),
	}
	if aws.ToBool(in.ManageMasterUserPassword) {
		f.cluster.MasterUserSecret = &rdstypes.MasterUserSecret{SecretArn: aws.String("arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster")}
	}
	if g := aws.ToString(in.GlobalClusterIdentifier); g != "" && aws.ToBool(in.ManageMasterUserPassword) {
		return nil, errors.New("InvalidParameterCombination: Secrets Manager management of the master user password is not supported for clusters in a global database")
	}
	return &rds.CreateDBClusterOutput{}, nil
}

func scalingInfo(c *rdstypes.ServerlessV2ScalingConfiguration) *rdstypes.ServerlessV2ScalingConfigurationInfo {
	if c == nil {
		return nil
	}
	return &rdstypes.ServerlessV2ScalingConfigurationInfo{MinCapacity: c.MinCapacity, MaxCapacity: c.MaxCapacity}
}

func (f *fakeRDS) CreateDBInstance(_ context.Context, in *rds.CreateDBInstanceInput, _ ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error) {
	f.record("CreateDBInstance")
	if aws.ToString(in.DBInstanceClass) == aurora.ServerlessClass && f.cluster.ServerlessV2ScalingConfiguration == nil {
		return nil, errors.New("InvalidDBClusterStateFault: Set the Serverless v2 scaling configuration on the parent DB cluster before creating an Aurora Serverless v2 DB instance")
	}
	f.instances = append(f.instances, rdstypes.DBInstance{
		DBInstanceIdentifier: in.DBInstanceIdentifier, DBClusterIdentifier: in.DBClusterIdentifier,
		DBInstanceClass: in.DBInstanceClass, DBInstanceStatus: aws.String("available"),
	})
	f.cluster.DBClusterMembers = append(f.cluster.DBClusterMembers, rdstypes.DBClusterMember{DBInstanceIdentifier: in.DBInstanceIdentifier, IsClusterWriter: aws.Bool(len(f.instances) == 1)})
	return &rds.CreateDBInstanceOutput{}, nil
}

func (f *fakeRDS) ModifyDBCluster(_ context.Context, in *rds.ModifyDBClusterInput, _ ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error) {
	f.record("ModifyDBCluster")
	f.modifyCluster = append(f.modifyCluster, in)
	if s := aws.ToString(f.cluster.Status); s != "available" || !pendingNone(f.cluster.PendingModifiedValues) {
		return nil, &rdstypes.InvalidDBClusterStateFault{Message: aws.String("cluster is " + s)}
	}
	if in.ManageMasterUserPassword != nil && !*in.ManageMasterUserPassword {
		f.cluster.MasterUserSecret = nil
	}
	return &rds.ModifyDBClusterOutput{}, nil
}

func pendingNone(p *rdstypes.ClusterPendingModifiedValues) bool {
	return p == nil || (p.EngineVersion == nil && p.MasterUserPassword == nil)
}

func (f *fakeRDS) ModifyDBInstance(_ context.Context, in *rds.ModifyDBInstanceInput, _ ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error) {
	f.record("ModifyDBInstance " + aws.ToString(in.DBInstanceIdentifier))
	if s := aws.ToString(f.cluster.Status); s != "available" {
		return nil, &rdstypes.InvalidDBClusterStateFault{Message: aws.String("cluster is " + s)}
	}
	return &rds.ModifyDBInstanceOutput{}, nil
}

func (f *fakeRDS) DescribeDBClusters(_ context.Context, in *rds.DescribeDBClustersInput, _ ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cluster.DBClusterIdentifier == nil {
		return nil, &rdstypes.DBClusterNotFoundFault{}
	}
	if len(f.clusterScript) > 0 {
		next := f.clusterScript[0]
		f.clusterScript = f.clusterScript[1:]
		members := f.cluster.DBClusterMembers
		f.cluster = next
		f.cluster.DBClusterMembers = members
	}
	return &rds.DescribeDBClustersOutput{DBClusters: []rdstypes.DBCluster{f.cluster}}, nil
}

func (f *fakeRDS) DescribeDBInstances(_ context.Context, in *rds.DescribeDBInstancesInput, _ ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.instanceScript) > 0 {
		f.instances = f.instanceScript[0]
		f.instanceScript = f.instanceScript[1:]
	}
	return &rds.DescribeDBInstancesOutput{DBInstances: f.instances}, nil
}

func (f *fakeRDS) DescribeGlobalClusters(_ context.Context, in *rds.DescribeGlobalClustersInput, _ ...func(*rds.Options)) (*rds.DescribeGlobalClustersOutput, error) {
	if id := aws.ToString(in.GlobalClusterIdentifier); id != "" {
		for _, g := range f.globals {
			if aws.ToString(g.GlobalClusterIdentifier) == id {
				return &rds.DescribeGlobalClustersOutput{GlobalClusters: []rdstypes.GlobalCluster{g}}, nil
			}
		}
		return nil, &rdstypes.GlobalClusterNotFoundFault{}
	}
	return &rds.DescribeGlobalClustersOutput{GlobalClusters: f.globals}, nil
}

func (f *fakeRDS) CreateGlobalCluster(_ context.Context, in *rds.CreateGlobalClusterInput, _ ...func(*rds.Options)) (*rds.CreateGlobalClusterOutput, error) {
	f.record("CreateGlobalCluster")
	if in.SourceDBClusterIdentifier != nil && f.cluster.MasterUserSecret != nil {
		return nil, errors.New("InvalidParameterCombination: the source cluster manages its master password in Secrets Manager")
	}
	f.globals = append(f.globals, rdstypes.GlobalCluster{GlobalClusterIdentifier: in.GlobalClusterIdentifier})
	return &rds.CreateGlobalClusterOutput{}, nil
}

type fakeSecrets struct {
	aurora.SecretsAPI
	values map[string]string
}

func (f *fakeSecrets) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	if _, ok := f.values[aws.ToString(in.Name)]; ok {
		return nil, &smtypes.ResourceExistsException{}
	}
	f.values[aws.ToString(in.Name)] = aws.ToString(in.SecretString)
	return &secretsmanager.CreateSecretOutput{}, nil
}

func (f *fakeSecrets) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if _, ok := f.values[aws.ToString(in.SecretId)]; !ok {
		return nil, &smtypes.ResourceNotFoundException{}
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String("arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + aws.ToString(in.SecretId))}, nil
}

func fakeManager(f *fakeRDS, s *fakeSecrets) *aurora.Manager {
	m := &aurora.Manager{RDS: f, PollInterval: time.Millisecond, ModifyDelay: time.Millisecond, Timeout: 5 * time.Second}
	if s != nil {
		m.Secrets = s
	}
	return m
}

// RDS refuses a db.serverless instance on a cluster without a Serverless v2
// capacity range; moto does not.
func TestCreateServerlessSetsScalingConfiguration(t *testing.T) {
	t.Parallel()
	f := &fakeRDS{}
	st, err := fakeManager(f, nil).Create(context.Background(), aurora.Spec{Identifier: "staging", InstanceClass: aurora.ServerlessClass})
	if err != nil {
		t.Fatal(err)
	}
	sc := f.createCluster.ServerlessV2ScalingConfiguration
	if sc == nil || aws.ToFloat64(sc.MinCapacity) != aurora.DefaultServerlessMinCapacity || aws.ToFloat64(sc.MaxCapacity) != aurora.DefaultServerlessMaxCapacity {
		t.Fatalf("scaling configuration %+v", sc)
	}
	if st.ServerlessMinCapacity != 0.5 || st.ServerlessMaxCapacity != 16 || st.InstanceClass != aurora.ServerlessClass {
		t.Fatalf("state %+v", st)
	}

	// A provisioned cluster gets none.
	f = &fakeRDS{}
	if _, err := fakeManager(f, nil).Create(context.Background(), aurora.Spec{Identifier: "staging"}); err != nil {
		t.Fatal(err)
	}
	if f.createCluster.ServerlessV2ScalingConfiguration != nil {
		t.Fatal("provisioned cluster got a serverless range")
	}
}

// Moving a provisioned cluster to db.serverless sets the range on the
// cluster before any instance changes class.
func TestUpdateToServerlessSetsRangeFirst(t *testing.T) {
	t.Parallel()
	f := &fakeRDS{}
	m := fakeManager(f, nil)
	ctx := context.Background()
	if _, err := m.Create(ctx, aurora.Spec{Identifier: "staging"}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	f.instanceScript = [][]rdstypes.DBInstance{{instance("staging-1", "db.r6g.large", "available")}, {instance("staging-1", aurora.ServerlessClass, "available")}}
	if _, err := m.Update(ctx, aurora.Spec{Identifier: "staging", InstanceClass: aurora.ServerlessClass, ServerlessMaxCapacity: 8}); err != nil {
		t.Fatal(err)
	}
	if len(f.modifyCluster) != 1 || f.modifyCluster[0].ServerlessV2ScalingConfiguration == nil ||
		aws.ToFloat64(f.modifyCluster[0].ServerlessV2ScalingConfiguration.MaxCapacity) != 8 {
		t.Fatalf("cluster modifications %+v", f.modifyCluster)
	}
	if strings.Join(f.calls, ",") != "ModifyDBCluster,ModifyDBInstance staging-1" {
		t.Fatalf("calls %v", f.calls)
	}
}

func TestServerlessCapacityValidation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ minACU, maxACU float64 }{{0.3, 4}, {1, 0.5}, {4, 2}, {0.5, 512}, {-1, 4}} {
		spec := aurora.Spec{Identifier: "x", InstanceClass: aurora.ServerlessClass, ServerlessMinCapacity: c.minACU, ServerlessMaxCapacity: c.maxACU}
		if err := spec.Validate(); err == nil || !strings.Contains(err.Error(), "capacity") {
			t.Errorf("%g-%g: %v", c.minACU, c.maxACU, err)
		}
	}
	if err := (aurora.Spec{Identifier: "x", InstanceClass: aurora.ServerlessClass, ServerlessMinCapacity: 0, ServerlessMaxCapacity: 64}).Validate(); err != nil {
		t.Errorf("0-64: %v", err)
	}
}

// Secrets Manager management of the master password is not supported for
// clusters in an Aurora global database: the primary gets a generated
// password, kept in a secret of our own.
func TestCreateGlobalPrimaryKeepsPasswordItself(t *testing.T) {
	t.Parallel()
	f, s := &fakeRDS{}, &fakeSecrets{values: map[string]string{}}
	st, err := fakeManager(f, s).Create(context.Background(), aurora.Spec{Identifier: "prod-eu", GlobalClusterIdentifier: "prod"})
	if err != nil {
		t.Fatal(err)
	}
	in := f.createCluster
	if in.ManageMasterUserPassword != nil || aws.ToString(in.MasterUserPassword) == "" || aws.ToString(in.MasterUsername) != aurora.DefaultMasterUsername {
		t.Fatalf("create input: manage=%v password set=%v user=%q", in.ManageMasterUserPassword, in.MasterUserPassword != nil, aws.ToString(in.MasterUsername))
	}
	var secret map[string]string
	if err := json.Unmarshal([]byte(s.values[aurora.MasterSecretName("prod-eu")]), &secret); err != nil {
		t.Fatal(err)
	}
	if secret["password"] != aws.ToString(in.MasterUserPassword) || secret["username"] != aurora.DefaultMasterUsername {
		t.Fatal("the secret does not hold the password the cluster got")
	}
	_ = st
}

// A standalone cluster starting a global database hands its password from
// RDS to our secret before CreateGlobalCluster.
func TestUpdateToGlobalStopsManagedPassword(t *testing.T) {
	t.Parallel()
	f, s := &fakeRDS{}, &fakeSecrets{values: map[string]string{}}
	m := fakeManager(f, s)
	ctx := context.Background()
	if _, err := m.Create(ctx, aurora.Spec{Identifier: "prod-eu"}); err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	if _, err := m.Update(ctx, aurora.Spec{Identifier: "prod-eu", GlobalClusterIdentifier: "prod"}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.calls, ",") != "ModifyDBCluster,CreateGlobalCluster" {
		t.Fatalf("calls %v", f.calls)
	}
	mod := f.modifyCluster[0]
	if mod.ManageMasterUserPassword == nil || *mod.ManageMasterUserPassword || aws.ToString(mod.MasterUserPassword) == "" {
		t.Fatalf("modify input %+v", mod)
	}
	if !strings.Contains(s.values[aurora.MasterSecretName("prod-eu")], aws.ToString(mod.MasterUserPassword)) {
		t.Fatal("new password not stored")
	}
}

func instance(id, class, status string) rdstypes.DBInstance {
	return rdstypes.DBInstance{DBInstanceIdentifier: aws.String(id), DBClusterIdentifier: aws.String("staging"), DBInstanceClass: aws.String(class), DBInstanceStatus: aws.String(status)}
}

func clusterAt(status, version string, pending *rdstypes.ClusterPendingModifiedValues) rdstypes.DBCluster {
	return rdstypes.DBCluster{
		DBClusterIdentifier: aws.String("staging"), DBClusterArn: aws.String("arn:aws:rds:eu-west-1:123456789012:cluster:staging"),
		Status: aws.String(status), EngineVersion: aws.String(version), Port: aws.Int32(5432), PendingModifiedValues: pending,
		MasterUserSecret: &rdstypes.MasterUserSecret{SecretArn: aws.String("arn:aws:secretsmanager:x")},
	}
}

// After a modification RDS can still report "available" with the old
// values before it starts, then list the change as pending. Update waits
// until the change is applied, so it returns the new version and class
// and the instance modification does not meet a cluster mid-upgrade.
func TestUpdateWaitsForModificationToApply(t *testing.T) {
	t.Parallel()
	f := &fakeRDS{}
	m := fakeManager(f, nil)
	ctx := context.Background()
	if _, err := m.Create(ctx, aurora.Spec{Identifier: "staging", EngineVersion: "16.4"}); err != nil {
		t.Fatal(err)
	}
	f.clusterScript = []rdstypes.DBCluster{
		clusterAt("available", "16.4", nil),
		clusterAt("upgrading", "16.4", nil),
		clusterAt("available", "16.4", &rdstypes.ClusterPendingModifiedValues{EngineVersion: aws.String("16.6")}),
		clusterAt("available", "16.6", nil),
	}
	f.instanceScript = [][]rdstypes.DBInstance{
		{instance("staging-1", "db.r6g.large", "available")},
		{instance("staging-1", "db.r6g.large", "available")},
		{instance("staging-1", "db.r6g.large", "modifying")},
		{instance("staging-1", "db.r6g.xlarge", "available")},
	}
	st, err := m.Update(ctx, aurora.Spec{Identifier: "staging", EngineVersion: "16.6", InstanceClass: "db.r6g.xlarge"})
	if err != nil {
		t.Fatal(err)
	}
	if st.EngineVersion != "16.6" || st.InstanceClass != "db.r6g.xlarge" {
		t.Fatalf("update returned version %s, class %s", st.EngineVersion, st.InstanceClass)
	}
	if len(f.clusterScript) != 0 || len(f.instanceScript) != 0 {
		t.Fatalf("stopped waiting early: %d cluster and %d instance states left", len(f.clusterScript), len(f.instanceScript))
	}
}
