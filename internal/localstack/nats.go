package localstack

import (
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is an embedded nats-server with JetStream.
type NATS struct {
	URL    string
	Port   int
	Server *server.Server
}

// NATSOptions configures StartNATS.
type NATSOptions struct {
	Port     int    // 0 picks a free port
	StoreDir string // JetStream storage; required
	// Accounts, when set, replaces the default single-account set-up; tests
	// of per-resource connections use it to get two isolated accounts.
	Accounts []NATSAccount
}

// NATSAccount is a JetStream-enabled account with one user.
type NATSAccount struct {
	Name, User, Password string
}

// StartNATS starts an in-process nats-server on loopback.
func StartNATS(opts NATSOptions) (*NATS, error) {
	if opts.StoreDir == "" {
		return nil, fmt.Errorf("start nats: StoreDir is required")
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	sopts := &server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  opts.StoreDir,
		NoLog:     true,
		NoSigs:    true,
		// Leave room for the benchmarks' hundreds of streams.
		JetStreamMaxMemory: 1 << 30,
		JetStreamMaxStore:  8 << 30,
	}
	if len(opts.Accounts) > 0 {
		for _, a := range opts.Accounts {
			acc := server.NewAccount(a.Name)
			sopts.Accounts = append(sopts.Accounts, acc)
			sopts.Users = append(sopts.Users, &server.User{Username: a.User, Password: a.Password, Account: acc})
		}
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("create nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("start nats: not ready after 10s")
	}
	for _, a := range opts.Accounts {
		// The server registers its own account objects; enable JetStream on
		// those, not on the ones in the options.
		acc, err := srv.LookupAccount(a.Name)
		if err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("look up nats account %s: %w", a.Name, err)
		}
		if err := acc.EnableJetStream(map[string]server.JetStreamAccountLimits{"": {MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1}}, nil); err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("enable jetstream for account %s: %w", a.Name, err)
		}
	}
	addr := srv.Addr().String()
	return &NATS{URL: "nats://" + addr, Port: srv.Addr().(*net.TCPAddr).Port, Server: srv}, nil
}

// Stop shuts the server down and waits for it.
func (n *NATS) Stop() {
	if n == nil || n.Server == nil {
		return
	}
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
}
