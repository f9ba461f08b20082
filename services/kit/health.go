package kit

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// HealthCheck reports whether one dependency is reachable.
type HealthCheck func(ctx context.Context) error

// Health serves /health: 200 when every dependency answers, 503 with the
// failing ones named otherwise, and 503 while the process drains so no new
// traffic is routed to it.
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

func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := h.Report(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}
