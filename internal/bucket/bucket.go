// Package bucket manages a service's own S3 bucket: public access blocked,
// encrypted at rest, versioning optional, and a bucket policy that denies
// every principal but the service's task role and the deployer, so another
// service cannot use it even with broad IAM rights of its own.
//
// The policy denies by condition (aws:PrincipalArn) rather than by
// NotPrincipal: a role session's aws:PrincipalArn is the role's ARN, so the
// task role's every session (and a pre-signed URL, which is signed by one)
// passes, while NotPrincipal would have to name each session.
package bucket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/iampolicy"
)

// Ownership tags mark a bucket this package created, so an interrupted
// create is adopted and a stranger's bucket is refused.
const (
	ManagedByKey   = "pivot:managed-by"
	ManagedByValue = "terraform-provider-pivot"
)

// Sids of the statements the bucket policy holds.
const (
	SidDenyOthers   = "DenyAllButServiceAndDeployer"
	SidDenyInsecure = "DenyInsecureTransport"
)

// ErrNotOurs means a bucket of that name exists but this package did not
// create it (or it is another account's).
var ErrNotOurs = errors.New("bucket exists and is not managed by pivot")

// Spec is the bucket wanted.
type Spec struct {
	Name        string
	Environment string
	Service     string
	// TaskRoleARN is the one role that may use the bucket's objects.
	TaskRoleARN string
	// Deployers may manage the bucket (the roles Terraform runs as).
	Deployers  []string
	Versioning bool
	Tags       map[string]string
	// Owned says the bucket is already the caller's (Terraform's state holds
	// it, e.g. after an import), so it is taken over whatever its tags.
	Owned bool
}

// State is the bucket as read.
type State struct {
	Name                string
	ARN                 string
	Versioning          bool
	PublicAccessBlocked bool
	Encrypted           bool
	// Allowed are the principals the policy's deny spares, in order.
	Allowed []string
	Policy  string
	Tags    map[string]string
}

// Client manages buckets in one account and region.
type Client struct {
	s3        *s3.Client
	region    string
	partition string
}

// New returns a Client acting with cfg.
func New(cfg aws.Config) *Client {
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		// Endpoint overrides (the local stack) serve buckets by path, not
		// by host name.
		if cfg.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
	})
	return &Client{s3: client, region: cfg.Region, partition: awsx.Partition(cfg.Region)}
}

// ARN returns a bucket's ARN.
func (c *Client) ARN(name string) string { return "arn:" + c.partition + ":s3:::" + name }

// Policy is the bucket policy of spec: deny every action on the bucket and
// its objects to any principal other than the task role and the deployers,
// and deny plain HTTP.
func Policy(partition, name string, allowed []string) iampolicy.Document {
	arn := "arn:" + partition + ":s3:::" + name
	resources := iampolicy.OneOrMany[string]{arn, arn + "/*"}
	return iampolicy.Document{Statement: []iampolicy.Statement{
		{
			Sid: SidDenyOthers, Effect: "Deny", Principal: &iampolicy.Principals{Any: true},
			Action: iampolicy.OneOrMany[string]{"s3:*"}, Resource: resources,
			Condition: map[string]map[string]iampolicy.OneOrMany[string]{"ArnNotEquals": {"aws:PrincipalArn": allowed}},
		},
		{
			Sid: SidDenyInsecure, Effect: "Deny", Principal: &iampolicy.Principals{Any: true},
			Action: iampolicy.OneOrMany[string]{"s3:*"}, Resource: resources,
			Condition: map[string]map[string]iampolicy.OneOrMany[string]{"Bool": {"aws:SecureTransport": {"false"}}},
		},
	}}
}

// PolicyJSON renders Policy with a Version.
func PolicyJSON(partition, name string, allowed []string) string {
	doc := Policy(partition, name, allowed)
	b, _ := json.Marshal(struct {
		Version   string
		Statement []iampolicy.Statement
	}{"2012-10-17", doc.Statement})
	return string(b)
}

// Allowed lists the principals spec's policy spares: the task role first,
// then the deployers, without duplicates.
func (s Spec) Allowed() []string {
	out := []string{s.TaskRoleARN}
	for _, d := range s.Deployers {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func (s Spec) tags() map[string]string {
	out := maps.Clone(s.Tags)
	if out == nil {
		out = map[string]string{}
	}
	out[ManagedByKey] = ManagedByValue
	out["pivot:environment"] = s.Environment
	out["pivot:service"] = s.Service
	return out
}

// Validate checks what the API would refuse, before any call.
func (s Spec) Validate() []string {
	var problems []string
	if n := len(s.Name); n < 3 || n > 63 {
		problems = append(problems, fmt.Sprintf("bucket name %q must be 3 to 63 characters long", s.Name))
	}
	for _, r := range s.Name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			problems = append(problems, fmt.Sprintf("bucket name %q may hold only lowercase letters, digits, hyphens and dots", s.Name))
			break
		}
	}
	if s.Name != "" && (strings.HasPrefix(s.Name, "-") || strings.HasSuffix(s.Name, "-") || strings.HasPrefix(s.Name, ".") || strings.HasSuffix(s.Name, ".")) {
		problems = append(problems, fmt.Sprintf("bucket name %q must begin and end with a letter or digit", s.Name))
	}
	if s.TaskRoleARN != "" && !strings.Contains(s.TaskRoleARN, ":role/") {
		problems = append(problems, fmt.Sprintf("task role %q is not a role ARN", s.TaskRoleARN))
	}
	return problems
}

// Ensure creates the bucket or adopts the one an interrupted run left
// (ours by its tags), then makes every setting what spec says.
func (c *Client) Ensure(ctx context.Context, spec Spec) (*State, error) {
	tags, exists, err := c.tags(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	if exists && !spec.Owned && tags[ManagedByKey] != ManagedByValue {
		return nil, fmt.Errorf("%w: %s (import it with the ID %q, or choose another name)", ErrNotOurs, spec.Name, spec.Name)
	}
	if !exists {
		// Tagged as it is created, so a run killed right after the create
		// still finds the bucket ours. (Moto ignores tags here; the
		// PutBucketTagging below covers it.)
		in := &s3.CreateBucketInput{Bucket: aws.String(spec.Name), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{Tags: s3Tags(spec.tags())}}
		if c.region != "us-east-1" {
			in.CreateBucketConfiguration.LocationConstraint = s3types.BucketLocationConstraint(c.region)
		}
		if _, err := c.s3.CreateBucket(ctx, in); err != nil {
			var owned *s3types.BucketAlreadyOwnedByYou
			var taken *s3types.BucketAlreadyExists
			switch {
			case errors.As(err, &taken):
				return nil, fmt.Errorf("%w: %s belongs to another account (bucket names are global; choose another name)", ErrNotOurs, spec.Name)
			case errors.As(err, &owned):
				// It was not there when we looked, so it is this call's own,
				// retried after a response that was lost: carry on (the
				// tags below make it ours).
			default:
				return nil, fmt.Errorf("create bucket %s: %w", spec.Name, err)
			}
		}
	}
	// Tags first: a run interrupted after this point finds the bucket ours.
	if err := c.putTags(ctx, spec.Name, spec.tags()); err != nil {
		return nil, err
	}
	if _, err := c.s3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{
		Bucket: aws.String(spec.Name),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true),
			BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true),
		},
	}); err != nil {
		return nil, fmt.Errorf("block public access to bucket %s: %w", spec.Name, err)
	}
	if _, err := c.s3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{
		Bucket: aws.String(spec.Name),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			BucketKeyEnabled:                   aws.Bool(true),
		}}},
	}); err != nil {
		return nil, fmt.Errorf("encrypt bucket %s: %w", spec.Name, err)
	}
	if err := c.putVersioning(ctx, spec.Name, spec.Versioning, exists); err != nil {
		return nil, err
	}
	if spec.TaskRoleARN != "" {
		if _, err := c.s3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{
			Bucket: aws.String(spec.Name), Policy: aws.String(PolicyJSON(c.partition, spec.Name, spec.Allowed())),
		}); err != nil {
			return nil, fmt.Errorf("put policy of bucket %s: %w", spec.Name, err)
		}
	}
	return c.Read(ctx, spec.Name)
}

func (c *Client) putVersioning(ctx context.Context, name string, on, existed bool) error {
	status := s3types.BucketVersioningStatusEnabled
	if !on {
		if !existed {
			// A new bucket is unversioned; "Suspended" would only add noise.
			return nil
		}
		cur, err := c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
		if err != nil {
			return fmt.Errorf("read versioning of bucket %s: %w", name, err)
		}
		if cur.Status != s3types.BucketVersioningStatusEnabled {
			return nil
		}
		// A versioned bucket can only be suspended, never unversioned.
		status = s3types.BucketVersioningStatusSuspended
	}
	if _, err := c.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket: aws.String(name), VersioningConfiguration: &s3types.VersioningConfiguration{Status: status},
	}); err != nil {
		return fmt.Errorf("set versioning of bucket %s: %w", name, err)
	}
	return nil
}

// Read returns the bucket's state, or nil when it does not exist.
func (c *Client) Read(ctx context.Context, name string) (*State, error) {
	tags, exists, err := c.tags(ctx, name)
	if err != nil || !exists {
		return nil, err
	}
	st := &State{Name: name, ARN: c.ARN(name), Tags: tags}
	v, err := c.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("read versioning of bucket %s: %w", name, err)
	}
	st.Versioning = v.Status == s3types.BucketVersioningStatusEnabled
	pab, err := c.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		p := pab.PublicAccessBlockConfiguration
		st.PublicAccessBlocked = p != nil && aws.ToBool(p.BlockPublicAcls) && aws.ToBool(p.IgnorePublicAcls) &&
			aws.ToBool(p.BlockPublicPolicy) && aws.ToBool(p.RestrictPublicBuckets)
	case !isCode(err, "NoSuchPublicAccessBlockConfiguration"):
		return nil, fmt.Errorf("read public access block of bucket %s: %w", name, err)
	}
	enc, err := c.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		st.Encrypted = enc.ServerSideEncryptionConfiguration != nil && len(enc.ServerSideEncryptionConfiguration.Rules) > 0
	case !isCode(err, "ServerSideEncryptionConfigurationNotFoundError"):
		return nil, fmt.Errorf("read encryption of bucket %s: %w", name, err)
	}
	pol, err := c.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		st.Policy = aws.ToString(pol.Policy)
		st.Allowed = allowedIn(st.Policy)
	case !isCode(err, "NoSuchBucketPolicy"):
		return nil, fmt.Errorf("read policy of bucket %s: %w", name, err)
	}
	return st, nil
}

// allowedIn returns the principals the deny statement spares.
func allowedIn(policy string) []string {
	doc, err := iampolicy.Parse(policy)
	if err != nil {
		return nil
	}
	for _, s := range doc.Statement {
		if s.Sid == SidDenyOthers {
			return s.Condition["ArnNotEquals"]["aws:PrincipalArn"]
		}
	}
	return nil
}

// Delete removes the bucket. With force, its objects (every version) go
// first; without, a bucket that holds objects is refused by S3 and the
// error says so. A missing bucket is not an error.
func (c *Client) Delete(ctx context.Context, name string, force bool) error {
	if force {
		if err := c.empty(ctx, name); err != nil {
			return err
		}
	}
	_, err := c.s3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	switch {
	case err == nil, isCode(err, "NoSuchBucket"):
		return nil
	case isCode(err, "BucketNotEmpty"):
		return fmt.Errorf("delete bucket %s: it still holds objects; empty it, or set force_destroy and apply before destroying", name)
	}
	return fmt.Errorf("delete bucket %s: %w", name, err)
}

func (c *Client) empty(ctx context.Context, name string) error {
	pages := s3.NewListObjectVersionsPaginator(c.s3, &s3.ListObjectVersionsInput{Bucket: aws.String(name)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if isCode(err, "NoSuchBucket") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list objects of bucket %s: %w", name, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(name), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("empty bucket %s: %w", name, err)
		}
	}
	return nil
}

// tags returns the bucket's tags and whether it exists in this account.
func (c *Client) tags(ctx context.Context, name string) (map[string]string, bool, error) {
	out, err := c.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)})
	switch {
	case err == nil:
		tags := map[string]string{}
		for _, t := range out.TagSet {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return tags, true, nil
	case isCode(err, "NoSuchTagSet"):
		return map[string]string{}, true, nil
	case isCode(err, "NoSuchBucket"):
		return nil, false, nil
	case isCode(err, "AccessDenied"):
		// Another account's bucket answers AccessDenied.
		return map[string]string{}, true, nil
	}
	return nil, false, fmt.Errorf("read tags of bucket %s: %w", name, err)
}

func s3Tags(tags map[string]string) []s3types.Tag {
	set := make([]s3types.Tag, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		set = append(set, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return set
}

func (c *Client) putTags(ctx context.Context, name string, tags map[string]string) error {
	if _, err := c.s3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(name), Tagging: &s3types.Tagging{TagSet: s3Tags(tags)}}); err != nil {
		return fmt.Errorf("tag bucket %s: %w", name, err)
	}
	return nil
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return err != nil && errors.As(err, &ae) && ae.ErrorCode() == code
}

// DeployerARN returns the principal cfg acts as, in the form the bucket
// policy's aws:PrincipalArn condition sees it: for a role session, the
// role's ARN with its path (read from IAM; the session ARN has no path).
func DeployerARN(ctx context.Context, cfg aws.Config) (string, error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("read caller identity: %w", err)
	}
	arn := aws.ToString(out.Arn)
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || !strings.HasPrefix(parts[5], "assumed-role/") {
		return arn, nil
	}
	role := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")[0]
	if r, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err == nil && r.Role != nil {
		return aws.ToString(r.Role.Arn), nil
	}
	// Without iam:GetRole, assume the role has no path.
	return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + role, nil
}
