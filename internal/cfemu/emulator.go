// Package cfemu is an in-memory emulator of the Cloudflare API v4 for zones
// and DNS records. It exists so Terraform runs and the cloudflare-go client
// can be exercised on machines with no internet: for the routes it serves it
// answers with the real API's envelope, status codes, error codes and
// messages (see errors.go for where each was observed).
package cfemu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// apiPrefix is where the real API serves v4; cloudflare-go's default base URL
// is https://api.cloudflare.com/client/v4/.
const apiPrefix = "/client/v4"

// Options configures an Emulator.
type Options struct {
	// APIToken is the bearer token every request must carry.
	APIToken string
	// AccountID owns the zones; one is generated when empty.
	AccountID string
}

// Zone is a zone as the emulator's Go API reports it.
type Zone struct {
	ID, Name, AccountID string
}

// Emulator serves the emulated API. It is safe for concurrent use.
type Emulator struct {
	token     string
	accountID string
	mux       *http.ServeMux

	mu    sync.Mutex
	zones map[string]*zone // by ID
	// now is the clock; records keep created/modified times from it.
	now func() time.Time
}

// New returns an emulator with no zones.
func New(opts Options) *Emulator {
	e := &Emulator{
		token:     opts.APIToken,
		accountID: opts.AccountID,
		zones:     map[string]*zone{},
		now:       time.Now,
	}
	if e.accountID == "" {
		e.accountID = newID()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/zones", e.listZones)
	mux.HandleFunc("POST "+apiPrefix+"/zones", e.createZone)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone_id}", e.getZone)
	mux.HandleFunc("DELETE "+apiPrefix+"/zones/{zone_id}", e.deleteZone)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone_id}/dns_records", e.listRecords)
	mux.HandleFunc("POST "+apiPrefix+"/zones/{zone_id}/dns_records", e.createRecord)
	mux.HandleFunc("GET "+apiPrefix+"/zones/{zone_id}/dns_records/{id}", e.getRecord)
	mux.HandleFunc("PUT "+apiPrefix+"/zones/{zone_id}/dns_records/{id}", e.putRecord)
	mux.HandleFunc("PATCH "+apiPrefix+"/zones/{zone_id}/dns_records/{id}", e.patchRecord)
	mux.HandleFunc("DELETE "+apiPrefix+"/zones/{zone_id}/dns_records/{id}", e.deleteRecord)
	// Without a catch-all the mux would answer unknown routes with plain-text
	// 404/405, which no Cloudflare client can parse.
	mux.HandleFunc("/", e.noRoute)
	e.mux = mux
	return e
}

// ServeHTTP authenticates the request and dispatches it.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := e.authenticate(r); !ok {
		writeFailure(w, f)
		return
	}
	e.mux.ServeHTTP(w, r)
}

// AddZone seeds an active zone, as if it had been on the account all along.
func (e *Emulator) AddZone(name string) (Zone, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	z, f := e.addZoneLocked(name, e.accountID, "active")
	if f != nil {
		return Zone{}, fmt.Errorf("add zone %q: %s", name, f.errs[0].Message)
	}
	return z.public(), nil
}

// Zones returns the zones sorted by name.
func (e *Emulator) Zones() []Zone {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Zone, 0, len(e.zones))
	for _, z := range e.sortedZonesLocked() {
		out = append(out, z.public())
	}
	return out
}

// tokenPattern is what the API accepts as the bearer credential's syntax;
// anything else is a header format error rather than an unknown token.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]+$`)

func (e *Emulator) authenticate(r *http.Request) (failure, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.Header.Get("X-Auth-Key") != "" || r.Header.Get("X-Auth-Email") != "" {
			return errAuthentication.with(), false
		}
		return errMissingAuth.with(), false
	}
	scheme, token, found := strings.Cut(auth, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || !tokenPattern.MatchString(token) {
		f := errBadHeaders.with()
		f.errs[0].ErrorChain = []apiError{errBadAuthorization}
		return f, false
	}
	if e.token == "" || token != e.token {
		return errInvalidToken.with(), false
	}
	return failure{}, true
}

func (e *Emulator) noRoute(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, apiPrefix+"/zones/") {
		writeFailure(w, errNoRouteToObject.with(r.URL.Path))
		return
	}
	writeFailure(w, errNoRoute.with())
}

// envelope is the real API's response wrapper.
type envelope struct {
	Result     any         `json:"result"`
	Success    bool        `json:"success"`
	Errors     []apiError  `json:"errors"`
	Messages   []any       `json:"messages"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type resultInfo struct {
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	Count      int `json:"count"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

// respond runs fn under the state lock and writes its outcome after
// releasing it, so a slow client never holds up other requests.
func (e *Emulator) respond(w http.ResponseWriter, fn func() (any, *resultInfo, *failure)) {
	e.mu.Lock()
	result, info, f := fn()
	var buf []byte
	var err error
	if f == nil {
		// Marshal while locked: result may share maps with the state.
		buf, err = json.Marshal(envelope{Result: result, Success: true, Errors: []apiError{}, Messages: []any{}, ResultInfo: info})
	}
	e.mu.Unlock()
	switch {
	case f != nil:
		writeFailure(w, *f)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(buf)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status is already sent, so an encoding failure has nowhere to go.
	_ = json.NewEncoder(w).Encode(v)
}

func writeFailure(w http.ResponseWriter, f failure) {
	writeJSON(w, f.status, envelope{Result: nil, Success: false, Errors: f.errs, Messages: []any{}})
}

// readBody decodes a JSON object body into raw fields, so PATCH can tell an
// absent field from a zero one.
func readBody(r *http.Request) (map[string]json.RawMessage, *failure) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		f := errContentType.with()
		return nil, &f
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20)).Decode(&body); err != nil || body == nil {
		f := errBadBody.with()
		return nil, &f
	}
	return body, nil
}

// newID returns 32 lowercase hex characters, the shape of every real API ID.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("cfemu: read random bytes: %v", err))
	}
	return hex.EncodeToString(b[:])
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// timestamp renders times the way the API does: UTC with microseconds.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
