package ecsrt

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// There is no container engine on the machines the local stack runs on, so
// an image is mapped to a program built from source:
//
//	<registry>/<path>/<name>:<tag>          services/<name>/cmd/<name>, when that folder exists
//	nats:<tag>                              nats-server (github.com/nats-io/nats-server/v2)
//	*opentelemetry-collector*:<tag>         the runtime's OTLP/HTTP span sink (ecsrt/otelsink)
//	*fluent-bit*:<tag>                      FireLens: the runtime keeps the app's output itself
//
// The tag is not checked against the tree: a task runs the services as the
// working tree has them. Anything else cannot be pulled, and the task stops
// with CannotPullContainerError, as ECS reports a missing image.

type imageKind int

const (
	imageUnknown imageKind = iota
	imageService
	imageNATS
	imageCollector
	imageLogRouter
)

type image struct {
	kind    imageKind
	service string // for imageService
}

// mapImage says what runs for ref.
func mapImage(sourceDir, ref string) image {
	repo := ref
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	base := path.Base(repo)
	switch {
	case strings.Contains(base, "fluent-bit"):
		return image{kind: imageLogRouter}
	case strings.Contains(base, "opentelemetry-collector"):
		return image{kind: imageCollector}
	case base == "nats":
		return image{kind: imageNATS}
	}
	if sourceDir != "" && validName(base) {
		if st, err := os.Stat(filepath.Join(sourceDir, "services", base, "cmd", base)); err == nil && st.IsDir() {
			return image{kind: imageService, service: base}
		}
	}
	return image{kind: imageUnknown}
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// builder builds each program once per state of the source tree and keeps
// the binaries in a cache folder shared by every runtime of the machine.
type builder struct {
	sourceDir string
	cacheDir  string

	mu     sync.Mutex
	builds map[string]*buildResult // package -> result
	tree   string                  // hash of the source tree, computed once
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// packages the runtime builds for image kinds other than services.
const (
	natsServerPackage = "github.com/nats-io/nats-server/v2"
	otelSinkPackage   = "./internal/localstack/ecsrt/otelsink/cmd/otel-sink"
)

func (b *builder) binary(ctx context.Context, pkg string) (string, error) {
	b.mu.Lock()
	if b.builds == nil {
		b.builds = map[string]*buildResult{}
	}
	r := b.builds[pkg]
	if r == nil {
		r = &buildResult{}
		b.builds[pkg] = r
	}
	b.mu.Unlock()
	r.once.Do(func() { r.path, r.err = b.build(ctx, pkg) })
	return r.path, r.err
}

func (b *builder) build(ctx context.Context, pkg string) (string, error) {
	key, err := b.treeHash()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(pkg + "\x00" + key))
	out := filepath.Join(b.cacheDir, path.Base(pkg)+"-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("create build cache: %w", err)
	}
	// Build beside the target and rename: runtimes of parallel tests may
	// build the same program at once.
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmp, pkg)
	cmd.Dir = b.sourceDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if o, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w: %s", pkg, err, strings.TrimSpace(string(o)))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("store build of %s: %w", pkg, err)
	}
	return out, nil
}

// treeHash identifies the state of what the binaries are built from: the
// Go files and module files under the source folder, by name, size and
// modification time.
func (b *builder) treeHash() (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tree != "" {
		return b.tree, nil
	}
	h := sha256.New()
	for _, root := range []string{"go.mod", "go.sum", "services", "internal/localstack/ecsrt/otelsink"} {
		err := filepath.WalkDir(filepath.Join(b.sourceDir, root), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".mod") || strings.HasSuffix(p, ".sum")) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %d %d\n", p, info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("hash source tree: %w", err)
		}
	}
	b.tree = hex.EncodeToString(h.Sum(nil))
	return b.tree, nil
}
