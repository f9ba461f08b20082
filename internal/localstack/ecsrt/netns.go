package ecsrt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// A task's network is a Linux network namespace of its own, the analog of
// awsvpc's elastic network interface: two tasks can both listen on :8080,
// and a task reaches nothing the runtime does not open for it. Namespaces
// are made with iproute2's `ip netns`, whose `exec` also gives each task a
// private mount namespace with /etc/netns/<name>/hosts bound over
// /etc/hosts: that file is how Service Connect names resolve per task.
//
// The runtime itself opens sockets inside a task's namespace (the proxies
// Service Connect puts in every task) by switching one locked OS thread
// into the namespace for the socket() call: a socket stays in the
// namespace it was made in.

// netnsPrefix names every namespace the runtime makes, followed by the
// owning process's PID, so a later runtime can remove what a killed one
// left behind.
const netnsPrefix = "pvt-"

type netns struct {
	name string
	path string // /run/netns/<name>
}

// supported reports whether this process may make network namespaces.
func supported() error {
	if os.Geteuid() != 0 {
		return errors.New("the local ECS runtime needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the local ECS runtime needs iproute2's `ip` (apt-get install iproute2)")
	}
	return nil
}

func newNetns(ctx context.Context, name string) (*netns, error) {
	n := &netns{name: name, path: filepath.Join("/run/netns", name)}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("add network namespace %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.CommandContext(ctx, "ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		_ = n.remove()
		return nil, fmt.Errorf("bring up loopback in %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	if err := os.MkdirAll(n.etcDir(), 0o755); err != nil {
		_ = n.remove()
		return nil, fmt.Errorf("create %s: %w", n.etcDir(), err)
	}
	return n, nil
}

func (n *netns) etcDir() string { return filepath.Join("/etc/netns", n.name) }

// writeHosts replaces the task's /etc/hosts. The file is rewritten in
// place, not renamed over: a running task sees it through a bind mount of
// the inode.
func (n *netns) writeHosts(names map[string]string) error {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	for _, name := range sortedKeys(names) {
		fmt.Fprintf(&b, "%s\t%s\n", names[name], name)
	}
	f, err := os.OpenFile(filepath.Join(n.etcDir(), "hosts"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write hosts of %s: %w", n.name, err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("write hosts of %s: %w", n.name, err)
	}
	return f.Close()
}

// command runs name inside the namespace, with the task's hosts file.
func (n *netns) command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// do runs f on an OS thread switched into the namespace.
func (n *netns) do(f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own network namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(n.path)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open network namespace %s: %w", n.name, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", n.name, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays in the task's namespace; leaving it locked makes
		// the Go runtime end it with this goroutine instead of reusing it.
		return errors.Join(ferr, fmt.Errorf("leave network namespace %s: %w", n.name, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// listen opens a TCP listener inside the namespace.
func (n *netns) listen(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.do(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// dial connects to addr (an IP literal) inside the namespace.
func (n *netns) dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

func (n *netns) remove() error {
	_ = os.RemoveAll(n.etcDir())
	out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such file") {
		return fmt.Errorf("delete network namespace %s: %w: %s", n.name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeStaleNetns deletes the namespaces of runtimes that no longer run.
func removeStaleNetns() {
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, netnsPrefix) {
			continue
		}
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, netnsPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue
		}
		_ = (&netns{name: name, path: filepath.Join("/run/netns", name)}).remove()
	}
}
