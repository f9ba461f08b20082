package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/iamscope"
)

// Deployed is a service as it runs: the spec it was deployed from (or, after
// Read, the spec that reproduces what runs) and what was created for it.
type Deployed struct {
	Spec              Spec
	ServiceARN        string
	TaskDefinitionARN string
	TaskRoleARN       string
	ExecutionRoleARN  string
	// Unmanaged is set by Read when the running revision (registered out of
	// band) holds settings Spec cannot express, such as an extra container:
	// deploying registers a clean revision even if the spec is unchanged.
	Unmanaged bool
}

// ErrServiceExists is returned by Deploy when creating a service whose name
// is taken by a running service.
var ErrServiceExists = errors.New("service already exists")

// policyName is the one inline policy on each of the service's roles.
const policyName = "pivot-scoped"

// Deploy creates (prior == nil) or updates the service so it runs want. It
// registers a new task definition revision only when the task definition's
// content changes, and sends ECS only the settings that changed. Unless
// want.Deployment.SkipWait, it then waits for steady state; when that wait
// fails the returned Deployed still describes what now exists, next to a
// *DeploymentError.
func (c *Client) Deploy(ctx context.Context, want Spec, prior *Deployed) (*Deployed, error) {
	want = want.WithDefaults()
	if errs := want.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("invalid service %s: %w", want.Name, errors.Join(asErrors(errs)...))
	}
	if prior != nil && (prior.Spec.Name != want.Name || prior.Spec.Cluster != want.Cluster) {
		return nil, fmt.Errorf("service %s: name and cluster cannot change in place (from %s/%s to %s/%s); replace the service", want.Name, prior.Spec.Cluster, prior.Spec.Name, want.Cluster, want.Name)
	}
	check := CheckRequest{Name: want.Name, Environment: want.Environment, Cluster: want.Cluster, Namespace: want.Namespace, Secrets: want.Secrets, PlatformSecrets: want.PlatformSecrets, Subnets: want.Network.Subnets, SecurityGroups: want.Network.SecurityGroups}
	if prior != nil {
		check = check.changedSince(prior.Spec.WithDefaults())
	}
	problems, err := c.Check(ctx, check)
	if err != nil {
		return nil, err
	}
	problems = slices.DeleteFunc(problems, func(p FieldError) bool { return p.Warning })
	if len(problems) > 0 {
		return nil, errors.Join(asErrors(problems)...)
	}
	if prior == nil {
		svc, found, err := c.services.Get(ctx, want.Cluster, want.Name)
		if err != nil {
			return nil, err
		}
		switch status := aws.ToString(svc.Status); {
		case !found || status == "INACTIVE":
		case status == "DRAINING":
			// Deleted out of band moments ago: the name frees up once its
			// tasks are gone.
			if err := c.waitInactive(ctx, want.Cluster, want.Name, want.Deployment.Timeout); err != nil {
				return nil, err
			}
		default:
			if !ownedBy(svc.Tags, want) {
				return nil, fmt.Errorf("%w: %s in cluster %s is %s and was not created for environment %s (its %s tag says %q); import it (terraform import <address> %s/%s) or choose another name",
					ErrServiceExists, want.Name, want.Cluster, status, want.Environment, TagEnvironment, tagValue(svc.Tags, TagEnvironment), want.Cluster, want.Name)
			}
			// Ours, from an apply that was stopped before it could save
			// its state: carry on from what runs, as an update would.
			if prior, err = c.Read(ctx, want); err != nil {
				return nil, err
			}
			if prior == nil {
				return nil, fmt.Errorf("service %s in cluster %s vanished while it was adopted; apply again", want.Name, want.Cluster)
			}
			progress(ctx, "adopted service left by an interrupted apply", "service", want.Name, "cluster", want.Cluster)
		}
	}
	creating := prior == nil
	var undo cleanup
	defer func() { undo.run(ctx, c) }()
	account := ""
	if prior != nil {
		// The running service's ARN names the account: no need to ask STS.
		if a, err := arn.Parse(prior.ServiceARN); err == nil {
			account = a.AccountID
		}
	}
	if account == "" {
		if account, err = c.accountID(ctx); err != nil {
			return nil, err
		}
	}
	res := Resolved{Partition: awsx.Partition(c.region), Region: c.region, AccountID: account}
	var priorSpec *Spec
	if prior != nil {
		ps := prior.Spec.WithDefaults()
		priorSpec = &ps
	}

	// Until the service exists nothing in the state names what a create
	// makes for it: a failed create removes it again. A role is added once
	// ensureRole took it, which it does only when the role is this
	// service's (tagged so); a same-named role of someone else's is never
	// removed. The log group only when this call made it.
	createdGroup, err := c.ensureLogGroup(ctx, want, priorSpec, res)
	if err != nil {
		return nil, err
	}
	if creating && createdGroup {
		undo.logGroup = want.EffectiveLogGroup()
	}
	scope := want.Scope(res)
	if res.TaskRoleARN, err = c.ensureRole(ctx, want, want.TaskRoleName(), iamscope.TaskPolicy(scope), prior, priorSpec, res); err != nil {
		return nil, err
	}
	if creating {
		undo.roles = append(undo.roles, want.TaskRoleName())
	}
	if res.ExecutionRoleARN, err = c.ensureRole(ctx, want, want.ExecutionRoleName(), iamscope.ExecutionPolicy(scope), prior, priorSpec, res); err != nil {
		return nil, err
	}
	if creating {
		undo.roles = append(undo.roles, want.ExecutionRoleName())
	}

	input := want.TaskDefinitionInput(res)
	tdARN := ""
	liveTD := ""
	if prior != nil {
		liveTD = prior.TaskDefinitionARN
	}
	// The live revision is described rather than compared with the prior
	// state's spec: after a circuit-breaker rollback the state names the
	// revision ECS went back to but still holds the spec that failed.
	switch {
	case liveTD == "":
	default:
		have, err := c.taskDefinition(ctx, liveTD)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		if SameTaskDefinition(input, have) {
			tdARN = liveTD
		}
	}
	if tdARN == "" && creating {
		// A revision registered by an interrupted or failed create is
		// reused rather than joined by another.
		if tdARN, err = c.sameRevision(ctx, input); err != nil {
			return nil, err
		}
	}
	if tdARN == "" {
		out, err := c.registerTaskDefinition(ctx, input)
		if err != nil {
			return nil, fmt.Errorf("register task definition %s: %w", want.Family(), err)
		}
		tdARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
		progress(ctx, "registered task definition revision", "service", want.Name, "task_definition", tdARN)
	}
	if creating {
		undo.family = want.Family()
	}

	var since time.Time
	if !creating && len(want.Calls) > 0 {
		live, found, err := c.services.Get(ctx, want.Cluster, want.Name)
		if err != nil {
			return nil, err
		}
		if found {
			since = primarySince(live.Deployments)
		}
	}
	late, err := c.awaitCallees(ctx, want, since)
	if err != nil {
		return nil, err
	}

	started := time.Now()
	var svc *ecstypes.Service
	if creating {
		svc, err = c.createService(ctx, want, tdARN)
	} else {
		svc, err = c.updateService(ctx, want, *priorSpec, tdARN, tdARN != liveTD, late)
	}
	if err != nil {
		return nil, err
	}
	undo = cleanup{}
	if creating {
		// Revisions of earlier failed attempts are no rollback target.
		if err := c.deregisterRevisions(ctx, want.Family(), tdARN); err != nil {
			return nil, err
		}
	}
	d := &Deployed{
		Spec: want, ServiceARN: aws.ToString(svc.ServiceArn), TaskDefinitionARN: tdARN,
		TaskRoleARN: res.TaskRoleARN, ExecutionRoleARN: res.ExecutionRoleARN,
	}
	if !want.Deployment.SkipWait {
		if err := c.WaitForSteadyState(ctx, want.Cluster, want.Name, started, want.Deployment.Timeout); err != nil {
			var de *DeploymentError
			if errors.As(err, &de) && de.RolledBack {
				// ECS went back to the previous revision: say so in the
				// returned state, so the next plan offers the new one again.
				if live, found, _ := c.services.Get(ctx, want.Cluster, want.Name); found {
					d.TaskDefinitionARN = aws.ToString(live.TaskDefinition)
				}
			}
			return d, err
		}
	}
	if liveTD != "" && tdARN != liveTD {
		// Keep the revision just replaced as the rollback target; older
		// ones are retired so revisions do not pile up with every bump.
		if err := c.deregisterRevisions(ctx, want.Family(), tdARN, liveTD); err != nil {
			return d, err
		}
	}
	if priorSpec != nil && priorSpec.Environment != want.Environment {
		// The service moved to another environment's names: the old family
		// and roles belong to nothing any more.
		if err := c.deregisterRevisions(ctx, priorSpec.Family()); err != nil {
			return d, err
		}
		for _, name := range []string{priorSpec.TaskRoleName(), priorSpec.ExecutionRoleName()} {
			if err := c.deleteRole(ctx, name); err != nil {
				return d, err
			}
		}
	}
	return d, nil
}

// ownedBy says whether tags mark a service as the one want describes.
func ownedBy(tags []ecstypes.Tag, want Spec) bool {
	return tagValue(tags, TagEnvironment) == want.Environment && tagValue(tags, TagService) == want.Name
}

func tagValue(tags []ecstypes.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// cleanup is what a create made before it failed; run removes it with a
// context of its own, so a cancelled apply still cleans up.
type cleanup struct {
	logGroup string
	roles    []string
	family   string
}

func (u cleanup) run(ctx context.Context, c *Client) {
	if u.logGroup == "" && len(u.roles) == 0 && u.family == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	if u.family != "" {
		errs = append(errs, c.deregisterRevisions(ctx, u.family))
	}
	for _, r := range u.roles {
		errs = append(errs, c.deleteRole(ctx, r))
	}
	if u.logGroup != "" {
		errs = append(errs, c.deleteLogGroup(ctx, u.logGroup))
	}
	if err := errors.Join(errs...); err != nil {
		progress(ctx, "could not remove what the failed create made; the next apply adopts it", "error", err.Error())
		return
	}
	progress(ctx, "removed what the failed create made")
}

// sameRevision returns the newest ACTIVE revision of the input's family when
// its content is the input's, or "".
func (c *Client) sameRevision(ctx context.Context, input *ecs.RegisterTaskDefinitionInput) (string, error) {
	arns, err := c.activeRevisions(ctx, aws.ToString(input.Family))
	if err != nil || len(arns) == 0 {
		return "", err
	}
	latest := arns[len(arns)-1]
	have, err := c.taskDefinition(ctx, latest)
	if err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", err
	}
	if SameTaskDefinition(input, have) {
		return latest, nil
	}
	return "", nil
}

// registerTaskDefinition retries while the roles it names, created moments
// before, are not yet visible to ECS.
func (c *Client) registerTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput) (*ecs.RegisterTaskDefinitionOutput, error) {
	return RegisterTaskDefinition(ctx, c.ecs, in)
}

// RegisterTaskDefinition registers in, retrying (for up to
// awsx.PropagationTimeout) while the roles it names are too new for ECS.
func RegisterTaskDefinition(ctx context.Context, api *ecs.Client, in *ecs.RegisterTaskDefinitionInput) (*ecs.RegisterTaskDefinitionOutput, error) {
	var out *ecs.RegisterTaskDefinitionOutput
	err := awsx.Retry(ctx, "RegisterTaskDefinition "+aws.ToString(in.Family), awsx.PropagationTimeout, rolePropagating, func(ctx context.Context) error {
		var err error
		out, err = api.RegisterTaskDefinition(ctx, in)
		return err
	})
	return out, err
}

// CreateService creates the service, retrying on what terraform-provider-aws
// retries CreateService on (see createServiceRetryable).
func CreateService(ctx context.Context, api *ecs.Client, in *ecs.CreateServiceInput) (*ecs.CreateServiceOutput, error) {
	var out *ecs.CreateServiceOutput
	err := awsx.Retry(ctx, "CreateService "+aws.ToString(in.ServiceName), awsx.PropagationTimeout, createServiceRetryable, func(ctx context.Context) error {
		var err error
		out, err = api.CreateService(ctx, in)
		return err
	})
	return out, err
}

// CreateCluster creates the cluster, retrying while ECS's service-linked
// role, made on the account's first cluster, is not yet usable.
func CreateCluster(ctx context.Context, api *ecs.Client, in *ecs.CreateClusterInput) (*ecs.CreateClusterOutput, error) {
	var out *ecs.CreateClusterOutput
	err := awsx.Retry(ctx, "CreateCluster "+aws.ToString(in.ClusterName), awsx.PropagationTimeout, func(err error) string {
		if strings.Contains(awsx.ErrorMessage(err), "Unable to assume the service linked role") {
			return "service-linked role not yet usable"
		}
		return ""
	}, func(ctx context.Context) error {
		var err error
		out, err = api.CreateCluster(ctx, in)
		return err
	})
	return out, err
}

// rolePropagating names the errors ECS gives while a new IAM role has not
// reached it: IAM is eventually consistent (IAM User Guide, "Changes that I
// make are not always immediately visible").
func rolePropagating(err error) string {
	msg := awsx.ErrorMessage(err)
	switch {
	case strings.Contains(msg, "unable to assume the role"), strings.Contains(msg, "Role is not valid"):
		return "new IAM role not yet visible to ECS"
	case awsx.ErrorCode(err) == "AccessDeniedException" && strings.Contains(msg, "iam:PassRole"):
		return "new IAM role not yet passable"
	}
	return ""
}

// createServiceRetryable names the errors terraform-provider-aws retries
// CreateService on: a cluster or role made moments ago, and the service-
// linked role ECS creates on first use.
func createServiceRetryable(err error) string {
	switch msg := awsx.ErrorMessage(err); {
	case awsx.ErrorCode(err) == "ClusterNotFoundException":
		return "new cluster not yet visible"
	case strings.Contains(msg, "Unable to assume the service linked role"):
		return "service-linked role not yet usable"
	case strings.Contains(msg, "verify that the ECS service role being passed has the proper permissions"):
		return "new IAM role not yet visible to ECS"
	case strings.Contains(msg, "does not have an associated load balancer"):
		return "new target group not yet attached to its listener"
	}
	return rolePropagating(err)
}

func (c *Client) createService(ctx context.Context, s Spec, tdARN string) (*ecstypes.Service, error) {
	out, err := CreateService(ctx, c.ecs, s.createServiceInput(tdARN))
	if err != nil {
		return nil, fmt.Errorf("create service %s in cluster %s: %w", s.Name, s.Cluster, err)
	}
	progress(ctx, "created service", "service", s.Name, "cluster", s.Cluster)
	return out.Service, nil
}

func (s Spec) createServiceInput(tdARN string) *ecs.CreateServiceInput {
	return &ecs.CreateServiceInput{
		Cluster:                     aws.String(s.Cluster),
		ServiceName:                 aws.String(s.Name),
		TaskDefinition:              aws.String(tdARN),
		DesiredCount:                aws.Int32(int32(s.DesiredCount)),
		LaunchType:                  ecstypes.LaunchType(s.LaunchType),
		SchedulingStrategy:          ecstypes.SchedulingStrategyReplica,
		DeploymentController:        &ecstypes.DeploymentController{Type: ecstypes.DeploymentControllerTypeEcs},
		NetworkConfiguration:        s.networkConfiguration(),
		DeploymentConfiguration:     s.deploymentConfiguration(),
		ServiceConnectConfiguration: s.serviceConnectConfiguration(),
		LoadBalancers:               s.loadBalancers(),
		PropagateTags:               ecstypes.PropagateTagsService,
		EnableECSManagedTags:        true,
		Tags:                        ecsTags(s.managedTags()),
	}
}

// late names callees created after the service's current deployment: when
// nothing else starts a deployment, one is forced so that its tasks
// resolve them.
func (c *Client) updateService(ctx context.Context, want, prior Spec, tdARN string, newRevision bool, late []string) (*ecstypes.Service, error) {
	if want.LaunchType != prior.LaunchType {
		return nil, fmt.Errorf("service %s: launch type cannot change in place (from %s to %s); replace the service", want.Name, prior.LaunchType, want.LaunchType)
	}
	// desiredCount and deploymentConfiguration never start a deployment, so
	// they are always sent; the rest only when they changed, because sending
	// them starts one.
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(want.Cluster),
		Service:                 aws.String(want.Name),
		DesiredCount:            aws.Int32(int32(want.DesiredCount)),
		DeploymentConfiguration: want.deploymentConfiguration(),
	}
	if want.ScaledCount {
		in.DesiredCount = nil
	}
	var changed []string
	if newRevision {
		in.TaskDefinition = aws.String(tdARN)
		changed = append(changed, "task definition")
	}
	if !sameNetwork(want, prior) {
		in.NetworkConfiguration = want.networkConfiguration()
		changed = append(changed, "network")
	}
	if !serviceConnectEqual(want, prior) {
		in.ServiceConnectConfiguration = want.serviceConnectConfiguration()
		changed = append(changed, "service connect")
	}
	if want.TargetGroupARN != prior.TargetGroupARN {
		// An empty list detaches the service from its target group.
		in.LoadBalancers = want.loadBalancers()
		if in.LoadBalancers == nil {
			in.LoadBalancers = []ecstypes.LoadBalancer{}
		}
		changed = append(changed, "load balancer")
	}
	if len(late) > 0 && len(changed) == 0 {
		in.ForceNewDeployment = true
		changed = append(changed, "new deployment: "+strings.Join(late, ", ")+" appeared after the current one")
	}
	out, err := c.ecs.UpdateService(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("update service %s in cluster %s: %w", want.Name, want.Cluster, err)
	}
	progress(ctx, "updated service", "service", want.Name, "changed", strings.Join(changed, ", "), "desired_count", want.DesiredCount)
	if err := c.syncServiceTags(ctx, aws.ToString(out.Service.ServiceArn), want.managedTags(), prior.managedTags()); err != nil {
		return nil, err
	}
	return out.Service, nil
}

func (c *Client) syncServiceTags(ctx context.Context, arn string, want, have map[string]string) error {
	if maps.Equal(want, have) {
		return nil
	}
	var remove []string
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		if _, err := c.ecs.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
			return fmt.Errorf("untag service %s: %w", arn, err)
		}
	}
	if _, err := c.ecs.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: ecsTags(want)}); err != nil {
		return fmt.Errorf("tag service %s: %w", arn, err)
	}
	return nil
}

func (s Spec) loadBalancers() []ecstypes.LoadBalancer {
	if s.TargetGroupARN == "" || len(s.Ports) == 0 {
		return nil
	}
	return []ecstypes.LoadBalancer{{
		TargetGroupArn: aws.String(s.TargetGroupARN),
		ContainerName:  aws.String(AppContainer),
		ContainerPort:  aws.Int32(int32(s.Ports[0].ContainerPort)),
	}}
}

func (s Spec) networkConfiguration() *ecstypes.NetworkConfiguration {
	ip := ecstypes.AssignPublicIpDisabled
	if s.Network.AssignPublicIP {
		ip = ecstypes.AssignPublicIpEnabled
	}
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: s.Network.Subnets, SecurityGroups: s.Network.SecurityGroups, AssignPublicIp: ip,
	}}
}

func (s Spec) deploymentConfiguration() *ecstypes.DeploymentConfiguration {
	d := s.Deployment
	return &ecstypes.DeploymentConfiguration{
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: !d.DisableCircuitBreaker, Rollback: !d.DisableCircuitBreaker && !d.DisableRollback},
		MinimumHealthyPercent:    aws.Int32(int32(*d.MinimumHealthyPercent)),
		MaximumPercent:           aws.Int32(int32(d.MaximumPercent)),
	}
}

func (s Spec) serviceConnectConfiguration() *ecstypes.ServiceConnectConfiguration {
	sc := &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String(s.Namespace)}
	for i, p := range s.Ports {
		a := s.ClientAlias(i)
		sc.Services = append(sc.Services, ecstypes.ServiceConnectService{
			PortName:      aws.String(p.Name),
			DiscoveryName: aws.String(s.DiscoveryName(i)),
			ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(int32(a.Port)), DnsName: aws.String(a.DNSName)}},
		})
	}
	return sc
}

func serviceConnectEqual(a, b Spec) bool {
	if a.Namespace != b.Namespace || len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.Ports {
		if a.Ports[i].Name != b.Ports[i].Name || a.DiscoveryName(i) != b.DiscoveryName(i) || a.ClientAlias(i) != b.ClientAlias(i) {
			return false
		}
	}
	return true
}

// ensureLogGroup says whether it created the group.
func (c *Client) ensureLogGroup(ctx context.Context, want Spec, prior *Spec, res Resolved) (created bool, err error) {
	g := want.EffectiveLogGroup()
	if prior != nil && sameLogGroup(want, *prior) {
		return false, nil
	}
	if g != "" {
		_, err := c.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g), Tags: want.managedTags()})
		var exists *logstypes.ResourceAlreadyExistsException
		switch {
		case err == nil:
			created = true
			progress(ctx, "created log group", "log_group", g)
		case errors.As(err, &exists):
			if prior != nil && !maps.Equal(prior.Tags, want.Tags) {
				if err := c.syncLogGroupTags(ctx, fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s", res.Partition, res.Region, res.AccountID, g), want.managedTags(), prior.managedTags()); err != nil {
					return created, err
				}
			}
		default:
			return false, fmt.Errorf("create log group %s: %w", g, err)
		}
		if want.Logging.RetentionDays == 0 {
			_, err = c.logs.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(g)})
			if isNotFound(err) {
				err = nil
			}
		} else {
			_, err = c.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g), RetentionInDays: aws.Int32(int32(want.Logging.RetentionDays))})
		}
		if err != nil {
			return created, fmt.Errorf("set retention of log group %s: %w", g, err)
		}
	}
	if prior != nil {
		if old := prior.EffectiveLogGroup(); old != "" && old != g {
			// The old group was this service's own; keeping it would leak it.
			if err := c.deleteLogGroup(ctx, old); err != nil {
				return created, err
			}
		}
	}
	return created, nil
}

func (c *Client) syncLogGroupTags(ctx context.Context, arn string, want, have map[string]string) error {
	var remove []string
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		if _, err := c.logs.UntagResource(ctx, &cloudwatchlogs.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: remove}); err != nil {
			return fmt.Errorf("untag log group %s: %w", arn, err)
		}
	}
	if _, err := c.logs.TagResource(ctx, &cloudwatchlogs.TagResourceInput{ResourceArn: aws.String(arn), Tags: want}); err != nil {
		return fmt.Errorf("tag log group %s: %w", arn, err)
	}
	return nil
}

func (c *Client) deleteLogGroup(ctx context.Context, g string) error {
	_, err := c.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete log group %s: %w", g, err)
	}
	return nil
}

// ensureRole creates the role (or adopts one this package created before,
// e.g. after an interrupted apply) and sets its inline policy when it
// changed since prior.
func (c *Client) ensureRole(ctx context.Context, s Spec, name string, policy iamscope.Document, prior *Deployed, priorSpec *Spec, res Resolved) (string, error) {
	if prior != nil && priorSpec != nil {
		priorARN := prior.TaskRoleARN
		priorPolicy := iamscope.TaskPolicy(priorSpec.Scope(res))
		if name == s.ExecutionRoleName() {
			priorARN = prior.ExecutionRoleARN
			priorPolicy = iamscope.ExecutionPolicy(priorSpec.Scope(res))
		}
		if priorARN != "" && priorPolicy.JSON() == policy.JSON() && maps.Equal(priorSpec.Tags, s.Tags) {
			return priorARN, nil
		}
	}
	trust := iamscope.TrustPolicy(res.AccountID).JSON()
	tags := iamTags(s.managedTags())
	var roleARN string
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String(name),
		Path:                     aws.String(s.RolePath()),
		AssumeRolePolicyDocument: aws.String(trust),
		Description:              aws.String(fmt.Sprintf("pivot: %s of service %s in environment %s", roleKind(name), s.Name, s.Environment)),
		Tags:                     tags,
	})
	var exists *iamtypes.EntityAlreadyExistsException
	switch {
	case err == nil:
		roleARN = aws.ToString(out.Role.Arn)
		progress(ctx, "created role", "role", name)
	case errors.As(err, &exists):
		got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return "", fmt.Errorf("get role %s: %w", name, err)
		}
		owner := map[string]string{}
		for _, t := range got.Role.Tags {
			owner[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if owner[TagService] != s.Name || owner[TagEnvironment] != s.Environment {
			return "", fmt.Errorf("role %s exists but was not created for service %s in environment %s (its %s/%s tags say %q/%q); delete or rename that role", name, s.Name, s.Environment, TagEnvironment, TagService, owner[TagEnvironment], owner[TagService])
		}
		roleARN = aws.ToString(got.Role.Arn)
		if _, err := c.iam.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust)}); err != nil {
			return "", fmt.Errorf("update trust policy of role %s: %w", name, err)
		}
		if err := c.syncRoleTags(ctx, name, s.managedTags(), owner); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("create role %s: %w", name, err)
	}
	if _, err := c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(policyName), PolicyDocument: aws.String(policy.JSON())}); err != nil {
		return "", fmt.Errorf("put policy of role %s: %w", name, err)
	}
	return roleARN, nil
}

func (c *Client) syncRoleTags(ctx context.Context, name string, want, have map[string]string) error {
	var remove []string
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	if len(remove) > 0 {
		if _, err := c.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(name), TagKeys: remove}); err != nil {
			return fmt.Errorf("untag role %s: %w", name, err)
		}
	}
	if !maps.Equal(want, have) {
		if _, err := c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(name), Tags: iamTags(want)}); err != nil {
			return fmt.Errorf("tag role %s: %w", name, err)
		}
	}
	return nil
}

func roleKind(name string) string {
	if strings.HasSuffix(name, "-exec") {
		return "task execution role"
	}
	return "task role"
}

func iamTags(m map[string]string) []iamtypes.Tag {
	var out []iamtypes.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// activeRevisions lists the family's ACTIVE revisions. ListTaskDefinitions
// matches family prefixes, so staging-api would also list staging-api-gw:
// keep exact matches only.
func (c *Client) activeRevisions(ctx context.Context, family string) ([]string, error) {
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(c.ecs, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list task definitions of %s: %w", family, err)
		}
		for _, a := range page.TaskDefinitionArns {
			if familyOf(a) == family {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (c *Client) deregisterRevisions(ctx context.Context, family string, keep ...string) error {
	arns, err := c.activeRevisions(ctx, family)
	if err != nil {
		return err
	}
	for _, a := range arns {
		if slices.Contains(keep, a) {
			continue
		}
		if _, err := c.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(a)}); err != nil {
			return fmt.Errorf("deregister task definition %s: %w", a, err)
		}
		c.taskDefs.Forget(a)
		progress(ctx, "deregistered task definition revision", "task_definition", a)
	}
	return nil
}

// familyOf returns the family of a task definition ARN
// (arn:aws:ecs:r:a:task-definition/<family>:<revision>).
func familyOf(tdARN string) string {
	name := tdARN[strings.LastIndex(tdARN, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		name = name[:i]
	}
	return name
}

// Delete removes the service and everything created for it: the service
// (waiting until it is INACTIVE), every ACTIVE revision of its family, its
// two roles and its log group. Things already gone are not errors.
func (c *Client) Delete(ctx context.Context, s Spec, timeout time.Duration) error {
	s = s.WithDefaults()
	if timeout <= 0 {
		timeout = DefaultDeploymentTimeout
	}
	_, err := c.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(s.Cluster), Service: aws.String(s.Name), Force: aws.Bool(true)})
	switch {
	case err == nil:
		progress(ctx, "deleted service; waiting for it to drain", "service", s.Name)
		if err := c.waitInactive(ctx, s.Cluster, s.Name, timeout); err != nil {
			return err
		}
	case isNotFound(err):
	default:
		return fmt.Errorf("delete service %s in cluster %s: %w", s.Name, s.Cluster, err)
	}
	if err := c.deregisterRevisions(ctx, s.Family()); err != nil {
		return err
	}
	for _, name := range []string{s.TaskRoleName(), s.ExecutionRoleName()} {
		if err := c.deleteRole(ctx, name); err != nil {
			return err
		}
	}
	if g := s.EffectiveLogGroup(); g != "" {
		if err := c.deleteLogGroup(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) waitInactive(ctx context.Context, cluster, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
		if err != nil {
			if isNotFound(err) {
				return nil
			}
			return fmt.Errorf("describe service %s: %w", name, err)
		}
		if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s in cluster %s still %s after %s; its tasks are still draining", name, cluster, aws.ToString(out.Services[0].Status), timeout)
		case <-time.After(c.PollInterval):
		}
	}
}

func (c *Client) deleteRole(ctx context.Context, name string) error {
	pols, err := c.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("list policies of role %s: %w", name, err)
	}
	for _, p := range pols.PolicyNames {
		if _, err := c.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil && !isNotFound(err) {
			return fmt.Errorf("delete policy %s of role %s: %w", p, name, err)
		}
	}
	attached, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("list attached policies of role %s: %w", name, err)
	}
	if attached != nil {
		// Someone attached managed policies by hand; they would block the delete.
		for _, p := range attached.AttachedPolicies {
			if _, err := c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil && !isNotFound(err) {
				return fmt.Errorf("detach policy from role %s: %w", name, err)
			}
		}
	}
	if _, err := c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	progress(ctx, "deleted role", "role", name)
	return nil
}

// isNotFound reports the various ways AWS says a thing does not exist.
func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	switch awsx.ErrorCode(err) {
	case "ServiceNotFoundException", "ClusterNotFoundException", "NoSuchEntity", "ResourceNotFoundException",
		"ParameterNotFound", "NamespaceNotFound":
		return true
	case "ClientException", "InvalidParameterException":
		// ECS reports an unknown task definition this way.
		msg := strings.ToLower(err.Error())
		return strings.Contains(msg, "unable to describe task definition") || strings.Contains(msg, "not found") || strings.Contains(msg, "does not exist")
	}
	return false
}

func asErrors(fe []FieldError) []error {
	out := make([]error, len(fe))
	for i, e := range fe {
		out[i] = errors.New(e.Detail)
	}
	return out
}

type progressKey struct{}

// ProgressFunc receives progress messages with key/value pairs.
type ProgressFunc func(msg string, keyvals ...any)

// WithProgress makes the package report progress (resources created,
// deployment state while waiting) to f.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	ctx = awsx.WithLog(ctx, awsx.LogFunc(f))
	return context.WithValue(ctx, progressKey{}, f)
}

func progress(ctx context.Context, msg string, keyvals ...any) {
	if f, ok := ctx.Value(progressKey{}).(ProgressFunc); ok && f != nil {
		f(msg, keyvals...)
	}
}
