package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL cluster: the Aurora stand-in. Its one
// endpoint serves as both writer and reader.
type Postgres struct {
	Host     string
	Port     int
	User     string
	Password string
	Dir      string
	cmd      *exec.Cmd
	done     chan struct{}
}

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	Dir     string // cluster folder; created if missing, must be empty or an earlier cluster
	Port    int    // 0 picks a free port
	LogFile string
	// Durable keeps Postgres's crash safety (fsync, synchronous commit,
	// full-page writes), as Aurora always has it. Tests leave it off for
	// speed; benchmarks that weigh commits turn it on.
	Durable bool
}

// AdminUser is the superuser of every local cluster.
const AdminUser = "pivot"

// MasterUser stands in for the Aurora master user: it has CREATEROLE and
// CREATEDB but is not a superuser, as on RDS (where it is a member of
// rds_superuser), so what the provider does as it locally is what RDS
// allows. It shares the superuser's password.
const MasterUser = "pivot_master"

// PostgresBinDir finds the folder holding initdb and postgres.
func PostgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(matches)
	if len(matches) > 0 {
		return filepath.Dir(matches[len(matches)-1]), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, postgres) not found; run `make tools` (it installs Debian's postgresql package)")
}

// StartPostgres creates (or reuses) a cluster in opts.Dir and starts it on
// loopback with durability off, since the data is thrown away.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	bin, err := PostgresBinDir()
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("start postgres: Dir is required")
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create postgres dir: %w", err)
	}
	// postgres refuses to run as root; on root machines (CI) it runs as the
	// postgres (or nobody) user, which must be able to reach the folder.
	cred, err := dropCredential()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(opts.Dir, "data")
	pwFile := filepath.Join(opts.Dir, "password")
	pg := &Postgres{Host: "127.0.0.1", User: AdminUser, Dir: opts.Dir, done: make(chan struct{})}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		b, err := os.ReadFile(pwFile)
		if err != nil {
			return nil, fmt.Errorf("read postgres password: %w", err)
		}
		pg.Password = string(b)
	} else {
		pg.Password = randomHex(12)
		if err := os.WriteFile(pwFile, []byte(pg.Password), 0o644); err != nil {
			return nil, fmt.Errorf("write postgres password: %w", err)
		}
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, fmt.Errorf("create postgres data dir: %w", err)
		}
		if err := chownTree(opts.Dir, cred); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", AdminUser, "--pwfile", pwFile,
			"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w\n%s", err, out)
		}
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		pg.Port = port
		pg.done = make(chan struct{})
		if lastErr = pg.start(ctx, bin, data, cred, opts); lastErr == nil {
			return pg, nil
		}
		if opts.Port != 0 {
			break
		}
	}
	return nil, lastErr
}

func (p *Postgres) start(ctx context.Context, bin, data string, cred *syscall.Credential, opts PostgresOptions) error {
	args := []string{"-D", data, "-p", strconv.Itoa(p.Port), "-h", "127.0.0.1", "-k", p.Dir,
		"-c", "max_connections=300", "-c", "shared_buffers=128MB"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logFile := opts.LogFile
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open postgres log: %w", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p.cmd = cmd
	go func() { _ = cmd.Wait(); close(p.done) }()
	err := waitFor(ctx, "postgres", 30*time.Second, func(ctx context.Context) error {
		select {
		case <-p.done:
			return errors.New("postgres exited during start-up")
		default:
		}
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err != nil {
			return err
		}
		return conn.Close(ctx)
	})
	if err == nil {
		err = p.ensureMasterUser(ctx)
	}
	if err != nil {
		p.Stop()
		return err
	}
	return nil
}

// ensureMasterUser creates MasterUser, or resets it on a reused cluster.
func (p *Postgres) ensureMasterUser(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, MasterUser).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", MasterUser, err)
	}
	verb := "CREATE ROLE "
	if exists {
		verb = "ALTER ROLE "
	}
	pw := "'" + strings.ReplaceAll(p.Password, "'", "''") + "'"
	if _, err := conn.Exec(ctx, verb+MasterUser+" WITH LOGIN NOSUPERUSER CREATEROLE CREATEDB NOREPLICATION NOBYPASSRLS PASSWORD "+pw); err != nil {
		return fmt.Errorf("set up role %s: %w", MasterUser, err)
	}
	return nil
}

// URL returns the superuser connection URL for a database.
func (p *Postgres) URL(database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(p.User, p.Password), Host: fmt.Sprintf("%s:%d", p.Host, p.Port), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// MasterURL returns MasterUser's connection URL for a database: the admin
// URL the provider gets, as it would get the Aurora master user's.
func (p *Postgres) MasterURL(database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(MasterUser, p.Password), Host: fmt.Sprintf("%s:%d", p.Host, p.Port), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// PID returns the postmaster's process ID.
func (p *Postgres) PID() int { return p.cmd.Process.Pid }

// Stop shuts the cluster down (fast mode) and waits for it.
func (p *Postgres) Stop() {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

func dropCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and no postgres or nobody user to run PostgreSQL as")
}

func chownTree(dir string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	// Every ancestor must be traversable by the unprivileged user.
	for d := filepath.Dir(dir); d != "/" && d != "."; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, st.Mode().Perm()|0o011); err != nil {
				return fmt.Errorf("make %s traversable for postgres: %w", d, err)
			}
		}
	}
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
