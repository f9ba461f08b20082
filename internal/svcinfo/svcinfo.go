// Package svcinfo answers what an operator asks about one deployed service
// (pivotctl svc status and svc logs): its tasks, revision, health, last
// deployment and its events, the image tag it runs against the release
// record's, and its logs. It uses only the AWS APIs ECS itself answers, so
// it works the same on AWS and on the local stack, whose ECS runtime serves
// DescribeServices, ListTasks and DescribeTasks from what really runs.
package svcinfo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pivotapp/platform/internal/release"
)

// Query names a service in an environment.
type Query struct {
	Environment string
	Service     string
	// Cluster defaults to the environment's name (pivot_environment names
	// its cluster after the environment).
	Cluster string
	// Release is the release record the service should run (default: the
	// environment's own, named after it); "-" skips the comparison.
	Release string
	// Events is how many service events to show (default 5).
	Events int
}

func (q Query) cluster() string {
	if q.Cluster != "" {
		return q.Cluster
	}
	return q.Environment
}

// Status is a service's state.
type Status struct {
	Service      string
	Cluster      string
	State        string // ACTIVE, DRAINING, ...
	Desired      int
	Running      int
	Pending      int
	Revision     string // family:revision
	Image        string
	Tag          string
	ReleaseName  string
	ReleaseTag   string // empty when the record does not name the service
	ReleaseError string // why the record could not be read
	Healthy      bool
	Health       string // a sentence
	Deployments  []Deployment
	Events       []Event
	Tasks        []Task
}

// Deployment is one of the service's deployments, newest first.
type Deployment struct {
	ID, Status, Rollout, Reason, Revision string
	Desired, Running, Failed              int
	Updated                               time.Time
}

// Event is a service event, newest first.
type Event struct {
	At      time.Time
	Message string
}

// Task is one task, running ones first.
type Task struct {
	ID, Revision, LastStatus, Health, StoppedReason string
	StartedAt                                       time.Time
}

// ErrNotFound means the service does not exist (or is INACTIVE).
var ErrNotFound = errors.New("service not found")

// ECSAPI is the part of ECS Status uses.
type ECSAPI interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// Releases reads release records.
type Releases interface {
	Get(ctx context.Context, name string) (release.Record, error)
}

// Reader reads services of one account.
type Reader struct {
	ECS      ECSAPI
	Releases Releases
}

// New returns a Reader acting with cfg.
func New(cfg aws.Config) *Reader {
	return &Reader{ECS: ecs.NewFromConfig(cfg), Releases: release.NewStore(cfg)}
}

// Status reads the service's state.
func (r *Reader) Status(ctx context.Context, q Query) (*Status, error) {
	cluster := q.cluster()
	out, err := r.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{q.Service}})
	if err != nil {
		return nil, fmt.Errorf("describe service %s in cluster %s: %w", q.Service, cluster, err)
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
		return nil, fmt.Errorf("%w: %s in cluster %s", ErrNotFound, q.Service, cluster)
	}
	svc := out.Services[0]
	st := &Status{
		Service: q.Service, Cluster: cluster, State: aws.ToString(svc.Status),
		Desired: int(svc.DesiredCount), Running: int(svc.RunningCount), Pending: int(svc.PendingCount),
		Revision: revision(aws.ToString(svc.TaskDefinition)),
	}
	if td, err := r.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition}); err == nil {
		st.Image = appImage(td.TaskDefinition)
		st.Tag = imageTag(st.Image)
	} else {
		return nil, fmt.Errorf("describe task definition %s: %w", aws.ToString(svc.TaskDefinition), err)
	}
	for _, d := range svc.Deployments {
		st.Deployments = append(st.Deployments, Deployment{
			ID: aws.ToString(d.Id), Status: aws.ToString(d.Status), Rollout: string(d.RolloutState), Reason: aws.ToString(d.RolloutStateReason),
			Revision: revision(aws.ToString(d.TaskDefinition)), Desired: int(d.DesiredCount), Running: int(d.RunningCount),
			Failed: int(d.FailedTasks), Updated: aws.ToTime(d.UpdatedAt),
		})
	}
	sort.SliceStable(st.Deployments, func(i, j int) bool { return st.Deployments[i].Updated.After(st.Deployments[j].Updated) })
	n := q.Events
	if n == 0 {
		n = 5
	}
	for _, e := range svc.Events {
		if len(st.Events) == n {
			break
		}
		st.Events = append(st.Events, Event{At: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	if st.Tasks, err = r.tasks(ctx, cluster, q.Service); err != nil {
		return nil, err
	}
	st.Healthy, st.Health = health(st)
	if q.Release != "-" && r.Releases != nil {
		st.ReleaseName = q.Release
		if st.ReleaseName == "" {
			st.ReleaseName = q.Environment
		}
		rec, err := r.Releases.Get(ctx, st.ReleaseName)
		switch {
		case errors.Is(err, release.ErrNotFound):
			st.ReleaseError = "no release record " + st.ReleaseName
		case err != nil:
			st.ReleaseError = err.Error()
		default:
			st.ReleaseTag = rec.Images[q.Service]
		}
	}
	return st, nil
}

// tasks lists the service's running tasks and its recently stopped ones
// (ECS keeps stopped tasks for about an hour).
func (r *Reader) tasks(ctx context.Context, cluster, service string) ([]Task, error) {
	var arns []string
	for _, desired := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		var token *string
		for {
			out, err := r.ECS.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: desired, NextToken: token})
			if err != nil {
				return nil, fmt.Errorf("list tasks of %s: %w", service, err)
			}
			arns = append(arns, out.TaskArns...)
			if token = out.NextToken; token == nil {
				break
			}
		}
	}
	var tasks []Task
	for start := 0; start < len(arns); start += 100 { // DescribeTasks takes 100
		out, err := r.ECS.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[start:min(start+100, len(arns))]})
		if err != nil {
			return nil, fmt.Errorf("describe tasks of %s: %w", service, err)
		}
		for _, t := range out.Tasks {
			task := Task{
				ID: lastPart(aws.ToString(t.TaskArn)), Revision: revision(aws.ToString(t.TaskDefinitionArn)),
				LastStatus: aws.ToString(t.LastStatus), Health: string(t.HealthStatus),
				StoppedReason: aws.ToString(t.StoppedReason), StartedAt: aws.ToTime(t.StartedAt),
			}
			tasks = append(tasks, task)
		}
	}
	sort.SliceStable(tasks, func(i, j int) bool {
		ri, rj := tasks[i].LastStatus == "RUNNING", tasks[j].LastStatus == "RUNNING"
		if ri != rj {
			return ri
		}
		return tasks[i].StartedAt.After(tasks[j].StartedAt)
	})
	return tasks, nil
}

// health sums the service up the way its steady-state wait judges it.
func health(st *Status) (bool, string) {
	unhealthy := 0
	for _, t := range st.Tasks {
		if t.LastStatus == "RUNNING" && t.Health == "UNHEALTHY" {
			unhealthy++
		}
	}
	var primary *Deployment
	for i := range st.Deployments {
		if st.Deployments[i].Status == "PRIMARY" {
			primary = &st.Deployments[i]
		}
	}
	switch {
	case primary != nil && primary.Rollout == "FAILED":
		return false, "last deployment failed: " + primary.Reason
	case unhealthy > 0:
		return false, fmt.Sprintf("%d running task(s) fail their health check", unhealthy)
	case len(st.Deployments) > 1:
		return false, fmt.Sprintf("deploying: %d deployments, %d of %d tasks running", len(st.Deployments), st.Running, st.Desired)
	case st.Running < st.Desired:
		return false, fmt.Sprintf("%d of %d tasks running", st.Running, st.Desired)
	}
	return true, fmt.Sprintf("steady: %d of %d tasks running", st.Running, st.Desired)
}

func appImage(td *ecstypes.TaskDefinition) string {
	if td == nil {
		return ""
	}
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == "app" {
			return aws.ToString(c.Image)
		}
	}
	if len(td.ContainerDefinitions) > 0 {
		return aws.ToString(td.ContainerDefinitions[0].Image)
	}
	return ""
}

// imageTag returns the tag (or digest) of an image reference.
func imageTag(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		return image[i+1:]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return "latest"
}

func revision(arn string) string { return lastPart(arn) }

func lastPart(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// LogGroup is the service's default log group (pivot_service's logging
// default).
func LogGroup(environment, service string) string { return "/pivot/" + environment + "/" + service }

// LogLine is one log event.
type LogLine struct {
	At      time.Time
	Stream  string
	Message string
}

// LogsAPI is the part of CloudWatch Logs Logs uses.
type LogsAPI interface {
	FilterLogEvents(context.Context, *cloudwatchlogs.FilterLogEventsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// CloudWatchLogs reads a log group, from a start time on.
type CloudWatchLogs struct {
	API   LogsAPI
	Group string
	seen  map[string]bool
}

// Fetch returns the events from since on (events already returned by an
// earlier Fetch are skipped, so a follow loop can ask again from the last
// event's time) and the time to ask from next.
func (c *CloudWatchLogs) Fetch(ctx context.Context, since time.Time) ([]LogLine, time.Time, error) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(c.Group), StartTime: aws.Int64(since.UnixMilli())}
	var lines []LogLine
	next := since
	p := cloudwatchlogs.NewFilterLogEventsPaginator(c.API, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, since, fmt.Errorf("read log group %s: %w", c.Group, err)
		}
		for _, e := range page.Events {
			id := aws.ToString(e.EventId)
			if c.seen[id] {
				continue
			}
			c.seen[id] = true
			at := time.UnixMilli(aws.ToInt64(e.Timestamp))
			lines = append(lines, LogLine{At: at, Stream: aws.ToString(e.LogStreamName), Message: strings.TrimRight(aws.ToString(e.Message), "\n")})
			if at.After(next) {
				next = at
			}
		}
	}
	slices.SortStableFunc(lines, func(a, b LogLine) int { return a.At.Compare(b.At) })
	return lines, next, nil
}
