package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// A service's own image repository, in the registry account: scan on push,
// immutable tags, a lifecycle policy that keeps every tag a release names,
// and pull granted to the accounts that deploy the service (statement
// DeploySid; the tenants' grant, Sid, is pivot_registry_access's).

// DeploySid names the statement that grants the deploying accounts pull.
const DeploySid = "PivotDeployPull"

// Ownership tags mark a repository this package created.
const (
	ManagedByKey   = "pivot:managed-by"
	ManagedByValue = "terraform-provider-pivot"
)

// ErrNotOurs means a repository of that name exists but was not created by
// pivot.
var ErrNotOurs = errors.New("repository exists and is not managed by pivot")

// RepositorySpec is the repository wanted.
type RepositorySpec struct {
	Name         string
	Service      string
	ScanOnPush   bool
	MutableTags  bool
	KeepTags     []string
	KeepLast     int
	UntaggedDays int
	PullAccounts []string
	Tags         map[string]string
	// Owned says the repository is already the caller's (Terraform's state
	// holds it, e.g. after an import), so it is taken over whatever its tags.
	Owned bool
}

// Repository is a repository as read.
type Repository struct {
	Name            string
	ARN             string
	URI             string
	ScanOnPush      bool
	MutableTags     bool
	LifecyclePolicy string
	PullAccounts    []string
	Tags            map[string]string
}

func (s RepositorySpec) tags() map[string]string {
	out := maps.Clone(s.Tags)
	if out == nil {
		out = map[string]string{}
	}
	out[ManagedByKey] = ManagedByValue
	if s.Service != "" {
		out["pivot:service"] = s.Service
	}
	return out
}

// EnsureRepository creates the repository, or adopts the one an
// interrupted run left (ours by its tags), and sets every setting.
func (c *Client) EnsureRepository(ctx context.Context, spec RepositorySpec) (*Repository, error) {
	policy, err := NewLifecyclePolicy(spec.KeepTags, spec.KeepLast, spec.UntaggedDays)
	if err != nil {
		return nil, err
	}
	mutability := ecrtypes.ImageTagMutabilityImmutable
	if spec.MutableTags {
		mutability = ecrtypes.ImageTagMutabilityMutable
	}
	repo, err := c.describe(ctx, spec.Name)
	if err != nil {
		return nil, err
	}
	if repo == nil {
		out, err := c.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{
			RepositoryName:             aws.String(spec.Name),
			ImageTagMutability:         mutability,
			ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: spec.ScanOnPush},
			Tags:                       ecrTags(spec.tags()),
		})
		var exists *ecrtypes.RepositoryAlreadyExistsException
		switch {
		case errors.As(err, &exists):
			if repo, err = c.describe(ctx, spec.Name); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("create repository %s: %w", spec.Name, err)
		default:
			repo = out.Repository
		}
	}
	if repo == nil {
		return nil, fmt.Errorf("create repository %s: not found after creating it", spec.Name)
	}
	arn := aws.ToString(repo.RepositoryArn)
	tags, err := c.repoTags(ctx, arn)
	if err != nil {
		return nil, err
	}
	if !spec.Owned && tags[ManagedByKey] != ManagedByValue {
		return nil, fmt.Errorf("%w: %s (import it with the ID %q, or choose another name)", ErrNotOurs, spec.Name, spec.Name)
	}
	if _, err := c.ecr.TagResource(ctx, &ecr.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecrTags(spec.tags())}); err != nil {
		return nil, fmt.Errorf("tag repository %s: %w", spec.Name, err)
	}
	if repo.ImageTagMutability != mutability {
		if _, err := c.ecr.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String(spec.Name), ImageTagMutability: mutability}); err != nil {
			return nil, fmt.Errorf("set tag mutability of repository %s: %w", spec.Name, err)
		}
	}
	if sc := repo.ImageScanningConfiguration; sc == nil || sc.ScanOnPush != spec.ScanOnPush {
		if _, err := c.ecr.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
			RepositoryName: aws.String(spec.Name), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: spec.ScanOnPush},
		}); err != nil {
			return nil, fmt.Errorf("set scan on push of repository %s: %w", spec.Name, err)
		}
	}
	if _, err := c.ecr.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(spec.Name), LifecyclePolicyText: aws.String(policy.JSON())}); err != nil {
		return nil, fmt.Errorf("put lifecycle policy of repository %s: %w", spec.Name, err)
	}
	if err := c.grant(ctx, DeploySid, []string{spec.Name}, spec.PullAccounts); err != nil {
		return nil, err
	}
	return c.ReadRepository(ctx, spec.Name)
}

// ReadRepository returns the repository, or nil when it does not exist.
func (c *Client) ReadRepository(ctx context.Context, name string) (*Repository, error) {
	repo, err := c.describe(ctx, name)
	if err != nil || repo == nil {
		return nil, err
	}
	r := &Repository{
		Name: name, ARN: aws.ToString(repo.RepositoryArn), URI: aws.ToString(repo.RepositoryUri),
		MutableTags: repo.ImageTagMutability == ecrtypes.ImageTagMutabilityMutable,
	}
	if sc := repo.ImageScanningConfiguration; sc != nil {
		r.ScanOnPush = sc.ScanOnPush
	}
	if r.Tags, err = c.repoTags(ctx, r.ARN); err != nil {
		return nil, err
	}
	lp, err := c.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	var noPolicy *ecrtypes.LifecyclePolicyNotFoundException
	switch {
	case err == nil:
		r.LifecyclePolicy = aws.ToString(lp.LifecyclePolicyText)
	case !errors.As(err, &noPolicy):
		return nil, fmt.Errorf("get lifecycle policy of repository %s: %w", name, err)
	}
	doc, err := c.policy(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.PullAccounts, err = doc.grantees(DeploySid); err != nil {
		return nil, fmt.Errorf("read policy of repository %s: %w", name, err)
	}
	return r, nil
}

// DeleteRepository deletes the repository; with force, its images too
// (ECR refuses to delete a repository that holds images otherwise). A
// missing repository is not an error.
func (c *Client) DeleteRepository(ctx context.Context, name string, force bool) error {
	_, err := c.ecr.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: force})
	var noRepo *ecrtypes.RepositoryNotFoundException
	var notEmpty *ecrtypes.RepositoryNotEmptyException
	switch {
	case err == nil, errors.As(err, &noRepo):
		return nil
	case errors.As(err, &notEmpty):
		return fmt.Errorf("delete repository %s: it still holds images; set force_delete and apply before destroying, or delete the images", name)
	}
	return fmt.Errorf("delete repository %s: %w", name, err)
}

func (c *Client) describe(ctx context.Context, name string) (*ecrtypes.Repository, error) {
	out, err := c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noRepo):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("describe repository %s: %w", name, err)
	case len(out.Repositories) == 0:
		return nil, nil
	}
	return &out.Repositories[0], nil
}

func (c *Client) repoTags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := c.ecr.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("list tags of repository %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func ecrTags(m map[string]string) []ecrtypes.Tag {
	out := make([]ecrtypes.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}
