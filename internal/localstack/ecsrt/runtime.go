// Package ecsrt is the local ECS runtime: it runs what ECS would run for the
// services moto holds. Moto stores services and task definitions but runs
// nothing; the runtime follows every ACTIVE service in every account and
// runs desiredCount tasks of its current task definition as local
// processes, each in a network namespace of its own, with its secrets read
// as its execution role allows, its Service Connect names resolved within
// its environment, and its container health check run as ECS runs it.
// A proxy in front of moto (Proxy) answers what ECS reports about tasks,
// counts and deployments from what runs, and passes everything else
// through.
package ecsrt

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/google/uuid"

	"github.com/pivotapp/platform/internal/awsx"
)

// Options configures a Runtime.
type Options struct {
	// MotoEndpoint is moto's own address (not the proxy's).
	MotoEndpoint string
	Region       string
	AccessKey    string
	SecretKey    string
	// SourceDir is the repository the service binaries are built from.
	SourceDir string
	// Dir holds the tasks' folders: output, JetStream stores, spans.
	Dir string
	// CacheDir holds built binaries, shared across runtimes; default
	// <SourceDir>/.pivot/cache/bin.
	CacheDir string
	// PollInterval is how often moto is read for changes made without the
	// proxy; default 2s.
	PollInterval time.Duration
	Logf         func(format string, a ...any)
}

// Runtime runs the tasks of moto's services.
type Runtime struct {
	opts     Options
	sessions *awsx.Sessions
	build    *builder
	logf     func(string, ...any)
	disabled error // why tasks cannot run here (not root)

	mu       sync.Mutex
	services map[string]*service // by service ARN
	tasks    map[string]*task    // by task ARN
	taskDefs map[string]*ecstypes.TaskDefinition
	ips      map[string]int    // namespace key -> last alias address handed out
	nsNames  map[string]string // namespace ARN -> name

	pollFailures int // consecutive, touched by the loop only

	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// service is what the runtime knows of one ECS service.
type service struct {
	arn, account, region, cluster, name string
	desired                             int
	taskDef                             string
	sc                                  *serviceConnect
	dc                                  *deploymentConfig
	deployments                         []*deployment // [0] is PRIMARY
	deleted                             bool
	// updatedAt is when the proxy last saw the service change; a poll that
	// began earlier is older news.
	updatedAt time.Time
	rr        int // round-robin cursor for Service Connect
	// clientToken is the idempotency token the service was created with.
	clientToken string
	// createdAt is when the runtime first saw the service.
	createdAt time.Time
}

type deployment struct {
	id        string
	taskDef   string
	desired   int
	createdAt time.Time
	updatedAt time.Time
	rollout   ecstypes.DeploymentRolloutState
	reason    string
	failed    int
	backoff   time.Time // no new task before this, after failures
	// completed is set once the deployment reached steady state: the
	// circuit breaker rolls back to the last completed one.
	completed bool
	// rollback marks a deployment the circuit breaker started; when it
	// fails too, ECS does not roll back again.
	rollback bool
	// visible holds the services (by ARN) whose Service Connect endpoints
	// the deployment's tasks resolve: those that existed when it started.
	// ECS gives existing and replacement tasks that list until the service
	// is deployed again; a server created later stays out of reach.
	visible map[string]bool
}

// serviceConnect is the part of a service's Service Connect configuration
// the runtime uses. Moto does not store it, so the proxy records it from
// CreateService and UpdateService requests.
type serviceConnect struct {
	Enabled   bool   `json:"enabled"`
	Namespace string `json:"namespace"`
	Services  []struct {
		PortName      string `json:"portName"`
		DiscoveryName string `json:"discoveryName"`
		ClientAliases []struct {
			Port    int32  `json:"port"`
			DNSName string `json:"dnsName"`
		} `json:"clientAliases"`
	} `json:"services"`
}

type deploymentConfig struct {
	MaximumPercent           *int32 `json:"maximumPercent"`
	MinimumHealthyPercent    *int32 `json:"minimumHealthyPercent"`
	DeploymentCircuitBreaker *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker"`
}

// New makes a runtime; Start runs it.
func New(opts Options) *Runtime {
	if opts.PollInterval == 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(opts.SourceDir, ".pivot", "cache", "bin")
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Runtime{
		opts: opts, logf: logf,
		sessions: awsx.NewSessions(awsx.Config{Region: opts.Region, Endpoint: opts.MotoEndpoint, AccessKey: opts.AccessKey, SecretKey: opts.SecretKey}),
		build:    &builder{sourceDir: opts.SourceDir, cacheDir: opts.CacheDir},
		services: map[string]*service{}, tasks: map[string]*task{}, taskDefs: map[string]*ecstypes.TaskDefinition{},
		ips: map[string]int{}, nsNames: map[string]string{},
		wake: make(chan struct{}, 1),
	}
}

// Start begins following moto. Without root the runtime runs no task: it
// says so once, and every task it would start stops with that reason.
func (r *Runtime) Start(ctx context.Context) error {
	if err := os.MkdirAll(r.opts.Dir, 0o755); err != nil {
		return fmt.Errorf("create runtime dir: %w", err)
	}
	if r.disabled = supported(); r.disabled != nil {
		r.logf("local ECS runtime: %v; tasks will not run", r.disabled)
	} else {
		removeStaleNetns()
	}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.wg.Add(1)
	go r.loop()
	return nil
}

// Stop stops every task and waits for them.
func (r *Runtime) Stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	var live []*task
	for _, t := range r.tasks {
		if t.lastStatus != "STOPPED" {
			live = append(live, t)
		}
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stopTask(t, ecstypes.TaskStopCodeUserInitiated, "Local ECS runtime stopped")
			<-t.done
		}()
	}
	wg.Wait()
}

func (r *Runtime) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runtime) loop() {
	defer r.wg.Done()
	tick := time.NewTicker(r.opts.PollInterval)
	defer tick.Stop()
	sched := time.NewTicker(250 * time.Millisecond)
	defer sched.Stop()
	r.poll()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-tick.C:
			r.poll()
		case <-r.wake:
		case <-sched.C:
		}
		r.schedule()
	}
}

// motoService is a service as moto's data dump lists it.
type motoService struct {
	ARN            string `json:"arn"`
	Name           string `json:"name"`
	ClusterName    string `json:"cluster_name"`
	ClusterARN     string `json:"cluster_arn"`
	DesiredCount   int    `json:"desired_count"`
	TaskDefinition string `json:"task_definition"`
	Status         string `json:"status"`
}

// poll reads every account's services from moto in one call (its data
// dump), so services changed without the proxy are followed too.
func (r *Runtime) poll() {
	began := time.Now()
	ctx, cancel := context.WithTimeout(r.ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.opts.MotoEndpoint+"/moto-api/data.json", nil)
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if r.ctx.Err() == nil {
			r.logf("local ECS runtime: read moto: %v", err)
		}
		return
	}
	defer resp.Body.Close()
	var dump struct {
		ECS struct {
			Service []motoService `json:"Service"`
		} `json:"ecs"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dump); err != nil {
		// Moto's dump fails now and then while another request changes its
		// state; the next poll, or the proxy, catches up.
		if r.pollFailures++; r.pollFailures%10 == 0 {
			r.logf("local ECS runtime: read moto's data (%d times in a row): %v", r.pollFailures, err)
		}
		return
	}
	r.pollFailures = 0
	seen := map[string]bool{}
	for _, ms := range dump.ECS.Service {
		if ms.Status != "ACTIVE" {
			continue
		}
		seen[ms.ARN] = true
		r.observe(ms.ARN, ms.ClusterName, ms.Name, ms.DesiredCount, ms.TaskDefinition, nil, nil, began)
	}
	r.mu.Lock()
	for arn, s := range r.services {
		if !seen[arn] && !s.deleted && s.updatedAt.Before(began) {
			s.deleted = true
		}
	}
	r.mu.Unlock()
}

// observe records a service's wanted state. sc and dc are recorded when
// given (from a request the proxy saw); at is when the news was current.
func (r *Runtime) observe(arn, cluster, name string, desired int, taskDef string, sc *serviceConnect, dc *deploymentConfig, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.services[arn]
	if s == nil {
		account, region := arnAccountRegion(arn)
		s = &service{arn: arn, account: account, region: region, cluster: cluster, name: name, desired: -1, createdAt: time.Now()}
		r.services[arn] = s
	} else if at.Before(s.updatedAt) {
		return
	}
	if sc != nil {
		s.sc = sc
	}
	if dc != nil {
		s.dc = dc
	}
	s.deleted = false
	now := time.Now()
	if taskDef != "" && taskDef != s.taskDef {
		s.taskDef = taskDef
		for _, d := range s.deployments {
			if d.rollout != ecstypes.DeploymentRolloutStateFailed {
				d.rollout = ""
			}
		}
		s.deployments = append([]*deployment{{
			id: "ecs-svc/" + strings.ReplaceAll(uuid.NewString(), "-", "")[:19], taskDef: taskDef, desired: desired,
			createdAt: now, updatedAt: now, rollout: ecstypes.DeploymentRolloutStateInProgress, visible: r.visibleTo(s),
		}}, s.deployments...)
	}
	if desired != s.desired && len(s.deployments) > 0 {
		s.deployments[0].desired = desired
		s.deployments[0].updatedAt = now
	}
	s.desired = desired
	if at.After(s.updatedAt) {
		s.updatedAt = at
	}
}

// forget marks a service deleted: its tasks stop.
// createConflict answers a CreateService as ECS does when a live service of
// that name exists in the cluster: the same call again (same clientToken)
// is idempotent, any other is refused. Moto would overwrite the service.
func (r *Runtime) createConflict(account, region string, body []byte) string {
	var in struct {
		ServiceName string `json:"serviceName"`
		Cluster     string `json:"cluster"`
		ClientToken string `json:"clientToken"`
	}
	if json.Unmarshal(body, &in) != nil {
		return ""
	}
	cluster := clusterName(in.Cluster)
	if cluster == "" {
		cluster = "default"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.services {
		if s.deleted || s.account != account || s.region != region || s.cluster != cluster || s.name != in.ServiceName {
			continue
		}
		if in.ClientToken != "" && in.ClientToken == s.clientToken {
			return ""
		}
		return "Creation of service was not idempotent."
	}
	return ""
}

// created records the idempotency token of a service just created.
func (r *Runtime) created(arn string, body []byte) {
	var in struct {
		ClientToken string `json:"clientToken"`
	}
	_ = json.Unmarshal(body, &in)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.services[arn]; s != nil {
		s.clientToken = in.ClientToken
	}
}

func (r *Runtime) forget(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.services[arn]; s != nil {
		s.deleted = true
		s.updatedAt = time.Now()
	}
}

// schedule starts and stops tasks so that every service converges on its
// wanted state, the way ECS's service scheduler does for a rolling update.
func (r *Runtime) schedule() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for arn, s := range r.services {
		live := r.liveTasks(s)
		if s.deleted {
			for _, t := range live {
				go r.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, "Service "+s.name+" was deleted")
			}
			if len(live) == 0 {
				delete(r.services, arn)
			}
			continue
		}
		if len(s.deployments) == 0 {
			continue
		}
		primary := s.deployments[0]
		byDep := map[*deployment][]*task{}
		for _, t := range live {
			byDep[t.dep] = append(byDep[t.dep], t)
		}
		r.circuitBreaker(s, primary)
		primary = s.deployments[0]

		mine := byDep[primary]
		healthy := 0
		for _, t := range mine {
			if t.ready() {
				healthy++
			}
		}
		maxTotal := primary.desired * int(percentOr(s.dc, true)) / 100
		stopFirst := percentOr(s.dc, false) == 0
		switch {
		case len(mine) > primary.desired:
			// Scale in: the newest tasks go first.
			slices.SortFunc(mine, func(a, b *task) int { return b.createdAt.Compare(a.createdAt) })
			for _, t := range mine[:len(mine)-primary.desired] {
				go r.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, "Scaling activity initiated by (deployment "+primary.id+")")
			}
		case len(mine) < primary.desired && primary.rollout != ecstypes.DeploymentRolloutStateFailed && now.After(primary.backoff):
			others := len(live) - len(mine)
			if stopFirst {
				others = 0 // old tasks are stopped below before new ones count
			}
			n := min(primary.desired-len(mine), max(0, maxTotal-len(mine)-others))
			if stopFirst && len(live) > len(mine) {
				n = 0 // wait for the old tasks to be gone
			}
			for range n {
				r.launch(s, primary)
			}
		}
		// Old deployments drain once the new one serves (or at once when
		// the service stops first).
		for _, d := range s.deployments[1:] {
			if healthy >= primary.desired || stopFirst {
				for _, t := range byDep[d] {
					go r.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, "Scaling activity initiated by (deployment "+primary.id+")")
				}
			}
		}
		kept := []*deployment{s.deployments[0]} // a new array: s.deployments is still read below
		for _, d := range s.deployments[1:] {
			if len(byDep[d]) > 0 {
				kept = append(kept, d)
			}
		}
		// A FAILED deployment stays listed beside the rollback for a while,
		// as ECS shows it.
		for _, d := range s.deployments[1:] {
			if len(byDep[d]) == 0 && d.rollout == ecstypes.DeploymentRolloutStateFailed && now.Sub(d.updatedAt) < time.Minute && !slices.Contains(kept, d) {
				kept = append(kept, d)
			}
		}
		s.deployments = kept
		if primary.rollout == ecstypes.DeploymentRolloutStateInProgress && healthy == primary.desired && len(mine) == primary.desired && len(s.deployments) == 1 {
			primary.rollout = ecstypes.DeploymentRolloutStateCompleted
			primary.reason = "ECS deployment " + primary.id + " completed."
			primary.completed = true
			primary.updatedAt = now
		}
	}
	r.pruneStopped(now)
}

// circuitBreaker fails a deployment whose tasks keep failing and, when
// asked to, rolls the service back to its last completed deployment.
// Threshold: half the desired count, at least 3 and at most 200 (the ECS
// API reference's ServiceDeploymentCircuitBreaker).
func (r *Runtime) circuitBreaker(s *service, d *deployment) {
	cb := s.dc != nil && s.dc.DeploymentCircuitBreaker != nil && s.dc.DeploymentCircuitBreaker.Enable
	threshold := min(200, max(3, int(math.Ceil(0.5*float64(d.desired)))))
	if !cb || d.rollout != ecstypes.DeploymentRolloutStateInProgress || d.failed < threshold {
		return
	}
	d.rollout = ecstypes.DeploymentRolloutStateFailed
	d.reason = "ECS deployment circuit breaker: tasks failed to start."
	d.updatedAt = time.Now()
	if !s.dc.DeploymentCircuitBreaker.Rollback || d.rollback {
		return
	}
	var prev *deployment
	for _, o := range s.deployments[1:] {
		if o.completed {
			prev = o
			break
		}
	}
	if prev == nil {
		return
	}
	d.reason += " Rolling back to " + prev.taskDef
	// The service itself returns to the previous revision, as ECS's
	// rollback does; moto learns it from the runtime. The call is made
	// holding the runtime's lock, so no poll of moto in between reads the
	// failed revision back as news.
	r.rollback(s.account, s.region, s.cluster, s.name, prev.taskDef)
	now := time.Now()
	s.taskDef = prev.taskDef
	s.updatedAt = now
	s.deployments = append([]*deployment{{
		id: "ecs-svc/" + strings.ReplaceAll(uuid.NewString(), "-", "")[:19], taskDef: prev.taskDef, desired: d.desired,
		createdAt: now, updatedAt: now, rollout: ecstypes.DeploymentRolloutStateInProgress, rollback: true, visible: r.visibleTo(s),
	}}, s.deployments...)
}

// visibleTo lists the services whose Service Connect endpoints a
// deployment of s starting now resolves: those that exist now. Called with
// r.mu held.
func (r *Runtime) visibleTo(s *service) map[string]bool {
	visible := map[string]bool{}
	for arn, other := range r.services {
		if !other.deleted && other.account == s.account && other.region == s.region {
			visible[arn] = true
		}
	}
	return visible
}

func (r *Runtime) rollback(account, region, cluster, name, taskDef string) {
	cfg, err := r.account(r.ctx, account, region)
	if err == nil {
		_, err = ecs.NewFromConfig(cfg).UpdateService(r.ctx, &ecs.UpdateServiceInput{
			Cluster: aws.String(cluster), Service: aws.String(name), TaskDefinition: aws.String(taskDef),
		})
	}
	if err != nil {
		r.logf("local ECS runtime: roll back %s: %v", name, err)
	}
}

func percentOr(dc *deploymentConfig, maximum bool) int32 {
	if maximum {
		if dc != nil && dc.MaximumPercent != nil {
			return *dc.MaximumPercent
		}
		return 200
	}
	if dc != nil && dc.MinimumHealthyPercent != nil {
		return *dc.MinimumHealthyPercent
	}
	return 100
}

// liveTasks are a service's tasks that are not stopped or stopping.
func (r *Runtime) liveTasks(s *service) []*task {
	var out []*task
	for _, t := range r.tasks {
		if t.svc == s && t.desiredStatus == "RUNNING" {
			out = append(out, t)
		}
	}
	return out
}

// pruneStopped forgets stopped tasks after an hour, as ECS does, keeping
// at most 100 per service.
func (r *Runtime) pruneStopped(now time.Time) {
	per := map[*service][]*task{}
	for arn, t := range r.tasks {
		if t.lastStatus != "STOPPED" {
			continue
		}
		if now.Sub(t.stoppedAt) > time.Hour {
			delete(r.tasks, arn)
			continue
		}
		per[t.svc] = append(per[t.svc], t)
	}
	for _, ts := range per {
		if len(ts) <= 100 {
			continue
		}
		slices.SortFunc(ts, func(a, b *task) int { return b.stoppedAt.Compare(a.stoppedAt) })
		for _, t := range ts[100:] {
			delete(r.tasks, t.arn)
		}
	}
}

// account returns an SDK configuration acting in an account, straight on
// moto (the runtime is AWS's side of the API, not a client of the proxy).
func (r *Runtime) account(ctx context.Context, account, region string) (aws.Config, error) {
	return r.sessions.For(ctx, awsx.Target{RoleARN: "arn:aws:iam::" + account + ":role/pivot-local-ecs-agent", Region: region})
}

// namespaceName returns the name of a Service Connect namespace given by
// name or ARN (ECS takes either; services of one environment may use
// both), so that they compare equal.
func (r *Runtime) namespaceName(ctx context.Context, account, region, ref string) string {
	if !strings.HasPrefix(ref, "arn:") {
		return ref
	}
	r.mu.Lock()
	name, ok := r.nsNames[ref]
	r.mu.Unlock()
	if ok {
		return name
	}
	cfg, err := r.account(ctx, account, region)
	if err != nil {
		return ref
	}
	out, err := servicediscovery.NewFromConfig(cfg).GetNamespace(ctx, &servicediscovery.GetNamespaceInput{Id: aws.String(ref[strings.LastIndex(ref, "/")+1:])})
	if err != nil || out.Namespace == nil {
		r.logf("local ECS runtime: look up namespace %s: %v", ref, err)
		return ref
	}
	r.mu.Lock()
	r.nsNames[ref] = aws.ToString(out.Namespace.Name)
	r.mu.Unlock()
	return aws.ToString(out.Namespace.Name)
}

// taskDefinition returns a revision, read once: revisions are immutable.
func (r *Runtime) taskDefinition(ctx context.Context, account, region, arn string) (*ecstypes.TaskDefinition, error) {
	r.mu.Lock()
	td := r.taskDefs[arn]
	r.mu.Unlock()
	if td != nil {
		return td, nil
	}
	cfg, err := r.account(ctx, account, region)
	if err != nil {
		return nil, err
	}
	out, err := ecs.NewFromConfig(cfg).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	r.mu.Lock()
	r.taskDefs[arn] = out.TaskDefinition
	r.mu.Unlock()
	return out.TaskDefinition, nil
}

// arnAccountRegion splits arn:aws:ecs:<region>:<account>:...
func arnAccountRegion(arn string) (account, region string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return "", ""
	}
	return parts[4], parts[3]
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
