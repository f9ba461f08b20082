package ecsrt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Proxy stands in front of moto as the stack's AWS endpoint. It answers
// what ECS reports about running work (DescribeServices' counts and
// deployments, ListTasks, DescribeTasks, StopTask) from the runtime, tells
// the runtime at once about services created, updated or deleted through
// it, and passes every other call through to moto unchanged.
type Proxy struct {
	URL string

	rt       *Runtime
	upstream *url.URL
	rp       *httputil.ReverseProxy
	srv      *http.Server

	mu       sync.Mutex
	accounts map[string]string // access key -> account
}

const ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113."

// StartProxy listens on a free loopback port.
func StartProxy(rt *Runtime) (*Proxy, error) {
	u, err := url.Parse(rt.opts.MotoEndpoint)
	if err != nil {
		return nil, fmt.Errorf("parse moto endpoint: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	p := &Proxy{URL: "http://" + l.Addr().String(), rt: rt, upstream: u, rp: httputil.NewSingleHostReverseProxy(u), accounts: map[string]string{}}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == StatusPath && req.Method == http.MethodGet {
		p.serveStatus(w)
		return
	}
	if req.URL.Path == PublishPath && req.Method == http.MethodGet {
		p.servePublish(w, req)
		return
	}
	op, ok := strings.CutPrefix(req.Header.Get("X-Amz-Target"), ecsTargetPrefix)
	if !ok {
		p.rp.ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	switch op {
	case "ListTasks", "DescribeTasks", "StopTask":
		account, region := p.caller(req)
		if account == "" {
			break
		}
		status, out := p.answerTasks(op, account, region, body)
		if out == nil {
			break // not the runtime's: moto answers
		}
		writeJSON(w, status, out)
		return
	case "CreateService", "UpdateService", "DeleteService", "DescribeServices":
		p.relay(w, req, op, body)
		return
	case "ListServiceDeployments", "DescribeServiceDeployments":
		// Moto answers operations it lacks with a bare 500, which clients
		// retry as a server fault; say plainly that the local stack has
		// no such operation, as an endpoint without it does.
		writeJSON(w, http.StatusBadRequest, ecsError("UnknownOperationException", op+" is not implemented by the local stack; follow the service's deployments instead"))
		return
	}
	p.rp.ServeHTTP(w, req)
}

// relay sends a service call to moto and adjusts or learns from the answer.
func (p *Proxy) relay(w http.ResponseWriter, req *http.Request, op string, body []byte) {
	if op == "CreateService" {
		if account, region := p.caller(req); account != "" {
			if refusal := p.rt.createConflict(account, region, body); refusal != "" {
				writeJSON(w, http.StatusBadRequest, ecsError("InvalidParameterException", refusal))
				return
			}
		}
	}
	began := time.Now()
	status, header, resp, err := p.forward(req, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if status == http.StatusOK {
		switch op {
		case "CreateService", "UpdateService":
			var in struct {
				ServiceConnect     *serviceConnect   `json:"serviceConnectConfiguration"`
				Deployment         *deploymentConfig `json:"deploymentConfiguration"`
				ForceNewDeployment bool              `json:"forceNewDeployment"`
			}
			var out struct {
				Service motoJSONService `json:"service"`
			}
			if json.Unmarshal(body, &in) == nil && json.Unmarshal(resp, &out) == nil && out.Service.ServiceArn != "" {
				s := out.Service
				if in.ServiceConnect != nil {
					account, region := arnAccountRegion(s.ServiceArn)
					in.ServiceConnect.Namespace = p.rt.namespaceName(req.Context(), account, region, in.ServiceConnect.Namespace)
				}
				if in.ForceNewDeployment {
					p.rt.forceNewDeployment(s.ServiceArn)
				}
				p.rt.observe(s.ServiceArn, clusterName(s.ClusterArn), s.ServiceName, s.DesiredCount, s.TaskDefinition, in.ServiceConnect, in.Deployment, began)
				if op == "CreateService" {
					p.rt.created(s.ServiceArn, body)
				}
				p.rt.poke()
			}
		case "DeleteService":
			var out struct {
				Service motoJSONService `json:"service"`
			}
			if json.Unmarshal(resp, &out) == nil && out.Service.ServiceArn != "" {
				p.rt.forget(out.Service.ServiceArn)
				p.rt.poke()
			}
		case "DescribeServices":
			resp = p.rt.patchServices(resp, began)
		}
	}
	for k, v := range header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(resp)
}

type motoJSONService struct {
	ServiceArn     string `json:"serviceArn"`
	ServiceName    string `json:"serviceName"`
	ClusterArn     string `json:"clusterArn"`
	TaskDefinition string `json:"taskDefinition"`
	DesiredCount   int    `json:"desiredCount"`
	Status         string `json:"status"`
}

func (p *Proxy) forward(req *http.Request, body []byte) (int, http.Header, []byte, error) {
	out, err := http.NewRequestWithContext(req.Context(), req.Method, p.upstream.String()+req.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reach moto: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

var credentialScope = regexp.MustCompile(`Credential=([^/,\s]+)/\d{8}/([^/]+)/`)

// caller returns the account and region a signed request acts in. Moto
// knows which account an access key belongs to (assumed-role keys act in
// the role's account); the proxy asks it once per key with
// GetCallerIdentity under the same credentials.
func (p *Proxy) caller(req *http.Request) (account, region string) {
	m := credentialScope.FindStringSubmatch(req.Header.Get("Authorization"))
	if m == nil {
		return "", ""
	}
	key, region := m[1], m[2]
	p.mu.Lock()
	account = p.accounts[key]
	p.mu.Unlock()
	if account != "" {
		return account, region
	}
	q, err := http.NewRequestWithContext(req.Context(), http.MethodPost, p.upstream.String()+"/", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
	if err != nil {
		return "", ""
	}
	q.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	q.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/ecs/", "/sts/", 1))
	for _, h := range []string{"X-Amz-Date", "X-Amz-Security-Token"} {
		if v := req.Header.Get(h); v != "" {
			q.Header.Set(h, v)
		}
	}
	resp, err := http.DefaultClient.Do(q)
	if err != nil {
		return "", ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if mm := regexp.MustCompile(`<Account>(\d{12})</Account>`).FindSubmatch(b); mm != nil {
		account = string(mm[1])
		p.mu.Lock()
		p.accounts[key] = account
		p.mu.Unlock()
	}
	return account, region
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func ecsError(kind, msg string) map[string]any {
	return map[string]any{"__type": kind, "message": msg}
}

// answerTasks answers the task calls from the runtime; nil means the call
// is not about the runtime's tasks.
func (p *Proxy) answerTasks(op, account, region string, body []byte) (int, any) {
	var in struct {
		Cluster       string   `json:"cluster"`
		ServiceName   string   `json:"serviceName"`
		Family        string   `json:"family"`
		DesiredStatus string   `json:"desiredStatus"`
		StartedBy     string   `json:"startedBy"`
		MaxResults    int      `json:"maxResults"`
		NextToken     string   `json:"nextToken"`
		Tasks         []string `json:"tasks"`
		Task          string   `json:"task"`
		Reason        string   `json:"reason"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return http.StatusBadRequest, ecsError("ClientException", "parse request: "+err.Error())
	}
	cluster := clusterName(or(in.Cluster, "default"))
	switch op {
	case "ListTasks":
		if in.MaxResults == 0 {
			in.MaxResults = 100
		}
		if in.MaxResults < 1 || in.MaxResults > 100 {
			return http.StatusBadRequest, ecsError("InvalidParameterException", "maxResults must be between 1 and 100")
		}
		arns := p.rt.listTasks(account, region, cluster, in.ServiceName, in.Family, or(in.DesiredStatus, "RUNNING"), in.StartedBy)
		start := 0
		if in.NextToken != "" {
			n, err := strconv.Atoi(in.NextToken)
			if err != nil || n < 0 || n > len(arns) {
				return http.StatusBadRequest, ecsError("InvalidParameterException", "invalid nextToken")
			}
			start = n
		}
		end := min(len(arns), start+in.MaxResults)
		out := map[string]any{"taskArns": nonNil(arns[start:end])}
		if end < len(arns) {
			out["nextToken"] = strconv.Itoa(end)
		}
		return http.StatusOK, out
	case "DescribeTasks":
		if len(in.Tasks) > 100 {
			return http.StatusBadRequest, ecsError("InvalidParameterException", "tasks can have at most 100 items")
		}
		tasks, failures := p.rt.describeTasks(account, region, cluster, in.Tasks)
		return http.StatusOK, map[string]any{"tasks": tasks, "failures": failures}
	case "StopTask":
		t := p.rt.taskByRef(account, region, cluster, in.Task)
		if t == nil {
			return 0, nil
		}
		p.rt.stopTask(t, ecstypes.TaskStopCodeUserInitiated, or(in.Reason, "Task stopped by user"))
		out, _ := p.rt.describeTasks(account, region, cluster, []string{t.arn})
		return http.StatusOK, map[string]any{"task": out[0]}
	}
	return 0, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// clusterName accepts a cluster's name or ARN.
func clusterName(ref string) string {
	if i := strings.LastIndex(ref, "/"); i >= 0 && strings.HasPrefix(ref, "arn:") {
		return ref[i+1:]
	}
	return ref
}

// listTasks returns the runtime's task ARNs matching a ListTasks filter.
func (r *Runtime) listTasks(account, region, cluster, serviceName, family, desired, startedBy string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []*task
	for _, t := range r.tasks {
		s := t.svc
		if s.account != account || s.region != region || s.cluster != cluster {
			continue
		}
		if serviceName != "" && s.name != serviceName && s.arn != serviceName {
			continue
		}
		if family != "" && familyOf(t.taskDef) != family {
			continue
		}
		if startedBy != "" && startedBy != t.dep.id {
			continue
		}
		if t.desiredStatus != desired {
			continue
		}
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *task) int { return b.createdAt.Compare(a.createdAt) })
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.arn)
	}
	return out
}

func (r *Runtime) taskByRef(account, region, cluster, ref string) *task {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tasks {
		if t.svc.account == account && t.svc.region == region && t.svc.cluster == cluster && (t.arn == ref || t.id == ref) {
			return t
		}
	}
	return nil
}

// describeTasks renders tasks as the ECS API does.
func (r *Runtime) describeTasks(account, region, cluster string, refs []string) ([]map[string]any, []map[string]any) {
	tasks := []map[string]any{}
	failures := []map[string]any{}
	for _, ref := range refs {
		t := r.taskByRef(account, region, cluster, ref)
		if t == nil {
			failures = append(failures, map[string]any{"arn": ref, "reason": "MISSING"})
			continue
		}
		r.mu.Lock()
		tasks = append(tasks, t.render())
		r.mu.Unlock()
	}
	return tasks, failures
}

func epoch(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return float64(t.UnixNano()) / 1e9
}

// render is a task in the API's JSON. Called with r.mu held.
func (t *task) render() map[string]any {
	s := t.svc
	clusterARN := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", s.region, s.account, s.cluster)
	container := func(name, image string, exit *int32) map[string]any {
		c := map[string]any{
			"containerArn": fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s", s.region, s.account, s.cluster, t.id, name),
			"taskArn":      t.arn, "name": name, "image": image, "lastStatus": t.lastStatus,
		}
		if exit != nil {
			c["exitCode"] = *exit
		}
		if name == t.appName && t.hasHealthCheck {
			c["healthStatus"] = string(t.health)
		}
		return c
	}
	var containers []map[string]any
	if t.appName != "" {
		containers = append(containers, container(t.appName, t.appImage, t.exitCode))
	}
	if t.routerName != "" {
		containers = append(containers, container(t.routerName, t.routerImage, nil))
	}
	out := map[string]any{
		"taskArn": t.arn, "clusterArn": clusterARN, "taskDefinitionArn": t.taskDef,
		"lastStatus": t.lastStatus, "desiredStatus": t.desiredStatus, "healthStatus": string(t.health),
		"group": "service:" + s.name, "startedBy": t.dep.id, "launchType": "FARGATE",
		"createdAt": epoch(t.createdAt), "containers": nonNilMaps(containers),
	}
	for k, v := range map[string]time.Time{"startedAt": t.startedAt, "stoppingAt": t.stoppingAt, "stoppedAt": t.stoppedAt} {
		if !v.IsZero() {
			out[k] = epoch(v)
		}
	}
	if t.reason != "" && t.desiredStatus == "STOPPED" {
		out["stoppedReason"] = t.reason
		out["stopCode"] = string(t.stopCode)
	}
	return out
}

func nonNilMaps(m []map[string]any) []map[string]any {
	if m == nil {
		return []map[string]any{}
	}
	return m
}

func familyOf(taskDefARN string) string {
	name := taskDefARN[strings.LastIndex(taskDefARN, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[:i]
	}
	return name
}

// forceNewDeployment starts a deployment of the same revision.
func (r *Runtime) forceNewDeployment(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.services[arn]; s != nil {
		s.taskDef = "" // observe sees a new revision and starts a deployment
	}
}

// patchServices replaces moto's fixed counts in a DescribeServices answer
// with what runs, and adds the deployments.
func (r *Runtime) patchServices(resp []byte, began time.Time) []byte {
	var doc map[string]any
	if err := json.Unmarshal(resp, &doc); err != nil {
		return resp
	}
	list, _ := doc["services"].([]any)
	for _, item := range list {
		svc, _ := item.(map[string]any)
		arn, _ := svc["serviceArn"].(string)
		if status, _ := svc["status"].(string); status != "ACTIVE" || arn == "" {
			continue
		}
		r.mu.Lock()
		s := r.services[arn]
		r.mu.Unlock()
		if s == nil {
			td, _ := svc["taskDefinition"].(string)
			name, _ := svc["serviceName"].(string)
			desired, _ := svc["desiredCount"].(float64)
			clusterARN, _ := svc["clusterArn"].(string)
			r.observe(arn, clusterName(clusterARN), name, int(desired), td, nil, nil, began)
			r.poke()
		}
		r.mu.Lock()
		s = r.services[arn]
		running, pending := 0, 0
		for _, t := range r.liveTasks(s) {
			switch t.lastStatus {
			case "RUNNING":
				running++
			default:
				pending++
			}
		}
		svc["runningCount"], svc["pendingCount"] = running, pending
		if _, ok := svc["createdAt"]; !ok && !s.createdAt.IsZero() {
			svc["createdAt"] = epoch(s.createdAt) // ECS always reports it; moto leaves it out
		}
		var deps []map[string]any
		for i, d := range s.deployments {
			dr, dp, df := 0, 0, d.failed
			for _, t := range r.liveTasks(s) {
				if t.dep != d {
					continue
				}
				if t.lastStatus == "RUNNING" {
					dr++
				} else {
					dp++
				}
			}
			status := "ACTIVE"
			if i == 0 {
				status = "PRIMARY"
			}
			dep := map[string]any{
				"id": d.id, "status": status, "taskDefinition": d.taskDef, "desiredCount": d.desired,
				"runningCount": dr, "pendingCount": dp, "failedTasks": df,
				"createdAt": epoch(d.createdAt), "updatedAt": epoch(d.updatedAt), "launchType": "FARGATE",
			}
			if d.rollout != "" {
				dep["rolloutState"] = string(d.rollout)
				dep["rolloutStateReason"] = d.reason
			}
			deps = append(deps, dep)
		}
		if deps != nil {
			svc["deployments"] = deps
		}
		r.mu.Unlock()
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return resp
	}
	return out
}
