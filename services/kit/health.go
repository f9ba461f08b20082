package kit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HealthCheck reports whether one dependency is reachable.
type HealthCheck func(ctx context.Context) error

// Paths of the health endpoints every service serves.
const (
	// HealthPath is readiness: 200 when every dependency answers, 503 with
	// the failing ones named otherwise, and 503 while the process drains.
	HealthPath = "/health"
	// ReadyPath is HealthPath under the name orchestrators expect.
	ReadyPath = "/health/ready"
	// LivePath is liveness: 200 while the process serves HTTP, whatever
	// its dependencies say. The container health check (--health-check)
	// asks it: ECS replaces a task whose health check fails, and replacing a
	// healthy task because NATS or the database is down loses what it holds
	// (the outbox keeps accepting writes through a NATS outage).
	LivePath = "/health/live"
)

// Health serves readiness (HealthPath, ReadyPath): 200 when every
// dependency answers, 503 with the failing ones named otherwise, and 503
// while the process drains so no new traffic is routed to it. Live serves
// liveness (LivePath), which checks nothing.
type Health struct {
	mu       sync.Mutex
	names    []string
	checks   map[string]HealthCheck
	draining atomic.Bool
	timeout  time.Duration
}

// HealthReport is the JSON body of /health.
type HealthReport struct {
	Status string                 `json:"status"` // ok, unavailable, draining
	Checks map[string]CheckReport `json:"checks"`
}

// CheckReport is one dependency's state.
type CheckReport struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// NewHealth returns a Health with no checks.
func NewHealth() *Health {
	return &Health{checks: map[string]HealthCheck{}, timeout: 2 * time.Second}
}

// Add registers a dependency check under name (e.g. "database", "nats").
func (h *Health) Add(name string, check HealthCheck) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.checks[name]; !dup {
		h.names = append(h.names, name)
	}
	h.checks[name] = check
}

// SetDraining makes /health answer 503 from now on.
func (h *Health) SetDraining() { h.draining.Store(true) }

// Report runs every check concurrently, each bounded by a short timeout so a
// hung dependency cannot hang the health endpoint.
func (h *Health) Report(ctx context.Context) HealthReport {
	h.mu.Lock()
	names := append([]string(nil), h.names...)
	checks := make([]HealthCheck, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.Unlock()

	results := make([]CheckReport, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, h.timeout)
			defer cancel()
			if err := checks[i](cctx); err != nil {
				results[i] = CheckReport{Error: err.Error()}
				return
			}
			results[i] = CheckReport{OK: true}
		})
	}
	wg.Wait()

	rep := HealthReport{Status: "ok", Checks: make(map[string]CheckReport, len(names))}
	for i, n := range names {
		rep.Checks[n] = results[i]
		if !results[i].OK {
			rep.Status = "unavailable"
		}
	}
	if h.draining.Load() {
		rep.Status = "draining"
	}
	return rep
}

// Live is the liveness handler: it answers 200 as long as the process
// serves HTTP, draining included (the process is finishing its work, not
// stuck).
func (h *Health) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		status := "ok"
		if h.draining.Load() {
			status = "draining"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(HealthReport{Status: status, Checks: map[string]CheckReport{}})
	})
}

// ProbeLive asks the service at baseURL whether it is alive (LivePath) and
// returns nil on 200: the container health check, and a caller's check
// that a service it depends on answers.
func ProbeLive(ctx context.Context, client *http.Client, baseURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+LivePath, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s", resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := h.Report(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}
