package tenant

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/environment"
)

// Problem is what a plan found wrong with one service of a tenant.
type Problem struct {
	Service string
	ecsdeploy.FieldError
}

// Check verifies in the tenant's account what the services depend on:
// every secret parameter and, when the environment should already exist
// (an update), its cluster. It runs at plan time, on create as on update,
// so a tenant that cannot start is refused before anything is created in
// its account. Lookups share batched calls (ten parameters a call).
func Check(ctx context.Context, cfg aws.Config, spec Spec, envExists bool) ([]Problem, error) {
	client := ecsdeploy.For(cfg)
	cluster := ""
	if envExists {
		cluster = environment.NamesOf(spec.Environment.Name).Cluster()
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		problems []Problem
		firstErr error
	)
	for i, svc := range spec.Services {
		req := ecsdeploy.CheckRequest{Name: svc.Name, Environment: spec.Environment.Name, Secrets: svc.Secrets}
		if i == 0 {
			// One service is enough to learn the shared cluster is gone.
			req.Cluster = cluster
		}
		wg.Go(func() {
			found, err := client.Check(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("check service %s: %w", svc.Name, err)
				}
				return
			}
			for _, f := range found {
				if f.Field == "cluster" {
					// The deployment owns its environment: a refresh would
					// have planned it anew, so only a stale plan gets here.
					f.Detail = fmt.Sprintf("The environment's ECS cluster %s is gone from the tenant's account. Plan with refresh (no -refresh=false) to create the environment again.", cluster)
				}
				problems = append(problems, Problem{Service: svc.Name, FieldError: f})
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	sortProblems(problems)
	return problems, nil
}

// CheckContracts returns, without the API, a problem per variable a
// service's env contract requires that none of env, secrets or the
// platform's injected variables provides (and a warning per secret set in
// plain env): the same rule pivot_service applies.
func CheckContracts(spec Spec) []Problem {
	var problems []Problem
	for _, svc := range spec.Services {
		s := serviceSpec(svc, spec.Images[svc.Name], spec.Environment.Name, environment.Placement{})
		errs, warnings := s.CheckEnvContract(svc.Contract)
		for _, f := range append(errs, warnings...) {
			problems = append(problems, Problem{Service: svc.Name, FieldError: f})
		}
	}
	sortProblems(problems)
	return problems
}

func sortProblems(p []Problem) {
	sort.SliceStable(p, func(i, j int) bool { return p[i].Service < p[j].Service })
}
