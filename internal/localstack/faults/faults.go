// Package faults stands in front of the local stack's AWS endpoint and
// behaves as AWS does where moto does not: it throttles, fails with server
// errors, and makes what was just created invisible for a while (IAM roles,
// ECS clusters), as AWS's eventual consistency does. The provider's retries
// are tested against it.
package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says which faults to inject. Zero values inject nothing.
type Config struct {
	// ThrottleShare of calls is refused with the service's throttling
	// error before it reaches moto.
	ThrottleShare float64
	// ServerErrorShare of calls fails with a 5xx before reaching moto.
	ServerErrorShare float64
	// LostResponseShare of calls reaches moto, and then its answer is
	// replaced by a 5xx: the caller cannot know the call took effect.
	LostResponseShare float64
	// RoleDelay: a role created less than this long ago cannot be used in
	// a task definition ("ECS was unable to assume the role").
	RoleDelay time.Duration
	// ClusterDelay: a cluster created less than this long ago is unknown
	// to CreateService (ClusterNotFoundException).
	ClusterDelay time.Duration
}

// Parse reads a spec such as "throttle=0.3,5xx=0.05,lost=0.02,role=5s,cluster=5s".
func Parse(spec string) (Config, error) {
	var c Config
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Config{}, fmt.Errorf("fault %q: want name=value", part)
		}
		var err error
		switch k {
		case "throttle":
			c.ThrottleShare, err = share(v)
		case "5xx":
			c.ServerErrorShare, err = share(v)
		case "lost":
			c.LostResponseShare, err = share(v)
		case "role":
			c.RoleDelay, err = time.ParseDuration(v)
		case "cluster":
			c.ClusterDelay, err = time.ParseDuration(v)
		default:
			return Config{}, fmt.Errorf("fault %q: unknown; use throttle, 5xx, lost, role or cluster", k)
		}
		if err != nil {
			return Config{}, fmt.Errorf("fault %s: %w", k, err)
		}
	}
	return c, nil
}

func share(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f >= 1 {
		return 0, fmt.Errorf("share %q: want a number from 0 up to (not including) 1", v)
	}
	return f, nil
}

// Server is the fault-injecting endpoint.
type Server struct {
	URL string

	cfg      Config
	upstream *url.URL
	rp       *httputil.ReverseProxy
	srv      *http.Server

	mu       sync.Mutex
	rnd      *rand.Rand
	roles    map[string]time.Time // role name -> created
	clusters map[string]time.Time // cluster name -> created
	counts   map[string]int
}

// Start listens on a free loopback port and forwards to upstream.
func Start(upstream string, cfg Config) (*Server, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("parse upstream: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		URL: "http://" + l.Addr().String(), cfg: cfg, upstream: u, rp: httputil.NewSingleHostReverseProxy(u),
		rnd:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
		roles: map[string]time.Time{}, clusters: map[string]time.Time{}, counts: map[string]int{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// Counts returns how many faults of each kind were injected.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// call is what the server knows of a request.
type call struct {
	service string // from the signature's credential scope: ecs, iam, ec2, ...
	op      string
	json    bool
	body    []byte
}

var credentialScope = regexp.MustCompile(`Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/`)

func (s *Server) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.HasPrefix(req.URL.Path, "/moto-api") || strings.HasPrefix(req.URL.Path, "/_pivot") {
		s.rp.ServeHTTP(w, req)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := call{body: body}
	if m := credentialScope.FindStringSubmatch(req.Header.Get("Authorization")); m != nil {
		c.service = m[1]
	}
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		c.json = true
		c.op = t[strings.LastIndex(t, ".")+1:]
	} else if v, err := url.ParseQuery(string(body)); err == nil {
		c.op = v.Get("Action")
	}

	if s.roll(s.cfg.ThrottleShare) {
		s.count("throttled")
		s.fail(w, c, throttle(c))
		return
	}
	if s.roll(s.cfg.ServerErrorShare) {
		s.count("5xx")
		s.fail(w, c, serverError(c))
		return
	}
	if f, ok := s.notYetVisible(c); ok {
		s.count(f.kind)
		s.fail(w, c, f)
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	s.rp.ServeHTTP(rec, req)
	if rec.status == http.StatusOK {
		s.learn(c)
		if s.roll(s.cfg.LostResponseShare) {
			s.count("lost response")
			s.fail(w, c, serverError(c))
			return
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

func (s *Server) roll(p float64) bool {
	if p <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rnd.Float64() < p
}

func (s *Server) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
}

// learn records roles and clusters as they are created.
func (s *Server) learn(c call) {
	now := time.Now()
	switch {
	case c.service == "iam" && c.op == "CreateRole" && s.cfg.RoleDelay > 0:
		v, _ := url.ParseQuery(string(c.body))
		s.mu.Lock()
		s.roles[v.Get("RoleName")] = now
		s.mu.Unlock()
	case c.service == "ecs" && c.op == "CreateCluster" && s.cfg.ClusterDelay > 0:
		var in struct {
			ClusterName string `json:"clusterName"`
		}
		_ = json.Unmarshal(c.body, &in)
		if in.ClusterName == "" {
			in.ClusterName = "default"
		}
		s.mu.Lock()
		s.clusters[in.ClusterName] = now
		s.mu.Unlock()
	}
}

// notYetVisible answers a call that uses a role or cluster made moments ago
// as AWS may while the change propagates.
func (s *Server) notYetVisible(c call) (fault, bool) {
	if c.service != "ecs" {
		return fault{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch c.op {
	case "RegisterTaskDefinition":
		var in struct {
			TaskRoleArn      string `json:"taskRoleArn"`
			ExecutionRoleArn string `json:"executionRoleArn"`
		}
		_ = json.Unmarshal(c.body, &in)
		for _, arn := range []string{in.TaskRoleArn, in.ExecutionRoleArn} {
			name := arn[strings.LastIndex(arn, "/")+1:]
			if at, ok := s.roles[name]; ok && time.Since(at) < s.cfg.RoleDelay {
				return fault{kind: "role not yet visible", status: http.StatusBadRequest, code: "ClientException",
					message: fmt.Sprintf("ECS was unable to assume the role '%s' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.", arn)}, true
			}
		}
	case "CreateService":
		var in struct {
			Cluster string `json:"cluster"`
		}
		_ = json.Unmarshal(c.body, &in)
		name := in.Cluster[strings.LastIndex(in.Cluster, "/")+1:]
		if name == "" {
			name = "default"
		}
		if at, ok := s.clusters[name]; ok && time.Since(at) < s.cfg.ClusterDelay {
			return fault{kind: "cluster not yet visible", status: http.StatusBadRequest, code: "ClusterNotFoundException", message: "Cluster not found."}, true
		}
	}
	return fault{}, false
}

type fault struct {
	kind    string
	status  int
	code    string
	message string
}

// throttle is the service's own throttling error: EC2 says
// RequestLimitExceeded, S3 SlowDown (503), query services Throttling, JSON
// services ThrottlingException. The SDK retries all of them with backoff.
func throttle(c call) fault {
	switch {
	case c.service == "s3":
		return fault{status: http.StatusServiceUnavailable, code: "SlowDown", message: "Please reduce your request rate."}
	case c.service == "ec2":
		return fault{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded", message: "Request limit exceeded."}
	case c.json:
		return fault{status: http.StatusBadRequest, code: "ThrottlingException", message: "Rate exceeded"}
	default:
		return fault{status: http.StatusBadRequest, code: "Throttling", message: "Rate exceeded"}
	}
}

func serverError(c call) fault {
	if c.service == "s3" {
		return fault{status: http.StatusInternalServerError, code: "InternalError", message: "We encountered an internal error. Please try again."}
	}
	if c.service == "ec2" {
		return fault{status: http.StatusInternalServerError, code: "InternalError", message: "An internal error has occurred"}
	}
	if c.json {
		return fault{status: http.StatusInternalServerError, code: "InternalFailure", message: "The request processing has failed because of an unknown error, exception or failure."}
	}
	return fault{status: http.StatusServiceUnavailable, code: "ServiceUnavailable", message: "Service is unavailable."}
}

// fail writes f in the protocol of the call: JSON for services with an
// X-Amz-Target, EC2's own XML, S3's REST-XML <Error> (the S3 client reads
// no error code from an ErrorResponse, and would not retry), or the query
// protocol's ErrorResponse.
func (s *Server) fail(w http.ResponseWriter, c call, f fault) {
	reqID := fmt.Sprintf("fault-%d", time.Now().UnixNano())
	w.Header().Set("X-Amzn-RequestId", reqID)
	switch {
	case c.json:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(f.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": f.code, "message": f.message})
	case c.service == "s3":
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`, f.code, f.message, reqID)
	case c.service == "ec2":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, f.code, f.message, reqID)
	default:
		kind := "Receiver"
		if f.status < 500 {
			kind = "Sender"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, kind, f.code, f.message, reqID)
	}
}

// recorder holds moto's answer until the server decides to pass it on.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
