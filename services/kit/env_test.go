package kit_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pivotapp/platform/services/kit"
)

type nested struct {
	Token string `env:"TOKEN,required" secret:"true" desc:"API token"`
	Limit int    `env:"LIMIT" envDefault:"3" desc:"how many"`
}

func (n *nested) CheckEnv() []kit.EnvProblem {
	if n.Limit > 10 {
		return []kit.EnvProblem{{Name: "LIMIT", Reason: "must be at most 10"}}
	}
	return nil
}

type testConfig struct {
	kit.BaseConfig
	URL     kit.HTTPURL     `env:"UPSTREAM_URL,required" desc:"where to call"`
	Wait    time.Duration   `env:"WAIT" envDefault:"1s"`
	Delays  []time.Duration `env:"DELAYS" envDefault:"1s,2s"`
	Enabled bool            `env:"ENABLED"`
	Nested  nested
	Ignored string `env:"-"`
}

func TestLoadEnvNamesEveryProblem(t *testing.T) {
	var cfg testConfig
	err := kit.LoadEnvFrom(&cfg, map[string]string{
		"STAGE":        "local",
		"PORT":         "99999",
		"UPSTREAM_URL": "ftp://x",
		"WAIT":         "soon",
		"ENABLED":      "maybe",
		"TOKEN":        "s3cr3t-value:not-a-number",
		"LIMIT":        "many",
		"DELAYS":       "1s,x",
	})
	var envErr *kit.EnvError
	if !errors.As(err, &envErr) {
		t.Fatalf("err = %v, want *EnvError", err)
	}
	got := map[string]string{}
	for _, p := range envErr.Problems {
		got[p.Name] = p.Reason
	}
	for _, name := range []string{"UPSTREAM_URL", "WAIT", "ENABLED", "LIMIT", "DELAYS", "PORT"} {
		if got[name] == "" {
			t.Errorf("%s not reported; problems: %v", name, envErr.Problems)
		}
	}
	if got["WAIT"] != `malformed value "soon": must be a duration such as 500ms, 30s or 5m` {
		t.Errorf("WAIT reason = %q", got["WAIT"])
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("secret leaked: %v", err)
	}
}

func TestLoadEnvMissingAndChecks(t *testing.T) {
	var cfg testConfig
	err := kit.LoadEnvFrom(&cfg, map[string]string{"LIMIT": "11", "TOKEN": ""})
	msg := err.Error()
	for _, want := range []string{"STAGE: required but not set", "UPSTREAM_URL: required but not set", "TOKEN: required but not set", "LIMIT: must be at most 10"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message misses %q:\n%s", want, msg)
		}
	}
}

func TestLoadEnvFills(t *testing.T) {
	var cfg testConfig
	if err := kit.LoadEnvFrom(&cfg, map[string]string{"STAGE": "local", "UPSTREAM_URL": "http://up:80/", "TOKEN": "t", "ENABLED": "true"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8080 || cfg.Wait != time.Second || len(cfg.Delays) != 2 || !cfg.Enabled || cfg.Nested.Limit != 3 ||
		cfg.URL != "http://up:80" || !cfg.Stage.IsLocal() || cfg.ShutdownTimeout != 25*time.Second {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestEnvSchema(t *testing.T) {
	vars := kit.EnvSchema(&testConfig{})
	byName := map[string]kit.EnvVar{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	if v := byName["TOKEN"]; !v.Required || !v.Secret || v.Description != "API token" {
		t.Errorf("TOKEN = %+v", v)
	}
	if v := byName["LIMIT"]; v.Required || v.Default != "3" {
		t.Errorf("LIMIT = %+v", v)
	}
	if _, ok := byName["Ignored"]; ok {
		t.Error(`env:"-" must not appear`)
	}
	if vars[0].Name != "STAGE" {
		t.Errorf("schema must follow field order, got %s first", vars[0].Name)
	}
}
