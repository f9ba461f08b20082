package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// DeploymentError says why a deployment did not reach steady state.
type DeploymentError struct {
	Service string
	Cluster string
	// Reason is ECS's own account (the deployment's status reason, or the
	// last state seen when the wait timed out).
	Reason string
	// RolledBack is set when the circuit breaker returned the service to its
	// previous revision.
	RolledBack bool
	TimedOut   bool
	Timeout    time.Duration
	// StoppedTasks are the stop reasons of the deployment's failed tasks.
	StoppedTasks []string
}

func (e *DeploymentError) Error() string {
	var b strings.Builder
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, "service %s in cluster %s did not reach steady state within %s: %s", e.Service, e.Cluster, e.Timeout, e.Reason)
	case e.RolledBack:
		fmt.Fprintf(&b, "deployment of service %s in cluster %s failed and the circuit breaker rolled it back: %s", e.Service, e.Cluster, e.Reason)
	default:
		fmt.Fprintf(&b, "deployment of service %s in cluster %s failed: %s", e.Service, e.Cluster, e.Reason)
	}
	if len(e.StoppedTasks) > 0 {
		b.WriteString("\nStopped tasks:")
		for _, t := range e.StoppedTasks {
			b.WriteString("\n  - " + t)
		}
	}
	return b.String()
}

// WaitForSteadyState waits until the deployment started at since completes,
// fails or timeout passes, whichever is first. It follows the deployment
// through ListServiceDeployments/DescribeServiceDeployments where the API
// has them, and otherwise (the local stack's moto has neither) through the
// service's deployments: steady means one deployment left and as many tasks
// running as desired. Failures come back as *DeploymentError, with the
// stopped tasks' reasons.
func (c *Client) WaitForSteadyState(ctx context.Context, cluster, service string, since time.Time, timeout time.Duration) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no status yet"
	for attempt := 0; ; attempt++ {
		done, status, err := c.steadyOnce(ctx, cluster, service, since)
		var de *DeploymentError
		switch {
		case errors.As(err, &de):
			de.StoppedTasks = c.stoppedTasks(context.WithoutCancel(parent), cluster, service, since)
			return de
		case err != nil && ctx.Err() == nil:
			return err
		case done:
			progress(ctx, "service reached steady state", "service", service)
			return nil
		}
		if status != "" {
			last = status
			progress(ctx, "waiting for steady state", "service", service, "status", status)
		}
		wait := c.pollWait(attempt)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			wait = time.Until(dl)
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return parent.Err()
			}
			return &DeploymentError{
				Service: service, Cluster: cluster, TimedOut: true, Timeout: timeout, Reason: last,
				StoppedTasks: c.stoppedTasks(context.WithoutCancel(parent), cluster, service, since),
			}
		case <-time.After(wait):
		}
	}
}

func (c *Client) steadyOnce(ctx context.Context, cluster, service string, since time.Time) (done bool, status string, err error) {
	if !c.noDeploymentsAPI.Load() {
		done, status, ok, err := c.steadyByDeployments(ctx, cluster, service, since)
		if err != nil || ok {
			return done, status, err
		}
	}
	return c.steadyByService(ctx, cluster, service, since)
}

// steadyByDeployments uses the service deployments API; ok is false when it
// has nothing to say (no such API, or no deployment since the change).
func (c *Client) steadyByDeployments(ctx context.Context, cluster, service string, since time.Time) (done bool, status string, ok bool, err error) {
	list, err := c.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(cluster), Service: aws.String(service),
		CreatedAt: &ecstypes.CreatedAt{After: aws.Time(since.Add(-5 * time.Second))},
	}, c.deploymentsProbe)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", false, ctx.Err()
		}
		// The service's own deployments answer the same question, for this
		// poll. Only an endpoint that does not know the operation (older
		// ones; the local stack's moto answers 500) gives it up for good:
		// throttling never does, other errors after a few in a row.
		if deploymentsAPIGone(err) || (!isThrottle(err) && c.deploymentsAPIFailures.Add(1) >= maxDeploymentsAPIFailures) {
			c.noDeploymentsAPI.Store(true)
			progress(ctx, "ListServiceDeployments unavailable; following the service's deployments instead", "error", err.Error())
		}
		return false, "", false, nil
	}
	c.deploymentsAPIFailures.Store(0)
	if len(list.ServiceDeployments) == 0 {
		return false, "", false, nil
	}
	newest := list.ServiceDeployments[0]
	for _, d := range list.ServiceDeployments[1:] {
		if aws.ToTime(d.CreatedAt).After(aws.ToTime(newest.CreatedAt)) {
			newest = d
		}
	}
	done, status, err = deploymentSteady(cluster, service, newest.Status, aws.ToString(newest.StatusReason))
	return done, status, true, err
}

// maxDeploymentsAPIFailures is how many failed ListServiceDeployments calls
// in a row (throttling aside) make a client stop trying it.
const maxDeploymentsAPIFailures = 3

// deploymentsAPIGone reports an error that will not go away by retrying:
// the endpoint does not know the operation, or the caller may not use it.
func deploymentsAPIGone(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "UnknownOperationException", "InvalidAction", "AccessDeniedException", "NotImplemented":
		return true
	}
	return false
}

func isThrottle(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled":
		return true
	}
	return false
}

// deploymentSteady judges a service deployment by its status.
func deploymentSteady(cluster, service string, st ecstypes.ServiceDeploymentStatus, reason string) (done bool, status string, err error) {
	switch st {
	case ecstypes.ServiceDeploymentStatusSuccessful:
		return true, string(st), nil
	case ecstypes.ServiceDeploymentStatusRollbackSuccessful, ecstypes.ServiceDeploymentStatusRollbackFailed:
		return false, "", &DeploymentError{Service: service, Cluster: cluster, RolledBack: st == ecstypes.ServiceDeploymentStatusRollbackSuccessful, Reason: or(reason, string(st))}
	case ecstypes.ServiceDeploymentStatusStopped:
		return false, "", &DeploymentError{Service: service, Cluster: cluster, Reason: or(reason, "deployment stopped")}
	}
	return false, fmt.Sprintf("deployment %s", st), nil
}

func (c *Client) steadyByService(ctx context.Context, cluster, service string, since time.Time) (done bool, status string, err error) {
	svc, found, err := c.services.Get(ctx, cluster, service)
	if err != nil {
		return false, "", err
	}
	if !found || aws.ToString(svc.Status) != "ACTIVE" {
		return false, "", &DeploymentError{Service: service, Cluster: cluster, Reason: "the service disappeared while deploying (deleted out of band?)"}
	}
	return serviceSteady(cluster, service, svc, since)
}

// serviceSteady judges a deployment by the service's deployments: a rollout
// that FAILED since the change is a failure (rolled back when ECS started
// another PRIMARY deployment); one deployment with every desired task
// running is steady.
func serviceSteady(cluster, service string, svc ecstypes.Service, since time.Time) (done bool, status string, err error) {
	var primary *ecstypes.Deployment
	for i, d := range svc.Deployments {
		if d.RolloutState == ecstypes.DeploymentRolloutStateFailed && !aws.ToTime(d.CreatedAt).Before(since.Add(-5*time.Second)) {
			return false, "", &DeploymentError{
				Service: service, Cluster: cluster,
				// With rollback on, ECS starts a new PRIMARY deployment of the
				// previous revision next to the failed one.
				RolledBack: aws.ToString(d.Status) != "PRIMARY",
				Reason:     or(aws.ToString(d.RolloutStateReason), "rollout failed"),
			}
		}
		if aws.ToString(d.Status) == "PRIMARY" {
			primary = &svc.Deployments[i]
		}
	}
	status = fmt.Sprintf("%d of %d tasks running, %d deployment(s)", svc.RunningCount, svc.DesiredCount, len(svc.Deployments))
	if primary != nil && primary.RolloutState != "" {
		status += ", rollout " + string(primary.RolloutState)
	}
	rolloutDone := primary == nil || primary.RolloutState == "" || primary.RolloutState == ecstypes.DeploymentRolloutStateCompleted
	return len(svc.Deployments) <= 1 && svc.RunningCount == svc.DesiredCount && rolloutDone, status, nil
}

// stoppedTasks explains a failed deployment by its tasks' stop reasons.
func (c *Client) stoppedTasks(ctx context.Context, cluster, service string, since time.Time) []string {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	list, err := c.ecs.ListTasks(ctx, &ecs.ListTasksInput{
		Cluster: aws.String(cluster), ServiceName: aws.String(service),
		DesiredStatus: ecstypes.DesiredStatusStopped, MaxResults: aws.Int32(10),
	})
	if err != nil || len(list.TaskArns) == 0 {
		return nil
	}
	out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil
	}
	var reasons []string
	for _, t := range out.Tasks {
		if t.CreatedAt != nil && t.CreatedAt.Before(since.Add(-5*time.Second)) {
			continue
		}
		r := aws.ToString(t.TaskArn)
		r = r[strings.LastIndex(r, "/")+1:] + ": " + or(aws.ToString(t.StoppedReason), "stopped")
		for _, ct := range t.Containers {
			if ct.Reason != nil || (ct.ExitCode != nil && *ct.ExitCode != 0) {
				r += fmt.Sprintf(" (%s: exit %d %s)", aws.ToString(ct.Name), aws.ToInt32(ct.ExitCode), aws.ToString(ct.Reason))
			}
		}
		reasons = append(reasons, r)
	}
	return reasons
}
