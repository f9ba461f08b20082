package tfcemu

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	apiPrefix   = "/api/v2"
	contentType = "application/vnd.api+json"
)

// ServeHTTP routes the API.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.handler.ServeHTTP(w, r)
}

func (e *Emulator) mux() *http.ServeMux {
	m := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(e.opts.Token)) != 1 {
				writeErrors(w, http.StatusUnauthorized, "unauthorized", "")
				return
			}
			h(w, r)
		}
	}
	m.HandleFunc("GET "+apiPrefix+"/ping", func(w http.ResponseWriter, _ *http.Request) {
		// go-tfe reads these at NewClient: the API version, the rate limit
		// (requests per second) and which product it talks to.
		w.Header().Set("TFP-API-Version", "2.6")
		w.Header().Set("TFP-AppName", "HCP Terraform")
		switch {
		case e.opts.RateLimit == 0:
			w.Header().Set("X-RateLimit-Limit", "30")
		case e.opts.RateLimit > 0:
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(e.opts.RateLimit))
		}
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("GET "+apiPrefix+"/organizations/{org}/workspaces", auth(e.listWorkspaces))
	m.HandleFunc("POST "+apiPrefix+"/organizations/{org}/workspaces", auth(e.createWorkspace))
	m.HandleFunc("GET "+apiPrefix+"/organizations/{org}/workspaces/{name}", auth(e.readWorkspace))
	m.HandleFunc("PATCH "+apiPrefix+"/organizations/{org}/workspaces/{name}", auth(e.updateWorkspace))
	m.HandleFunc("GET "+apiPrefix+"/workspaces/{id}", auth(e.readWorkspaceByID))
	m.HandleFunc("GET "+apiPrefix+"/workspaces/{id}/vars", auth(e.listVars))
	m.HandleFunc("POST "+apiPrefix+"/workspaces/{id}/vars", auth(e.createVar))
	m.HandleFunc("PATCH "+apiPrefix+"/workspaces/{id}/vars/{var}", auth(e.updateVar))
	m.HandleFunc("GET "+apiPrefix+"/workspaces/{id}/runs", auth(e.listRuns))
	m.HandleFunc("POST "+apiPrefix+"/runs", auth(e.createRun))
	m.HandleFunc("GET "+apiPrefix+"/runs/{id}", auth(e.readRun))
	m.HandleFunc("POST "+apiPrefix+"/runs/{id}/actions/{action}", auth(e.runAction))
	m.HandleFunc("GET "+apiPrefix+"/plans/{id}", auth(e.readPlan))
	m.HandleFunc("GET "+apiPrefix+"/applies/{id}", auth(e.readApply))
	m.HandleFunc("GET "+apiPrefix+"/workspaces/{id}/notification-configurations", auth(e.listConfigs))
	m.HandleFunc("POST "+apiPrefix+"/workspaces/{id}/notification-configurations", auth(e.createConfig))
	m.HandleFunc("GET "+apiPrefix+"/notification-configurations/{id}", auth(e.readConfig))
	m.HandleFunc("PATCH "+apiPrefix+"/notification-configurations/{id}", auth(e.updateConfig))
	m.HandleFunc("DELETE "+apiPrefix+"/notification-configurations/{id}", auth(e.deleteConfig))
	// Log-read URLs are pre-signed in Terraform Cloud: no token is sent.
	m.HandleFunc("GET /_archivist/{kind}/{id}", e.readLog)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeErrors(w, http.StatusNotFound, "not found", "")
	})
	return m
}

////////////////////////////////////////////////////////////////////////////////
// Workspaces
////////////////////////////////////////////////////////////////////////////////

func (e *Emulator) orgOK(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("org") != e.opts.Organization {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return false
	}
	return true
}

func (e *Emulator) byName(name string) *workspace {
	for _, ws := range e.workspaces {
		if ws.name == name {
			return ws
		}
	}
	return nil
}

func (e *Emulator) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	if !e.orgOK(w, r) {
		return
	}
	search := r.URL.Query().Get("search[name]")
	e.mu.Lock()
	var out []any
	for _, ws := range sortedWorkspaces(e.workspaces) {
		if search == "" || strings.Contains(ws.name, search) {
			out = append(out, e.workspaceDoc(ws))
		}
	}
	e.mu.Unlock()
	writeList(w, out)
}

type document struct {
	Data struct {
		Type          string                     `json:"type"`
		Attributes    map[string]json.RawMessage `json:"attributes"`
		Relationships map[string]struct {
			Data json.RawMessage `json:"data"`
		} `json:"relationships"`
	} `json:"data"`
}

func readDocument(w http.ResponseWriter, r *http.Request, wantType string) (*document, bool) {
	var d document
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil {
		writeErrors(w, http.StatusBadRequest, "malformed JSON:API document", err.Error())
		return nil, false
	}
	if d.Data.Type != wantType {
		writeErrors(w, http.StatusConflict, "type mismatch", fmt.Sprintf("expected type %q, got %q", wantType, d.Data.Type))
		return nil, false
	}
	return &d, true
}

// attr decodes one attribute into v; it reports whether it was present.
func (d *document) attr(name string, v any) (bool, error) {
	raw, ok := d.Data.Attributes[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("attribute %s: %w", name, err)
	}
	return true, nil
}

func (e *Emulator) createWorkspace(w http.ResponseWriter, r *http.Request) {
	if !e.orgOK(w, r) {
		return
	}
	d, ok := readDocument(w, r, "workspaces")
	if !ok {
		return
	}
	ws := &workspace{id: newID("ws"), createdAt: time.Now(), terraformVersion: "1.8.5"}
	if err := applyWorkspaceAttrs(d, ws); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	if !nameShape.MatchString(ws.name) {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Name can only include letters, numbers, -, and _.")
		return
	}
	e.mu.Lock()
	if e.byName(ws.name) != nil {
		e.mu.Unlock()
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Name has already been taken")
		return
	}
	e.workspaces[ws.id] = ws
	doc := e.workspaceDoc(ws)
	e.mu.Unlock()
	writeData(w, http.StatusCreated, doc)
}

func applyWorkspaceAttrs(d *document, ws *workspace) error {
	var errs []error
	get := func(name string, v any) bool {
		ok, err := d.attr(name, v)
		errs = append(errs, err)
		return ok
	}
	get("name", &ws.name)
	get("working-directory", &ws.workingDirectory)
	get("terraform-version", &ws.terraformVersion)
	get("auto-apply", &ws.autoApply)
	get("tag-names", &ws.tags)
	return errors.Join(errs...)
}

func (e *Emulator) readWorkspace(w http.ResponseWriter, r *http.Request) {
	if !e.orgOK(w, r) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.byName(r.PathValue("name"))
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	writeData(w, http.StatusOK, e.workspaceDoc(ws))
}

func (e *Emulator) readWorkspaceByID(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	writeData(w, http.StatusOK, e.workspaceDoc(ws))
}

func (e *Emulator) updateWorkspace(w http.ResponseWriter, r *http.Request) {
	if !e.orgOK(w, r) {
		return
	}
	d, ok := readDocument(w, r, "workspaces")
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.byName(r.PathValue("name"))
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	old := ws.name
	if err := applyWorkspaceAttrs(d, ws); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	if other := e.byName(ws.name); other != nil && other != ws {
		ws.name = old
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Name has already been taken")
		return
	}
	writeData(w, http.StatusOK, e.workspaceDoc(ws))
}

func (e *Emulator) workspaceDoc(ws *workspace) map[string]any {
	current := any(nil)
	if ws.current != nil {
		current = ref("runs", ws.current.id)
	}
	tags := ws.tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": ws.id, "type": "workspaces",
		"attributes": map[string]any{
			"name": ws.name, "auto-apply": ws.autoApply, "working-directory": ws.workingDirectory,
			"terraform-version": ws.terraformVersion, "execution-mode": "remote", "operations": true,
			"locked": ws.busy, "queue-all-runs": false, "speculative-enabled": true, "tag-names": tags,
			"created-at": stamp(ws.createdAt), "updated-at": stamp(ws.createdAt), "resource-count": 0,
			"trigger-prefixes": []string{}, "trigger-patterns": []string{}, "file-triggers-enabled": true,
			"permissions": map[string]any{"can-queue-run": true, "can-queue-apply": true, "can-update-variable": true, "can-update": true},
			"actions":     map[string]any{"is-destroyable": true},
		},
		"relationships": map[string]any{
			"organization": map[string]any{"data": ref("organizations", e.opts.Organization)},
			"current-run":  map[string]any{"data": current},
		},
		"links": map[string]any{"self": apiPrefix + "/organizations/" + e.opts.Organization + "/workspaces/" + ws.name},
	}
}

////////////////////////////////////////////////////////////////////////////////
// Variables
////////////////////////////////////////////////////////////////////////////////

func (e *Emulator) listVars(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		e.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	out := []any{}
	for _, v := range ws.vars {
		out = append(out, varDoc(ws, v))
	}
	e.mu.Unlock()
	writeList(w, out)
}

func (e *Emulator) createVar(w http.ResponseWriter, r *http.Request) {
	d, ok := readDocument(w, r, "vars")
	if !ok {
		return
	}
	v := &variable{id: newID("var")}
	if err := applyVarAttrs(d, v); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	if v.key == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Key can't be blank")
		return
	}
	if v.category != "terraform" && v.category != "env" {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Category is not included in the list")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	for _, o := range ws.vars {
		if o.key == v.key && o.category == v.category {
			writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Key has already been taken")
			return
		}
	}
	ws.vars = append(ws.vars, v)
	writeData(w, http.StatusCreated, varDoc(ws, v))
}

func (e *Emulator) updateVar(w http.ResponseWriter, r *http.Request) {
	d, ok := readDocument(w, r, "vars")
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	for _, v := range ws.vars {
		if v.id == r.PathValue("var") {
			if err := applyVarAttrs(d, v); err != nil {
				writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
				return
			}
			writeData(w, http.StatusOK, varDoc(ws, v))
			return
		}
	}
	writeErrors(w, http.StatusNotFound, "not found", "")
}

func applyVarAttrs(d *document, v *variable) error {
	var errs []error
	for name, dst := range map[string]any{
		"key": &v.key, "value": &v.value, "description": &v.description, "category": &v.category, "hcl": &v.hcl, "sensitive": &v.sensitive,
	} {
		_, err := d.attr(name, dst)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func varDoc(ws *workspace, v *variable) map[string]any {
	value := any(v.value)
	if v.sensitive {
		value = nil // sensitive values are write-only
	}
	return map[string]any{
		"id": v.id, "type": "vars",
		"attributes": map[string]any{
			"key": v.key, "value": value, "description": v.description, "category": v.category,
			"hcl": v.hcl, "sensitive": v.sensitive, "version-id": "1",
		},
		"relationships": map[string]any{"configurable": map[string]any{"data": ref("workspaces", ws.id)}},
	}
}

////////////////////////////////////////////////////////////////////////////////
// Runs, plans, applies and their logs
////////////////////////////////////////////////////////////////////////////////

func (e *Emulator) createRun(w http.ResponseWriter, r *http.Request) {
	d, ok := readDocument(w, r, "runs")
	if !ok {
		return
	}
	var rel struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	if raw := d.Data.Relationships["workspace"].Data; len(raw) == 0 || json.Unmarshal(raw, &rel) != nil || rel.ID == "" {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", "Workspace is required")
		return
	}
	nr := &run{
		id: newID("run"), planID: newID("plan"), applyID: newID("apply"), createdAt: time.Now(),
		timestamps: map[string]time.Time{}, planStatus: phasePending, applyStatus: phasePending, confirm: make(chan bool, 1),
	}
	var autoApply *bool
	var errs []error
	for name, dst := range map[string]any{"message": &nr.message, "is-destroy": &nr.isDestroy, "target-addrs": &nr.targets} {
		_, err := d.attr(name, dst)
		errs = append(errs, err)
	}
	if _, err := d.attr("auto-apply", &autoApply); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.workspaces[rel.ID]
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	nr.ws = ws
	nr.autoApply = ws.autoApply
	if autoApply != nil {
		nr.autoApply = *autoApply
	}
	if nr.message == "" {
		nr.message = "Queued manually via the Terraform Enterprise API"
	}
	e.setStatus(nr, statusPending)
	e.runs[nr.id] = nr
	e.plans[nr.planID] = nr
	e.applies[nr.applyID] = nr
	e.enqueue(nr)
	writeData(w, http.StatusCreated, e.runDoc(nr))
}

func (e *Emulator) readRun(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rn := e.runs[r.PathValue("id")]
	if rn == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	doc := map[string]any{"data": e.runDoc(rn)}
	var included []any
	for _, inc := range strings.Split(r.URL.Query().Get("include"), ",") {
		switch inc {
		case "plan":
			included = append(included, e.planDoc(rn))
		case "apply":
			included = append(included, e.applyDoc(rn))
		case "workspace":
			included = append(included, e.workspaceDoc(rn.ws))
		}
	}
	if included != nil {
		doc["included"] = included
	}
	writeJSON(w, http.StatusOK, doc)
}

func (e *Emulator) listRuns(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		e.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	e.mu.Unlock()
	ids := e.Runs(ws.name)
	e.mu.Lock()
	out := []any{}
	for i := len(ids) - 1; i >= 0; i-- { // newest first, as the API lists them
		out = append(out, e.runDoc(e.runs[ids[i]]))
	}
	e.mu.Unlock()
	writeList(w, out)
}

func (e *Emulator) runAction(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rn := e.runs[r.PathValue("id")]
	if rn == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	switch r.PathValue("action") {
	case "apply", "discard":
		if rn.status != statusPlanned || rn.autoApply {
			writeErrors(w, http.StatusConflict, "transition not allowed", "Run is not in a confirmable state")
			return
		}
		rn.confirm <- r.PathValue("action") == "apply"
		w.WriteHeader(http.StatusAccepted)
	case "cancel":
		if rn.status != statusPending {
			writeErrors(w, http.StatusConflict, "transition not allowed", "only a pending run can be canceled by the stand-in")
			return
		}
		for i, q := range rn.ws.queue {
			if q == rn {
				rn.ws.queue = append(rn.ws.queue[:i], rn.ws.queue[i+1:]...)
				break
			}
		}
		e.setStatus(rn, statusCanceled)
		rn.planStatus, rn.applyStatus = phaseCanceled, phaseUnreach
		w.WriteHeader(http.StatusAccepted)
	default:
		writeErrors(w, http.StatusNotFound, "not found", "")
	}
}

func (e *Emulator) runDoc(rn *run) map[string]any {
	ts := map[string]string{}
	for k, t := range rn.timestamps {
		ts[k] = stamp(t)
	}
	targets := rn.targets
	if targets == nil {
		targets = []string{}
	}
	position := 0
	for i, q := range rn.ws.queue {
		if q == rn {
			position = i + 1
		}
	}
	return map[string]any{
		"id": rn.id, "type": "runs",
		"attributes": map[string]any{
			"status": rn.status, "message": rn.message, "auto-apply": rn.autoApply, "is-destroy": rn.isDestroy,
			"target-addrs": targets, "has-changes": rn.hasChanges, "created-at": stamp(rn.createdAt),
			"status-timestamps": ts, "source": "tfe-api", "trigger-reason": "manual", "plan-only": false,
			"refresh": true, "refresh-only": false, "position-in-queue": position, "terraform-version": rn.ws.terraformVersion,
			"actions": map[string]any{
				"is-cancelable": rn.status == statusPending, "is-confirmable": rn.status == statusPlanned && !rn.autoApply,
				"is-discardable": rn.status == statusPlanned && !rn.autoApply, "is-force-cancelable": false,
			},
			"permissions": map[string]any{"can-apply": true, "can-cancel": true, "can-discard": true, "can-force-cancel": true, "can-force-execute": true},
		},
		"relationships": map[string]any{
			"workspace": map[string]any{"data": ref("workspaces", rn.ws.id)},
			"plan":      map[string]any{"data": ref("plans", rn.planID)},
			"apply":     map[string]any{"data": ref("applies", rn.applyID)},
		},
		"links": map[string]any{"self": apiPrefix + "/runs/" + rn.id},
	}
}

func (e *Emulator) readPlan(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rn := e.plans[r.PathValue("id")]
	if rn == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	writeData(w, http.StatusOK, e.planDoc(rn))
}

func (e *Emulator) readApply(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rn := e.applies[r.PathValue("id")]
	if rn == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	writeData(w, http.StatusOK, e.applyDoc(rn))
}

func (e *Emulator) planDoc(rn *run) map[string]any {
	add, change, destroy := counts(planSummary, rn.planLog.String())
	return map[string]any{
		"id": rn.planID, "type": "plans",
		"attributes": map[string]any{
			"status": rn.planStatus, "has-changes": rn.hasChanges, "log-read-url": e.baseURL + "/_archivist/plans/" + rn.planID,
			"resource-additions": add, "resource-changes": change, "resource-destructions": destroy, "resource-imports": 0,
		},
	}
}

func (e *Emulator) applyDoc(rn *run) map[string]any {
	add, change, destroy := counts(applySummary, rn.applyLog.String())
	return map[string]any{
		"id": rn.applyID, "type": "applies",
		"attributes": map[string]any{
			"status": rn.applyStatus, "log-read-url": e.baseURL + "/_archivist/applies/" + rn.applyID,
			"resource-additions": add, "resource-changes": change, "resource-destructions": destroy, "resource-imports": 0,
		},
	}
}

// readLog serves a phase's log as the archivist does: the text between an
// STX and, once the phase is over, an ETX, paged by offset and limit.
func (e *Emulator) readLog(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	var rn *run
	var text string
	var done bool
	switch r.PathValue("kind") {
	case "plans":
		if rn = e.plans[r.PathValue("id")]; rn != nil {
			text, done = rn.planLog.String(), rn.planStatus != phasePending && rn.planStatus != phaseQueued && rn.planStatus != phaseRunning
		}
	case "applies":
		if rn = e.applies[r.PathValue("id")]; rn != nil {
			text, done = rn.applyLog.String(), rn.applyStatus != phasePending && rn.applyStatus != phaseQueued && rn.applyStatus != phaseRunning
		}
	}
	e.mu.Unlock()
	if rn == nil {
		http.NotFound(w, r)
		return
	}
	body := "\x02" + text
	if done {
		body += "\x03"
	}
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = len(body)
	}
	offset = min(max(offset, 0), len(body))
	end := min(offset+limit, len(body))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(body[offset:end]))
}

////////////////////////////////////////////////////////////////////////////////
// Notification configurations
////////////////////////////////////////////////////////////////////////////////

func (e *Emulator) listConfigs(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	out := []any{}
	for _, c := range sortedConfigs(e.configs) {
		if c.ws == ws {
			out = append(out, configDoc(c))
		}
	}
	writeList(w, out)
}

func applyConfigAttrs(d *document, c *notificationConfig) error {
	var errs []error
	for name, dst := range map[string]any{
		"name": &c.name, "destination-type": &c.destinationType, "token": &c.token, "url": &c.url, "enabled": &c.enabled, "triggers": &c.triggers,
	} {
		_, err := d.attr(name, dst)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.name == "" {
		return errors.New("Name can't be blank")
	}
	switch c.destinationType {
	case "generic", "slack", "microsoft-teams":
		if c.url == "" {
			return errors.New("URL can't be blank")
		}
	case "email":
	default:
		return fmt.Errorf("Destination type %q is not included in the list", c.destinationType)
	}
	for _, t := range c.triggers {
		if !validTriggers[t] {
			return fmt.Errorf("Triggers %q is not a valid trigger", t)
		}
	}
	return nil
}

func (e *Emulator) createConfig(w http.ResponseWriter, r *http.Request) {
	d, ok := readDocument(w, r, "notification-configurations")
	if !ok {
		return
	}
	now := time.Now()
	c := &notificationConfig{id: newID("nc"), createdAt: now, updatedAt: now}
	if err := applyConfigAttrs(d, c); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	e.mu.Lock()
	ws := e.workspaces[r.PathValue("id")]
	if ws == nil {
		e.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	c.ws = ws
	e.mu.Unlock()
	// An enabled configuration is verified at once (Terraform Cloud sends a
	// verification notification that must get a 2xx); the stand-in refuses
	// to save one whose destination does not answer so, which is stricter
	// than a configuration saved with a failed delivery response.
	if c.enabled && c.destinationType == "generic" {
		if err := e.verify(c); err != nil {
			writeErrors(w, http.StatusBadRequest, "verification failed", err.Error())
			return
		}
	}
	e.mu.Lock()
	e.configs[c.id] = c
	doc := configDoc(c)
	e.mu.Unlock()
	writeData(w, http.StatusCreated, doc)
}

func (e *Emulator) readConfig(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.configs[r.PathValue("id")]
	if c == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	writeData(w, http.StatusOK, configDoc(c))
}

func (e *Emulator) updateConfig(w http.ResponseWriter, r *http.Request) {
	d, ok := readDocument(w, r, "notification-configurations")
	if !ok {
		return
	}
	e.mu.Lock()
	c := e.configs[r.PathValue("id")]
	if c == nil {
		e.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	updated := *c
	e.mu.Unlock()
	if err := applyConfigAttrs(d, &updated); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid attribute", err.Error())
		return
	}
	if updated.enabled && updated.destinationType == "generic" {
		if err := e.verify(&updated); err != nil {
			writeErrors(w, http.StatusBadRequest, "verification failed", err.Error())
			return
		}
	}
	updated.updatedAt = time.Now()
	e.mu.Lock()
	*c = updated
	doc := configDoc(c)
	e.mu.Unlock()
	writeData(w, http.StatusOK, doc)
}

func (e *Emulator) deleteConfig(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.configs[r.PathValue("id")] == nil {
		writeErrors(w, http.StatusNotFound, "not found", "")
		return
	}
	delete(e.configs, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func configDoc(c *notificationConfig) map[string]any {
	triggers := c.triggers
	if triggers == nil {
		triggers = []string{}
	}
	return map[string]any{
		"id": c.id, "type": "notification-configurations",
		"attributes": map[string]any{
			"name": c.name, "destination-type": c.destinationType, "enabled": c.enabled, "url": c.url,
			// The token is write-only: the API never returns it.
			"token": nil, "triggers": triggers, "delivery-responses": []any{}, "email-addresses": []string{},
			"created-at": stamp(c.createdAt), "updated-at": stamp(c.updatedAt),
		},
		"relationships": map[string]any{
			"subscribable": map[string]any{"data": ref("workspaces", c.ws.id)},
			"users":        map[string]any{"data": []any{}},
		},
	}
}

////////////////////////////////////////////////////////////////////////////////
// Documents
////////////////////////////////////////////////////////////////////////////////

func ref(typ, id string) map[string]any { return map[string]any{"type": typ, "id": id} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeData(w http.ResponseWriter, status int, data any) {
	writeJSON(w, status, map[string]any{"data": data})
}

func writeList(w http.ResponseWriter, data []any) {
	if data == nil {
		data = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]any{"pagination": map[string]any{
			"current-page": 1, "prev-page": nil, "next-page": nil, "total-pages": 1, "total-count": len(data), "page-size": 20,
		}},
	})
}

// writeErrors writes a JSON:API error document.
func writeErrors(w http.ResponseWriter, status int, title, detail string) {
	e := map[string]any{"status": strconv.Itoa(status), "title": title}
	if detail != "" {
		e["detail"] = detail
	}
	writeJSON(w, status, map[string]any{"errors": []any{e}})
}

////////////////////////////////////////////////////////////////////////////////
// Server
////////////////////////////////////////////////////////////////////////////////

// Server is an Emulator listening on a loopback port.
type Server struct {
	*Emulator
	// URL is the address to give go-tfe (tfe.Config.Address); the API is
	// under /api/v2.
	URL string

	srv       *http.Server
	done      chan error
	closeOnce sync.Once
	closeErr  error
}

// Start serves a new Emulator on a random 127.0.0.1 port.
func Start(opts Options) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for terraform cloud stand-in: %w", err)
	}
	e := New(opts)
	e.baseURL = "http://" + l.Addr().String()
	s := &Server{Emulator: e, URL: e.baseURL, srv: &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Close stops running runs and the server.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.shutdown()
		s.closeErr = s.srv.Close()
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("serve terraform cloud stand-in: %w", err))
		}
	})
	return s.closeErr
}

func sortedWorkspaces(m map[string]*workspace) []*workspace {
	out := make([]*workspace, 0, len(m))
	for _, ws := range m {
		out = append(out, ws)
	}
	sortBy(out, func(ws *workspace) string { return ws.name })
	return out
}

func sortedConfigs(m map[string]*notificationConfig) []*notificationConfig {
	out := make([]*notificationConfig, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	sortBy(out, func(c *notificationConfig) string { return c.name + c.id })
	return out
}

func sortBy[T any](s []T, key func(T) string) {
	sort.Slice(s, func(i, j int) bool { return key(s[i]) < key(s[j]) })
}
