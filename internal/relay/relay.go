// Package relay turns Terraform Cloud notifications into GitHub
// repository_dispatch events. Terraform Cloud posts its own payload and
// cannot authenticate to GitHub, so this small handler verifies the
// notification's HMAC signature and, when the staging workspace's run has
// completed (applied), dispatches "staging-applied" to start the production
// and tenant deploys.
package relay

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SignatureHeader carries the HMAC-SHA512 of the body, keyed with the
// notification configuration's token.
const SignatureHeader = "X-TFE-Notification-Signature"

// EventStagingApplied is the repository_dispatch event type the
// trigger-production-deploys workflow listens for.
const EventStagingApplied = "staging-applied"

// Payload is Terraform Cloud's generic notification payload (version 1).
type Payload struct {
	PayloadVersion              int            `json:"payload_version"`
	NotificationConfigurationID string         `json:"notification_configuration_id"`
	RunURL                      string         `json:"run_url"`
	RunID                       string         `json:"run_id"`
	RunMessage                  string         `json:"run_message"`
	RunCreatedBy                string         `json:"run_created_by"`
	WorkspaceID                 string         `json:"workspace_id"`
	WorkspaceName               string         `json:"workspace_name"`
	OrganizationName            string         `json:"organization_name"`
	Notifications               []Notification `json:"notifications"`
}

// Notification is one entry of a payload.
type Notification struct {
	Message      string     `json:"message"`
	Trigger      string     `json:"trigger"`
	RunStatus    string     `json:"run_status"`
	RunUpdatedAt *time.Time `json:"run_updated_at"`
}

// DefaultMaxAge is how old a notification may be (its run_updated_at)
// before the relay refuses it as a replay; it also bounds how long a
// dispatched run is remembered.
const DefaultMaxAge = 10 * time.Minute

// clockSkew is how far in the future a notification's time may be.
const clockSkew = time.Minute

// Dispatcher sends a repository_dispatch event.
type Dispatcher interface {
	Dispatch(ctx context.Context, eventType string, clientPayload map[string]any) error
}

// Handler is the relay's HTTP handler.
//
// A signed notification can be captured and sent again; the relay refuses
// replays in two ways: a notification whose run_updated_at is older than
// MaxAge (or more than a minute ahead) is refused, and a run it already
// dispatched is refused for as long as its notification could pass the
// first check. The memory is per process: deploy one task (modules'
// desired_count 1), or a second task could accept a replay once.
type Handler struct {
	Token      []byte // the notification configuration's token
	Workspaces map[string]bool
	Dispatcher Dispatcher
	Log        *slog.Logger
	MaxAge     time.Duration
	Now        func() time.Time

	mu         sync.Mutex
	dispatched map[string]time.Time // run ID -> when its notification was made
}

// NewHandler validates its dependencies.
func NewHandler(token string, workspaces []string, d Dispatcher, log *slog.Logger) (*Handler, error) {
	if token == "" {
		return nil, errors.New("relay: the notification token is required")
	}
	if len(workspaces) == 0 {
		return nil, errors.New("relay: name at least one staging workspace")
	}
	if d == nil {
		return nil, errors.New("relay: a dispatcher is required")
	}
	if log == nil {
		log = slog.Default()
	}
	ws := map[string]bool{}
	for _, w := range workspaces {
		ws[w] = true
	}
	return &Handler{Token: []byte(token), Workspaces: ws, Dispatcher: d, Log: log, MaxAge: DefaultMaxAge, Now: time.Now, dispatched: map[string]time.Time{}}, nil
}

// Verify checks a body against its hex HMAC-SHA512 signature in constant time.
func Verify(token, body []byte, signature string) bool {
	got, err := hex.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha512.Size {
		return false
	}
	mac := hmac.New(sha512.New, token)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the signature Terraform Cloud would send for body.
func Sign(token, body []byte) string {
	mac := hmac.New(sha512.New, token)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// HealthPath answers the load balancer's and ECS's health checks.
const HealthPath = "/health"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if !Verify(h.Token, body, r.Header.Get(SignatureHeader)) {
		h.Log.Warn("relay: bad signature", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, "payload is not JSON", http.StatusBadRequest)
		return
	}
	applied := false
	var at time.Time
	for _, n := range p.Notifications {
		// Terraform Cloud has no run:applied trigger: a successful apply is
		// run:completed with status applied. Enabling a configuration sends
		// a verification notification, answered 200 like any other.
		if n.Trigger == "run:completed" && n.RunStatus == "applied" {
			applied = true
		}
		if n.RunUpdatedAt != nil && n.RunUpdatedAt.After(at) {
			at = *n.RunUpdatedAt
		}
	}
	now := h.Now()
	if p.RunID != "" {
		// Every run notification carries its time; one outside the window
		// is a replay (or a clock far off), refused before anything else.
		if at.IsZero() || now.Sub(at) > h.MaxAge || at.Sub(now) > clockSkew {
			h.Log.Warn("relay: stale notification refused", "run", p.RunID, "run_updated_at", at)
			http.Error(w, "notification outside the accepted time window", http.StatusUnauthorized)
			return
		}
	}
	if !applied || !h.Workspaces[p.WorkspaceName] {
		h.Log.Info("relay: ignored", "workspace", p.WorkspaceName, "run", p.RunID)
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "ignored")
		return
	}
	if !h.claim(p.RunID, at, now) {
		h.Log.Warn("relay: replayed notification refused", "run", p.RunID)
		http.Error(w, "run already dispatched", http.StatusConflict)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	err = h.Dispatcher.Dispatch(ctx, EventStagingApplied, map[string]any{
		"run_id": p.RunID, "run_url": p.RunURL, "workspace": p.WorkspaceName, "organization": p.OrganizationName, "message": p.RunMessage,
	})
	if err != nil {
		h.Log.Error("relay: dispatch failed", "run", p.RunID, "err", err)
		h.release(p.RunID) // Terraform Cloud's retry may dispatch it
		// 5xx makes Terraform Cloud retry the delivery.
		http.Error(w, "dispatch failed", http.StatusBadGateway)
		return
	}
	h.Log.Info("relay: dispatched", "event", EventStagingApplied, "run", p.RunID)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "dispatched")
}

// claim records that a run is being dispatched; false when it already was
// (or is now). Entries older than the window are dropped: their
// notifications would be refused as stale anyway.
func (h *Handler) claim(runID string, at, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.dispatched {
		if now.Sub(t) > h.MaxAge+clockSkew {
			delete(h.dispatched, id)
		}
	}
	if _, ok := h.dispatched[runID]; ok {
		return false
	}
	h.dispatched[runID] = at
	return true
}

func (h *Handler) release(runID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.dispatched, runID)
}

// GitHub dispatches through the REST API.
type GitHub struct {
	BaseURL    string // https://api.github.com
	Repository string // owner/name
	Token      string
	Client     *http.Client
}

// Dispatch posts /repos/{owner}/{repo}/dispatches.
func (g GitHub) Dispatch(ctx context.Context, eventType string, payload map[string]any) error {
	b, err := json.Marshal(map[string]any{"event_type": eventType, "client_payload": payload})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.BaseURL, "/")+"/repos/"+g.Repository+"/dispatches", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+g.Token)
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Content-Type", "application/json")
	c := g.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post dispatch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("post dispatch: github answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
