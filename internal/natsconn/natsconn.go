// Package natsconn opens NATS connections from a declarative configuration
// and shares them: the provider's own connection and every per-resource
// connection block with the same settings use one *nats.Conn.
package natsconn

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Config describes how to reach a NATS system and authenticate to it.
type Config struct {
	Servers         []string
	CredentialsFile string
	Credentials     string // inline contents of a .creds file
	NKeySeed        string // inline nkey seed (SU...)
	NKeySeedFile    string
	User            string
	Password        string
	Token           string
	TLS             *TLS
}

// TLS holds file paths for a TLS connection.
type TLS struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// IsZero reports whether nothing was configured.
func (c Config) IsZero() bool {
	return len(c.Servers) == 0 && c.CredentialsFile == "" && c.Credentials == "" && c.NKeySeed == "" &&
		c.NKeySeedFile == "" && c.User == "" && c.Password == "" && c.Token == "" && c.TLS == nil
}

// FieldError names the configuration field at fault, so the provider can
// point its diagnostic at the right attribute.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate reports every configuration mistake, without connecting.
func (c Config) Validate() error {
	var errs []error
	add := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, a...)})
	}
	if len(c.Servers) == 0 {
		add("servers", "no NATS server given; set servers (e.g. [\"nats://127.0.0.1:4222\"]) or NATS_URL")
	}
	for _, s := range c.Servers {
		for _, one := range strings.Split(s, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || u.Host == "" || !isNATSScheme(u.Scheme) {
				add("servers", "%q is not a NATS URL; use nats://host:port (or tls://, ws://, wss://)", one)
			}
		}
	}
	auth := 0
	for _, set := range []bool{c.CredentialsFile != "" || c.Credentials != "", c.NKeySeed != "" || c.NKeySeedFile != "", c.User != "" || c.Password != "", c.Token != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		add("credentials", "set only one of credentials/credentials_file, nkey, user+password or token")
	}
	if c.CredentialsFile != "" && c.Credentials != "" {
		add("credentials_file", "set credentials_file or inline credentials, not both")
	}
	if c.NKeySeed != "" && !strings.HasPrefix(c.NKeySeed, "SU") {
		add("nkey", "the nkey must be a user seed starting with SU")
	}
	if (c.User == "") != (c.Password == "") {
		add("user", "user and password must be set together")
	}
	if c.TLS != nil && (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls", "cert_file and key_file must be set together")
	}
	return errors.Join(errs...)
}

func isNATSScheme(s string) bool {
	switch s {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

// key identifies configurations that may share a connection.
func (c Config) key() string {
	servers := append([]string(nil), c.Servers...)
	sort.Strings(servers)
	parts := []string{strings.Join(servers, ","), c.CredentialsFile, c.Credentials, c.NKeySeed, c.NKeySeedFile, c.User, c.Password, c.Token}
	if c.TLS != nil {
		parts = append(parts, c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile)
	}
	return strings.Join(parts, "\x00")
}

// Options turns the configuration into nats.go options.
func (c Config) Options(name string) ([]nats.Option, func(), error) {
	cleanup := func() {}
	opts := []nats.Option{nats.Name(name), nats.Timeout(10 * time.Second), nats.MaxReconnects(-1)}
	switch {
	case c.CredentialsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredentialsFile))
	case c.Credentials != "":
		// nats.go reads credentials from a file; inline ones are written to a
		// private temporary file for the life of the connection.
		f, err := os.CreateTemp("", "pivot-nats-*.creds")
		if err != nil {
			return nil, cleanup, fmt.Errorf("write inline credentials: %w", err)
		}
		if _, err := f.WriteString(c.Credentials); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, cleanup, fmt.Errorf("write inline credentials: %w", err)
		}
		f.Close()
		cleanup = func() { os.Remove(f.Name()) }
		opts = append(opts, nats.UserCredentials(f.Name()))
	case c.NKeySeedFile != "":
		opt, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, cleanup, fmt.Errorf("read nkey seed: %w", err)
		}
		opts = append(opts, opt)
	case c.NKeySeed != "":
		f, err := os.CreateTemp("", "pivot-nats-*.nk")
		if err != nil {
			return nil, cleanup, fmt.Errorf("write nkey seed: %w", err)
		}
		_, _ = f.WriteString(c.NKeySeed)
		f.Close()
		opt, err := nats.NkeyOptionFromSeed(f.Name())
		os.Remove(f.Name())
		if err != nil {
			return nil, cleanup, fmt.Errorf("read nkey seed: %w", err)
		}
		opts = append(opts, opt)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.TLS != nil {
		if c.TLS.CAFile != "" {
			opts = append(opts, nats.RootCAs(c.TLS.CAFile))
		}
		if c.TLS.CertFile != "" {
			opts = append(opts, nats.ClientCert(c.TLS.CertFile, c.TLS.KeyFile))
		}
	}
	return opts, cleanup, nil
}

// Pool shares connections between identical configurations. Connections are
// opened on first use, so a provider configured for NATS does not connect
// until a NATS resource needs it.
type Pool struct {
	name  string
	mu    sync.Mutex
	conns map[string]*entry
}

type entry struct {
	once    sync.Once
	nc      *nats.Conn
	cleanup func()
	err     error
}

// NewPool returns an empty pool; name is the client name servers see.
func NewPool(name string) *Pool { return &Pool{name: name, conns: map[string]*entry{}} }

// Get returns the shared connection for cfg, connecting on first use.
func (p *Pool) Get(cfg Config) (*nats.Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	k := cfg.key()
	p.mu.Lock()
	e, ok := p.conns[k]
	if !ok {
		e = &entry{}
		p.conns[k] = e
	}
	p.mu.Unlock()
	e.once.Do(func() {
		var opts []nats.Option
		opts, e.cleanup, e.err = cfg.Options(p.name)
		if e.err != nil {
			return
		}
		e.nc, e.err = nats.Connect(strings.Join(cfg.Servers, ","), opts...)
		if e.err != nil {
			e.err = fmt.Errorf("connect to nats %s: %w", strings.Join(cfg.Servers, ","), e.err)
			e.cleanup()
		}
	})
	if e.err != nil {
		// A failed connection is not cached, so a later resource may retry
		// once the server is back.
		p.mu.Lock()
		if p.conns[k] == e {
			delete(p.conns, k)
		}
		p.mu.Unlock()
	}
	return e.nc, e.err
}

// Close closes every connection the pool opened.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.conns {
		if e.nc != nil {
			e.nc.Close()
			e.cleanup()
		}
		delete(p.conns, k)
	}
}
