package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pivotapp/platform/internal/localstack/ecsrt"
)

// State is what a running background stack records in its folder, so that
// later commands (status, env, down) and other processes can find it.
type State struct {
	PID         int       `json:"pid"` // the serving pivotctl process
	MotoPID     int       `json:"moto_pid"`
	PostgresPID int       `json:"postgres_pid,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	Endpoints   Endpoints `json:"endpoints"`
}

const stateFile = "state.json"

// ReadState loads the state of the stack in dir; os.ErrNotExist when none.
func ReadState(dir string) (State, error) {
	var st State
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parse %s: %w", stateFile, err)
	}
	return st, nil
}

func writeState(dir string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// Healthy reports whether every component of a recorded stack answers.
func (st State) Healthy() error {
	if !alive(st.PID) {
		return fmt.Errorf("stack process %d is not running", st.PID)
	}
	checks := map[string]string{"aws": st.Endpoints.AWS, "nats": st.Endpoints.NATS, "nats-prod": st.Endpoints.NATSProd, "cloudflare": st.Endpoints.CloudflareURL, "postgres": st.Endpoints.PostgresAdminURL}
	for name, raw := range checks {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("%s endpoint %q: %w", name, raw, err)
		}
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return fmt.Errorf("%s is not answering at %s: %w", name, u.Host, err)
		}
		c.Close()
	}
	return nil
}

func alive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// Serve runs the stack in the foreground until SIGINT/SIGTERM, recording
// its state in opts.Dir once everything is up. `pivotctl local up` runs it
// in a detached child process.
func Serve(ctx context.Context, opts Options) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := Start(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Stop()
	st := State{PID: os.Getpid(), MotoPID: s.Moto.PID(), StartedAt: time.Now().UTC(), Endpoints: s.Endpoints()}
	if s.Postgres != nil {
		st.PostgresPID = s.Postgres.PID()
	}
	if err := writeState(opts.Dir, st); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// Up starts the stack in the background unless a healthy one already runs
// in dir. It returns the state and whether it started a new stack.
func Up(ctx context.Context, dir string, self []string, logf func(string, ...any)) (State, bool, error) {
	if st, err := ReadState(dir); err == nil {
		if st.Healthy() == nil {
			return st, false, nil
		}
		logf("found a stale stack in %s; cleaning it up", dir)
		if err := Down(dir); err != nil {
			return State{}, false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return State{}, false, fmt.Errorf("create %s: %w", dir, err)
	}
	logPath := filepath.Join(dir, "stack.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return State{}, false, fmt.Errorf("open stack log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(self[0], self[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A session of its own, so the stack outlives this command and the
	// terminal's signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return State{}, false, fmt.Errorf("start stack process: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(120 * time.Second)
	for {
		if st, err := ReadState(dir); err == nil && st.PID == cmd.Process.Pid {
			return st, true, nil
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return State{}, false, fmt.Errorf("stack process exited: %w\n%s", err, strings.TrimSpace(string(log)))
		case <-deadline:
			_ = cmd.Process.Kill()
			return State{}, false, errors.New("stack did not come up within 120s; see " + logPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return State{}, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Down stops the stack recorded in dir and removes its folder. Stopping a
// stack that is not running is not an error.
func Down(dir string) error {
	st, err := ReadState(dir)
	if err == nil {
		if alive(st.PID) {
			_ = syscall.Kill(st.PID, syscall.SIGTERM)
			waitGone(st.PID, 20*time.Second)
		}
		// The serving process stops its children; these catch a serving
		// process that died without doing so.
		for _, pid := range []int{st.MotoPID, st.PostgresPID} {
			if alive(pid) {
				_ = syscall.Kill(-pid, syscall.SIGTERM)
				_ = syscall.Kill(pid, syscall.SIGTERM)
				if !waitGone(pid, 10*time.Second) {
					_ = syscall.Kill(-pid, syscall.SIGKILL)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !alive(pid)
}

// Tasks lists the local ECS runtime's tasks of a running stack.
func Tasks(ctx context.Context, e Endpoints) ([]ecsrt.TaskStatus, error) {
	if !e.ECSRuntime() {
		return nil, errors.New("this stack runs no ECS runtime (it was started outside the repository)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.AWS+ecsrt.StatusPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the local ECS runtime: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ask the local ECS runtime: status %d (a stack without the runtime?)", resp.StatusCode)
	}
	var out []ecsrt.TaskStatus
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("read the runtime's tasks: %w", err)
	}
	return out, nil
}

// Publish asks the stack's ECS runtime for a host address that reaches a
// port of a service's tasks (ecsrt.Runtime.Publish).
func Publish(ctx context.Context, e Endpoints, account, cluster, service string, port int) (string, error) {
	if !e.ECSRuntime() {
		return "", errors.New("this stack runs no ECS runtime (it was started outside the repository)")
	}
	q := url.Values{"account": {account}, "cluster": {cluster}, "service": {service}, "port": {strconv.Itoa(port)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.AWS+ecsrt.PublishPath+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("ask the local ECS runtime: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("ask the local ECS runtime: status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var out struct {
		Address string `json:"address"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("read the runtime's answer: %w", err)
	}
	return out.Address, nil
}
