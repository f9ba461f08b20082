package kit

import (
	"encoding"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// EnvVar describes one environment variable a service reads. It is the unit
// of the machine-readable env contract (`<binary> --print-env-schema`), which
// the Terraform provider reads to check a deployment sets what the image
// needs.
type EnvVar struct {
	Name        string `json:"name"`
	Required    bool   `json:"required"`
	Default     string `json:"default,omitempty"`
	Secret      bool   `json:"secret"`
	Description string `json:"description"`
}

// EnvProblem is one missing or malformed environment variable.
type EnvProblem struct {
	Name   string
	Reason string
}

// EnvError lists every problem found in the environment, so an operator fixes
// them all in one deploy instead of one per crash loop.
type EnvError struct {
	Problems []EnvProblem
}

func (e *EnvError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid environment (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Name, p.Reason)
	}
	return b.String()
}

// EnvChecker is implemented by config structs whose rules span variables
// (for example "exactly one of A or B"). CheckEnv runs after every variable
// parsed, and its problems are reported with the others.
type EnvChecker interface {
	CheckEnv() []EnvProblem
}

// Config tags read besides caarlos0/env's own (env, envDefault, envPrefix,
// envSeparator): desc documents a variable, secret:"true" marks it as a
// secret (its value is never echoed, and the contract routes it through
// Parameter Store).
const (
	tagDesc   = "desc"
	tagSecret = "secret"
)

type envField struct {
	sf       reflect.StructField
	name     string
	required bool
	notEmpty bool
	def      string
	hasDef   bool
	secret   bool
	desc     string
}

// EnvSchema lists the environment variables cfg (a pointer to a config
// struct) reads, in field order.
func EnvSchema(cfg any) []EnvVar {
	fields, err := envFields(cfg)
	if err != nil {
		panic(err)
	}
	out := make([]EnvVar, 0, len(fields))
	for _, f := range fields {
		out = append(out, EnvVar{
			Name:        f.name,
			Required:    f.required && !f.hasDef,
			Default:     f.def,
			Secret:      f.secret,
			Description: f.desc,
		})
	}
	return out
}

// LoadEnv fills cfg (a pointer to a config struct) from the process
// environment. On failure the *EnvError names every bad variable.
func LoadEnv(cfg any) error {
	return LoadEnvFrom(cfg, env.ToMap(os.Environ()))
}

// LoadEnvFrom fills cfg from the given variables, as LoadEnv does.
func LoadEnvFrom(cfg any, vars map[string]string) error {
	fields, err := envFields(cfg)
	if err != nil {
		return err
	}
	var problems []EnvProblem
	for _, f := range fields {
		raw, set := vars[f.name]
		if !set || raw == "" {
			if f.hasDef {
				raw = f.def
			} else {
				if f.required {
					problems = append(problems, EnvProblem{f.name, "required but not set"})
				}
				continue
			}
		}
		if p := checkValue(f, raw); p != "" {
			problems = append(problems, EnvProblem{f.name, p})
		}
	}
	// The library's own pass assigns the values with exactly its semantics
	// (defaults, separators, text unmarshalers); it keeps going past a bad
	// field, so the cross-variable checks below still see the good ones.
	parseErr := env.ParseWithOptions(cfg, env.Options{Environment: vars})
	if parseErr != nil && len(problems) == 0 {
		return fmt.Errorf("parse environment: %w", parseErr)
	}
	reported := map[string]bool{}
	for _, p := range problems {
		reported[p.Name] = true
	}
	for _, p := range collectChecks(reflect.ValueOf(cfg)) {
		// A variable already reported as malformed is not also blamed for
		// the rules its bad value could not satisfy, and neither is another
		// variable of such a rule ("one of A or B is required" when B was
		// set but malformed).
		if !reported[p.Name] && !mentionsAny(p.Reason, reported) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return &EnvError{Problems: problems}
	}
	return nil
}

// mentionsAny reports whether reason names one of the variables.
func mentionsAny(reason string, names map[string]bool) bool {
	for n := range names {
		if strings.Contains(reason, n) {
			return true
		}
	}
	return false
}

// checkValue parses raw into a scratch value of the field's type, so a parse
// failure is attributed to its variable (the library's aggregate error names
// only Go fields).
func checkValue(f envField, raw string) string {
	tag := `env:"V"`
	for _, k := range []string{"envSeparator", "envKeyValSeparator"} {
		if v, ok := f.sf.Tag.Lookup(k); ok {
			tag += fmt.Sprintf(" %s:%q", k, v)
		}
	}
	scratch := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.sf.Type, Tag: reflect.StructTag(tag)}}))
	err := env.ParseWithOptions(scratch.Interface(), env.Options{Environment: map[string]string{"V": raw}})
	if err == nil {
		return ""
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	reason := parseReason(f.sf.Type, err)
	if f.secret {
		// Never echo a secret, not even inside a parser's message.
		if strings.Contains(reason, raw) {
			return "malformed (value hidden because it is secret)"
		}
		return "malformed (value hidden because it is secret): " + reason
	}
	return fmt.Sprintf("malformed value %q: %s", raw, reason)
}

// parseReason phrases a parser error for an operator.
func parseReason(t reflect.Type, err error) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "must be a duration such as 500ms, 30s or 5m"
	}
	var numErr *strconv.NumError
	if errors.As(err, &numErr) {
		switch t.Kind() {
		case reflect.Bool:
			return "must be true or false"
		case reflect.Float32, reflect.Float64:
			return "must be a number"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if errors.Is(numErr.Err, strconv.ErrRange) {
				return "is out of range"
			}
			return "must be a whole number"
		}
	}
	return err.Error()
}

// collectChecks runs CheckEnv on the config and on every nested struct that
// implements it. A method promoted from an embedded struct runs twice, so
// repeated problems are dropped.
func collectChecks(v reflect.Value) []EnvProblem {
	var out []EnvProblem
	seen := map[EnvProblem]bool{}
	var visit func(v reflect.Value)
	visit = func(v reflect.Value) {
		if c, ok := v.Addr().Interface().(EnvChecker); ok {
			for _, p := range c.CheckEnv() {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		for i := 0; i < v.NumField(); i++ {
			sf := v.Type().Field(i)
			if !sf.IsExported() || sf.Type.Kind() != reflect.Struct {
				continue
			}
			if name, _, _ := strings.Cut(sf.Tag.Get("env"), ","); name != "" {
				continue
			}
			visit(v.Field(i))
		}
	}
	visit(v.Elem())
	return out
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func envFields(cfg any) ([]envField, error) {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("env config must be a pointer to a struct, got %T", cfg)
	}
	var out []envField
	walkEnv(v.Elem(), "", &out)
	seen := map[string]bool{}
	for _, f := range out {
		if seen[f.name] {
			return nil, fmt.Errorf("env config %T declares %s twice", cfg, f.name)
		}
		seen[f.name] = true
	}
	return out, nil
}

func walkEnv(v reflect.Value, prefix string, out *[]envField) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			if sf.Type.Kind() == reflect.Struct && !reflect.PointerTo(sf.Type).Implements(textUnmarshaler) {
				walkEnv(v.Field(i), prefix+sf.Tag.Get("envPrefix"), out)
			}
			continue
		}
		f := envField{sf: sf, name: prefix + name, desc: sf.Tag.Get(tagDesc), secret: sf.Tag.Get(tagSecret) == "true"}
		f.def, f.hasDef = sf.Tag.Lookup("envDefault")
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "required":
				f.required = true
			case "notEmpty":
				f.notEmpty, f.required = true, true
			}
		}
		*out = append(*out, f)
	}
}

// stagePattern keeps stage names usable in subjects, hostnames and SSM paths.
var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Stage is the deployment stage (local, staging, production, or a tenant's
// name). Only "local" changes behaviour: it turns on gRPC reflection and lets
// services declare their own JetStream streams and consumers, which
// Terraform owns everywhere else.
type Stage string

// StageLocal is the developer machine / docker-compose stage.
const StageLocal Stage = "local"

// UnmarshalText validates the stage's spelling.
func (s *Stage) UnmarshalText(b []byte) error {
	if !stagePattern.Match(b) {
		return fmt.Errorf("must match %s", stagePattern)
	}
	*s = Stage(b)
	return nil
}

// IsLocal reports whether this is a developer's machine.
func (s Stage) IsLocal() bool { return s == StageLocal }

// HTTPURL is an http:// or https:// base URL, such as another service's
// Service Connect address.
type HTTPURL string

// UnmarshalText checks the scheme and host.
func (u *HTTPURL) UnmarshalText(b []byte) error {
	parsed, err := url.Parse(string(b))
	if err != nil {
		return err
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return fmt.Errorf("scheme must be http or https, got %q", parsed.Scheme)
	}
	if parsed.Host == "" {
		return errors.New("host is missing")
	}
	*u = HTTPURL(strings.TrimRight(string(b), "/"))
	return nil
}

// String returns the URL.
func (u HTTPURL) String() string { return string(u) }
