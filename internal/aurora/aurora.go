// Package aurora manages an environment's Aurora PostgreSQL cluster: the
// cluster, a writer instance and optional readers, the master password kept
// in Secrets Manager (by RDS, or here for a global database, where RDS does
// not manage it; either way it never passes through Terraform), placement in
// the services' subnets with a security group admitting them, and
// membership of an Aurora global database for production.
package aurora

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pivotapp/platform/internal/awsx"
)

// Engine is the only engine this package creates.
const Engine = "aurora-postgresql"

// Defaults for unset Spec fields.
const (
	DefaultInstanceClass  = "db.r6g.large"
	DefaultMasterUsername = "pivot_admin"
	// MaxReaders is Aurora's limit of 15 replicas per cluster.
	MaxReaders = 15
	// ServerlessClass is the instance class of Aurora Serverless v2.
	ServerlessClass = "db.serverless"
	// DefaultServerlessMinCapacity and DefaultServerlessMaxCapacity are the
	// ACU range of a db.serverless cluster when the spec sets none.
	DefaultServerlessMinCapacity = 0.5
	DefaultServerlessMaxCapacity = 16
	// MaxServerlessCapacity is the largest ACU value recent Aurora versions
	// accept (older ones stop at 128; RDS says so at apply time).
	MaxServerlessCapacity = 256
	// Port is Aurora PostgreSQL's port; the package never changes it.
	Port = 5432
)

// ErrNotFound means the cluster does not exist (or is being deleted).
var ErrNotFound = errors.New("aurora cluster not found")

// Spec is the desired cluster.
type Spec struct {
	Identifier     string
	EngineVersion  string // empty: RDS's default
	InstanceClass  string
	ReaderCount    int
	MasterUsername string
	// DBSubnetGroupName and SecurityGroupIDs place the cluster; empty means
	// the account's defaults.
	DBSubnetGroupName  string
	SecurityGroupIDs   []string
	KMSKeyID           string
	DeletionProtection bool
	// ServerlessMinCapacity and ServerlessMaxCapacity are the ACU range of
	// db.serverless instances; RDS needs a range on the cluster before it
	// creates one. Zero means the defaults.
	ServerlessMinCapacity float64
	ServerlessMaxCapacity float64
	// SubnetIDs, when DBSubnetGroupName is empty, make a DB subnet group
	// named after the cluster, so the cluster lands in the services' VPC.
	SubnetIDs []string
	// ClientSecurityGroupIDs get a security group of the cluster's own
	// (<identifier>-database, in the cluster's VPC) that admits them on the
	// PostgreSQL port, added to SecurityGroupIDs.
	ClientSecurityGroupIDs []string
	// GlobalClusterIdentifier makes the cluster a member of an Aurora
	// global database: the primary (and the global cluster's creator) when
	// the global cluster does not exist yet, a secondary when it does.
	GlobalClusterIdentifier string
	// FinalSnapshotIdentifier, when set, is taken on delete.
	FinalSnapshotIdentifier string
	Tags                    map[string]string
}

// State is the cluster as it is.
type State struct {
	Identifier          string
	ARN                 string
	Status              string
	EngineVersion       string
	Endpoint            string // writer hostname
	ReaderEndpoint      string // reader hostname
	Port                int
	MasterUsername      string
	MasterUserSecretARN string
	DBSubnetGroupName   string
	// SecurityGroupIDs excludes DatabaseSecurityGroupID.
	SecurityGroupIDs []string
	// DatabaseSecurityGroupID is the group this package made for the
	// cluster, and ClientSecurityGroupIDs the groups it admits on Port.
	DatabaseSecurityGroupID string
	ClientSecurityGroupIDs  []string
	// ServerlessMinCapacity and ServerlessMaxCapacity are zero when the
	// cluster has no Serverless v2 range.
	ServerlessMinCapacity float64
	ServerlessMaxCapacity float64
	KMSKeyID              string
	StorageEncrypted      bool
	DeletionProtection    bool
	InstanceClass         string
	ReaderCount           int
	Instances             []Instance
	// GlobalClusterIdentifier is empty for a standalone cluster.
	GlobalClusterIdentifier string
	GlobalPrimary           bool
}

// Instance is one DB instance of the cluster.
type Instance struct {
	Identifier string
	Class      string
	Writer     bool
	Status     string
}

// API is the part of the RDS API this package uses; *rds.Client satisfies it.
type API interface {
	CreateDBCluster(ctx context.Context, in *rds.CreateDBClusterInput, opts ...func(*rds.Options)) (*rds.CreateDBClusterOutput, error)
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, opts ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	ModifyDBCluster(ctx context.Context, in *rds.ModifyDBClusterInput, opts ...func(*rds.Options)) (*rds.ModifyDBClusterOutput, error)
	DeleteDBCluster(ctx context.Context, in *rds.DeleteDBClusterInput, opts ...func(*rds.Options)) (*rds.DeleteDBClusterOutput, error)
	CreateDBInstance(ctx context.Context, in *rds.CreateDBInstanceInput, opts ...func(*rds.Options)) (*rds.CreateDBInstanceOutput, error)
	DescribeDBInstances(ctx context.Context, in *rds.DescribeDBInstancesInput, opts ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	ModifyDBInstance(ctx context.Context, in *rds.ModifyDBInstanceInput, opts ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
	DeleteDBInstance(ctx context.Context, in *rds.DeleteDBInstanceInput, opts ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
	CreateGlobalCluster(ctx context.Context, in *rds.CreateGlobalClusterInput, opts ...func(*rds.Options)) (*rds.CreateGlobalClusterOutput, error)
	DescribeGlobalClusters(ctx context.Context, in *rds.DescribeGlobalClustersInput, opts ...func(*rds.Options)) (*rds.DescribeGlobalClustersOutput, error)
	RemoveFromGlobalCluster(ctx context.Context, in *rds.RemoveFromGlobalClusterInput, opts ...func(*rds.Options)) (*rds.RemoveFromGlobalClusterOutput, error)
	DeleteGlobalCluster(ctx context.Context, in *rds.DeleteGlobalClusterInput, opts ...func(*rds.Options)) (*rds.DeleteGlobalClusterOutput, error)
	CreateDBSubnetGroup(ctx context.Context, in *rds.CreateDBSubnetGroupInput, opts ...func(*rds.Options)) (*rds.CreateDBSubnetGroupOutput, error)
	DescribeDBSubnetGroups(ctx context.Context, in *rds.DescribeDBSubnetGroupsInput, opts ...func(*rds.Options)) (*rds.DescribeDBSubnetGroupsOutput, error)
	ModifyDBSubnetGroup(ctx context.Context, in *rds.ModifyDBSubnetGroupInput, opts ...func(*rds.Options)) (*rds.ModifyDBSubnetGroupOutput, error)
	DeleteDBSubnetGroup(ctx context.Context, in *rds.DeleteDBSubnetGroupInput, opts ...func(*rds.Options)) (*rds.DeleteDBSubnetGroupOutput, error)
}

// SecretsAPI is the part of the Secrets Manager API this package uses;
// *secretsmanager.Client satisfies it.
type SecretsAPI interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// Manager drives the RDS API.
type Manager struct {
	RDS API
	// Secrets keeps the master password of a global database's primary,
	// which RDS does not manage there; needed only for global clusters.
	Secrets SecretsAPI
	// EC2 makes the cluster's security group; needed only with
	// ClientSecurityGroupIDs.
	EC2 NetworkAPI
	// PollInterval is the first wait between status checks (it doubles up to
	// a minute); zero means 5 seconds.
	PollInterval time.Duration
	// ModifyDelay is the wait after a modification before the first status
	// check, since RDS can still report the old state as "available" for a
	// while; zero means 30 seconds, terraform-provider-aws's delay.
	ModifyDelay time.Duration
	// Timeout bounds each wait for a status; zero means 90 minutes, which
	// covers a large cluster's creation.
	Timeout time.Duration
}

var identifierRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
var versionRE = regexp.MustCompile(`^\d+(\.\d+)*$`)

// ValidateIdentifier checks a cluster identifier. Instances are named
// <identifier>-<n>, so it leaves room for the suffix inside RDS's 63.
func ValidateIdentifier(s string) error {
	switch {
	case len(s) == 0 || len(s) > 60:
		return fmt.Errorf("%q must be 1 to 60 characters long (instance names add -<n>)", s)
	case !identifierRE.MatchString(s):
		return fmt.Errorf("%q must start with a letter and contain only lowercase letters, digits and hyphens", s)
	case strings.HasSuffix(s, "-") || strings.Contains(s, "--"):
		return fmt.Errorf("%q must not end with a hyphen or contain two consecutive hyphens", s)
	}
	return nil
}

// ValidateMasterUsername checks the master user's name.
func ValidateMasterUsername(s string) error {
	if len(s) == 0 || len(s) > 63 || !regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`).MatchString(s) {
		return fmt.Errorf("%q must be 1 to 63 letters, digits or underscores, starting with a letter", s)
	}
	switch strings.ToLower(s) {
	case "postgres", "rdsadmin", "rds_superuser", "public", "admin":
		return fmt.Errorf("%q is reserved by Aurora PostgreSQL", s)
	}
	return nil
}

// Validate reports every problem with the spec.
func (s Spec) Validate() error {
	s = s.withDefaults()
	var errs []error
	if err := ValidateIdentifier(s.Identifier); err != nil {
		errs = append(errs, err)
	}
	if s.EngineVersion != "" && !versionRE.MatchString(s.EngineVersion) {
		errs = append(errs, fmt.Errorf("engine version %q is not a version number such as 16.4", s.EngineVersion))
	}
	if !strings.HasPrefix(s.InstanceClass, "db.") {
		errs = append(errs, fmt.Errorf("instance class %q is not an RDS class such as db.r6g.large or db.serverless", s.InstanceClass))
	}
	if s.ReaderCount < 0 || s.ReaderCount > MaxReaders {
		errs = append(errs, fmt.Errorf("reader count %d must be between 0 and %d", s.ReaderCount, MaxReaders))
	}
	if err := ValidateMasterUsername(s.MasterUsername); err != nil {
		errs = append(errs, err)
	}
	if s.GlobalClusterIdentifier != "" {
		if err := ValidateIdentifier(s.GlobalClusterIdentifier); err != nil {
			errs = append(errs, fmt.Errorf("global cluster identifier: %w", err))
		}
	}
	if err := ValidateServerlessCapacity(s.ServerlessMinCapacity, s.ServerlessMaxCapacity); s.serverless() && err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ValidateServerlessCapacity checks an Aurora Serverless v2 ACU range: half
// steps, a minimum of 0 (0.5 on versions without auto-pause) up to a
// maximum above 0.5 and at most MaxServerlessCapacity.
func ValidateServerlessCapacity(minACU, maxACU float64) error {
	half := func(v float64) bool { return v*2 == float64(int(v*2)) }
	switch {
	case !half(minACU) || !half(maxACU):
		return fmt.Errorf("serverless capacity %g-%g must be in steps of 0.5 ACU", minACU, maxACU)
	case minACU < 0 || maxACU <= 0.5 || maxACU > MaxServerlessCapacity:
		return fmt.Errorf("serverless capacity %g-%g must have a minimum of at least 0 and a maximum above 0.5 and at most %d ACU", minACU, maxACU, MaxServerlessCapacity)
	case minACU > maxACU:
		return fmt.Errorf("serverless minimum capacity %g is above the maximum %g", minACU, maxACU)
	}
	return nil
}

func (s Spec) withDefaults() Spec {
	if s.InstanceClass == "" {
		s.InstanceClass = DefaultInstanceClass
	}
	if s.MasterUsername == "" {
		s.MasterUsername = DefaultMasterUsername
	}
	if s.serverless() {
		if s.ServerlessMinCapacity == 0 && s.ServerlessMaxCapacity == 0 {
			s.ServerlessMinCapacity = DefaultServerlessMinCapacity
		}
		if s.ServerlessMaxCapacity == 0 {
			s.ServerlessMaxCapacity = max(DefaultServerlessMaxCapacity, s.ServerlessMinCapacity)
		}
	}
	return s
}

// serverless reports whether the cluster needs a Serverless v2 range: RDS
// refuses a db.serverless instance on a cluster without one.
func (s Spec) serverless() bool {
	return s.InstanceClass == ServerlessClass || s.ServerlessMinCapacity != 0 || s.ServerlessMaxCapacity != 0
}

func (s Spec) scaling() *rdstypes.ServerlessV2ScalingConfiguration {
	if !s.serverless() {
		return nil
	}
	return &rdstypes.ServerlessV2ScalingConfiguration{
		MinCapacity: aws.Float64(s.ServerlessMinCapacity),
		MaxCapacity: aws.Float64(s.ServerlessMaxCapacity),
	}
}

func (s Spec) tags() []rdstypes.Tag {
	keys := make([]string, 0, len(s.Tags))
	for k := range s.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []rdstypes.Tag{{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")}}
	for _, k := range keys {
		out = append(out, rdstypes.Tag{Key: aws.String(k), Value: aws.String(s.Tags[k])})
	}
	return out
}

// Create makes the cluster and its instances and waits until all are
// available.
func (m *Manager) Create(ctx context.Context, spec Spec) (State, error) {
	spec = spec.withDefaults()
	if err := spec.Validate(); err != nil {
		return State{}, err
	}
	secondary := false
	if g := spec.GlobalClusterIdentifier; g != "" {
		gc, err := m.globalCluster(ctx, g)
		switch {
		case errors.Is(err, ErrNotFound):
			_, err = m.RDS.CreateGlobalCluster(ctx, &rds.CreateGlobalClusterInput{
				GlobalClusterIdentifier: aws.String(g),
				Engine:                  aws.String(Engine),
				EngineVersion:           optString(spec.EngineVersion),
				StorageEncrypted:        aws.Bool(true),
				DeletionProtection:      aws.Bool(spec.DeletionProtection),
			})
			if err != nil {
				return State{}, fmt.Errorf("create global cluster %s: %w", g, err)
			}
		case err != nil:
			return State{}, err
		default:
			secondary = len(gc.GlobalClusterMembers) > 0
		}
	}
	subnetGroup, err := m.ensureSubnetGroup(ctx, spec, spec.DBSubnetGroupName)
	if err != nil {
		return State{}, err
	}
	securityGroups, err := m.securityGroups(ctx, spec, subnetGroup)
	if err != nil {
		return State{}, err
	}
	in := &rds.CreateDBClusterInput{
		DBClusterIdentifier:     aws.String(spec.Identifier),
		Engine:                  aws.String(Engine),
		EngineVersion:           optString(spec.EngineVersion),
		DBSubnetGroupName:       optString(subnetGroup),
		VpcSecurityGroupIds:     securityGroups,
		KmsKeyId:                optString(spec.KMSKeyID),
		StorageEncrypted:        aws.Bool(true),
		DeletionProtection:      aws.Bool(spec.DeletionProtection),
		GlobalClusterIdentifier: optString(spec.GlobalClusterIdentifier),
		CopyTagsToSnapshot:      aws.Bool(true),
		Tags:                    spec.tags(),
		// RDS refuses a db.serverless instance on a cluster without a
		// capacity range.
		ServerlessV2ScalingConfiguration: spec.scaling(),
	}
	// A secondary inherits its credentials from the primary. RDS does not
	// manage the master password of a cluster in a global database, so the
	// primary's is generated here and kept in a secret of our own.
	switch {
	case secondary:
	case spec.GlobalClusterIdentifier != "":
		password, err := m.putMasterSecret(ctx, spec)
		if err != nil {
			return State{}, err
		}
		in.MasterUsername = aws.String(spec.MasterUsername)
		in.MasterUserPassword = aws.String(password)
	default:
		in.MasterUsername = aws.String(spec.MasterUsername)
		in.ManageMasterUserPassword = aws.Bool(true)
	}
	adopted, err := m.adoptCluster(ctx, spec)
	if err != nil {
		return State{}, err
	}
	if !adopted {
		_, err := m.RDS.CreateDBCluster(ctx, in)
		if awsx.ErrorCode(err) == "DBClusterAlreadyExistsFault" {
			// The answer to an earlier attempt was lost, or another apply
			// raced this one: take it if it is ours.
			_, err = m.adoptCluster(ctx, spec)
		}
		if err != nil {
			return State{}, fmt.Errorf("create cluster %s: %w", spec.Identifier, err)
		}
	}
	if err := m.waitCluster(ctx, spec.Identifier); err != nil {
		return State{}, err
	}
	have := map[string]bool{}
	if adopted {
		insts, err := m.instances(ctx, spec.Identifier)
		if err != nil {
			return State{}, err
		}
		for _, in := range insts {
			have[aws.ToString(in.DBInstanceIdentifier)] = true
		}
	}
	for i := 1; i <= 1+spec.ReaderCount; i++ {
		if have[instanceID(spec.Identifier, i)] {
			continue
		}
		if err := m.createInstance(ctx, spec, i); err != nil {
			return State{}, err
		}
	}
	if err := m.waitInstances(ctx, spec.Identifier, spec.InstanceClass); err != nil {
		return State{}, err
	}
	return m.Read(ctx, spec.Identifier)
}

// ErrNotOurs is returned by Create when a cluster of the same identifier
// exists that this provider did not create.
var ErrNotOurs = errors.New("exists and was not created by the pivot provider")

// adoptCluster says whether a cluster of the spec's identifier exists and
// carries this provider's tag: one an interrupted apply created, which the
// create then finishes. One without the tag is refused with its import ID.
func (m *Manager) adoptCluster(ctx context.Context, spec Spec) (bool, error) {
	c, err := m.cluster(ctx, spec.Identifier)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range c.TagList {
		if aws.ToString(t.Key) == "pivot:managed-by" && aws.ToString(t.Value) == "terraform-provider-pivot" {
			return true, nil
		}
	}
	return false, fmt.Errorf("cluster %s %w (no pivot:managed-by tag); import it (terraform import <address> %s) or choose another identifier", spec.Identifier, ErrNotOurs, spec.Identifier)
}

// Read describes the cluster, its instances and its global membership.
func (m *Manager) Read(ctx context.Context, identifier string) (State, error) {
	c, err := m.cluster(ctx, identifier)
	if err != nil {
		return State{}, err
	}
	st := State{
		Identifier:         aws.ToString(c.DBClusterIdentifier),
		ARN:                aws.ToString(c.DBClusterArn),
		Status:             aws.ToString(c.Status),
		EngineVersion:      aws.ToString(c.EngineVersion),
		Endpoint:           aws.ToString(c.Endpoint),
		ReaderEndpoint:     aws.ToString(c.ReaderEndpoint),
		Port:               int(aws.ToInt32(c.Port)),
		MasterUsername:     aws.ToString(c.MasterUsername),
		DBSubnetGroupName:  aws.ToString(c.DBSubnetGroup),
		KMSKeyID:           aws.ToString(c.KmsKeyId),
		StorageEncrypted:   aws.ToBool(c.StorageEncrypted),
		DeletionProtection: aws.ToBool(c.DeletionProtection),
	}
	if c.MasterUserSecret != nil {
		st.MasterUserSecretARN = aws.ToString(c.MasterUserSecret.SecretArn)
	}
	if sc := c.ServerlessV2ScalingConfiguration; sc != nil {
		st.ServerlessMinCapacity, st.ServerlessMaxCapacity = aws.ToFloat64(sc.MinCapacity), aws.ToFloat64(sc.MaxCapacity)
	}
	for _, sg := range c.VpcSecurityGroups {
		st.SecurityGroupIDs = append(st.SecurityGroupIDs, aws.ToString(sg.VpcSecurityGroupId))
	}
	sort.Strings(st.SecurityGroupIDs)
	if err := m.readDatabaseGroup(ctx, &st); err != nil {
		return State{}, err
	}

	insts, err := m.instances(ctx, identifier)
	if err != nil {
		return State{}, err
	}
	writers := map[string]bool{}
	for _, mem := range c.DBClusterMembers {
		writers[aws.ToString(mem.DBInstanceIdentifier)] = aws.ToBool(mem.IsClusterWriter)
	}
	for _, in := range insts {
		id := aws.ToString(in.DBInstanceIdentifier)
		status := aws.ToString(in.DBInstanceStatus)
		if status == "deleting" {
			continue
		}
		inst := Instance{Identifier: id, Class: aws.ToString(in.DBInstanceClass), Writer: writers[id], Status: status}
		st.Instances = append(st.Instances, inst)
		if inst.Writer {
			st.InstanceClass = inst.Class
		}
	}
	sort.Slice(st.Instances, func(i, j int) bool {
		return instanceNumber(st.Instances[i].Identifier) < instanceNumber(st.Instances[j].Identifier)
	})
	st.ReaderCount = len(st.Instances)
	if st.InstanceClass != "" {
		st.ReaderCount--
	} else if len(st.Instances) > 0 {
		// A secondary cluster of a global database has no writer: every
		// instance reads, and the first stands for the class.
		st.InstanceClass = st.Instances[0].Class
		st.ReaderCount--
	}

	gc, primary, err := m.membership(ctx, st.ARN)
	if err != nil {
		return State{}, err
	}
	st.GlobalClusterIdentifier, st.GlobalPrimary = gc, primary
	// A secondary has no secret of ours, so this finds the primary's only.
	if st.MasterUserSecretARN == "" && gc != "" {
		if st.MasterUserSecretARN, err = m.masterSecretARN(ctx, identifier); err != nil {
			return State{}, err
		}
	}
	return st, nil
}

// Update brings the cluster to spec in place, from what it is now. The caller replaces
// the cluster for changes RDS cannot make (identifier, subnet group, KMS
// key, master user name, moving between two global clusters).
func (m *Manager) Update(ctx context.Context, spec Spec) (State, error) {
	spec = spec.withDefaults()
	if err := spec.Validate(); err != nil {
		return State{}, err
	}
	cur, err := m.Read(ctx, spec.Identifier)
	if err != nil {
		return State{}, err
	}

	mod := &rds.ModifyDBClusterInput{DBClusterIdentifier: aws.String(spec.Identifier), ApplyImmediately: aws.Bool(true)}
	changed := false
	if spec.EngineVersion != "" && spec.EngineVersion != cur.EngineVersion {
		mod.EngineVersion = aws.String(spec.EngineVersion)
		mod.AllowMajorVersionUpgrade = aws.Bool(major(spec.EngineVersion) != major(cur.EngineVersion))
		changed = true
	}
	if spec.DeletionProtection != cur.DeletionProtection {
		mod.DeletionProtection = aws.Bool(spec.DeletionProtection)
		changed = true
	}
	// Before any instance becomes db.serverless, which RDS refuses on a
	// cluster without a capacity range.
	if spec.serverless() && (spec.ServerlessMinCapacity != cur.ServerlessMinCapacity || spec.ServerlessMaxCapacity != cur.ServerlessMaxCapacity) {
		mod.ServerlessV2ScalingConfiguration = spec.scaling()
		changed = true
	}
	// RDS cannot move a cluster to another subnet group; only the group
	// made from SubnetIDs follows them.
	if spec.DBSubnetGroupName == "" && cur.DBSubnetGroupName == spec.Identifier {
		if _, err := m.ensureSubnetGroup(ctx, spec, ""); err != nil {
			return State{}, err
		}
	}
	securityGroups, err := m.securityGroups(ctx, spec, cur.DBSubnetGroupName)
	if err != nil {
		return State{}, err
	}
	have := cur.SecurityGroupIDs
	if cur.DatabaseSecurityGroupID != "" {
		have = append(slices.Clone(have), cur.DatabaseSecurityGroupID)
	}
	if want := sortedCopy(securityGroups); len(want) > 0 && !slices.Equal(want, sortedCopy(have)) {
		mod.VpcSecurityGroupIds = want
		changed = true
	}
	if changed {
		if _, err := m.RDS.ModifyDBCluster(ctx, mod); err != nil {
			return State{}, fmt.Errorf("modify cluster %s: %w", spec.Identifier, err)
		}
		if err := m.waitModified(ctx, spec.Identifier, func(c rdstypes.DBCluster) bool {
			return mod.EngineVersion == nil || aws.ToString(c.EngineVersion) == spec.EngineVersion
		}); err != nil {
			return State{}, err
		}
	}

	if err := m.reconcileInstances(ctx, spec, cur); err != nil {
		return State{}, err
	}

	if spec.GlobalClusterIdentifier != cur.GlobalClusterIdentifier {
		if cur.GlobalClusterIdentifier != "" {
			if err := m.leaveGlobal(ctx, cur.GlobalClusterIdentifier, cur.ARN); err != nil {
				return State{}, err
			}
		}
		if g := spec.GlobalClusterIdentifier; g != "" {
			if _, err := m.globalCluster(ctx, g); err == nil {
				return State{}, fmt.Errorf("global cluster %s already exists; an existing cluster can only start a new global database, not join one (replace the cluster to join as a secondary)", g)
			} else if !errors.Is(err, ErrNotFound) {
				return State{}, err
			}
			// RDS does not manage the master password of a cluster in a
			// global database: management is turned off first, with a new
			// password kept in a secret of our own.
			if cur.MasterUserSecretARN != "" {
				if err := m.unmanageMasterPassword(ctx, spec); err != nil {
					return State{}, err
				}
			}
			_, err := m.RDS.CreateGlobalCluster(ctx, &rds.CreateGlobalClusterInput{
				GlobalClusterIdentifier:   aws.String(g),
				SourceDBClusterIdentifier: aws.String(cur.ARN),
				DeletionProtection:        aws.Bool(spec.DeletionProtection),
			})
			if err != nil {
				return State{}, fmt.Errorf("create global cluster %s from %s: %w", g, spec.Identifier, err)
			}
		} else if err := m.manageMasterPassword(ctx, spec); err != nil {
			return State{}, err
		}
	}
	return m.Read(ctx, spec.Identifier)
}

// unmanageMasterPassword hands the master password from RDS to a secret of
// our own, as a cluster joining a global database needs.
func (m *Manager) unmanageMasterPassword(ctx context.Context, spec Spec) error {
	password, err := m.putMasterSecret(ctx, spec)
	if err != nil {
		return err
	}
	_, err = m.RDS.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier:      aws.String(spec.Identifier),
		ManageMasterUserPassword: aws.Bool(false),
		MasterUserPassword:       aws.String(password),
		ApplyImmediately:         aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("stop RDS managing the master password of %s: %w", spec.Identifier, err)
	}
	return m.waitModified(ctx, spec.Identifier, func(c rdstypes.DBCluster) bool { return c.MasterUserSecret == nil })
}

// manageMasterPassword gives the master password of a cluster that left its
// global database back to RDS and deletes our secret.
func (m *Manager) manageMasterPassword(ctx context.Context, spec Spec) error {
	if err := m.waitModified(ctx, spec.Identifier, func(rdstypes.DBCluster) bool { return true }); err != nil {
		return err
	}
	_, err := m.RDS.ModifyDBCluster(ctx, &rds.ModifyDBClusterInput{
		DBClusterIdentifier:      aws.String(spec.Identifier),
		ManageMasterUserPassword: aws.Bool(true),
		ApplyImmediately:         aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("let RDS manage the master password of %s: %w", spec.Identifier, err)
	}
	if err := m.waitModified(ctx, spec.Identifier, func(c rdstypes.DBCluster) bool { return c.MasterUserSecret != nil }); err != nil {
		return err
	}
	return m.deleteMasterSecret(ctx, spec.Identifier)
}

// reconcileInstances brings the instance class and reader count to spec:
// missing instances are created, surplus readers (highest numbers first)
// deleted, and instances of another class modified.
func (m *Manager) reconcileInstances(ctx context.Context, spec Spec, cur State) error {
	want := 1 + spec.ReaderCount
	have := cur.Instances
	used := map[int]bool{}
	for _, in := range have {
		used[instanceNumber(in.Identifier)] = true
	}
	for n := 1; len(have) < want; n++ {
		if used[n] {
			continue
		}
		if err := m.createInstance(ctx, spec, n); err != nil {
			return err
		}
		used[n] = true
		have = append(have, Instance{Identifier: instanceID(spec.Identifier, n), Class: spec.InstanceClass})
	}
	if surplus := len(have) - want; surplus > 0 {
		readers := []Instance{}
		for _, in := range have {
			if !in.Writer {
				readers = append(readers, in)
			}
		}
		sort.Slice(readers, func(i, j int) bool {
			return instanceNumber(readers[i].Identifier) > instanceNumber(readers[j].Identifier)
		})
		for _, in := range readers[:min(surplus, len(readers))] {
			if err := m.deleteInstance(ctx, in.Identifier); err != nil {
				return err
			}
			have = slices.DeleteFunc(have, func(x Instance) bool { return x.Identifier == in.Identifier })
		}
	}
	modified := false
	for _, in := range have {
		if in.Class != spec.InstanceClass {
			_, err := m.RDS.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
				DBInstanceIdentifier: aws.String(in.Identifier),
				DBInstanceClass:      aws.String(spec.InstanceClass),
				ApplyImmediately:     aws.Bool(true),
			})
			if err != nil {
				return fmt.Errorf("modify instance %s: %w", in.Identifier, err)
			}
			modified = true
		}
	}
	if modified {
		if err := sleep(ctx, m.modifyDelay()); err != nil {
			return err
		}
	}
	return m.waitInstances(ctx, spec.Identifier, spec.InstanceClass)
}

// Delete removes the instances, leaves any global database (deleting the
// global cluster once it has no members), then deletes the cluster. A
// cluster already gone is not an error.
func (m *Manager) Delete(ctx context.Context, spec Spec) error {
	cur, err := m.Read(ctx, spec.Identifier)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.DeletionProtection {
		return fmt.Errorf("cluster %s has deletion protection on; set deletion_protection = false and apply before destroying it", spec.Identifier)
	}
	for _, in := range cur.Instances {
		if err := m.deleteInstance(ctx, in.Identifier); err != nil {
			return err
		}
	}
	if err := m.waitInstancesGone(ctx, spec.Identifier); err != nil {
		return err
	}
	if cur.GlobalClusterIdentifier != "" {
		if err := m.leaveGlobal(ctx, cur.GlobalClusterIdentifier, cur.ARN); err != nil {
			return err
		}
	}
	in := &rds.DeleteDBClusterInput{DBClusterIdentifier: aws.String(spec.Identifier), SkipFinalSnapshot: aws.Bool(spec.FinalSnapshotIdentifier == "")}
	if spec.FinalSnapshotIdentifier != "" {
		in.FinalDBSnapshotIdentifier = aws.String(spec.FinalSnapshotIdentifier)
	}
	if _, err := m.RDS.DeleteDBCluster(ctx, in); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete cluster %s: %w", spec.Identifier, err)
	}
	err = m.wait(ctx, "deletion of cluster "+spec.Identifier, func(ctx context.Context) (bool, error) {
		_, err := m.cluster(ctx, spec.Identifier)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return err
	}
	if cur.DBSubnetGroupName == spec.Identifier {
		if err := m.deleteSubnetGroup(ctx, spec.Identifier); err != nil {
			return err
		}
	}
	if cur.DatabaseSecurityGroupID != "" {
		if err := m.deleteSecurityGroup(ctx, cur.DatabaseSecurityGroupID); err != nil {
			return err
		}
	}
	return m.deleteMasterSecret(ctx, spec.Identifier)
}

// leaveGlobal detaches the cluster and deletes the global cluster when it
// was the last member, so destroying every region leaves nothing behind.
func (m *Manager) leaveGlobal(ctx context.Context, global, clusterARN string) error {
	_, err := m.RDS.RemoveFromGlobalCluster(ctx, &rds.RemoveFromGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(global),
		DbClusterIdentifier:     aws.String(clusterARN),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove cluster from global cluster %s: %w", global, err)
	}
	gc, err := m.globalCluster(ctx, global)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(gc.GlobalClusterMembers) == 0 {
		if _, err := m.RDS.DeleteGlobalCluster(ctx, &rds.DeleteGlobalClusterInput{GlobalClusterIdentifier: aws.String(global)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete global cluster %s: %w", global, err)
		}
	}
	return nil
}

func (m *Manager) createInstance(ctx context.Context, spec Spec, n int) error {
	id := instanceID(spec.Identifier, n)
	_, err := m.RDS.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id),
		DBClusterIdentifier:  aws.String(spec.Identifier),
		Engine:               aws.String(Engine),
		DBInstanceClass:      aws.String(spec.InstanceClass),
		Tags:                 spec.tags(),
	})
	if awsx.ErrorCode(err) == "DBInstanceAlreadyExists" {
		// A retried create whose first answer was lost.
		insts, lerr := m.instances(ctx, spec.Identifier)
		if lerr != nil {
			return lerr
		}
		for _, in := range insts {
			if aws.ToString(in.DBInstanceIdentifier) == id {
				return nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("create instance %s: %w", id, err)
	}
	return nil
}

func (m *Manager) deleteInstance(ctx context.Context, id string) error {
	_, err := m.RDS.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(true)})
	if err != nil && !isNotFound(err) && !isInvalidState(err) {
		return fmt.Errorf("delete instance %s: %w", id, err)
	}
	return nil
}

func (m *Manager) cluster(ctx context.Context, id string) (rdstypes.DBCluster, error) {
	out, err := m.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(id)})
	if isNotFound(err) {
		return rdstypes.DBCluster{}, ErrNotFound
	}
	if err != nil {
		return rdstypes.DBCluster{}, fmt.Errorf("describe cluster %s: %w", id, err)
	}
	if len(out.DBClusters) == 0 || aws.ToString(out.DBClusters[0].Status) == "deleting" {
		return rdstypes.DBCluster{}, ErrNotFound
	}
	return out.DBClusters[0], nil
}

func (m *Manager) instances(ctx context.Context, cluster string) ([]rdstypes.DBInstance, error) {
	var out []rdstypes.DBInstance
	p := rds.NewDescribeDBInstancesPaginator(m.RDS, &rds.DescribeDBInstancesInput{
		Filters: []rdstypes.Filter{{Name: aws.String("db-cluster-id"), Values: []string{cluster}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances of %s: %w", cluster, err)
		}
		for _, in := range page.DBInstances {
			// The filter is applied client-side too, in case an emulator
			// ignores it.
			if aws.ToString(in.DBClusterIdentifier) == cluster {
				out = append(out, in)
			}
		}
	}
	return out, nil
}

func (m *Manager) globalCluster(ctx context.Context, id string) (rdstypes.GlobalCluster, error) {
	out, err := m.RDS.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(id)})
	if isNotFound(err) {
		return rdstypes.GlobalCluster{}, ErrNotFound
	}
	if err != nil {
		return rdstypes.GlobalCluster{}, fmt.Errorf("describe global cluster %s: %w", id, err)
	}
	// Matched here as well: moto ignores the identifier and lists them all.
	for _, gc := range out.GlobalClusters {
		if aws.ToString(gc.GlobalClusterIdentifier) == id {
			return gc, nil
		}
	}
	return rdstypes.GlobalCluster{}, ErrNotFound
}

// membership finds the global cluster listing clusterARN. Membership is
// read from the global clusters rather than the cluster's own field, which
// differs between RDS (an identifier) and emulators (an ARN).
func (m *Manager) membership(ctx context.Context, clusterARN string) (string, bool, error) {
	p := rds.NewDescribeGlobalClustersPaginator(m.RDS, &rds.DescribeGlobalClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", false, fmt.Errorf("describe global clusters: %w", err)
		}
		for _, gc := range page.GlobalClusters {
			for _, mem := range gc.GlobalClusterMembers {
				if aws.ToString(mem.DBClusterArn) == clusterARN {
					return aws.ToString(gc.GlobalClusterIdentifier), aws.ToBool(mem.IsWriter), nil
				}
			}
		}
	}
	return "", false, nil
}

// waitModified waits until a modification has been applied: RDS may still
// report "available", with nothing pending, before it starts one, so the
// first check waits ModifyDelay (as terraform-provider-aws does), and the
// cluster must then be available with no pending modified values and
// satisfy applied.
func (m *Manager) waitModified(ctx context.Context, id string, applied func(rdstypes.DBCluster) bool) error {
	if err := sleep(ctx, m.modifyDelay()); err != nil {
		return err
	}
	return m.wait(ctx, "modification of cluster "+id, func(ctx context.Context) (bool, error) {
		c, err := m.cluster(ctx, id)
		if err != nil {
			return false, err
		}
		return aws.ToString(c.Status) == "available" && isZero(c.PendingModifiedValues) && applied(c), nil
	})
}

func (m *Manager) waitCluster(ctx context.Context, id string) error {
	return m.wait(ctx, "cluster "+id+" to become available", func(ctx context.Context) (bool, error) {
		c, err := m.cluster(ctx, id)
		if err != nil {
			return false, err
		}
		return aws.ToString(c.Status) == "available", nil
	})
}

// waitInstances waits until every instance is available, with no pending
// modified values and of class (when set).
func (m *Manager) waitInstances(ctx context.Context, cluster, class string) error {
	return m.wait(ctx, "instances of "+cluster+" to become available", func(ctx context.Context) (bool, error) {
		insts, err := m.instances(ctx, cluster)
		if err != nil {
			return false, err
		}
		for _, in := range insts {
			s := aws.ToString(in.DBInstanceStatus)
			if s == "deleting" {
				continue
			}
			if s != "available" || !isZero(in.PendingModifiedValues) || (class != "" && aws.ToString(in.DBInstanceClass) != class) {
				return false, nil
			}
		}
		return true, nil
	})
}

func (m *Manager) waitInstancesGone(ctx context.Context, cluster string) error {
	return m.wait(ctx, "instances of "+cluster+" to be deleted", func(ctx context.Context) (bool, error) {
		insts, err := m.instances(ctx, cluster)
		return len(insts) == 0, err
	})
}

// wait polls done with a doubling interval until it reports true, fails,
// or the timeout passes.
func (m *Manager) wait(ctx context.Context, what string, done func(context.Context) (bool, error)) error {
	interval, timeout := m.PollInterval, m.Timeout
	if interval == 0 {
		interval = 5 * time.Second
	}
	if timeout == 0 {
		timeout = 90 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
		interval = min(2*interval, time.Minute)
	}
}

func (m *Manager) modifyDelay() time.Duration {
	if m.ModifyDelay == 0 {
		return 30 * time.Second
	}
	return m.ModifyDelay
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// isZero reports whether a PendingModifiedValues pointer is nil or holds
// nothing.
func isZero[T any](p *T) bool { return p == nil || reflect.ValueOf(*p).IsZero() }

func instanceID(cluster string, n int) string { return cluster + "-" + strconv.Itoa(n) }

// instanceNumber returns n of <cluster>-<n>, or a large number for an
// instance named otherwise (created outside this package), so those sort
// last and are removed first.
func instanceNumber(id string) int {
	i := strings.LastIndexByte(id, '-')
	n, err := strconv.Atoi(id[i+1:])
	if i < 0 || err != nil {
		return 1 << 20
	}
	return n
}

func major(v string) string { m, _, _ := strings.Cut(v, "."); return m }

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func isNotFound(err error) bool {
	var c *rdstypes.DBClusterNotFoundFault
	var i *rdstypes.DBInstanceNotFoundFault
	var g *rdstypes.GlobalClusterNotFoundFault
	return errors.As(err, &c) || errors.As(err, &i) || errors.As(err, &g)
}

func isInvalidState(err error) bool {
	var i *rdstypes.InvalidDBInstanceStateFault
	return errors.As(err, &i)
}
