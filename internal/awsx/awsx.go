// Package awsx builds AWS SDK configurations for the provider and pivotctl:
// region, endpoint override (the local platform stack), assume-role into
// another account, and an allow-list of accounts. Configurations are built
// lazily and cached per target, because one plan may touch many accounts.
package awsx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultSessionName is used when an assume_role block names no session.
const DefaultSessionName = "pivot"

// Config is the provider-level AWS configuration.
type Config struct {
	Region            string
	Endpoint          string
	AccessKey         string
	SecretKey         string
	SessionToken      string
	Profile           string
	AssumeRole        *AssumeRole
	AllowedAccountIDs []string
	MaxRetries        int
}

// AssumeRole names a role to act through, usually in another account.
type AssumeRole struct {
	RoleARN     string
	ExternalID  string
	SessionName string
}

// Target is a per-resource override: act in another account or region.
// The zero Target means "the provider's own configuration".
type Target struct {
	RoleARN    string
	ExternalID string
	Region     string
}

// Identity is who the SDK acts as.
type Identity struct {
	AccountID string
	ARN       string
	UserID    string
	Region    string
}

// Validate reports configuration mistakes before any call is made.
func (c Config) Validate() error {
	var errs []error
	if c.AssumeRole != nil {
		if err := ValidateRoleARN(c.AssumeRole.RoleARN); err != nil {
			errs = append(errs, fmt.Errorf("assume_role.role_arn: %w", err))
		}
	}
	for _, id := range c.AllowedAccountIDs {
		if !IsAccountID(id) {
			errs = append(errs, fmt.Errorf("allowed_account_ids: %q is not a 12-digit AWS account ID", id))
		}
	}
	if c.Region != "" {
		if err := ValidateRegion(c.Region); err != nil {
			errs = append(errs, fmt.Errorf("region: %w", err))
		}
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, errors.New("access_key and secret_key must be set together"))
	}
	return errors.Join(errs...)
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ValidateRoleARN checks the shape arn:<partition>:iam::<account>:role/<name>.
func ValidateRoleARN(arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !IsAccountID(parts[4]) || !strings.HasPrefix(parts[5], "role/") || len(parts[5]) <= len("role/") {
		return fmt.Errorf("%q is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>", arn)
	}
	return nil
}

// AccountOfRoleARN returns the account ID embedded in a role ARN.
func AccountOfRoleARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return ""
	}
	return parts[4]
}

// Sessions hands out aws.Config values per target, building each once.
type Sessions struct {
	cfg Config

	mu    sync.Mutex
	cache map[Target]*session
}

type session struct {
	once sync.Once
	cfg  aws.Config
	err  error
}

// NewSessions returns a lazy session cache. Nothing is called until For.
func NewSessions(cfg Config) *Sessions {
	return &Sessions{cfg: cfg, cache: map[Target]*session{}}
}

// Config returns the provider-level configuration.
func (s *Sessions) Config() Config { return s.cfg }

// For returns the SDK configuration for a target, assuming its role if set.
func (s *Sessions) For(ctx context.Context, t Target) (aws.Config, error) {
	s.mu.Lock()
	sess, ok := s.cache[t]
	if !ok {
		sess = &session{}
		s.cache[t] = sess
	}
	s.mu.Unlock()
	sess.once.Do(func() {
		sess.cfg, sess.err = s.build(context.WithoutCancel(ctx), t)
	})
	return sess.cfg, sess.err
}

func (s *Sessions) build(ctx context.Context, t Target) (aws.Config, error) {
	base, err := s.base(ctx, t.Region)
	if err != nil {
		return aws.Config{}, err
	}
	role := s.cfg.AssumeRole
	if t.RoleARN != "" {
		if err := ValidateRoleARN(t.RoleARN); err != nil {
			return aws.Config{}, fmt.Errorf("target.role_arn: %w", err)
		}
		role = &AssumeRole{RoleARN: t.RoleARN, ExternalID: t.ExternalID}
		if s.cfg.AssumeRole != nil {
			// The provider's own role is the hop into the organisation; the
			// target role is assumed from there.
			hop, err := s.For(ctx, Target{Region: t.Region})
			if err != nil {
				return aws.Config{}, err
			}
			base = hop.Copy()
		}
	}
	if role != nil {
		if err := s.checkAllowed(AccountOfRoleARN(role.RoleARN)); err != nil {
			return aws.Config{}, err
		}
		name := role.SessionName
		if name == "" {
			name = DefaultSessionName
		}
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), role.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = name
			if role.ExternalID != "" {
				o.ExternalID = aws.String(role.ExternalID)
			}
		})
		base.Credentials = aws.NewCredentialsCache(provider)
		if _, err := base.Credentials.Retrieve(ctx); err != nil {
			return aws.Config{}, fmt.Errorf("assume role %s: %w", role.RoleARN, err)
		}
	}
	return base, nil
}

func (s *Sessions) base(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{}
	if region == "" {
		region = s.cfg.Region
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if s.cfg.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(s.cfg.Endpoint))
	}
	if s.cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(s.cfg.Profile))
	}
	if s.cfg.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.cfg.AccessKey, s.cfg.SecretKey, s.cfg.SessionToken)))
	}
	opts = append(opts, config.WithRetryer(Retryer(s.cfg.MaxRetries)))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("no AWS region: set aws.region in the provider block or AWS_REGION")
	}
	return cfg, nil
}

func (s *Sessions) checkAllowed(account string) error {
	if len(s.cfg.AllowedAccountIDs) == 0 || slices.Contains(s.cfg.AllowedAccountIDs, account) {
		return nil
	}
	return fmt.Errorf("account %s is not in allowed_account_ids %v; add it there or target another account", account, s.cfg.AllowedAccountIDs)
}

// CallerIdentity asks STS who a configuration acts as, and enforces the
// allow-list on the answer.
func (s *Sessions) CallerIdentity(ctx context.Context, t Target) (Identity, error) {
	cfg, err := s.For(ctx, t)
	if err != nil {
		return Identity{}, err
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("get caller identity: %w", err)
	}
	id := Identity{
		AccountID: aws.ToString(out.Account),
		ARN:       aws.ToString(out.Arn),
		UserID:    aws.ToString(out.UserId),
		Region:    cfg.Region,
	}
	if err := s.checkAllowed(id.AccountID); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// Partition is the AWS partition of a region: aws-cn and aws-us-gov have
// ARNs of their own.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
