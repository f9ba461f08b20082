package localstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Moto is a running moto server: the AWS stand-in. One process serves every
// account; STS AssumeRole into account N returns credentials that act in N.
type Moto struct {
	Endpoint string
	Port     int
	cmd      *exec.Cmd
	done     chan struct{}
}

// MotoOptions configures StartMoto.
type MotoOptions struct {
	Port    int    // 0 picks a free port
	LogFile string // empty discards output
}

// MotoBinary locates moto_server, the console script of moto[server].
func MotoBinary() (string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", errors.New("moto_server not found on PATH; run `make tools` (it installs moto[server] with pip)")
}

// StartMoto starts a moto server on loopback and waits until it answers.
func StartMoto(ctx context.Context, opts MotoOptions) (*Moto, error) {
	bin, err := MotoBinary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		m, err := startMoto(ctx, bin, port, opts)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if opts.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

func startMoto(ctx context.Context, bin string, port int, opts MotoOptions) (*Moto, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// Moto runs no task and reports none running; the local ECS runtime
	// (ecsrt) in front of it answers what runs.
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if opts.LogFile != "" {
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open moto log: %w", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	m := &Moto{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	err := waitFor(ctx, "moto", 60*time.Second, func(ctx context.Context) error {
		select {
		case <-m.done:
			return errors.New("moto_server exited during start-up")
		default:
		}
		return httpOK(m.Endpoint + "/moto-api/data.json")(ctx)
	})
	if err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// PID returns the server's process ID.
func (m *Moto) PID() int { return m.cmd.Process.Pid }

// Reset wipes every account's state.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %d", resp.StatusCode)
	}
	return nil
}

// Stop ends the server and waits for it.
func (m *Moto) Stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
}
