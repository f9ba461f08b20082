package cfemu

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an Emulator listening on a loopback port.
type Server struct {
	*Emulator
	// URL is the API base, ending in /client/v4, for option.WithBaseURL.
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
		return nil, fmt.Errorf("listen for cloudflare emulator: %w", err)
	}
	e := New(opts)
	s := &Server{
		Emulator: e,
		URL:      "http://" + l.Addr().String() + apiPrefix,
		srv:      &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Close stops the server and closes its connections. Later calls return the
// first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("serve cloudflare emulator: %w", err))
		}
	})
	return s.closeErr
}
