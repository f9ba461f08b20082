package ecsdeploy

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/pivotapp/platform/internal/batch"
	"github.com/pivotapp/platform/internal/iamscope"
)

// Read returns the service as it runs, or nil when it is gone (never
// created, deleted, INACTIVE or DRAINING). prior is the last known spec:
// what the API cannot say (the steady-state wait, the bucket, log retention
// and, where ECS does not report them, Service Connect and deployment
// settings) is carried over from it. For an import, prior holds only Name and
// Cluster. Concurrent Reads share batched DescribeServices calls.
func (c *Client) Read(ctx context.Context, prior Spec) (*Deployed, error) {
	return c.Refresh(ctx, Deployed{Spec: prior})
}

// Refresh is Read for a service whose deployed state is known. Task
// definition revisions are immutable, so while the service still runs
// prior.TaskDefinitionARN its content is the one prior.Spec describes and it
// is not fetched again; a revision the service was moved to is fetched
// (once) and read back, and Unmanaged says whether it holds settings this
// package does not manage.
func (c *Client) Refresh(ctx context.Context, priorState Deployed) (*Deployed, error) {
	prior := priorState.Spec
	svc, found, err := c.service(ctx, prior.Cluster, prior.Name)
	if err != nil {
		return nil, err
	}
	if !found || aws.ToString(svc.Status) != "ACTIVE" {
		return nil, nil
	}
	tdARN := aws.ToString(svc.TaskDefinition)
	known := tdARN == priorState.TaskDefinitionARN && priorState.TaskRoleARN != "" && priorState.ExecutionRoleARN != "" && !coalescingDisabled()
	var td *ecstypes.TaskDefinition
	if !known {
		if td, err = c.taskDefinition(ctx, tdARN); err != nil {
			return nil, err
		}
	}
	s := prior.WithDefaults()
	tags := map[string]string{}
	for _, t := range svc.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if s.Environment == "" {
		s.Environment = tags[TagEnvironment]
		if s.Environment == "" && td != nil {
			s.Environment = strings.TrimSuffix(aws.ToString(td.Family), "-"+s.Name)
		}
		// The derived defaults depend on the environment: recompute them.
		s = s.WithDefaults()
	}
	s.Tags = nil
	for k, v := range tags {
		if strings.HasPrefix(k, "pivot:") || strings.HasPrefix(strings.ToLower(k), "aws:") {
			continue
		}
		if s.Tags == nil {
			s.Tags = map[string]string{}
		}
		s.Tags[k] = v
	}
	if len(s.Tags) == 0 && prior.Tags != nil {
		s.Tags = map[string]string{}
	}
	s.DesiredCount = int(svc.DesiredCount)
	if svc.LaunchType != "" {
		s.LaunchType = string(svc.LaunchType)
	}
	if nc := svc.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		v := nc.AwsvpcConfiguration
		s.Network = Network{
			Subnets:        sortedSet(v.Subnets),
			SecurityGroups: sortedSet(v.SecurityGroups),
			AssignPublicIP: v.AssignPublicIp == ecstypes.AssignPublicIpEnabled,
		}
	}
	s.TargetGroupARN = ""
	for _, lb := range svc.LoadBalancers {
		if aws.ToString(lb.ContainerName) == AppContainer {
			s.TargetGroupARN = aws.ToString(lb.TargetGroupArn)
		}
	}
	// The local stack's moto stores the deployment configuration only once
	// UpdateService sent it; when none is reported, keep the configured one.
	if dc := svc.DeploymentConfiguration; dc != nil {
		if cb := dc.DeploymentCircuitBreaker; cb != nil {
			s.Deployment.DisableCircuitBreaker = !cb.Enable
			if cb.Enable {
				s.Deployment.DisableRollback = !cb.Rollback
			}
		}
		if dc.MinimumHealthyPercent != nil {
			s.Deployment.MinimumHealthyPercent = new(int(*dc.MinimumHealthyPercent))
		}
		if dc.MaximumPercent != nil {
			s.Deployment.MaximumPercent = int(*dc.MaximumPercent)
		}
	}

	d := &Deployed{
		ServiceARN:        aws.ToString(svc.ServiceArn),
		TaskDefinitionARN: tdARN,
		TaskRoleARN:       priorState.TaskRoleARN,
		ExecutionRoleARN:  priorState.ExecutionRoleARN,
	}
	if td != nil {
		var res Resolved
		s, res = observeTaskDefinition(s, td)
		d.TaskRoleARN, d.ExecutionRoleARN = res.TaskRoleARN, res.ExecutionRoleARN
		d.Unmanaged = !SameTaskDefinition(s.TaskDefinitionInput(resolvedFromARN(tdARN, res)), td)
	}
	s = c.observeServiceConnect(ctx, s, svc)
	if prior.Environment == "" {
		// An import knows nothing of what only the log group and the task
		// role record; a refresh carries them over instead, to stay cheap.
		if err := c.observeImportOnly(ctx, &s); err != nil {
			return nil, err
		}
	}
	d.Spec = s
	return d, nil
}

// resolvedFromARN takes partition, region and account from a task
// definition ARN, which saves asking STS.
func resolvedFromARN(tdARN string, roles Resolved) Resolved {
	if a, err := arn.Parse(tdARN); err == nil {
		roles.Partition, roles.Region, roles.AccountID = a.Partition, a.Region, a.AccountID
	}
	return roles
}

// observeServiceConnect reads Service Connect from the PRIMARY deployment:
// the Service shape itself has no such member. When that deployment reports
// none, the configured settings are kept: the local stack's moto never
// stores Service Connect, and a real service this package created always
// has it enabled.
func (c *Client) observeServiceConnect(ctx context.Context, s Spec, svc ecstypes.Service) Spec {
	var sc *ecstypes.ServiceConnectConfiguration
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			sc = d.ServiceConnectConfiguration
		}
	}
	if sc == nil {
		return s
	}
	if !sc.Enabled {
		// Disabled out of band: an empty namespace makes the plan restore it.
		s.Namespace = ""
		return s
	}
	if ns := aws.ToString(sc.Namespace); ns != "" && ns != s.Namespace && !c.sameNamespace(ctx, ns, s.Namespace) {
		s.Namespace = ns
	}
	ports := slices.Clone(s.Ports)
	cur := s
	cur.Ports = ports
	// A value equal to what the current settings give (derived or not) keeps
	// its current form, so defaults left unset stay unset.
	for i := range ports {
		p := &ports[i]
		var svcCfg *ecstypes.ServiceConnectService
		for j := range sc.Services {
			if aws.ToString(sc.Services[j].PortName) == p.Name {
				svcCfg = &sc.Services[j]
			}
		}
		if svcCfg == nil {
			continue
		}
		if dn := aws.ToString(svcCfg.DiscoveryName); dn != "" && dn != cur.DiscoveryName(i) {
			p.DiscoveryName = dn
		}
		if len(svcCfg.ClientAliases) > 0 {
			a := ClientAlias{Port: int(aws.ToInt32(svcCfg.ClientAliases[0].Port)), DNSName: aws.ToString(svcCfg.ClientAliases[0].DnsName)}
			if a != cur.ClientAlias(i) {
				p.ClientAlias = &a
			}
		}
	}
	s.Ports = ports
	return s
}

// sameNamespace reports whether two references (name, ID or ARN) name the
// same Cloud Map namespace; ECS answers with the ARN where the user may
// have given the name.
func (c *Client) sameNamespace(ctx context.Context, a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	got, err := c.namespaces.GetMany(ctx, "", []string{a, b})
	if err != nil {
		return false
	}
	na, okA := got[a]
	nb, okB := got[b]
	return okA && okB && na.ID == nb.ID
}

// CheckRequest is what a plan can check before deploying. Empty fields
// (unknown at plan time) are skipped.
type CheckRequest struct {
	Name        string
	Environment string
	Cluster     string
	Namespace   string
	Secrets     []string
	// PlatformSecrets are checked under /<environment>/_platform/.
	PlatformSecrets []string
	// Subnets and SecurityGroups must exist, in one VPC.
	Subnets, SecurityGroups []string
}

// changedSince leaves out of r what the running service (prior) already
// depends on: that was checked when it was deployed, and pivot_service's
// plan of this update checked it again. An update then asks only about
// what it changes, and a roll-out of a new image about nothing.
func (r CheckRequest) changedSince(prior Spec) CheckRequest {
	if r.Cluster == prior.Cluster {
		r.Cluster = ""
	}
	if r.Namespace == prior.Namespace {
		r.Namespace = ""
	}
	// A secret's parameter path names the environment.
	if r.Environment == prior.Environment {
		r.Secrets = slices.DeleteFunc(slices.Clone(r.Secrets), func(k string) bool { return slices.Contains(prior.Secrets, k) })
		r.PlatformSecrets = slices.DeleteFunc(slices.Clone(r.PlatformSecrets), func(k string) bool { return slices.Contains(prior.PlatformSecrets, k) })
	}
	if slices.Equal(r.Subnets, prior.Network.Subnets) && slices.Equal(r.SecurityGroups, prior.Network.SecurityGroups) {
		r.Subnets, r.SecurityGroups = nil, nil
	}
	return r
}

// Check verifies that what the service depends on exists: its cluster
// (ACTIVE), its Service Connect namespace and every secret parameter. Each
// problem names the service, the environment and the fix; a secret stored as
// a plain String is a warning. Lookups of many
// services checked at once share batched calls.
func (c *Client) Check(ctx context.Context, r CheckRequest) ([]FieldError, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		problems []FieldError
		firstErr error
	)
	report := func(p []FieldError, err error) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, p...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if r.Cluster != "" {
		wg.Go(func() { report(c.checkCluster(ctx, r)) })
	}
	if r.Namespace != "" {
		wg.Go(func() { report(c.checkNamespace(ctx, r)) })
	}
	if len(r.Secrets)+len(r.PlatformSecrets) > 0 && r.Environment != "" && r.Name != "" {
		wg.Go(func() { report(c.checkSecrets(ctx, r)) })
	}
	if len(r.Subnets)+len(r.SecurityGroups) > 0 {
		wg.Go(func() { report(c.checkNetwork(ctx, r)) })
	}
	wg.Wait()
	order := map[string]int{"cluster": 0, "service_connect_namespace": 1, "secrets": 2, "platform_secrets": 3, "network.subnets": 4, "network.security_groups": 5}
	slices.SortStableFunc(problems, func(a, b FieldError) int { return order[a.Field] - order[b.Field] })
	return problems, firstErr
}

func (c *Client) checkCluster(ctx context.Context, r CheckRequest) ([]FieldError, error) {
	if c.recentlySeen("cluster", r.Cluster) {
		return nil, nil
	}
	cl, found, err := c.clusters.Get(ctx, "", r.Cluster)
	if err != nil {
		return nil, err
	}
	if !found || aws.ToString(cl.Status) != "ACTIVE" {
		state := "does not exist"
		if found {
			state = "is " + aws.ToString(cl.Status)
		}
		return []FieldError{{Field: "cluster", Summary: "ECS Cluster Not Found", Detail: fmt.Sprintf(
			"ECS cluster %q %s in %s, so service %s of environment %s has nowhere to run. Create the environment first (pivot_environment) or fix cluster.",
			r.Cluster, state, c.region, r.Name, r.Environment)}}, nil
	}
	c.seen("cluster", r.Cluster)
	return nil, nil
}

// checkNetwork finds the subnets and security groups, which CreateService
// would otherwise refuse only after the roles, log group and revision were
// made. They must all be in one VPC, as awsvpc networking requires.
func (c *Client) checkNetwork(ctx context.Context, r CheckRequest) ([]FieldError, error) {
	var problems []FieldError
	vpcs := map[string][]string{}
	for _, kind := range []struct {
		field, what string
		ids         []string
		b           *batch.Batcher[string, string]
	}{{"network.subnets", "Subnet", r.Subnets, c.subnets}, {"network.security_groups", "Security Group", r.SecurityGroups, c.groups}} {
		// All of a kind at once: one Get after another made a call per
		// ID, the batcher coalescing only concurrent callers.
		got, err := kind.b.GetMany(ctx, "", kind.ids)
		if err != nil {
			return nil, err
		}
		for _, id := range kind.ids {
			vpc, found := got[id]
			if !found {
				problems = append(problems, FieldError{Field: kind.field, Summary: kind.what + " Not Found", Detail: fmt.Sprintf(
					"%s %s does not exist in %s, so service %s of environment %s cannot be placed. Use an ID from `aws ec2 describe-%ss` or fix %s.",
					strings.ToLower(kind.what), id, c.region, r.Name, r.Environment, strings.ReplaceAll(strings.ToLower(kind.what), " ", "-"), kind.field)})
				continue
			}
			vpcs[vpc] = append(vpcs[vpc], id)
		}
	}
	if len(vpcs) > 1 {
		var parts []string
		for _, v := range slices.Sorted(maps.Keys(vpcs)) {
			parts = append(parts, v+": "+strings.Join(vpcs[v], ", "))
		}
		problems = append(problems, FieldError{Field: "network.subnets", Summary: "Network Spans VPCs", Detail: fmt.Sprintf(
			"The subnets and security groups of service %s are in %d VPCs (%s); a task's network is in one VPC. Use subnets and security groups of one VPC.",
			r.Name, len(vpcs), strings.Join(parts, "; "))})
	}
	return problems, nil
}

func (c *Client) checkNamespace(ctx context.Context, r CheckRequest) ([]FieldError, error) {
	if c.recentlySeen("namespace", r.Namespace) {
		return nil, nil
	}
	_, found, err := c.namespaces.Get(ctx, "", r.Namespace)
	if err != nil {
		return nil, err
	}
	if !found {
		return []FieldError{{Field: "service_connect_namespace", Summary: "Service Connect Namespace Not Found", Detail: fmt.Sprintf(
			"Cloud Map namespace %q does not exist in %s, so service %s of environment %s cannot join Service Connect. Create the environment's namespace first (aws servicediscovery create-http-namespace --name %s) or fix service_connect_namespace.",
			r.Namespace, c.region, r.Name, r.Environment, r.Namespace)}}, nil
	}
	c.seen("namespace", r.Namespace)
	return nil, nil
}

// seenTTL is how long a cluster or namespace found to exist is taken to
// still exist: every service of an environment shares them, so one plan
// asks once instead of once per service. Absence is never remembered, so a
// dependency created since is found at once.
const seenTTL = time.Minute

func (c *Client) recentlySeen(kind, name string) bool {
	if coalescingDisabled() {
		return false
	}
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	t, ok := c.seenAt[kind+":"+name]
	return ok && time.Since(t) < seenTTL
}

func (c *Client) seen(kind, name string) {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if c.seenAt == nil {
		c.seenAt = map[string]time.Time{}
	}
	c.seenAt[kind+":"+name] = time.Now()
}

func (c *Client) checkSecrets(ctx context.Context, r CheckRequest) ([]FieldError, error) {
	s := Spec{Name: r.Name, Environment: r.Environment}
	names := make([]string, 0, len(r.Secrets)+len(r.PlatformSecrets))
	field := map[string]string{}
	for _, k := range r.Secrets {
		names = append(names, s.ParameterName(k))
		field[s.ParameterName(k)] = "secrets"
	}
	for _, k := range r.PlatformSecrets {
		n := "/" + r.Environment + "/_platform/" + k
		names = append(names, n)
		field[n] = "platform_secrets"
	}
	got, err := c.params.GetMany(ctx, "", names)
	if err != nil {
		return nil, err
	}
	var problems []FieldError
	for _, n := range names {
		p, ok := got[n]
		switch {
		case !ok:
			problems = append(problems, FieldError{Field: field[n], Summary: "Secret Parameter Not Found", Detail: fmt.Sprintf(
				"Parameter %s does not exist in %s, but service %s of environment %s reads it as a secret. Store it first: aws ssm put-parameter --region %s --type SecureString --name %s --value '...'",
				n, c.region, r.Name, r.Environment, c.region, n)})
		case p.Type != "SecureString":
			problems = append(problems, FieldError{Field: field[n], Warning: true, Summary: "Secret Parameter Is Not A SecureString", Detail: fmt.Sprintf(
				"Parameter %s of service %s in environment %s is a %s, so its value is stored unencrypted. Overwrite it as a SecureString: aws ssm put-parameter --region %s --overwrite --type SecureString --name %s --value '...'",
				n, r.Name, r.Environment, p.Type, c.region, n)})
		}
	}
	return problems, nil
}

// observeImportOnly reads the log group's retention and the task role's
// bucket.
func (c *Client) observeImportOnly(ctx context.Context, s *Spec) error {
	if g := s.EffectiveLogGroup(); g != "" {
		out, err := c.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(g)})
		if err != nil {
			return fmt.Errorf("describe log group %s: %w", g, err)
		}
		for _, lg := range out.LogGroups {
			if aws.ToString(lg.LogGroupName) == g {
				s.Logging.RetentionDays = int(aws.ToInt32(lg.RetentionInDays))
			}
		}
	}
	s.Bucket = ""
	out, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(s.TaskRoleName()), PolicyName: aws.String(policyName)})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get policy of role %s: %w", s.TaskRoleName(), err)
	}
	raw, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		raw = aws.ToString(out.PolicyDocument)
	}
	doc, err := iamscope.ParseDocument(raw)
	if err != nil {
		return err
	}
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "s3:ListBucket") && len(st.Resource) == 1 {
			s.Bucket = st.Resource[0][strings.LastIndex(st.Resource[0], ":")+1:]
		}
	}
	return nil
}
