// Package iampolicy evaluates IAM policy documents the way AWS does, for
// the local stack and for tests: moto stores policies but enforces none, so
// whoever needs to know what AWS would decide (the local ECS runtime reading
// a task's secrets, a test proving that a bucket refuses another service)
// asks this package instead.
//
// What it covers: identity policies and resource policies (bucket
// policies), Allow and Deny, Action/NotAction, Resource/NotResource with
// IAM's wildcards, Principal/NotPrincipal, and the String, Arn and Bool
// condition operators (with IfExists). A condition on a key the request
// does not carry is taken as met, and an operator it does not know is taken
// as met: callers that rely on a condition must put its key in the request.
// Permission boundaries, SCPs and session policies are out of scope.
package iampolicy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Document is an IAM policy document, with the single-or-list fields IAM
// accepts.
type Document struct {
	Statement OneOrMany[Statement] `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid          string                                  `json:"Sid,omitempty"`
	Effect       string                                  `json:"Effect"`
	Principal    *Principals                             `json:"Principal,omitempty"`
	NotPrincipal *Principals                             `json:"NotPrincipal,omitempty"`
	Action       OneOrMany[string]                       `json:"Action,omitempty"`
	NotAction    OneOrMany[string]                       `json:"NotAction,omitempty"`
	Resource     OneOrMany[string]                       `json:"Resource,omitempty"`
	NotResource  OneOrMany[string]                       `json:"NotResource,omitempty"`
	Condition    map[string]map[string]OneOrMany[string] `json:"Condition,omitempty"`
}

// Principals is a Principal element: "*" or a map such as {"AWS": [...]}.
type Principals struct {
	Any bool
	AWS []string
	// Other holds the other kinds (Service, Federated, CanonicalUser).
	Other map[string][]string
}

// UnmarshalJSON reads "*" or {"AWS": "..."|[...], ...}.
func (p *Principals) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if s != "*" {
			return fmt.Errorf("principal %q: only \"*\" may be given as a string", s)
		}
		p.Any = true
		return nil
	}
	var m map[string]OneOrMany[string]
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("parse principal: %w", err)
	}
	for k, v := range m {
		if k == "AWS" {
			p.AWS = v
			continue
		}
		if p.Other == nil {
			p.Other = map[string][]string{}
		}
		p.Other[k] = v
	}
	return nil
}

// MarshalJSON writes the form UnmarshalJSON reads.
func (p Principals) MarshalJSON() ([]byte, error) {
	if p.Any {
		return json.Marshal("*")
	}
	m := map[string][]string{}
	for k, v := range p.Other {
		m[k] = v
	}
	if len(p.AWS) > 0 {
		m["AWS"] = p.AWS
	}
	return json.Marshal(m)
}

// OneOrMany is a policy field that may be one value or a list.
type OneOrMany[T any] []T

// UnmarshalJSON accepts a single value or a list.
func (o *OneOrMany[T]) UnmarshalJSON(b []byte) error {
	var many []T
	if err := json.Unmarshal(b, &many); err == nil {
		*o = many
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = []T{one}
	return nil
}

// Parse reads a policy document, URL-encoded (as IAM returns them) or not.
func Parse(s string) (Document, error) {
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		if dec, err := url.QueryUnescape(s); err == nil {
			s = dec
		}
	}
	var d Document
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return Document{}, fmt.Errorf("parse policy document: %w", err)
	}
	return d, nil
}

// Request is one API call as policies see it.
type Request struct {
	// PrincipalARN is the caller as aws:PrincipalArn gives it: for a role
	// session, the role's ARN (with its path), not the session's.
	PrincipalARN string
	Action       string
	Resource     string
	// Context holds further condition keys (aws:SecureTransport, ...).
	// aws:PrincipalArn and aws:PrincipalAccount are filled in from
	// PrincipalARN.
	Context map[string]string
}

func (r Request) value(key string) (string, bool) {
	switch strings.ToLower(key) {
	case "aws:principalarn":
		return r.PrincipalARN, r.PrincipalARN != ""
	case "aws:principalaccount":
		a := accountOf(r.PrincipalARN)
		return a, a != ""
	}
	for k, v := range r.Context {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

// IdentityAllows evaluates identity policies alone for one action on one
// resource: an explicit Deny wins, then any Allow, else the implicit deny.
func IdentityAllows(docs []Document, req Request) bool {
	allow := false
	for _, d := range docs {
		for _, s := range d.Statement {
			if !s.appliesTo(req, false) {
				continue
			}
			if s.Effect == "Deny" {
				return false
			}
			if s.Effect == "Allow" {
				allow = true
			}
		}
	}
	return allow
}

// Decision is the outcome of Evaluate, with the statement that decided it.
type Decision struct {
	Allowed bool
	// Reason says why, in the words of an AccessDenied message.
	Reason string
}

// Evaluate decides a request against the caller's identity policies and
// the resource's policy, as AWS does: an explicit Deny in either wins;
// within one account an Allow in either suffices; across accounts both
// must allow. resourceAccount is the account that owns the resource.
func Evaluate(req Request, identity []Document, resource []Document, resourceAccount string) Decision {
	if s, ok := explicitDeny(identity, req, false); ok {
		return Decision{Reason: fmt.Sprintf("explicit deny in an identity-based policy (statement %q)", s.Sid)}
	}
	if s, ok := explicitDeny(resource, req, true); ok {
		return Decision{Reason: fmt.Sprintf("explicit deny in a resource-based policy (statement %q)", s.Sid)}
	}
	idAllow := IdentityAllows(identity, req)
	resAllow := false
	for _, d := range resource {
		for _, s := range d.Statement {
			if s.Effect == "Allow" && s.appliesTo(req, true) {
				resAllow = true
			}
		}
	}
	sameAccount := accountOf(req.PrincipalARN) == resourceAccount
	switch {
	case sameAccount && (idAllow || resAllow):
		return Decision{Allowed: true}
	case !sameAccount && idAllow && resAllow:
		return Decision{Allowed: true}
	case !sameAccount && idAllow:
		return Decision{Reason: "no resource-based policy allows the action for another account"}
	}
	return Decision{Reason: "no identity-based policy allows the action"}
}

func explicitDeny(docs []Document, req Request, resourcePolicy bool) (Statement, bool) {
	for _, d := range docs {
		for _, s := range d.Statement {
			if s.Effect == "Deny" && s.appliesTo(req, resourcePolicy) {
				return s, true
			}
		}
	}
	return Statement{}, false
}

// appliesTo reports whether the statement covers the request; principals
// are checked only in resource policies.
func (s Statement) appliesTo(req Request, resourcePolicy bool) bool {
	actionOK := len(s.Action) > 0 && anyMatch(s.Action, req.Action, true) ||
		len(s.NotAction) > 0 && !anyMatch(s.NotAction, req.Action, true)
	resourceOK := len(s.Resource) > 0 && anyMatch(s.Resource, req.Resource, false) ||
		len(s.NotResource) > 0 && !anyMatch(s.NotResource, req.Resource, false)
	if !actionOK || !resourceOK {
		return false
	}
	if resourcePolicy {
		switch {
		case s.Principal != nil && !s.Principal.matches(req.PrincipalARN):
			return false
		case s.NotPrincipal != nil && s.NotPrincipal.matches(req.PrincipalARN):
			return false
		case s.Principal == nil && s.NotPrincipal == nil:
			return false
		}
	}
	return s.conditionsMet(req)
}

// matches reports whether principal (a role or user ARN) is named: "*",
// its own ARN, or its account (as an ID or the account's root ARN).
func (p Principals) matches(principal string) bool {
	if p.Any {
		return true
	}
	account := accountOf(principal)
	for _, a := range p.AWS {
		switch {
		case a == "*", a == principal:
			return true
		case account != "" && (a == account || a == "arn:aws:iam::"+account+":root"):
			return true
		}
	}
	return false
}

func (s Statement) conditionsMet(req Request) bool {
	for op, keys := range s.Condition {
		base := strings.TrimSuffix(op, "IfExists")
		for key, want := range keys {
			have, ok := req.value(key)
			if !ok {
				// Absent keys are taken as met (see the package comment);
				// with IfExists that is what AWS does too.
				continue
			}
			if !operatorHolds(base, have, want) {
				return false
			}
		}
	}
	return true
}

// operatorHolds applies one condition operator: a positive operator holds
// when any value matches, a negated one when none does.
func operatorHolds(op, have string, want []string) bool {
	switch op {
	case "StringEquals", "ArnEquals":
		return anyEqual(want, have, false)
	case "StringEqualsIgnoreCase":
		return anyEqual(want, have, true)
	case "StringNotEquals", "ArnNotEquals":
		return !anyEqual(want, have, false)
	case "StringNotEqualsIgnoreCase":
		return !anyEqual(want, have, true)
	case "StringLike", "ArnLike":
		return anyMatch(want, have, false)
	case "StringNotLike", "ArnNotLike":
		return !anyMatch(want, have, false)
	case "Bool":
		return anyEqual(want, have, true)
	}
	return true
}

func anyEqual(values []string, v string, fold bool) bool {
	for _, w := range values {
		if w == v || fold && strings.EqualFold(w, v) {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		v := value
		if fold {
			p, v = strings.ToLower(p), strings.ToLower(v)
		}
		if Wildcard(p, v) {
			return true
		}
	}
	return false
}

// Wildcard matches IAM's * and ? (which, unlike path.Match's, cross "/").
func Wildcard(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if Wildcard(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		default:
			if s == "" || pattern[0] != s[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

// accountOf returns the account ID of an ARN (empty when there is none).
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}
