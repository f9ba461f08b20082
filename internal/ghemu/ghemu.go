// Package ghemu is a stand-in for the part of GitHub's REST API the
// delivery chain calls: repository_dispatch (POST
// /repos/{owner}/{repo}/dispatches) and reading the repository. It
// answers as api.github.com does (204 on a dispatch, 401 without a valid
// token, 404 for another repository, 422 "Validation Failed" with GitHub's
// error objects), is checked with go-github itself, and hands each
// accepted dispatch to OnDispatch: in the rehearsal, the Go stand-in for
// the workflow it would start.
package ghemu

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Dispatch is one accepted repository_dispatch.
type Dispatch struct {
	EventType     string
	ClientPayload map[string]any
}

// Options configure the stand-in.
type Options struct {
	Token      string
	Repository string // owner/name
	// OnDispatch is called, in its own goroutine, for each accepted
	// dispatch.
	OnDispatch func(Dispatch)
}

// Server is the stand-in on a loopback port.
type Server struct {
	URL string // the API base, for go-github's BaseURL (ends in /)

	opts       Options
	srv        *http.Server
	done       chan error
	mu         sync.Mutex
	dispatches []Dispatch
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// Start serves a stand-in on a random 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for github stand-in: %w", err)
	}
	s := &Server{URL: "http://" + l.Addr().String() + "/", opts: opts, done: make(chan error, 1)}
	m := http.NewServeMux()
	m.HandleFunc("POST /repos/{owner}/{repo}/dispatches", s.auth(s.dispatch))
	m.HandleFunc("GET /repos/{owner}/{repo}", s.auth(s.repository))
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeError(w, http.StatusNotFound, "Not Found", nil) })
	s.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Dispatches returns the accepted dispatches, oldest first.
func (s *Server) Dispatches() []Dispatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Dispatch(nil), s.dispatches...)
}

// Wait blocks until every OnDispatch call has returned.
func (s *Server) Wait() { s.wg.Wait() }

// Close stops the server after the OnDispatch calls return.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, err)
		}
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		tok := strings.TrimPrefix(strings.TrimPrefix(a, "Bearer "), "token ")
		if a == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) != 1 {
			writeError(w, http.StatusUnauthorized, "Bad credentials", nil)
			return
		}
		if r.PathValue("owner")+"/"+r.PathValue("repo") != s.opts.Repository {
			writeError(w, http.StatusNotFound, "Not Found", nil)
			return
		}
		h(w, r)
	}
}

func (s *Server) repository(w http.ResponseWriter, r *http.Request) {
	owner, name := r.PathValue("owner"), r.PathValue("repo")
	writeJSON(w, http.StatusOK, map[string]any{
		"id": 1, "name": name, "full_name": owner + "/" + name, "private": true, "default_branch": "main",
		"owner": map[string]any{"login": owner, "type": "Organization"},
	})
}

// dispatch validates as GitHub does: event_type is required (at most 100
// characters) and client_payload, when given, is an object with at most
// 10 top-level properties.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		EventType     *string         `json:"event_type"`
		ClientPayload json.RawMessage `json:"client_payload"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON", nil)
		return
	}
	if body.EventType == nil || *body.EventType == "" {
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"event_type\" wasn't supplied.", nil)
		return
	}
	if len(*body.EventType) > 100 {
		writeError(w, http.StatusUnprocessableEntity, "Validation Failed", []map[string]any{{"resource": "Repository", "field": "event_type", "code": "invalid"}})
		return
	}
	payload := map[string]any{}
	if len(body.ClientPayload) > 0 && string(body.ClientPayload) != "null" {
		if err := json.Unmarshal(body.ClientPayload, &payload); err != nil {
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nFor 'properties/client_payload', is not an object.", nil)
			return
		}
		if len(payload) > 10 {
			writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\nclient_payload may have at most 10 top-level properties.", nil)
			return
		}
	}
	d := Dispatch{EventType: *body.EventType, ClientPayload: payload}
	s.mu.Lock()
	s.dispatches = append(s.dispatches, d)
	s.mu.Unlock()
	if s.opts.OnDispatch != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.opts.OnDispatch(d)
		}()
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, message string, errs []map[string]any) {
	body := map[string]any{"message": message, "documentation_url": "https://docs.github.com/rest", "status": fmt.Sprint(status)}
	if errs != nil {
		body["errors"] = errs
	}
	writeJSON(w, status, body)
}
