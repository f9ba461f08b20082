// Package ingress publishes API services on the internet: an environment's
// application load balancer (with a 404 default so unknown hosts get
// nothing), and per public service a target group of its tasks (IP targets,
// health-checked on /health), a listener rule matching its hostname, and a
// DNS record pointing the hostname at the load balancer.
package ingress

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/pivotapp/platform/internal/awsx"
)

// ErrNotFound means the load balancer or endpoint does not exist.
var ErrNotFound = errors.New("not found")

// NotFoundBody is what the load balancer answers for a host no rule
// matches.
const NotFoundBody = "no such service"

// API is the part of the Elastic Load Balancing v2 API this package uses;
// *elasticloadbalancingv2.Client satisfies it.
type API interface {
	CreateLoadBalancer(ctx context.Context, in *elb.CreateLoadBalancerInput, opts ...func(*elb.Options)) (*elb.CreateLoadBalancerOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, opts ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elb.DeleteLoadBalancerInput, opts ...func(*elb.Options)) (*elb.DeleteLoadBalancerOutput, error)
	SetSecurityGroups(ctx context.Context, in *elb.SetSecurityGroupsInput, opts ...func(*elb.Options)) (*elb.SetSecurityGroupsOutput, error)
	SetSubnets(ctx context.Context, in *elb.SetSubnetsInput, opts ...func(*elb.Options)) (*elb.SetSubnetsOutput, error)
	CreateListener(ctx context.Context, in *elb.CreateListenerInput, opts ...func(*elb.Options)) (*elb.CreateListenerOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, opts ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, opts ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
	DeleteListener(ctx context.Context, in *elb.DeleteListenerInput, opts ...func(*elb.Options)) (*elb.DeleteListenerOutput, error)
	CreateTargetGroup(ctx context.Context, in *elb.CreateTargetGroupInput, opts ...func(*elb.Options)) (*elb.CreateTargetGroupOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, opts ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elb.ModifyTargetGroupInput, opts ...func(*elb.Options)) (*elb.ModifyTargetGroupOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elb.DeleteTargetGroupInput, opts ...func(*elb.Options)) (*elb.DeleteTargetGroupOutput, error)
	CreateRule(ctx context.Context, in *elb.CreateRuleInput, opts ...func(*elb.Options)) (*elb.CreateRuleOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, opts ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
	ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, opts ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
	SetRulePriorities(ctx context.Context, in *elb.SetRulePrioritiesInput, opts ...func(*elb.Options)) (*elb.SetRulePrioritiesOutput, error)
	DeleteRule(ctx context.Context, in *elb.DeleteRuleInput, opts ...func(*elb.Options)) (*elb.DeleteRuleOutput, error)
}

// Client manages load balancers and endpoints.
type Client struct {
	ELB API
	// DNS publishes hostnames; nil skips DNS (the caller manages records).
	DNS DNS
}

// New returns a client on an SDK configuration.
func New(cfg aws.Config, dns DNS) *Client {
	return &Client{ELB: elb.NewFromConfig(cfg), DNS: dns}
}

// LoadBalancerSpec is an environment's load balancer.
type LoadBalancerSpec struct {
	Name           string
	Subnets        []string
	SecurityGroups []string
	// CertificateARN adds an HTTPS listener on 443, to which HTTP redirects.
	CertificateARN string
	Tags           map[string]string
}

// LoadBalancer is a load balancer as it is.
type LoadBalancer struct {
	ARN            string
	Name           string
	DNSName        string
	ZoneID         string
	VPCID          string
	Subnets        []string
	SecurityGroups []string
	HTTPListener   string
	HTTPSListener  string
	CertificateARN string
	// HTTPRedirects is true when the HTTP listener redirects to HTTPS.
	HTTPRedirects bool
}

// ListenerARN is where endpoint rules go: HTTPS when there is a
// certificate, HTTP otherwise.
func (lb LoadBalancer) ListenerARN() string {
	if lb.HTTPSListener != "" {
		return lb.HTTPSListener
	}
	return lb.HTTPListener
}

// ApplyLoadBalancer creates the load balancer and its listeners, or brings
// an existing one to spec.
func (c *Client) ApplyLoadBalancer(ctx context.Context, spec LoadBalancerSpec) (LoadBalancer, error) {
	cur, err := c.ReadLoadBalancer(ctx, spec.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		_, err := c.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
			Name:           aws.String(spec.Name),
			Subnets:        spec.Subnets,
			SecurityGroups: spec.SecurityGroups,
			Scheme:         elbtypes.LoadBalancerSchemeEnumInternetFacing,
			Type:           elbtypes.LoadBalancerTypeEnumApplication,
			IpAddressType:  elbtypes.IpAddressTypeIpv4,
			Tags:           elbTags(spec.Tags),
		})
		// A create whose answer was lost and that the SDK resent: the load
		// balancer is there, and is read below.
		if err != nil && awsx.ErrorCode(err) != "DuplicateLoadBalancerName" {
			return LoadBalancer{}, fmt.Errorf("create load balancer %s: %w", spec.Name, err)
		}
		if cur, err = c.ReadLoadBalancer(ctx, spec.Name); err != nil {
			return LoadBalancer{}, err
		}
	case err != nil:
		return LoadBalancer{}, err
	default:
		if want := sorted(spec.SecurityGroups); !slices.Equal(want, cur.SecurityGroups) {
			if _, err := c.ELB.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: aws.String(cur.ARN), SecurityGroups: want}); err != nil {
				return LoadBalancer{}, fmt.Errorf("set security groups of %s: %w", spec.Name, err)
			}
		}
		if want := sorted(spec.Subnets); !slices.Equal(want, cur.Subnets) {
			if _, err := c.ELB.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: aws.String(cur.ARN), Subnets: want}); err != nil {
				return LoadBalancer{}, fmt.Errorf("set subnets of %s: %w", spec.Name, err)
			}
		}
	}

	// HTTPS first, so HTTP never redirects to a listener that is not there.
	if spec.CertificateARN != "" {
		if cur.HTTPSListener == "" {
			_, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{
				LoadBalancerArn: aws.String(cur.ARN),
				Protocol:        elbtypes.ProtocolEnumHttps,
				Port:            aws.Int32(443),
				Certificates:    []elbtypes.Certificate{{CertificateArn: aws.String(spec.CertificateARN)}},
				SslPolicy:       aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
				DefaultActions:  []elbtypes.Action{notFoundAction()},
			})
			if err != nil {
				return LoadBalancer{}, fmt.Errorf("create HTTPS listener of %s: %w", spec.Name, err)
			}
		} else if cur.CertificateARN != spec.CertificateARN {
			_, err := c.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{
				ListenerArn:  aws.String(cur.HTTPSListener),
				Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(spec.CertificateARN)}},
			})
			if err != nil {
				return LoadBalancer{}, fmt.Errorf("set certificate of %s: %w", spec.Name, err)
			}
		}
	}
	httpAction := notFoundAction()
	if spec.CertificateARN != "" {
		httpAction = redirectAction()
	}
	if cur.HTTPListener == "" {
		_, err := c.ELB.CreateListener(ctx, &elb.CreateListenerInput{
			LoadBalancerArn: aws.String(cur.ARN),
			Protocol:        elbtypes.ProtocolEnumHttp,
			Port:            aws.Int32(80),
			DefaultActions:  []elbtypes.Action{httpAction},
		})
		if err != nil {
			return LoadBalancer{}, fmt.Errorf("create HTTP listener of %s: %w", spec.Name, err)
		}
	} else if cur.HTTPRedirects != (spec.CertificateARN != "") {
		if _, err := c.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(cur.HTTPListener), DefaultActions: []elbtypes.Action{httpAction}}); err != nil {
			return LoadBalancer{}, fmt.Errorf("set HTTP default action of %s: %w", spec.Name, err)
		}
	}
	if spec.CertificateARN == "" && cur.HTTPSListener != "" {
		if _, err := c.ELB.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(cur.HTTPSListener)}); err != nil && !isNotFound(err) {
			return LoadBalancer{}, fmt.Errorf("delete HTTPS listener of %s: %w", spec.Name, err)
		}
	}
	return c.ReadLoadBalancer(ctx, spec.Name)
}

// ReadLoadBalancer describes a load balancer and its listeners.
func (c *Client) ReadLoadBalancer(ctx context.Context, name string) (LoadBalancer, error) {
	out, err := c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{name}})
	if isNotFound(err) {
		return LoadBalancer{}, ErrNotFound
	}
	if err != nil {
		return LoadBalancer{}, fmt.Errorf("describe load balancer %s: %w", name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return LoadBalancer{}, ErrNotFound
	}
	l := out.LoadBalancers[0]
	lb := LoadBalancer{
		ARN:            aws.ToString(l.LoadBalancerArn),
		Name:           aws.ToString(l.LoadBalancerName),
		DNSName:        aws.ToString(l.DNSName),
		ZoneID:         aws.ToString(l.CanonicalHostedZoneId),
		VPCID:          aws.ToString(l.VpcId),
		SecurityGroups: sorted(l.SecurityGroups),
	}
	for _, az := range l.AvailabilityZones {
		lb.Subnets = append(lb.Subnets, aws.ToString(az.SubnetId))
	}
	sort.Strings(lb.Subnets)
	ls, err := c.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: l.LoadBalancerArn})
	if err != nil {
		return LoadBalancer{}, fmt.Errorf("describe listeners of %s: %w", name, err)
	}
	for _, li := range ls.Listeners {
		switch aws.ToInt32(li.Port) {
		case 80:
			lb.HTTPListener = aws.ToString(li.ListenerArn)
			lb.HTTPRedirects = len(li.DefaultActions) > 0 && li.DefaultActions[0].Type == elbtypes.ActionTypeEnumRedirect
		case 443:
			lb.HTTPSListener = aws.ToString(li.ListenerArn)
			if len(li.Certificates) > 0 {
				lb.CertificateARN = aws.ToString(li.Certificates[0].CertificateArn)
			}
		}
	}
	return lb, nil
}

// DeleteLoadBalancer deletes the load balancer (its listeners and rules go
// with it). A load balancer already gone is not an error.
func (c *Client) DeleteLoadBalancer(ctx context.Context, name string) error {
	lb, err := c.ReadLoadBalancer(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := c.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb.ARN)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete load balancer %s: %w", name, err)
	}
	return nil
}

func notFoundAction() elbtypes.Action {
	return elbtypes.Action{
		Type: elbtypes.ActionTypeEnumFixedResponse,
		FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String(NotFoundBody),
		},
	}
}

func redirectAction() elbtypes.Action {
	return elbtypes.Action{
		Type: elbtypes.ActionTypeEnumRedirect,
		RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301,
		},
	}
}

func elbTags(m map[string]string) []elbtypes.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []elbtypes.Tag{{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")}}
	for _, k := range keys {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// isNotFound matches by error code: operations that do not model the
// not-found error (DeleteTargetGroup is idempotent on AWS) still get it
// from emulators.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "LoadBalancerNotFound", "ListenerNotFound", "TargetGroupNotFound", "RuleNotFound":
		return true
	}
	return false
}
