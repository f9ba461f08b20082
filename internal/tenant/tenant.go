// Package tenant deploys a single-tenant private deployment: the whole
// stack (an environment and every service at a release) inside the tenant's
// own AWS account. It composes the environment and ecsdeploy building
// blocks; the caller hands it an aws.Config already acting in the tenant's
// account (assumed role), so tenants are data, not provider configurations.
package tenant

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/environment"
)

// Service is one service of the stack, without its image tag (the release
// gives it) and without what the environment decides (cluster, namespace,
// network, tracing).
type Service struct {
	Name            string
	ImageRepository string
	CPU             int
	Memory          int
	DesiredCount    int
	Ports           []ecsdeploy.Port
	Env             map[string]string
	Secrets         []string
	HealthCheck     ecsdeploy.HealthCheck
}

// Spec is a tenant's whole stack.
type Spec struct {
	Tenant      string
	Environment environment.Spec
	Services    []Service
	// Images is the release: the tag of every service.
	Images map[string]string
}

// Validate checks that every service has a tag in the release and nothing
// in the release is unknown.
func (s Spec) Validate() error {
	var errs []error
	names := map[string]bool{}
	for _, svc := range s.Services {
		names[svc.Name] = true
		if _, ok := s.Images[svc.Name]; !ok {
			errs = append(errs, fmt.Errorf("service %s has no image tag in the release; add it to images", svc.Name))
		}
	}
	for name := range s.Images {
		if !names[name] {
			errs = append(errs, fmt.Errorf("the release names %s, which is not among the services; remove it from images or add the service", name))
		}
	}
	return errors.Join(errs...)
}

// Result is what a deployment left running.
type Result struct {
	Environment environment.Placement
	// Deployed is the tag each service now runs; a service whose
	// deployment failed keeps the tag it had before (absent if it never ran).
	Deployed map[string]string
	// Failed holds each failed service's error.
	Failed map[string]error
}

// Err joins the failures, naming each service.
func (r Result) Err() error {
	names := make([]string, 0, len(r.Failed))
	for n := range r.Failed {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		errs = append(errs, fmt.Errorf("service %s: %w", n, r.Failed[n]))
	}
	return errors.Join(errs...)
}

// Progress reports long-running work.
type Progress func(msg string, keyvals ...any)

// Parallelism bounds concurrent service deployments in one tenant.
const Parallelism = 5

// Apply converges the tenant's environment, then deploys every service
// whose tag differs from prior (what the tenant ran before) concurrently. A
// failing service does not stop the others; the result says what runs.
// An environment failure stops everything, since no service can run
// without it.
func Apply(ctx context.Context, cfg aws.Config, spec Spec, prior map[string]string, progress Progress) (Result, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	res := Result{Deployed: map[string]string{}, Failed: map[string]error{}}
	for k, v := range prior {
		res.Deployed[k] = v
	}
	if err := spec.Validate(); err != nil {
		return res, err
	}
	progress("converging environment", "tenant", spec.Tenant, "environment", spec.Environment.Name)
	env, err := environment.New(cfg).Converge(ctx, spec.Environment)
	if err != nil {
		return res, fmt.Errorf("apply environment %s: %w", spec.Environment.Name, err)
	}
	res.Environment = env
	client := ecsdeploy.For(cfg)

	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, Parallelism)
	for _, svc := range spec.Services {
		tag := spec.Images[svc.Name]
		want := serviceSpec(svc, tag, spec.Environment.Name, env)
		if spec.Environment.NATS.Managed {
			withManagedNATS(&want)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var before *ecsdeploy.Deployed
			if got, err := client.Read(ctx, want); err == nil && got != nil {
				before = got
			}
			if before != nil && prior[svc.Name] == tag && before.Spec.Image.Tag == tag {
				return // already at the release; nothing to roll
			}
			progress("deploying service", "tenant", spec.Tenant, "service", svc.Name, "from", prior[svc.Name], "to", tag)
			_, err := client.Deploy(ctx, want, before)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed[svc.Name] = err
				progress("service failed", "tenant", spec.Tenant, "service", svc.Name, "error", err.Error())
				return
			}
			res.Deployed[svc.Name] = tag
			progress("service steady", "tenant", spec.Tenant, "service", svc.Name, "tag", tag)
		}()
	}
	wg.Wait()
	// Services dropped from the stack are removed.
	keep := map[string]bool{}
	for _, s := range spec.Services {
		keep[s.Name] = true
	}
	for name := range prior {
		if keep[name] {
			continue
		}
		progress("removing service", "tenant", spec.Tenant, "service", name)
		if err := client.Delete(ctx, ecsdeploy.Spec{Name: name, Environment: spec.Environment.Name, Cluster: env.ClusterARN}, 0); err != nil {
			res.Failed[name] = fmt.Errorf("remove: %w", err)
			continue
		}
		delete(res.Deployed, name)
	}
	return res, res.Err()
}

// Destroy removes every service and then the environment.
func Destroy(ctx context.Context, cfg aws.Config, spec Spec, progress Progress) error {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	client := ecsdeploy.For(cfg)
	names := environment.NamesOf(spec.Environment.Name)
	var errs []error
	for _, svc := range spec.Services {
		progress("removing service", "tenant", spec.Tenant, "service", svc.Name)
		if err := client.Delete(ctx, ecsdeploy.Spec{Name: svc.Name, Environment: spec.Environment.Name, Cluster: names.Cluster()}, 0); err != nil {
			errs = append(errs, fmt.Errorf("remove service %s: %w", svc.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	progress("removing environment", "tenant", spec.Tenant, "environment", spec.Environment.Name)
	if err := environment.New(cfg).Delete(ctx, spec.Environment.Name); err != nil {
		return fmt.Errorf("remove environment %s: %w", spec.Environment.Name, err)
	}
	return nil
}

// withManagedNATS gives a service that uses NATS the managed server's
// credentials: its platform user, and the password as a secret read from
// /<environment>/_platform/NATS_PASSWORD (never plain env).
func withManagedNATS(s *ecsdeploy.Spec) {
	if _, uses := s.Env["NATS_URL"]; !uses {
		return
	}
	if _, set := s.Env["NATS_USER"]; !set {
		s.Env = maps.Clone(s.Env)
		s.Env["NATS_USER"] = environment.ManagedNATSUser
	}
	if !slices.Contains(s.PlatformSecrets, environment.ParamNATSPassword) {
		s.PlatformSecrets = append(slices.Clone(s.PlatformSecrets), environment.ParamNATSPassword)
	}
}

func serviceSpec(svc Service, tag, envName string, env environment.Placement) ecsdeploy.Spec {
	return ecsdeploy.Spec{
		Name:         svc.Name,
		Environment:  envName,
		Cluster:      env.ClusterARN,
		Namespace:    env.NamespaceARN,
		Image:        ecsdeploy.Image{Repository: svc.ImageRepository, Tag: tag},
		CPU:          svc.CPU,
		Memory:       svc.Memory,
		Ports:        svc.Ports,
		DesiredCount: svc.DesiredCount,
		Env:          svc.Env,
		Secrets:      svc.Secrets,
		HealthCheck:  svc.HealthCheck,
		Tracing:      ecsdeploy.Tracing{OTLPEndpoint: env.OTLPEndpoint()},
		Network:      ecsdeploy.Network{Subnets: env.Subnets, SecurityGroups: env.SecurityGroups, AssignPublicIP: env.AssignPublicIP},
		Tags:         map[string]string{"tenant": envName},
	}
}
