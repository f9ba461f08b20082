// Package release keeps release records: the set of images (service ->
// tag) an environment verified. Staging writes one once every service has
// reached steady state on its image; production deploys staging's record,
// and tenants deploy production's, so promotion moves a verified image set
// and never an untested HEAD.
//
// A record is a String parameter in Parameter Store holding JSON, at
// /pivot/releases/<name>, in the account of the environment that wrote it.
package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// ErrNotFound is returned for a release that was never written.
var ErrNotFound = errors.New("release not found")

// Record is one environment's verified image set.
type Record struct {
	Name      string            `json:"name"`
	Images    map[string]string `json:"images"`
	Source    string            `json:"source,omitempty"` // the release this one was promoted from
	Version   int64             `json:"-"`                // the parameter's version
	UpdatedAt time.Time         `json:"updated_at"`
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// ValidateName checks a release name.
func ValidateName(name string) error {
	if !nameRe.MatchString(name) {
		return fmt.Errorf("release name %q is not valid: use lowercase letters, digits and hyphens, starting with a letter", name)
	}
	return nil
}

// ParameterName is where a release is kept.
func ParameterName(name string) string { return "/pivot/releases/" + name }

// SSMAPI is the part of the SSM client a Store uses.
type SSMAPI interface {
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, opts ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, opts ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// Store reads and writes release records.
type Store struct{ SSM SSMAPI }

// NewStore returns a store over an SDK configuration.
func NewStore(cfg aws.Config) *Store { return &Store{SSM: ssm.NewFromConfig(cfg)} }

// Put writes a record, overwriting the previous one.
func (s *Store) Put(ctx context.Context, r Record) (Record, error) {
	if err := ValidateName(r.Name); err != nil {
		return r, err
	}
	r.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	b, err := json.Marshal(r)
	if err != nil {
		return r, err
	}
	out, err := s.SSM.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(ParameterName(r.Name)), Value: aws.String(string(b)), Type: ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(true), Description: aws.String("Pivot release record: the verified image set of " + r.Name),
	})
	if err != nil {
		return r, fmt.Errorf("put release %s: %w", r.Name, err)
	}
	r.Version = out.Version
	return r, nil
}

// Get reads a record.
func (s *Store) Get(ctx context.Context, name string) (Record, error) {
	out, err := s.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ParameterName(name))})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return Record{}, fmt.Errorf("release %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get release %s: %w", name, err)
	}
	var r Record
	if err := json.Unmarshal([]byte(aws.ToString(out.Parameter.Value)), &r); err != nil {
		return Record{}, fmt.Errorf("parse release %s: %w", name, err)
	}
	r.Name = name
	r.Version = out.Parameter.Version
	return r, nil
}

// Delete removes a record; a missing one is not an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	_, err := s.SSM.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(ParameterName(name))})
	var nf *ssmtypes.ParameterNotFound
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete release %s: %w", name, err)
	}
	return nil
}

// ECSAPI is the part of the ECS client verification uses.
type ECSAPI interface {
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, opts ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, opts ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

// Problem says why one service does not run its release image.
type Problem struct {
	Service string
	Reason  string
}

// VerifyError lists every service that is not steady on its tag.
type VerifyError struct{ Problems []Problem }

func (e *VerifyError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Service+": "+p.Reason)
	}
	return "release not verified: " + strings.Join(parts, "; ")
}

// Running is what one service runs now.
type Running struct {
	Found  bool
	Tags   []string // image tags of the PRIMARY deployment's containers
	App    string   // the tag of the container named "app", the service's own
	Steady bool     // one deployment, running = desired, rollout not failed
	Reason string   // why it is not steady
}

// HasTag reports whether one of the containers runs tag.
func (r Running) HasTag(tag string) bool {
	for _, t := range r.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Observe reports what every named service runs in cluster, batching
// DescribeServices ten at a time.
func Observe(ctx context.Context, api ECSAPI, cluster string, names []string) (map[string]Running, error) {
	names = append([]string(nil), names...)
	sort.Strings(names)
	found := map[string]ecstypes.Service{}
	for i := 0; i < len(names); i += 10 {
		batch := names[i:min(i+10, len(names))]
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			return nil, fmt.Errorf("describe services: %w", err)
		}
		// A failure other than MISSING says nothing about the service; it
		// must not read as "not running".
		for _, f := range out.Failures {
			if aws.ToString(f.Reason) != "MISSING" {
				return nil, fmt.Errorf("describe services: %s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
			}
		}
		for _, s := range out.Services {
			found[aws.ToString(s.ServiceName)] = s
		}
	}
	res := map[string]Running{}
	for _, n := range names {
		s, ok := found[n]
		if !ok || aws.ToString(s.Status) != "ACTIVE" {
			res[n] = Running{Reason: "no active service in cluster " + cluster}
			continue
		}
		var primary *ecstypes.Deployment
		for i := range s.Deployments {
			if aws.ToString(s.Deployments[i].Status) == "PRIMARY" {
				primary = &s.Deployments[i]
			}
		}
		r := Running{Found: true}
		if primary == nil {
			r.Reason = "no PRIMARY deployment"
			res[n] = r
			continue
		}
		tdARN := primary.TaskDefinition
		// Real ECS starts a new PRIMARY deployment for a new task definition,
		// so a lone deployment always runs the service's task definition.
		// Moto never updates its deployment record on UpdateService; trust
		// the service's own task definition in that case.
		if len(s.Deployments) == 1 && aws.ToString(s.TaskDefinition) != "" {
			tdARN = s.TaskDefinition
		}
		td, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: tdARN})
		if err != nil {
			return nil, fmt.Errorf("describe task definition of %s: %w", n, err)
		}
		for _, c := range td.TaskDefinition.ContainerDefinitions {
			img := aws.ToString(c.Image)
			if i := strings.LastIndexAny(img, ":@"); i >= 0 && i > strings.LastIndex(img, "/") {
				r.Tags = append(r.Tags, img[i+1:])
				if aws.ToString(c.Name) == "app" {
					r.App = img[i+1:]
				}
			}
		}
		switch {
		case primary.RolloutState == ecstypes.DeploymentRolloutStateFailed:
			r.Reason = "deployment failed: " + aws.ToString(primary.RolloutStateReason)
		case len(s.Deployments) > 1 || s.RunningCount != s.DesiredCount:
			r.Reason = fmt.Sprintf("not steady (%d deployments, %d/%d tasks running)", len(s.Deployments), s.RunningCount, s.DesiredCount)
		default:
			r.Steady = true
		}
		res[n] = r
	}
	return res, nil
}

// Verify checks that every service in images runs in cluster, steady, with
// its PRIMARY deployment on a task definition whose image carries the tag.
func Verify(ctx context.Context, api ECSAPI, cluster string, images map[string]string) error {
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	running, err := Observe(ctx, api, cluster, names)
	if err != nil {
		return err
	}
	sort.Strings(names)
	var problems []Problem
	for _, n := range names {
		r := running[n]
		switch {
		case !r.Found || !r.Steady:
			problems = append(problems, Problem{n, r.Reason})
		case !r.HasTag(images[n]):
			problems = append(problems, Problem{n, "runs no image tagged " + images[n]})
		}
	}
	if len(problems) > 0 {
		return &VerifyError{Problems: problems}
	}
	return nil
}

// Diff says which services change version between two image sets.
type Change struct {
	Service  string
	From, To string // empty From: added; empty To: removed
}

// Diff lists the changes from old to new, sorted by service.
func Diff(old, new map[string]string) []Change {
	var out []Change
	for s, to := range new {
		if from := old[s]; from != to {
			out = append(out, Change{Service: s, From: from, To: to})
		}
	}
	for s, from := range old {
		if _, ok := new[s]; !ok {
			out = append(out, Change{Service: s, From: from})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}
