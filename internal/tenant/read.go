package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

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
	// Services is every setting of each running service, as a Service.
	Services map[string]Service
	// Records is the revision and roles of each running service that
	// Services describes fully.
	Records map[string]Record
	// Unmanaged names the services running settings a Service cannot
	// express (say, a revision registered out of band with an extra
	// container): the next apply must deploy them even if nothing a plan
	// shows differs.
	Unmanaged map[string]bool
}

// Read reports the environment's cluster and every setting of each service
// prior names, so that a change made out of band to any of them (count,
// env, secrets, size, ports, health check, a revision set by hand, a
// deleted service) shows in the next plan. The services are read
// concurrently, so their reads share batched DescribeServices calls; a
// revision is fetched only when the service no longer runs the one prior
// records.
func Read(ctx context.Context, cfg aws.Config, envName string, prior Prior) (Observed, error) {
	client := ecsdeploy.For(cfg)
	// Only the cluster: the environment's other parts are converged by
	// every apply, and reading them all for each tenant on every plan
	// multiplied a fleet-wide refresh by twenty calls a tenant.
	cluster, err := client.Cluster(ctx, environment.NamesOf(envName).Cluster())
	if err != nil {
		return Observed{}, fmt.Errorf("read environment %s: %w", envName, err)
	}
	if cluster == "" {
		return Observed{}, ErrGone
	}
	obs := Observed{ClusterARN: cluster, Tags: map[string]string{}, Services: map[string]Service{}, Records: map[string]Record{}, Unmanaged: map[string]bool{}}
	env := environment.Placement{ClusterARN: cluster}
	names := map[string]bool{}
	for n := range prior.Services {
		names[n] = true
	}
	for n := range prior.Tags {
		names[n] = true
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for name := range names {
		wg.Go(func() {
			want := ecsdeploy.Deployed{Spec: ecsdeploy.Spec{Name: name, Environment: envName, Cluster: cluster}}
			if p := priorDeployed(prior, name, envName, env); p != nil {
				want = *p
			}
			d, err := client.Refresh(ctx, want)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if firstErr == nil {
					firstErr = fmt.Errorf("read service %s: %w", name, err)
				}
			case d != nil:
				svc := ServiceOf(d.Spec, prior.Services[name].Contract)
				obs.Tags[name] = d.Spec.Image.Tag
				obs.Services[name] = svc
				// What a Service cannot say would be lost between this read
				// and the plan: remember that a deploy is due, and keep no
				// record, so the apply reads the revision back and sees it.
				back := serviceSpec(svc, d.Spec.Image.Tag, envName, env)
				if slices.Contains(d.Spec.PlatformSecrets, environment.ParamNATSPassword) {
					withManagedNATS(&back)
				}
				back.Namespace, back.Network, back.Tracing = d.Spec.Namespace, d.Spec.Network, d.Spec.Tracing
				if d.Unmanaged || len(ecsdeploy.Changes(back, *d)) > 0 {
					obs.Unmanaged[name] = true
				} else {
					obs.Records[name] = recordOf(d)
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return Observed{}, firstErr
	}
	return obs, nil
}

// withoutManagedNATSUser is s's env less the NATS user the platform adds
// beside the managed NATS password (withManagedNATS), which the tenant's
// configuration does not carry.
func withoutManagedNATSUser(s ecsdeploy.Spec) map[string]string {
	if !slices.Contains(s.PlatformSecrets, environment.ParamNATSPassword) || s.Env["NATS_USER"] != environment.ManagedNATSUser {
		return s.Env
	}
	env := maps.Clone(s.Env)
	delete(env, "NATS_USER")
	return env
}

// ServiceOf is the Service that deploys s, as far as a Service can say it
// (health check path and command; the rest takes its defaults), keeping
// contract, which only configuration knows.
func ServiceOf(s ecsdeploy.Spec, contract ecsdeploy.EnvContract) Service {
	svc := Service{
		Name:            s.Name,
		ImageRepository: s.Image.Repository,
		CPU:             s.CPU,
		Memory:          s.Memory,
		DesiredCount:    s.DesiredCount,
		Env:             withoutManagedNATSUser(s),
		Secrets:         s.Secrets,
		HealthCheck:     ecsdeploy.HealthCheck{Path: s.HealthCheck.Path, Command: s.HealthCheck.Command},
		Contract:        contract,
	}
	for _, p := range s.Ports {
		svc.Ports = append(svc.Ports, ecsdeploy.Port{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	return svc
}
