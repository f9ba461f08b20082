package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/environment"
)

// ErrGone means the tenant's environment no longer exists.
var ErrGone = errors.New("tenant deployment is gone")

// Observed is what a tenant's account runs now.
type Observed struct {
	ClusterARN string
	// Tags is the image tag each named service runs; absent when the
	// service is gone.
	Tags map[string]string
}

// Read reports the environment's cluster and the tag every named service
// runs, so drift (a service rolled back or deleted out of band) shows in
// the next plan.
func Read(ctx context.Context, cfg aws.Config, envName string, services []string) (Observed, error) {
	// Only the cluster: the environment's other parts are converged by
	// every apply, and reading them all for each tenant on every plan
	// multiplied a fleet-wide refresh by twenty calls a tenant.
	cluster, err := environment.New(cfg).Cluster(ctx, envName)
	if errors.Is(err, environment.ErrNotFound) {
		return Observed{}, ErrGone
	}
	if err != nil {
		return Observed{}, fmt.Errorf("read environment %s: %w", envName, err)
	}
	obs := Observed{ClusterARN: cluster, Tags: map[string]string{}}
	client := ecsdeploy.For(cfg)
	for _, name := range services {
		d, err := client.Read(ctx, ecsdeploy.Spec{Name: name, Environment: envName, Cluster: cluster})
		if err != nil {
			return Observed{}, fmt.Errorf("read service %s: %w", name, err)
		}
		if d != nil {
			obs.Tags[name] = d.Spec.Image.Tag
		}
	}
	return obs, nil
}
