package ecsdeploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A Service Connect task resolves only the endpoints of its namespace that
// existed when its deployment started; existing and replacement tasks keep
// that list until the service is deployed again ("Amazon ECS Service
// Connect components" in the ECS developer guide). Services of one
// environment are created concurrently, so a client created before its
// server would run without a route to it and still reach steady state. A
// service that lists what it calls is therefore created only once each
// callee exists, and redeployed when one appeared after its deployment.

// calleePoll bounds the wait between looks for callees that do not exist yet.
var calleePoll = 5 * time.Second

// awaitCallees waits until every service want calls is ACTIVE in its
// cluster, within want.Deployment.Timeout. It returns the callees created
// after since (the start of the caller's current deployment; zero for a
// create), whose endpoints the caller's tasks cannot resolve.
func (c *Client) awaitCallees(ctx context.Context, want Spec, since time.Time) (late []string, err error) {
	if len(want.Calls) == 0 {
		return nil, nil
	}
	deadline := time.Now().Add(want.Deployment.Timeout)
	wait := 250 * time.Millisecond
	reported := ""
	for {
		found, err := c.services.GetMany(ctx, want.Cluster, want.Calls)
		if err != nil {
			return nil, fmt.Errorf("look up the services %s calls: %w", want.Name, err)
		}
		var missing []string
		late = late[:0]
		for _, name := range want.Calls {
			svc, ok := found[name]
			if !ok || aws.ToString(svc.Status) != "ACTIVE" {
				missing = append(missing, name)
				continue
			}
			if !since.IsZero() && createdAt(svc).After(since) {
				late = append(late, name)
			}
		}
		if len(missing) == 0 {
			return late, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("service %s calls %s through Service Connect, but cluster %s has no active service of that name after %s: deploy it in this environment first, or remove it from calls",
				want.Name, strings.Join(missing, ", "), want.Cluster, want.Deployment.Timeout)
		}
		if msg := strings.Join(missing, ", "); msg != reported {
			progress(ctx, "waiting for the services it calls to exist before starting tasks", "service", want.Name, "callees", msg)
			reported = msg
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(wait, time.Until(deadline)+10*time.Millisecond)):
		}
		wait = min(2*wait, calleePoll)
	}
}

// primarySince is when svc's PRIMARY deployment started: what its tasks
// resolve was fixed then.
func primarySince(deployments []ecstypes.Deployment) time.Time {
	for _, d := range deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToTime(d.CreatedAt)
		}
	}
	return time.Time{}
}

// createdAt is when svc was created. Moto leaves the service's createdAt
// out; its oldest deployment is as old as the service there.
func createdAt(svc ecstypes.Service) time.Time {
	if svc.CreatedAt != nil {
		return *svc.CreatedAt
	}
	var first time.Time
	for _, d := range svc.Deployments {
		if t := aws.ToTime(d.CreatedAt); first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}
