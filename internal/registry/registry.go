// Package registry grants tenant accounts pull access to the company's ECR
// registry. A tenant's task execution role, in the tenant's account, may
// pull a company image only if both sides agree: its own policy allows the
// repository (internal/iamscope writes that) and the repository's policy
// allows the tenant's account. This package writes the second half: one
// statement, found by its Sid, in each repository's policy, leaving every
// other statement as it was.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// Sid names the statement this package owns in a repository policy.
const Sid = "PivotTenantPull"

// PullActions are what pulling an image needs on the repository; the
// token (ecr:GetAuthorizationToken) is the puller's own to grant.
var PullActions = []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}

// ErrRepositoryNotFound means a named repository does not exist.
var ErrRepositoryNotFound = errors.New("repository not found")

// Client manages the pull grants of one registry (account and region).
type Client struct {
	ecr       *ecr.Client
	partition string
}

// New returns a Client acting with cfg, in the registry's account.
func New(cfg aws.Config) *Client {
	return &Client{ecr: ecr.NewFromConfig(cfg), partition: awsx.Partition(cfg.Region)}
}

// Grants returns, for each repository, the accounts the statement grants
// (empty when there is none). A missing repository is absent from the map.
func (c *Client) Grants(ctx context.Context, repositories []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, repo := range repositories {
		doc, err := c.policy(ctx, repo)
		if errors.Is(err, ErrRepositoryNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		accounts, err := doc.grantees(Sid)
		if err != nil {
			return nil, fmt.Errorf("read policy of repository %s: %w", repo, err)
		}
		out[repo] = accounts
	}
	return out, nil
}

// Grant makes the statement of every repository grant exactly accounts
// (none removes it). Repositories that already do are not written.
func (c *Client) Grant(ctx context.Context, repositories, accounts []string) error {
	return c.grant(ctx, Sid, repositories, accounts)
}

// grant makes the statement sid of every repository grant exactly accounts.
func (c *Client) grant(ctx context.Context, sid string, repositories, accounts []string) error {
	accounts = sortedSet(accounts)
	for _, repo := range repositories {
		doc, err := c.policy(ctx, repo)
		if err != nil {
			return err
		}
		have, err := doc.grantees(sid)
		if err != nil {
			return fmt.Errorf("read policy of repository %s: %w", repo, err)
		}
		if slices.Equal(have, accounts) && (len(accounts) > 0 || !doc.has(sid)) {
			continue
		}
		if err := doc.set(sid, c.statement(sid, accounts)); err != nil {
			return fmt.Errorf("edit policy of repository %s: %w", repo, err)
		}
		if err := c.write(ctx, repo, doc); err != nil {
			return err
		}
	}
	return nil
}

// Revoke removes the statement from every repository; a repository already
// gone is not an error.
func (c *Client) Revoke(ctx context.Context, repositories []string) error {
	for _, repo := range repositories {
		doc, err := c.policy(ctx, repo)
		if errors.Is(err, ErrRepositoryNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !doc.has(Sid) {
			continue
		}
		if err := doc.set(Sid, nil); err != nil {
			return fmt.Errorf("edit policy of repository %s: %w", repo, err)
		}
		if err := c.write(ctx, repo, doc); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) statement(sid string, accounts []string) json.RawMessage {
	if len(accounts) == 0 {
		return nil
	}
	principals := make([]string, len(accounts))
	for i, a := range accounts {
		principals[i] = fmt.Sprintf("arn:%s:iam::%s:root", c.partition, a)
	}
	b, _ := json.Marshal(map[string]any{
		"Sid":       sid,
		"Effect":    "Allow",
		"Principal": map[string][]string{"AWS": principals},
		"Action":    PullActions,
	})
	return b
}

func (c *Client) policy(ctx context.Context, repo string) (*document, error) {
	out, err := c.ecr.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: aws.String(repo)})
	var noPolicy *ecrtypes.RepositoryPolicyNotFoundException
	var noRepo *ecrtypes.RepositoryNotFoundException
	switch {
	case errors.As(err, &noPolicy):
		return &document{Version: "2012-10-17"}, nil
	case errors.As(err, &noRepo):
		return nil, fmt.Errorf("%w: %s", ErrRepositoryNotFound, repo)
	case err != nil:
		return nil, fmt.Errorf("get policy of repository %s: %w", repo, err)
	}
	var doc document
	if err := json.Unmarshal([]byte(aws.ToString(out.PolicyText)), &doc); err != nil {
		return nil, fmt.Errorf("parse policy of repository %s: %w", repo, err)
	}
	return &doc, nil
}

func (c *Client) write(ctx context.Context, repo string, doc *document) error {
	if len(doc.Statement) == 0 {
		_, err := c.ecr.DeleteRepositoryPolicy(ctx, &ecr.DeleteRepositoryPolicyInput{RepositoryName: aws.String(repo)})
		var noPolicy *ecrtypes.RepositoryPolicyNotFoundException
		if err != nil && !errors.As(err, &noPolicy) {
			return fmt.Errorf("delete policy of repository %s: %w", repo, err)
		}
		return nil
	}
	text, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("render policy of repository %s: %w", repo, err)
	}
	if _, err := c.ecr.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RepositoryName: aws.String(repo), PolicyText: aws.String(string(text))}); err != nil {
		return fmt.Errorf("set policy of repository %s: %w", repo, err)
	}
	return nil
}

// document is a repository policy whose statements are kept as written,
// so that those of others survive a round trip untouched.
type document struct {
	Version   string            `json:"Version"`
	Statement []json.RawMessage `json:"Statement"`
}

type statementHead struct {
	Sid       string          `json:"Sid"`
	Principal json.RawMessage `json:"Principal"`
}

func (d *document) find(sid string) (int, statementHead, error) {
	for i, raw := range d.Statement {
		var h statementHead
		if err := json.Unmarshal(raw, &h); err != nil {
			return 0, h, err
		}
		if h.Sid == sid {
			return i, h, nil
		}
	}
	return -1, statementHead{}, nil
}

func (d *document) has(sid string) bool {
	i, _, err := d.find(sid)
	return err == nil && i >= 0
}

// set replaces the statement (nil removes it).
func (d *document) set(sid string, st json.RawMessage) error {
	i, _, err := d.find(sid)
	if err != nil {
		return err
	}
	switch {
	case i >= 0 && st == nil:
		d.Statement = slices.Delete(d.Statement, i, i+1)
	case i >= 0:
		d.Statement[i] = st
	case st != nil:
		d.Statement = append(d.Statement, st)
	}
	return nil
}

// grantees are the accounts the statement names, whichever way the
// principal is written (an ARN or a bare account ID, one or a list).
func (d *document) grantees(sid string) ([]string, error) {
	i, h, err := d.find(sid)
	if err != nil || i < 0 {
		return nil, err
	}
	var p struct {
		AWS json.RawMessage `json:"AWS"`
	}
	if err := json.Unmarshal(h.Principal, &p); err != nil {
		return nil, fmt.Errorf("principal of %s: %w", sid, err)
	}
	var many []string
	if err := json.Unmarshal(p.AWS, &many); err != nil {
		var one string
		if err := json.Unmarshal(p.AWS, &one); err != nil {
			return nil, fmt.Errorf("principal of %s: %w", sid, err)
		}
		many = []string{one}
	}
	accounts := make([]string, 0, len(many))
	for _, m := range many {
		if parts := strings.Split(m, ":"); len(parts) == 6 {
			m = parts[4]
		}
		accounts = append(accounts, m)
	}
	return sortedSet(accounts), nil
}

func sortedSet(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
