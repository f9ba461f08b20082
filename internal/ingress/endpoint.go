package ingress

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/pivotapp/platform/internal/awsx"
)

// Defaults of an endpoint.
const (
	DefaultHealthCheckPath = "/health"
	// AutomaticTTL is Cloudflare's "automatic" TTL, the only one a proxied
	// record may have.
	AutomaticTTL = 1
	// MaxPriority is the highest listener rule priority.
	MaxPriority = 50000
)

// DNS is what an endpoint needs from a DNS provider; the provider adapts
// its Cloudflare client to it.
type DNS interface {
	// ZoneID resolves a zone name.
	ZoneID(ctx context.Context, zone string) (string, error)
	// Find returns the record of a type at a name, or ErrNotFound.
	Find(ctx context.Context, zoneID, name, typ string) (Record, error)
	// Get returns a record by ID, or ErrNotFound.
	Get(ctx context.Context, zoneID, id string) (Record, error)
	Create(ctx context.Context, zoneID string, r Record) (Record, error)
	Update(ctx context.Context, zoneID string, r Record) (Record, error)
	// Delete removes a record; a record already gone is not an error.
	Delete(ctx context.Context, zoneID, id string) error
}

// Record is a DNS record.
type Record struct {
	ID      string
	Name    string
	Type    string
	Content string
	Proxied bool
	TTL     int
	Comment string
}

// EndpointSpec publishes one service's hostname.
type EndpointSpec struct {
	// Name is the target group's name; see TargetGroupName.
	Name        string
	ListenerARN string
	VPCID       string
	Hostname    string
	// Port is the container port traffic goes to.
	Port            int
	HealthCheckPath string
	// Priority of the listener rule; 0 picks the lowest free one.
	Priority int
	// Zone is the DNS zone holding Hostname; Target the load balancer's DNS
	// name the CNAME points to.
	Zone    string
	Target  string
	Proxied bool
	TTL     int
	Comment string
	Tags    map[string]string
}

// Endpoint is a published hostname as it is.
type Endpoint struct {
	TargetGroupARN  string
	TargetGroupName string
	VPCID           string
	Port            int
	HealthCheckPath string
	RuleARN         string
	ListenerARN     string
	Priority        int
	Hostname        string
	ZoneID          string
	Record          Record
}

// EndpointRef names an endpoint's parts for Read and Delete.
type EndpointRef struct {
	TargetGroupARN string
	RuleARN        string
	ZoneID         string
	RecordID       string
}

// Ref returns the endpoint's reference.
func (e Endpoint) Ref() EndpointRef {
	return EndpointRef{TargetGroupARN: e.TargetGroupARN, RuleARN: e.RuleARN, ZoneID: e.ZoneID, RecordID: e.Record.ID}
}

var tgNameRE = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

// TargetGroupName derives a target group name from an environment and a
// service: <env>-<service>, shortened with a hash suffix to fit the 32
// characters target group names allow.
func TargetGroupName(environment, service string) string {
	n := strings.Trim(tgNameRE.ReplaceAllString(environment+"-"+service, "-"), "-")
	if len(n) <= 32 {
		return n
	}
	sum := sha256.Sum256([]byte(environment + "/" + service))
	return strings.TrimRight(n[:25], "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

var labelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateHostname checks a hostname is a lowercase DNS name inside zone
// (and not the apex: a service needs a name of its own).
func ValidateHostname(hostname, zone string) error {
	if len(hostname) > 253 {
		return fmt.Errorf("%q is longer than 253 characters", hostname)
	}
	for _, l := range strings.Split(hostname, ".") {
		if !labelRE.MatchString(l) {
			return fmt.Errorf("%q is not a DNS name: label %q must be 1 to 63 lowercase letters, digits or hyphens, not starting or ending with a hyphen", hostname, l)
		}
	}
	if zone != "" && !strings.HasSuffix(hostname, "."+zone) {
		return fmt.Errorf("%q is not inside the zone %q; use a name ending in .%s", hostname, zone, zone)
	}
	return nil
}

// ValidateLabel checks one DNS label (a service name or a tenant's
// subdomain, which may itself hold several labels).
func ValidateLabel(s string) error {
	for _, l := range strings.Split(s, ".") {
		if !labelRE.MatchString(l) {
			return fmt.Errorf("%q is not DNS-safe: use lowercase letters, digits and hyphens (1 to 63 per label), not starting or ending with a hyphen", s)
		}
	}
	return nil
}

// Hostname composes <service>.<subdomain>.<zone>, or <service>.<zone>
// without a subdomain.
func Hostname(service, subdomain, zone string) string {
	if subdomain == "" {
		return service + "." + zone
	}
	return service + "." + subdomain + "." + zone
}

// ApplyEndpoint creates or updates the target group, rule and DNS record.
// With cur nil it adopts parts that already exist under the spec's names
// (the target group's name, the rule for the hostname on the listener, the
// CNAME at the hostname), so a half-created or partly deleted endpoint is
// completed rather than duplicated.
func (c *Client) ApplyEndpoint(ctx context.Context, spec EndpointSpec, cur *Endpoint) (Endpoint, error) {
	if spec.HealthCheckPath == "" {
		spec.HealthCheckPath = DefaultHealthCheckPath
	}
	if spec.TTL == 0 {
		spec.TTL = AutomaticTTL
	}
	var have Endpoint
	if cur != nil {
		have = *cur
	}

	tg, err := c.ensureTargetGroup(ctx, spec, have.TargetGroupARN)
	if err != nil {
		return Endpoint{}, err
	}
	rule, priority, err := c.ensureRule(ctx, spec, aws.ToString(tg.TargetGroupArn), have.RuleARN)
	if err != nil {
		return Endpoint{}, err
	}
	out := endpointOf(tg)
	out.RuleARN, out.Priority, out.Hostname, out.ListenerARN = rule, priority, spec.Hostname, spec.ListenerARN
	if c.DNS == nil {
		return out, nil
	}
	zoneID, err := c.DNS.ZoneID(ctx, spec.Zone)
	if err != nil {
		return Endpoint{}, fmt.Errorf("look up zone %s: %w", spec.Zone, err)
	}
	want := Record{Name: spec.Hostname, Type: "CNAME", Content: spec.Target, Proxied: spec.Proxied, TTL: spec.TTL, Comment: spec.Comment}
	rec, err := c.ensureRecord(ctx, zoneID, want, have.Record.ID)
	if err != nil {
		return Endpoint{}, err
	}
	out.ZoneID, out.Record = zoneID, rec
	return out, nil
}

func (c *Client) ensureTargetGroup(ctx context.Context, spec EndpointSpec, arn string) (elbtypes.TargetGroup, error) {
	tg, err := c.targetGroup(ctx, arn, spec.Name)
	if errors.Is(err, ErrNotFound) {
		out, err := c.ELB.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name:                aws.String(spec.Name),
			Protocol:            elbtypes.ProtocolEnumHttp,
			Port:                aws.Int32(int32(spec.Port)),
			VpcId:               aws.String(spec.VPCID),
			TargetType:          elbtypes.TargetTypeEnumIp,
			HealthCheckEnabled:  aws.Bool(true),
			HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
			HealthCheckPath:     aws.String(spec.HealthCheckPath),
			Matcher:             &elbtypes.Matcher{HttpCode: aws.String("200")},
			Tags:                elbTags(spec.withHostTag()),
		})
		if awsx.ErrorCode(err) == "DuplicateTargetGroupName" {
			// AWS answers a repeated identical create with the group; a
			// create whose answer was lost and that the SDK resent gets
			// this from an emulator, or from AWS if settings differ. The
			// checks below then apply to the group that is there.
			if tg, err = c.targetGroup(ctx, "", spec.Name); err != nil {
				return elbtypes.TargetGroup{}, fmt.Errorf("create target group %s: %w", spec.Name, err)
			}
		} else if err != nil {
			return elbtypes.TargetGroup{}, fmt.Errorf("create target group %s: %w", spec.Name, err)
		} else {
			return out.TargetGroups[0], nil
		}
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return elbtypes.TargetGroup{}, err
	}
	if aws.ToInt32(tg.Port) != int32(spec.Port) || aws.ToString(tg.VpcId) != spec.VPCID {
		return elbtypes.TargetGroup{}, fmt.Errorf("target group %s serves port %d in %s, not port %d in %s; a target group's port and VPC cannot change, so the endpoint must be replaced",
			spec.Name, aws.ToInt32(tg.Port), aws.ToString(tg.VpcId), spec.Port, spec.VPCID)
	}
	if aws.ToString(tg.HealthCheckPath) != spec.HealthCheckPath {
		out, err := c.ELB.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn, HealthCheckPath: aws.String(spec.HealthCheckPath)})
		if err != nil {
			return elbtypes.TargetGroup{}, fmt.Errorf("set health check of %s: %w", spec.Name, err)
		}
		tg = out.TargetGroups[0]
	}
	return tg, nil
}

func (s EndpointSpec) withHostTag() map[string]string {
	m := map[string]string{"pivot:hostname": s.Hostname}
	for k, v := range s.Tags {
		m[k] = v
	}
	return m
}

// ensureRule makes the listener's rule for the hostname forward to the
// target group, returning its ARN and priority.
func (c *Client) ensureRule(ctx context.Context, spec EndpointSpec, tgARN, ruleARN string) (string, int, error) {
	rules, err := c.rules(ctx, spec.ListenerARN)
	if err != nil {
		return "", 0, err
	}
	var rule *elbtypes.Rule
	for i, r := range rules {
		if ruleARN != "" && aws.ToString(r.RuleArn) == ruleARN {
			rule = &rules[i]
			break
		}
		if ruleARN == "" && ruleHost(r) == spec.Hostname {
			rule = &rules[i]
			break
		}
	}
	cond := []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{spec.Hostname}}}}
	act := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
	if rule == nil {
		return c.createRule(ctx, spec, rules, cond, act)
	}
	arn := aws.ToString(rule.RuleArn)
	if ruleHost(*rule) != spec.Hostname || ruleTarget(*rule) != tgARN {
		if _, err := c.ELB.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(arn), Conditions: cond, Actions: act}); err != nil {
			return "", 0, fmt.Errorf("update listener rule for %s: %w", spec.Hostname, err)
		}
	}
	prio, _ := strconv.Atoi(aws.ToString(rule.Priority))
	if spec.Priority != 0 && spec.Priority != prio {
		_, err := c.ELB.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: aws.String(arn), Priority: aws.Int32(int32(spec.Priority))}}})
		if err != nil {
			return "", 0, fmt.Errorf("set priority of the rule for %s: %w", spec.Hostname, err)
		}
		prio = spec.Priority
	}
	return arn, prio, nil
}

// createRule takes the lowest free priority from one read of the rules;
// endpoints created at the same time read the same rules, so all but one
// get PriorityInUse. Each then reads again and takes the next free one,
// unless the rule it wanted was made meanwhile (an earlier attempt whose
// answer was lost).
func (c *Client) createRule(ctx context.Context, spec EndpointSpec, rules []elbtypes.Rule, cond []elbtypes.RuleCondition, act []elbtypes.Action) (string, int, error) {
	const attempts = 20
	for attempt := 1; ; attempt++ {
		prio := spec.Priority
		if prio == 0 {
			var err error
			if prio, err = freePriority(rules); err != nil {
				return "", 0, err
			}
		}
		out, err := c.ELB.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: aws.String(spec.ListenerARN), Priority: aws.Int32(int32(prio)), Conditions: cond, Actions: act,
			Tags: elbTags(spec.withHostTag()),
		})
		if err == nil {
			return aws.ToString(out.Rules[0].RuleArn), prio, nil
		}
		if awsx.ErrorCode(err) != "PriorityInUse" || spec.Priority != 0 || attempt == attempts {
			return "", 0, fmt.Errorf("create listener rule for %s: %w", spec.Hostname, err)
		}
		awsx.Retries.Add("listener rule priority taken")
		if rules, err = c.rules(ctx, spec.ListenerARN); err != nil {
			return "", 0, err
		}
		for _, r := range rules {
			if ruleHost(r) == spec.Hostname && ruleTarget(r) == aws.ToString(act[0].TargetGroupArn) {
				p, _ := strconv.Atoi(aws.ToString(r.Priority))
				return aws.ToString(r.RuleArn), p, nil
			}
		}
	}
}

func (c *Client) ensureRecord(ctx context.Context, zoneID string, want Record, id string) (Record, error) {
	var cur Record
	var err error
	if id != "" {
		cur, err = c.DNS.Get(ctx, zoneID, id)
	} else {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		cur, err = c.DNS.Find(ctx, zoneID, want.Name, want.Type)
	}
	if errors.Is(err, ErrNotFound) {
		rec, err := c.DNS.Create(ctx, zoneID, want)
		if err != nil {
			return Record{}, fmt.Errorf("create DNS record %s: %w", want.Name, err)
		}
		return rec, nil
	}
	if err != nil {
		return Record{}, fmt.Errorf("read DNS record %s: %w", want.Name, err)
	}
	want.ID = cur.ID
	if cur == want {
		return cur, nil
	}
	rec, err := c.DNS.Update(ctx, zoneID, want)
	if err != nil {
		return Record{}, fmt.Errorf("update DNS record %s: %w", want.Name, err)
	}
	return rec, nil
}

// ReadEndpoint reports the endpoint's parts, or ErrNotFound when its target
// group, rule or DNS record is gone.
func (c *Client) ReadEndpoint(ctx context.Context, ref EndpointRef) (Endpoint, error) {
	tg, err := c.targetGroup(ctx, ref.TargetGroupARN, "")
	if err != nil {
		return Endpoint{}, err
	}
	out := endpointOf(tg)
	rules, err := c.ELB.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{ref.RuleARN}})
	if isNotFound(err) {
		return Endpoint{}, ErrNotFound
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("describe rule %s: %w", ref.RuleARN, err)
	}
	if len(rules.Rules) == 0 {
		return Endpoint{}, ErrNotFound
	}
	r := rules.Rules[0]
	out.RuleARN = aws.ToString(r.RuleArn)
	out.Priority, _ = strconv.Atoi(aws.ToString(r.Priority))
	out.Hostname = ruleHost(r)
	out.ListenerARN = listenerOfRule(out.RuleARN)
	if c.DNS == nil || ref.RecordID == "" {
		return out, nil
	}
	rec, err := c.DNS.Get(ctx, ref.ZoneID, ref.RecordID)
	if err != nil {
		return Endpoint{}, err
	}
	out.ZoneID, out.Record = ref.ZoneID, rec
	return out, nil
}

// FindEndpoint locates an endpoint by its target group name and, through
// the rule forwarding to it, its hostname: what import knows.
func (c *Client) FindEndpoint(ctx context.Context, listenerARN, targetGroupName, zone string) (Endpoint, error) {
	tg, err := c.targetGroup(ctx, "", targetGroupName)
	if err != nil {
		return Endpoint{}, err
	}
	rules, err := c.rules(ctx, listenerARN)
	if err != nil {
		return Endpoint{}, err
	}
	ref := EndpointRef{TargetGroupARN: aws.ToString(tg.TargetGroupArn)}
	host := ""
	for _, r := range rules {
		if ruleTarget(r) == ref.TargetGroupARN {
			ref.RuleARN, host = aws.ToString(r.RuleArn), ruleHost(r)
			break
		}
	}
	if ref.RuleARN == "" {
		return Endpoint{}, ErrNotFound
	}
	if c.DNS != nil {
		if ref.ZoneID, err = c.DNS.ZoneID(ctx, zone); err != nil {
			return Endpoint{}, fmt.Errorf("look up zone %s: %w", zone, err)
		}
		rec, err := c.DNS.Find(ctx, ref.ZoneID, host, "CNAME")
		if err != nil {
			return Endpoint{}, err
		}
		ref.RecordID = rec.ID
	}
	return c.ReadEndpoint(ctx, ref)
}

// DeleteEndpoint removes the DNS record first (so the name stops resolving
// before its backend goes), then the rule and the target group. Parts
// already gone are skipped.
func (c *Client) DeleteEndpoint(ctx context.Context, ref EndpointRef) error {
	if c.DNS != nil && ref.RecordID != "" {
		if err := c.DNS.Delete(ctx, ref.ZoneID, ref.RecordID); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("delete DNS record: %w", err)
		}
	}
	if ref.RuleARN != "" {
		if _, err := c.ELB.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(ref.RuleARN)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete listener rule: %w", err)
		}
	}
	if ref.TargetGroupARN != "" {
		if _, err := c.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(ref.TargetGroupARN)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete target group: %w", err)
		}
	}
	return nil
}

func (c *Client) targetGroup(ctx context.Context, arn, name string) (elbtypes.TargetGroup, error) {
	in := &elb.DescribeTargetGroupsInput{}
	switch {
	case arn != "":
		in.TargetGroupArns = []string{arn}
	case name != "":
		in.Names = []string{name}
	default:
		return elbtypes.TargetGroup{}, ErrNotFound
	}
	out, err := c.ELB.DescribeTargetGroups(ctx, in)
	if isNotFound(err) {
		if arn != "" && name != "" {
			return c.targetGroup(ctx, "", name)
		}
		return elbtypes.TargetGroup{}, ErrNotFound
	}
	if err != nil {
		return elbtypes.TargetGroup{}, fmt.Errorf("describe target group %s%s: %w", arn, name, err)
	}
	if len(out.TargetGroups) == 0 {
		return elbtypes.TargetGroup{}, ErrNotFound
	}
	return out.TargetGroups[0], nil
}

func (c *Client) rules(ctx context.Context, listenerARN string) ([]elbtypes.Rule, error) {
	var out []elbtypes.Rule
	in := &elb.DescribeRulesInput{ListenerArn: aws.String(listenerARN)}
	for {
		page, err := c.ELB.DescribeRules(ctx, in)
		if isNotFound(err) {
			return nil, fmt.Errorf("listener %s: %w", listenerARN, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("describe rules of %s: %w", listenerARN, err)
		}
		out = append(out, page.Rules...)
		if aws.ToString(page.NextMarker) == "" {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

func endpointOf(tg elbtypes.TargetGroup) Endpoint {
	return Endpoint{
		TargetGroupARN:  aws.ToString(tg.TargetGroupArn),
		TargetGroupName: aws.ToString(tg.TargetGroupName),
		VPCID:           aws.ToString(tg.VpcId),
		Port:            int(aws.ToInt32(tg.Port)),
		HealthCheckPath: aws.ToString(tg.HealthCheckPath),
	}
}

func ruleHost(r elbtypes.Rule) string {
	for _, c := range r.Conditions {
		if aws.ToString(c.Field) != "host-header" {
			continue
		}
		if c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0 {
			return c.HostHeaderConfig.Values[0]
		}
		if len(c.Values) > 0 {
			return c.Values[0]
		}
	}
	return ""
}

func ruleTarget(r elbtypes.Rule) string {
	for _, a := range r.Actions {
		if a.Type == elbtypes.ActionTypeEnumForward {
			if arn := aws.ToString(a.TargetGroupArn); arn != "" {
				return arn
			}
			if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
				return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
			}
		}
	}
	return ""
}

// listenerOfRule turns a rule ARN (…:listener-rule/app/<lb>/<id>/<listener>/<rule>)
// into its listener's ARN.
func listenerOfRule(ruleARN string) string {
	i := strings.LastIndexByte(ruleARN, '/')
	if i < 0 {
		return ""
	}
	return strings.Replace(ruleARN[:i], ":listener-rule/", ":listener/", 1)
}

func freePriority(rules []elbtypes.Rule) (int, error) {
	used := map[int]bool{}
	for _, r := range rules {
		if p, err := strconv.Atoi(aws.ToString(r.Priority)); err == nil {
			used[p] = true
		}
	}
	for p := 1; p <= MaxPriority; p++ {
		if !used[p] {
			return p, nil
		}
	}
	return 0, errors.New("the listener has no free rule priority")
}
