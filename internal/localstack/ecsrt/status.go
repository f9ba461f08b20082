package ecsrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pivotapp/platform/internal/localstack/ecsrt/otelsink"
)

// TaskStatus is one task as `pivotctl local status` lists it.
type TaskStatus struct {
	Account       string    `json:"account"`
	Region        string    `json:"region"`
	Cluster       string    `json:"cluster"`
	Service       string    `json:"service"`
	TaskID        string    `json:"task_id"`
	TaskARN       string    `json:"task_arn"`
	Revision      string    `json:"revision"` // family:revision
	Deployment    string    `json:"deployment"`
	LastStatus    string    `json:"last_status"`
	DesiredStatus string    `json:"desired_status"`
	Health        string    `json:"health"`
	StopCode      string    `json:"stop_code,omitempty"`
	StoppedReason string    `json:"stopped_reason,omitempty"`
	ExitCode      *int32    `json:"exit_code,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	StoppedAt     time.Time `json:"stopped_at,omitzero"`
	// Output is the file holding the task's standard output and error.
	Output string `json:"output"`
	// Netns is the task's network namespace while it runs (DialTask).
	Netns string `json:"netns,omitempty"`
	// Spans is the file a collector task keeps its spans in.
	Spans string `json:"spans,omitempty"`
}

// Status lists every task the runtime knows, stopped ones included, by
// account, cluster, service and age.
func (r *Runtime) Status() []TaskStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]TaskStatus, 0, len(r.tasks))
	for _, t := range r.tasks {
		out = append(out, TaskStatus{
			Account: t.svc.account, Region: t.svc.region, Cluster: t.svc.cluster, Service: t.svc.name,
			TaskID: t.id, TaskARN: t.arn, Revision: t.taskDef[strings.LastIndex(t.taskDef, "/")+1:], Deployment: t.dep.id,
			LastStatus: t.lastStatus, DesiredStatus: t.desiredStatus, Health: string(t.health),
			StopCode: string(t.stopCode), StoppedReason: t.reason, ExitCode: t.exitCode,
			CreatedAt: t.createdAt, StoppedAt: t.stoppedAt, Output: filepath.Join(t.dir, "output.log"),
		})
		if t.ns != nil && t.lastStatus == "RUNNING" {
			out[len(out)-1].Netns = t.ns.name
		}
		if mapImage(r.opts.SourceDir, t.appImage).kind == imageCollector {
			out[len(out)-1].Spans = filepath.Join(t.dir, "spans.jsonl")
		}
	}
	slices.SortFunc(out, func(a, b TaskStatus) int {
		for _, c := range [][2]string{{a.Account, b.Account}, {a.Cluster, b.Cluster}, {a.Service, b.Service}} {
			if n := strings.Compare(c[0], c[1]); n != 0 {
				return n
			}
		}
		return a.CreatedAt.Compare(b.CreatedAt)
	})
	return out
}

// Spans returns the spans the collector tasks of one account's cluster
// received.
func (r *Runtime) Spans(account, cluster string) ([]otelsink.Span, error) {
	r.mu.Lock()
	var files []string
	for _, t := range r.tasks {
		if t.svc.account == account && t.svc.cluster == cluster && mapImage(r.opts.SourceDir, t.appImage).kind == imageCollector {
			files = append(files, filepath.Join(t.dir, "spans.jsonl"))
		}
	}
	r.mu.Unlock()
	var out []otelsink.Span
	for _, f := range files {
		spans, err := otelsink.Read(f)
		if err != nil {
			return nil, err
		}
		out = append(out, spans...)
	}
	return out, nil
}

// DialTask connects to a port of a running task, inside its network
// namespace (TaskStatus.Netns). It needs the privileges the runtime has.
func DialTask(ctx context.Context, netnsName string, port int) (net.Conn, error) {
	if netnsName == "" {
		return nil, errors.New("the task is not running")
	}
	n := &netns{name: netnsName, path: filepath.Join("/run/netns", netnsName)}
	return n.dial(ctx, fmt.Sprintf("127.0.0.1:%d", port))
}

// DialService connects to a port of a running task of a service, for
// callers in the runtime's own process (tests).
func (r *Runtime) DialService(ctx context.Context, account, cluster, service string, port int) (net.Conn, error) {
	for _, t := range r.Status() {
		if t.Account == account && t.Cluster == cluster && t.Service == service && t.Netns != "" {
			return DialTask(ctx, t.Netns, port)
		}
	}
	return nil, fmt.Errorf("no running task of %s in %s/%s", service, account, cluster)
}

// MessageTrace finds the trace of the one message a probe sent: the trace
// of friend's SendMessage server span, and the services whose spans carry
// it, in the order they first appear.
func MessageTrace(spans []otelsink.Span) (traceID string, services []string) {
	for _, s := range spans {
		if s.Name == "friend.connect.v1.FriendService/SendMessage" && s.Kind == "SPAN_KIND_SERVER" {
			traceID = s.TraceID
		}
	}
	if traceID == "" {
		return "", nil
	}
	for _, s := range spans {
		if s.TraceID == traceID && !slices.Contains(services, s.Service) {
			services = append(services, s.Service)
		}
	}
	return traceID, services
}

// StatusPath is where the proxy serves Status as JSON, for pivotctl.
const StatusPath = "/_pivot/ecs/tasks"

func (p *Proxy) serveStatus(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(p.rt.Status())
}
