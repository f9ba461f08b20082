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
	"strings"
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
	// Contract is what the service's binary needs from its environment;
	// configuration only, never read back.
	Contract ecsdeploy.EnvContract
}

// Record is what a tenant's state keeps of each service it deployed: the
// revision and roles it runs with. Revisions are immutable, so while the
// service still runs that revision a refresh need not fetch it.
type Record struct {
	TaskDefinitionARN string `json:"task_definition_arn"`
	TaskRoleARN       string `json:"task_role_arn"`
	ExecutionRoleARN  string `json:"execution_role_arn"`
}

// Prior is what the tenant ran after the last apply or refresh.
type Prior struct {
	Services map[string]Service
	// Tags is the image tag each service runs.
	Tags    map[string]string
	Records map[string]Record
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
	// Records holds each service known to run what Services says; a failed
	// service has none, so the next refresh reads its revision back.
	Records map[string]Record
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

// Apply converges the tenant's environment, then every service
// concurrently: each is read (its share of a batched DescribeServices call)
// and deployed when any of its settings differs from what runs, not only its
// tag. A failing service does not stop the others; the result says what
// runs. An environment failure stops everything, since no service can run
// without it.
func Apply(ctx context.Context, cfg aws.Config, spec Spec, prior Prior, progress Progress) (Result, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	res := Result{Deployed: map[string]string{}, Failed: map[string]error{}, Records: map[string]Record{}}
	for k, v := range prior.Tags {
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
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			deploying := func(changed []string) {
				progress("deploying service", "tenant", spec.Tenant, "service", svc.Name, "from", prior.Tags[svc.Name], "to", tag, "changed", strings.Join(changed, ", "))
			}
			d, changed, err := converge(ctx, client, want, priorDeployed(prior, svc.Name, spec.Environment.Name, env), deploying)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				res.Failed[svc.Name] = err
				progress("service failed", "tenant", spec.Tenant, "service", svc.Name, "error", err.Error())
				return
			case len(changed) > 0:
				progress("service steady", "tenant", spec.Tenant, "service", svc.Name, "tag", tag, "changed", strings.Join(changed, ", "))
			}
			res.Deployed[svc.Name] = tag
			res.Records[svc.Name] = recordOf(d)
		})
	}
	wg.Wait()
	// Services dropped from the stack are removed.
	keep := map[string]bool{}
	for _, s := range spec.Services {
		keep[s.Name] = true
	}
	for name := range prior.Tags {
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

// converge reads the service and deploys want over it when anything
// differs, reporting what did (to deploying first, since a deployment
// waits minutes for steady state). prior is what the state says runs (nil
// when the service is new to the state: then whatever an interrupted apply
// left is adopted).
func converge(ctx context.Context, client *ecsdeploy.Client, want ecsdeploy.Spec, prior *ecsdeploy.Deployed, deploying func([]string)) (*ecsdeploy.Deployed, []string, error) {
	var live *ecsdeploy.Deployed
	var err error
	if prior != nil {
		live, err = client.Refresh(ctx, *prior)
	} else {
		live, err = client.Read(ctx, want)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	changed := []string{"service"}
	if live != nil {
		if changed = ecsdeploy.Changes(want, *live); len(changed) == 0 {
			return live, nil, nil
		}
	}
	deploying(changed)
	d, err := client.Deploy(ctx, want, live)
	if err != nil {
		return nil, nil, err
	}
	return d, changed, nil
}

// priorDeployed is what the state says service name runs, or nil.
func priorDeployed(prior Prior, name, envName string, env environment.Placement) *ecsdeploy.Deployed {
	svc, ok := prior.Services[name]
	tag := prior.Tags[name]
	if !ok || tag == "" {
		return nil
	}
	rec := prior.Records[name]
	return &ecsdeploy.Deployed{
		Spec:              serviceSpec(svc, tag, envName, env),
		TaskDefinitionARN: rec.TaskDefinitionARN,
		TaskRoleARN:       rec.TaskRoleARN,
		ExecutionRoleARN:  rec.ExecutionRoleARN,
	}
}

func recordOf(d *ecsdeploy.Deployed) Record {
	if d == nil {
		return Record{}
	}
	return Record{TaskDefinitionARN: d.TaskDefinitionARN, TaskRoleARN: d.TaskRoleARN, ExecutionRoleARN: d.ExecutionRoleARN}
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
