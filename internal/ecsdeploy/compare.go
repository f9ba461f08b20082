package ecsdeploy

import (
	"context"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pivotapp/platform/internal/iamscope"
)

// Changes lists what deploying want over have (a service as Refresh read
// it) would change, in the words Deploy's progress uses. None means Deploy
// has nothing to do, so a caller converging many services deploys only
// those that differ: every setting counts, not just the image.
func Changes(want Spec, have Deployed) []string {
	want, prior := want.WithDefaults(), have.Spec.WithDefaults()
	var out []string
	if want.Name != prior.Name || want.Cluster != prior.Cluster || want.Environment != prior.Environment || want.LaunchType != prior.LaunchType {
		out = append(out, "placement")
	}
	if have.Unmanaged || have.TaskDefinitionARN == "" || !SameTaskDefinitionSpec(want, prior, have.TaskRoleARN, have.ExecutionRoleARN) {
		out = append(out, "task definition")
	}
	if have.TaskRoleARN == "" || have.ExecutionRoleARN == "" || !samePolicies(want, prior) || !maps.Equal(want.Tags, prior.Tags) {
		out = append(out, "roles")
	}
	if !sameLogGroup(want, prior) {
		out = append(out, "log group")
	}
	if !want.ScaledCount && want.DesiredCount != prior.DesiredCount {
		out = append(out, "desired count")
	}
	if !sameDeploymentConfiguration(want, prior) {
		out = append(out, "deployment")
	}
	if !sameNetwork(want, prior) {
		out = append(out, "network")
	}
	if !serviceConnectEqual(want, prior) {
		out = append(out, "service connect")
	}
	if want.TargetGroupARN != prior.TargetGroupARN {
		out = append(out, "load balancer")
	}
	return out
}

// SameTaskDefinitionSpec reports whether want needs no new revision over
// have: both would register the same canonical task definition with the
// given roles. Region and account cancel out, being the same for both.
func SameTaskDefinitionSpec(want, have Spec, taskRoleARN, executionRoleARN string) bool {
	res := Resolved{Region: "region", AccountID: "000000000000", TaskRoleARN: taskRoleARN, ExecutionRoleARN: executionRoleARN}
	return CanonicalInput(want.WithDefaults().TaskDefinitionInput(res)) == CanonicalInput(have.WithDefaults().TaskDefinitionInput(res))
}

func samePolicies(a, b Spec) bool {
	res := Resolved{Region: "region", AccountID: "000000000000"}
	return iamscope.TaskPolicy(a.Scope(res)).JSON() == iamscope.TaskPolicy(b.Scope(res)).JSON() &&
		iamscope.ExecutionPolicy(a.Scope(res)).JSON() == iamscope.ExecutionPolicy(b.Scope(res)).JSON()
}

func sameLogGroup(want, prior Spec) bool {
	return prior.EffectiveLogGroup() == want.EffectiveLogGroup() && prior.Logging.RetentionDays == want.Logging.RetentionDays && maps.Equal(prior.Tags, want.Tags)
}

func sameNetwork(a, b Spec) bool {
	return slices.Equal(a.Network.Subnets, b.Network.Subnets) && slices.Equal(a.Network.SecurityGroups, b.Network.SecurityGroups) && a.Network.AssignPublicIP == b.Network.AssignPublicIP
}

func sameDeploymentConfiguration(a, b Spec) bool {
	x, y := a.deploymentConfiguration(), b.deploymentConfiguration()
	return x.DeploymentCircuitBreaker.Enable == y.DeploymentCircuitBreaker.Enable &&
		x.DeploymentCircuitBreaker.Rollback == y.DeploymentCircuitBreaker.Rollback &&
		aws.ToInt32(x.MinimumHealthyPercent) == aws.ToInt32(y.MinimumHealthyPercent) &&
		aws.ToInt32(x.MaximumPercent) == aws.ToInt32(y.MaximumPercent)
}

// Cluster returns the ARN of an ACTIVE cluster (by name or ARN), or "" when
// there is none. Lookups of many clusters at once (a fleet of tenants, one
// account each, or many services of one) share batched calls.
func (c *Client) Cluster(ctx context.Context, name string) (string, error) {
	cl, found, err := c.clusters.Get(ctx, "", name)
	if err != nil {
		return "", err
	}
	if !found || aws.ToString(cl.Status) != "ACTIVE" {
		return "", nil
	}
	// A plan's checks that follow need not ask again.
	c.seen("cluster", name)
	return aws.ToString(cl.ClusterArn), nil
}
