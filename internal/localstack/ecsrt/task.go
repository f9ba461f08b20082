package ecsrt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/uuid"
)

// task is one running (or stopped) copy of a service's task definition.
type task struct {
	arn, id   string
	svc       *service
	dep       *deployment
	taskDef   string
	createdAt time.Time
	dir       string

	// Guarded by Runtime.mu.
	lastStatus, desiredStatus string
	health                    ecstypes.HealthStatus
	hasHealthCheck            bool
	startedAt, stoppingAt     time.Time
	stoppedAt                 time.Time
	stopCode                  ecstypes.TaskStopCode
	reason                    string
	exitCode                  *int32
	appName, appImage         string
	routerName, routerImage   string

	stopOnce sync.Once
	stopReq  chan struct{} // closed when the task is asked to stop
	done     chan struct{} // closed when the task has stopped
	ns       *netns
}

// ready says whether the task serves: running, and healthy when it has a
// health check (how ECS counts a deployment's tasks).
func (t *task) ready() bool {
	return t.lastStatus == "RUNNING" && (!t.hasHealthCheck || t.health == ecstypes.HealthStatusHealthy)
}

// launch starts one task of a deployment. Called with r.mu held.
func (r *Runtime) launch(s *service, d *deployment) {
	id := strings.ReplaceAll(uuid.NewString(), "-", "")
	t := &task{
		id:  id,
		arn: fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", s.region, s.account, s.cluster, id),
		svc: s, dep: d, taskDef: d.taskDef, createdAt: time.Now(),
		dir:        filepath.Join(r.opts.Dir, s.account, s.cluster, s.name, id),
		lastStatus: "PROVISIONING", desiredStatus: "RUNNING", health: ecstypes.HealthStatusUnknown,
		stopReq: make(chan struct{}), done: make(chan struct{}),
	}
	r.tasks[t.arn] = t
	go r.run(t)
}

// stopTask asks a task to stop with ECS's code and reason; the first
// reason given is the one reported.
func (r *Runtime) stopTask(t *task, code ecstypes.TaskStopCode, reason string) {
	t.stopOnce.Do(func() {
		r.mu.Lock()
		if t.lastStatus != "STOPPED" {
			t.desiredStatus = "STOPPED"
			t.stoppingAt = time.Now()
			if t.reason == "" {
				t.stopCode, t.reason = code, reason
			}
		}
		r.mu.Unlock()
		close(t.stopReq)
	})
}

func (r *Runtime) setStatus(t *task, status string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.lastStatus = status
	if status == "RUNNING" {
		t.startedAt = time.Now()
	}
}

// run is a task's whole life: provision, pull, start, watch, stop.
func (r *Runtime) run(t *task) {
	defer close(t.done)
	err := r.runTask(t)
	var se *stopError
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case errors.As(err, &se):
		if t.reason == "" || t.stopCode == "" {
			t.stopCode, t.reason = se.code, se.reason
		}
	case err != nil && t.reason == "":
		t.stopCode, t.reason = ecstypes.TaskStopCodeTaskFailedToStart, err.Error()
	}
	failed := t.stopCode == ecstypes.TaskStopCodeTaskFailedToStart || t.stopCode == ecstypes.TaskStopCodeEssentialContainerExited ||
		t.reason == healthReason
	t.lastStatus, t.desiredStatus, t.stoppedAt = "STOPPED", "STOPPED", time.Now()
	if failed && r.ctx.Err() == nil {
		t.dep.failed++
		// ECS slows relaunches of a service whose tasks keep failing.
		t.dep.backoff = time.Now().Add(min(time.Duration(t.dep.failed)*time.Second, 15*time.Second))
		r.logf("local ECS runtime: task %s of %s stopped: %s", t.id, t.svc.name, t.reason)
	}
	r.poke()
}

const healthReason = "Task failed container health checks"

func (r *Runtime) runTask(t *task) error {
	if r.disabled != nil {
		return startFailure("ResourceInitializationError: " + r.disabled.Error())
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	go func() {
		select {
		case <-t.stopReq:
			cancel()
		case <-ctx.Done():
		}
	}()
	td, err := r.taskDefinition(ctx, t.svc.account, t.svc.region, t.taskDef)
	if err != nil {
		return err
	}
	app, router, err := r.containers(t, td)
	if err != nil {
		return err
	}
	r.setStatus(t, "PENDING")
	cfg, err := r.account(ctx, t.svc.account, t.svc.region)
	if err != nil {
		return err
	}
	secrets, err := resolveSecrets(ctx, cfg, t.svc.account, aws.ToString(td.ExecutionRoleArn), app.Secrets)
	if err != nil {
		return err
	}
	env := map[string]string{}
	for _, kv := range app.Environment {
		env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	for k, v := range secrets {
		env[k] = v
	}
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return fmt.Errorf("create task dir: %w", err)
	}
	argv, err := r.program(ctx, t, app, env)
	if err != nil {
		return err
	}
	ns, err := newNetns(ctx, fmt.Sprintf("%s%d-%s", netnsPrefix, os.Getpid(), t.id[:12]))
	if err != nil {
		return err
	}
	defer func() { _ = ns.remove() }()
	r.mu.Lock()
	t.ns = ns
	r.mu.Unlock()
	var ports []int32
	for _, pm := range app.PortMappings {
		ports = append(ports, aws.ToInt32(pm.ContainerPort))
	}
	fw := &forwarder{r: r, t: t, ns: ns}
	defer fw.close()
	if err := fw.hostEndpoints(env, ports); err != nil {
		return err
	}
	if err := fw.serviceConnect(); err != nil {
		return err
	}
	go fw.follow(ctx)

	out, err := os.OpenFile(filepath.Join(t.dir, "output.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open task output: %w", err)
	}
	defer out.Close()
	cmd := ns.command(argv[0], argv[1:]...)
	cmd.Dir = t.dir
	cmd.Env = envList(env, t.dir)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return startFailure("CannotStartContainerError: " + err.Error())
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	hc := app.HealthCheck
	checked := hc != nil && len(hc.Command) > 0
	// One update: a scheduling pass between the two would count a task
	// with a health check as ready before its first check.
	r.mu.Lock()
	t.lastStatus, t.startedAt, t.hasHealthCheck = "RUNNING", time.Now(), checked
	r.mu.Unlock()
	_ = router // FireLens: the task's output file is what the router would ship
	unhealthy := make(chan struct{})
	if checked {
		go r.healthCheck(ctx, t, ns, hc, argv[0], env, unhealthy)
	}

	select {
	case err := <-exited:
		code := exitCode(err)
		r.mu.Lock()
		t.exitCode = &code
		r.mu.Unlock()
		select {
		case <-t.stopReq:
			return nil
		default:
		}
		return &stopError{code: ecstypes.TaskStopCodeEssentialContainerExited, reason: "Essential container in task exited"}
	case <-unhealthy:
		r.stopTask(t, ecstypes.TaskStopCodeServiceSchedulerInitiated, healthReason)
	case <-t.stopReq:
	}
	// SIGTERM, then SIGKILL after the container's stop timeout (ECS's
	// default is 30 seconds).
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	grace := 30 * time.Second
	if st := aws.ToInt32(app.StopTimeout); st > 0 {
		grace = time.Duration(st) * time.Second
	}
	if r.ctx.Err() != nil {
		grace = min(grace, 5*time.Second) // the whole stack is going down
	}
	select {
	case err := <-exited:
		code := exitCode(err)
		r.mu.Lock()
		t.exitCode = &code
		r.mu.Unlock()
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		code := exitCode(<-exited)
		r.mu.Lock()
		t.exitCode = &code
		r.mu.Unlock()
	}
	return nil
}

func exitCode(err error) int32 {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int32(ws.Signal())
		}
		return int32(ee.ExitCode())
	}
	if err != nil {
		return -1
	}
	return 0
}

func envList(env map[string]string, home string) []string {
	out := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home}
	for _, k := range sortedKeys(env) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// containers picks the task's app container and FireLens router, and
// refuses what the runtime cannot run with the reason ECS would give.
func (r *Runtime) containers(t *task, td *ecstypes.TaskDefinition) (app, router *ecstypes.ContainerDefinition, err error) {
	for i := range td.ContainerDefinitions {
		c := &td.ContainerDefinitions[i]
		ref := aws.ToString(c.Image)
		switch mapImage(r.opts.SourceDir, ref).kind {
		case imageUnknown:
			return nil, nil, startFailure(fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref %s: %s: not found (the local ECS runtime maps an image to services/<name>/cmd/<name>, nats, an OpenTelemetry collector or Fluent Bit; see docs/architecture.md)", ref, ref))
		case imageLogRouter:
			router = c
		default:
			if app != nil {
				return nil, nil, startFailure("CannotStartContainerError: the local ECS runtime runs one container per task besides the FireLens router; " + aws.ToString(c.Name) + " is a second one")
			}
			app = c
		}
	}
	if app == nil {
		return nil, nil, startFailure("CannotStartContainerError: the task definition has no container to run")
	}
	r.mu.Lock()
	t.appName, t.appImage = aws.ToString(app.Name), aws.ToString(app.Image)
	if router != nil {
		t.routerName, t.routerImage = aws.ToString(router.Name), aws.ToString(router.Image)
	}
	r.mu.Unlock()
	return app, router, nil
}

var storeDir = regexp.MustCompile(`store_dir:\s*("[^"]*"|\S+)`)

// program returns the command line of the app container's image.
func (r *Runtime) program(ctx context.Context, t *task, app *ecstypes.ContainerDefinition, env map[string]string) ([]string, error) {
	im := mapImage(r.opts.SourceDir, aws.ToString(app.Image))
	switch im.kind {
	case imageService:
		bin, err := r.build.binary(ctx, "./services/"+im.service+"/cmd/"+im.service)
		if err != nil {
			return nil, startFailure("CannotPullContainerError: " + err.Error())
		}
		return append([]string{bin}, app.Command...), nil
	case imageNATS:
		bin, err := r.build.binary(ctx, natsServerPackage)
		if err != nil {
			return nil, startFailure("CannotPullContainerError: " + err.Error())
		}
		// The platform's NATS task writes $NATS_CONFIG to a file and runs
		// the server on it; here the file is the task's own and so is the
		// JetStream store.
		conf := env["NATS_CONFIG"]
		if conf == "" {
			return nil, startFailure("CannotStartContainerError: the nats image needs its configuration in NATS_CONFIG, as the platform's NATS task definition gives it")
		}
		conf = storeDir.ReplaceAllLiteralString(conf, "store_dir: "+strconv.Quote(filepath.Join(t.dir, "jetstream")))
		path := filepath.Join(t.dir, "nats.conf")
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return nil, fmt.Errorf("write nats config: %w", err)
		}
		return []string{bin, "-c", path}, nil
	case imageCollector:
		bin, err := r.build.binary(ctx, otelSinkPackage)
		if err != nil {
			return nil, startFailure("CannotPullContainerError: " + err.Error())
		}
		port := int32(4318)
		for _, pm := range app.PortMappings {
			if aws.ToString(pm.Name) == "otlp-http" {
				port = aws.ToInt32(pm.ContainerPort)
			}
		}
		return []string{bin, "-listen", fmt.Sprintf(":%d", port), "-out", filepath.Join(t.dir, "spans.jsonl")}, nil
	}
	return nil, startFailure("CannotPullContainerError: no program for image " + aws.ToString(app.Image))
}

// healthCheck runs the container health check as Docker and ECS do: the
// first check an interval after start, a check that outlives its timeout
// fails, failures inside the start period do not count, and retries
// consecutive failures make the container UNHEALTHY.
func (r *Runtime) healthCheck(ctx context.Context, t *task, ns *netns, hc *ecstypes.HealthCheck, bin string, env map[string]string, unhealthy chan<- struct{}) {
	interval := time.Duration(int32OrDefault(hc.Interval, 30)) * time.Second
	timeout := time.Duration(int32OrDefault(hc.Timeout, 5)) * time.Second
	retries := int(int32OrDefault(hc.Retries, 3))
	startPeriod := time.Duration(aws.ToInt32(hc.StartPeriod)) * time.Second
	started := time.Now()
	argv := healthArgv(hc.Command, bin)
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		cmd := exec.CommandContext(cctx, "ip", append([]string{"netns", "exec", ns.name}, argv...)...)
		cmd.Env = envList(env, t.dir)
		cmd.Dir = t.dir
		err := cmd.Run()
		cancel()
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		switch {
		case err == nil:
			failures = 0
			t.health = ecstypes.HealthStatusHealthy
		case time.Since(started) < startPeriod && t.health != ecstypes.HealthStatusHealthy:
			// Inside the start period a failure does not count.
		default:
			failures++
			if failures >= retries {
				t.health = ecstypes.HealthStatusUnhealthy
			}
		}
		bad := t.health == ecstypes.HealthStatusUnhealthy
		r.mu.Unlock()
		if bad {
			close(unhealthy)
			return
		}
		r.poke()
	}
}

// healthArgv turns a task definition's health command into a command line
// here: CMD-SHELL runs through sh, and the image's entrypoint /app is the
// service binary.
func healthArgv(command []string, bin string) []string {
	if len(command) == 0 {
		return nil
	}
	switch command[0] {
	case "CMD-SHELL":
		return []string{"sh", "-c", strings.Join(command[1:], " ")}
	case "CMD":
		command = command[1:]
	}
	out := append([]string(nil), command...)
	if len(out) > 0 && out[0] == "/app" {
		out[0] = bin
	}
	return out
}

func int32OrDefault(v *int32, def int32) int32 {
	if v == nil || *v == 0 {
		return def
	}
	return *v
}

// forwarder opens, inside a task's namespace, the proxies Service Connect
// would put in the task, and the way out to the stack's own endpoints.
type forwarder struct {
	r  *Runtime
	t  *task
	ns *netns

	mu        sync.Mutex
	listeners []net.Listener
	aliases   map[string]bool   // "dns:port" with a rule in place
	hosts     map[string]string // dns -> address
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.listeners {
		_ = l.Close()
	}
}

var loopbackEndpoint = regexp.MustCompile(`(?:127\.0\.0\.1|localhost):(\d{2,5})\b`)

// hostEndpoints makes the loopback endpoints the task's environment names
// (the local PostgreSQL, a NATS outside the environment) reachable from
// inside its namespace: a listener on the same address forwards to the
// host's.
func (f *forwarder) hostEndpoints(env map[string]string, own []int32) error {
	seen := map[string]bool{}
	for _, v := range env {
		for _, m := range loopbackEndpoint.FindAllStringSubmatch(v, -1) {
			port, _ := strconv.Atoi(m[1])
			if seen[m[1]] || port <= 0 || port > 65535 || containsPort(own, int32(port)) {
				continue
			}
			seen[m[1]] = true
			target := "127.0.0.1:" + m[1]
			l, err := f.ns.listen(target)
			if err != nil {
				return fmt.Errorf("forward %s into the task: %w", target, err)
			}
			f.serve(l, func(ctx context.Context) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", target)
			})
		}
	}
	return nil
}

func containsPort(ports []int32, p int32) bool {
	for _, x := range ports {
		if x == p {
			return true
		}
	}
	return false
}

// serviceConnect gives the task every client alias of its namespace: a
// name in its hosts file, and a rule sending that name's port to a proxy
// that picks a ready task of the service publishing it. The proxy listens
// on a port of its own and the name's address is translated to it, since
// the app may itself listen on the alias's port on every address.
func (f *forwarder) serviceConnect() error {
	table := f.r.aliasTable(f.t)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.aliases == nil {
		f.aliases, f.hosts = map[string]bool{}, map[string]string{}
	}
	var rules []string
	changed := false
	for _, key := range sortedKeys(table) {
		if f.aliases[key] {
			continue
		}
		ep := table[key]
		l, err := f.ns.listen("127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("open Service Connect proxy for %s: %w", key, err)
		}
		f.listeners = append(f.listeners, l)
		go f.accept(l, func(ctx context.Context) (net.Conn, error) { return f.r.dialEndpoint(ctx, ep) })
		rules = append(rules, fmt.Sprintf("add rule ip pivot out ip daddr %s tcp dport %d dnat to %s", ep.addr, ep.port, l.Addr().String()))
		f.aliases[key] = true
		if f.hosts[ep.dns] != ep.addr {
			f.hosts[ep.dns] = ep.addr
			changed = true
		}
	}
	if len(rules) > 0 {
		script := "add table ip pivot\nadd chain ip pivot out { type nat hook output priority -100; }\n" + strings.Join(rules, "\n") + "\n"
		cmd := exec.Command("ip", "netns", "exec", f.ns.name, "nft", "-f", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("route Service Connect names in the task: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	if changed || f.hosts == nil || len(f.hosts) == 0 {
		return f.ns.writeHosts(f.hosts)
	}
	return nil
}

// follow adds the aliases of visible services whose revision the runtime
// learns only once one of their tasks has started.
func (f *forwarder) follow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if err := f.serviceConnect(); err != nil && ctx.Err() == nil {
			f.r.logf("local ECS runtime: task %s: %v", f.t.id, err)
		}
	}
}

func (f *forwarder) serve(l net.Listener, dial func(context.Context) (net.Conn, error)) {
	f.mu.Lock()
	f.listeners = append(f.listeners, l)
	f.mu.Unlock()
	go f.accept(l, dial)
}

func (f *forwarder) accept(l net.Listener, dial func(context.Context) (net.Conn, error)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			ctx, cancel := context.WithTimeout(f.r.ctx, 10*time.Second)
			up, err := dial(ctx)
			cancel()
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); closeWrite(up); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); closeWrite(c); done <- struct{}{} }()
			<-done
			<-done
		}()
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// endpoint is one client alias of a Service Connect namespace.
type endpoint struct {
	dns     string
	port    int32 // the alias's port
	addr    string
	service string // ARN of the service publishing it
	target  int32  // container port of the publishing tasks
}

// aliasTable lists the aliases a task resolves: every alias published in
// its service's Service Connect namespace (within its account and region)
// by a service that existed when the task's deployment started. A service
// without Service Connect resolves none.
func (r *Runtime) aliasTable(t *task) map[string]endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := t.svc
	if s.sc == nil || !s.sc.Enabled || s.sc.Namespace == "" {
		return nil
	}
	nsKey := s.account + "/" + s.region + "/" + s.sc.Namespace
	out := map[string]endpoint{}
	for _, other := range r.services {
		if other.deleted || other.sc == nil || !other.sc.Enabled || other.account != s.account || other.region != s.region || other.sc.Namespace != s.sc.Namespace {
			continue
		}
		if other != s && !t.dep.visible[other.arn] {
			continue // created after this deployment started: not in its proxy's list
		}
		td := r.taskDefs[other.taskDef]
		if td == nil {
			continue // known once one of its tasks has started
		}
		for _, pub := range other.sc.Services {
			target := containerPort(td, pub.PortName)
			if target == 0 {
				continue
			}
			aliases := pub.ClientAliases
			if len(aliases) == 0 {
				aliases = append(aliases, struct {
					Port    int32  `json:"port"`
					DNSName string `json:"dnsName"`
				}{Port: target, DNSName: or(pub.DiscoveryName, pub.PortName)})
			}
			for _, a := range aliases {
				dns := or(a.DNSName, or(pub.DiscoveryName, pub.PortName))
				port := a.Port
				if port == 0 {
					port = target
				}
				out[fmt.Sprintf("%s:%d", dns, port)] = endpoint{dns: dns, port: port, addr: r.aliasAddr(nsKey, dns), service: other.arn, target: target}
			}
		}
	}
	return out
}

// aliasAddr gives each name of a namespace an address of its own in
// 127.0.1.0/24 and up. Called with r.mu held.
func (r *Runtime) aliasAddr(nsKey, dns string) string {
	key := nsKey + "\x00" + dns
	n, ok := r.ips[key]
	if !ok {
		r.ips[nsKey]++
		n = r.ips[nsKey]
		r.ips[key] = n
	}
	return fmt.Sprintf("127.0.%d.%d", 1+n/250, 1+n%250)
}

func containerPort(td *ecstypes.TaskDefinition, portName string) int32 {
	for _, c := range td.ContainerDefinitions {
		for _, pm := range c.PortMappings {
			if aws.ToString(pm.Name) == portName {
				return aws.ToInt32(pm.ContainerPort)
			}
		}
	}
	return 0
}

// dialEndpoint connects to a ready task of the service behind an alias,
// round robin, inside that task's namespace.
func (r *Runtime) dialEndpoint(ctx context.Context, ep endpoint) (net.Conn, error) {
	r.mu.Lock()
	s := r.services[ep.service]
	var ready []*task
	for _, t := range r.tasks {
		if t.svc == s && t.desiredStatus == "RUNNING" && t.lastStatus == "RUNNING" && t.ns != nil && t.health != ecstypes.HealthStatusUnhealthy {
			ready = append(ready, t)
		}
	}
	var pick *task
	if len(ready) > 0 && s != nil {
		s.rr++
		pick = ready[s.rr%len(ready)]
	}
	r.mu.Unlock()
	if pick == nil {
		return nil, fmt.Errorf("no running task serves %s:%d", ep.dns, ep.port)
	}
	return pick.ns.dial(ctx, fmt.Sprintf("127.0.0.1:%d", ep.target))
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
