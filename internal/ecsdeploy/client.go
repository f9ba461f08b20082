package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/pivotapp/platform/internal/batch"
)

// DisableCoalescingEnv, set to 1, makes every read its own API call and
// turns the caches off (task definition revisions, the revision recorded in
// state, clusters and namespaces already found): the naive baseline the
// benchmarks compare coalescing against.
const DisableCoalescingEnv = "PIVOT_DISABLE_COALESCING"

// coalesceWindow is how long a lookup waits for others to share its call.
// Terraform walks up to ten resources at once, but its own work between
// resources spreads their reads over tens of milliseconds; ten catches most
// neighbours (measured: 20 coalesces little more) while a lone read barely
// notices the wait.
const coalesceWindow = 10 * time.Millisecond

func coalescingDisabled() bool { return os.Getenv(DisableCoalescingEnv) == "1" }

// Client deploys and reads services in one AWS account and region. Clients
// are shared: For returns the same Client for the same aws.Config, so that
// every resource of a plan reads through the same batchers and caches.
type Client struct {
	ecs    *ecs.Client
	iam    *iam.Client
	ssm    *ssm.Client
	logs   *cloudwatchlogs.Client
	sd     *servicediscovery.Client
	sts    *sts.Client
	ec2    *ec2.Client
	region string

	services   *batch.Batcher[string, ecstypes.Service]
	clusters   *batch.Batcher[string, ecstypes.Cluster]
	params     *batch.Batcher[string, Parameter]
	namespaces *batch.Batcher[string, Namespace]
	subnets    *batch.Batcher[string, string]
	groups     *batch.Batcher[string, string]
	taskDefs   batch.Once[string, *ecstypes.TaskDefinition]
	ahead      readAhead
	account    batch.Once[string, string]

	// noDeploymentsAPI is set once ListServiceDeployments proved
	// unavailable (the local stack's moto has no such operation), and
	// deploymentsAPIFailures counts its failures in a row until then.
	noDeploymentsAPI       atomic.Bool
	deploymentsAPIFailures atomic.Int32
	// deploymentsAPIWorks is set once ListServiceDeployments answered.
	deploymentsAPIWorks atomic.Bool

	seenMu sync.Mutex
	seenAt map[string]time.Time

	// PollInterval is how often waits poll once a wait has gone on for a
	// while (see pollWait); tests shorten it.
	PollInterval time.Duration
}

// firstPoll is the wait before a wait's second status check. A deployment
// that is done within a second or two (a new service whose tasks start at
// once; the local stack) is seen done then, not a whole PollInterval later;
// one that takes minutes costs a handful of extra checks.
const firstPoll = 250 * time.Millisecond

// deploymentsProbe is the option of ListServiceDeployments calls. Until
// one has succeeded, the operation may not exist at all (older endpoints;
// the local stack answers 500), so it is tried without the SDK's retries:
// retried, each refusal cost 2.4-5.5 s of backoff per deployment, and a
// failure only sends the wait to its fallback. Once it has answered, calls
// retry as usual (throttling in a large apply).
func (c *Client) deploymentsProbe(o *ecs.Options) {
	if c.deploymentsAPIWorks.Load() {
		return
	}
	o.RetryMaxAttempts = 1
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("pivotDeploymentsProbe",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil {
					c.deploymentsAPIWorks.Store(true)
				}
				return out, md, err
			}), middleware.After)
	})
}

// pollWait is the wait after status check number attempt (from 0) of a
// wait: firstPoll, doubling up to PollInterval.
func (c *Client) pollWait(attempt int) time.Duration {
	w := firstPoll << min(attempt, 8)
	return min(w, c.PollInterval)
}

// Parameter is what a plan-time check learns about a Parameter Store
// parameter: never its value.
type Parameter struct {
	Name string
	ARN  string
	Type string
}

// Namespace is a Cloud Map namespace.
type Namespace struct {
	ID   string
	ARN  string
	Name string
	Type string
}

type clientKey struct {
	creds    aws.CredentialsProvider
	region   string
	endpoint string
}

var (
	clientsMu sync.Mutex
	clients   = map[clientKey]*Client{}
)

// For returns the Client for cfg, creating it on first use. Configurations
// from the same session (same credentials provider, region and endpoint)
// share one Client and so one set of batchers.
func For(cfg aws.Config) *Client {
	if cfg.Credentials != nil && !reflect.TypeOf(cfg.Credentials).Comparable() {
		return New(cfg)
	}
	key := clientKey{creds: cfg.Credentials, region: cfg.Region, endpoint: aws.ToString(cfg.BaseEndpoint)}
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[key]; ok {
		return c
	}
	c := New(cfg)
	clients[key] = c
	return c
}

// New returns an unshared Client for cfg. Prefer For.
func New(cfg aws.Config) *Client {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, countCalls)
	c := &Client{
		ecs:          ecs.NewFromConfig(cfg),
		iam:          iam.NewFromConfig(cfg),
		ssm:          ssm.NewFromConfig(cfg),
		logs:         cloudwatchlogs.NewFromConfig(cfg),
		sd:           servicediscovery.NewFromConfig(cfg),
		sts:          sts.NewFromConfig(cfg),
		ec2:          ec2.NewFromConfig(cfg),
		region:       cfg.Region,
		PollInterval: 5 * time.Second,
	}
	c.services = batch.New(c.describeServices, batch.Options{Max: 10, Window: coalesceWindow, Disabled: coalescingDisabled})
	c.clusters = batch.New(c.describeClusters, batch.Options{Max: 100, Window: coalesceWindow, Disabled: coalescingDisabled})
	c.params = batch.New(c.getParameters, batch.Options{Max: 10, Window: coalesceWindow, Disabled: coalescingDisabled})
	c.namespaces = batch.New(c.listNamespaces, batch.Options{Max: 100, Window: coalesceWindow, Disabled: coalescingDisabled})
	c.subnets = batch.New(c.describeSubnets, batch.Options{Max: 200, Window: coalesceWindow, Disabled: coalescingDisabled})
	c.groups = batch.New(c.describeSecurityGroups, batch.Options{Max: 200, Window: coalesceWindow, Disabled: coalescingDisabled})
	return c
}

// FailuresError turns the failures of a partial ECS answer
// (DescribeServices, DescribeClusters) into an error, except MISSING: that
// one means the resource does not exist, which callers handle. Any other
// reason says nothing about existence, so treating it as "gone" would plan
// a re-create of something that is there.
func FailuresError(what string, failures []ecstypes.Failure) error {
	var errs []error
	for _, f := range failures {
		if aws.ToString(f.Reason) != "MISSING" {
			errs = append(errs, fmt.Errorf("%s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", what, errors.Join(errs...))
	}
	return nil
}

// Region is the region the client acts in.
func (c *Client) Region() string { return c.region }

func (c *Client) describeServices(ctx context.Context, cluster string, names []string) (map[string]ecstypes.Service, error) {
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(cluster),
		Services: names,
		Include:  []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	if err != nil {
		var nf *ecstypes.ClusterNotFoundException
		if errors.As(err, &nf) {
			// No cluster, no services: every one of them is gone.
			return map[string]ecstypes.Service{}, nil
		}
		return nil, fmt.Errorf("describe services in cluster %s: %w", cluster, err)
	}
	if err := FailuresError("describe services in cluster "+cluster, out.Failures); err != nil {
		return nil, err
	}
	res := make(map[string]ecstypes.Service, len(out.Services))
	for _, s := range out.Services {
		res[aws.ToString(s.ServiceName)] = s
		res[aws.ToString(s.ServiceArn)] = s
	}
	return res, nil
}

// describeSubnets maps each subnet that exists to its VPC. A filter rather
// than SubnetIds: with the IDs, one unknown subnet fails the whole call.
func (c *Client) describeSubnets(ctx context.Context, _ string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	p := ec2.NewDescribeSubnetsPaginator(c.ec2, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: ids}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe subnets: %w", err)
		}
		for _, s := range page.Subnets {
			out[aws.ToString(s.SubnetId)] = aws.ToString(s.VpcId)
		}
	}
	return out, nil
}

// describeSecurityGroups maps each security group that exists to its VPC.
func (c *Client) describeSecurityGroups(ctx context.Context, _ string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	p := ec2.NewDescribeSecurityGroupsPaginator(c.ec2, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: ids}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe security groups: %w", err)
		}
		for _, g := range page.SecurityGroups {
			out[aws.ToString(g.GroupId)] = aws.ToString(g.VpcId)
		}
	}
	return out, nil
}

func (c *Client) describeClusters(ctx context.Context, _ string, names []string) (map[string]ecstypes.Cluster, error) {
	out, err := c.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
	if err != nil {
		return nil, fmt.Errorf("describe clusters: %w", err)
	}
	if err := FailuresError("describe clusters", out.Failures); err != nil {
		return nil, err
	}
	res := make(map[string]ecstypes.Cluster, len(out.Clusters))
	for _, cl := range out.Clusters {
		res[aws.ToString(cl.ClusterName)] = cl
		res[aws.ToString(cl.ClusterArn)] = cl
	}
	return res, nil
}

func (c *Client) getParameters(ctx context.Context, _ string, names []string) (map[string]Parameter, error) {
	out, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(false)})
	if err != nil {
		return nil, fmt.Errorf("get parameters: %w", err)
	}
	res := make(map[string]Parameter, len(out.Parameters))
	for _, p := range out.Parameters {
		res[aws.ToString(p.Name)] = Parameter{Name: aws.ToString(p.Name), ARN: aws.ToString(p.ARN), Type: string(p.Type)}
	}
	return res, nil
}

// listNamespaces answers any number of namespace lookups (by name, ID or
// ARN) with one listing.
func (c *Client) listNamespaces(ctx context.Context, _ string, _ []string) (map[string]Namespace, error) {
	res := map[string]Namespace{}
	p := servicediscovery.NewListNamespacesPaginator(c.sd, &servicediscovery.ListNamespacesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list cloud map namespaces: %w", err)
		}
		for _, n := range page.Namespaces {
			ns := namespaceOf(n)
			res[ns.Name], res[ns.ID], res[ns.ARN] = ns, ns, ns
		}
	}
	return res, nil
}

func namespaceOf(n sdtypes.NamespaceSummary) Namespace {
	return Namespace{ID: aws.ToString(n.Id), ARN: aws.ToString(n.Arn), Name: aws.ToString(n.Name), Type: string(n.Type)}
}

// taskDefinition fetches a revision once: revisions are immutable, so a
// cached copy never goes stale.
func (c *Client) taskDefinition(ctx context.Context, arn string) (*ecstypes.TaskDefinition, error) {
	fetch := func(ctx context.Context) (*ecstypes.TaskDefinition, error) {
		out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
		}
		return out.TaskDefinition, nil
	}
	if coalescingDisabled() {
		return fetch(ctx)
	}
	return c.taskDefs.Do(ctx, arn, fetch)
}

// accountID is asked of STS once per client.
func (c *Client) accountID(ctx context.Context) (string, error) {
	return c.account.Do(ctx, "", func(ctx context.Context) (string, error) {
		out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", fmt.Errorf("get caller identity: %w", err)
		}
		return aws.ToString(out.Account), nil
	})
}

// CallCounter counts AWS API calls (operations, not retries).
type CallCounter struct {
	mu    sync.Mutex
	total int64
	byOp  map[string]int64
}

// Calls counts every call made through a Client of this package.
var Calls = &CallCounter{}

func (c *CallCounter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byOp == nil {
		c.byOp = map[string]int64{}
	}
	c.total++
	c.byOp[op]++
}

// Total is the number of calls since the last Reset.
func (c *CallCounter) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// ByOperation returns the counts per "Service.Operation".
func (c *CallCounter) ByOperation() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.byOp))
	for k, v := range c.byOp {
		out[k] = v
	}
	return out
}

// Reset zeroes the counts.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total, c.byOp = 0, nil
}

// countCalls is an APIOptions entry: it counts each operation once, in the
// initialize step, before retries multiply it.
func countCalls(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("pivotCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			Calls.add(awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}
