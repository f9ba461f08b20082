package ecsrt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// PublishPath is where the proxy publishes a service's port on the host
// (GET with account, cluster, service and port), answering
// {"address": "127.0.0.1:<port>"}.
const PublishPath = "/_pivot/ecs/publish"

// publishers holds each runtime's published ports.
var publishers sync.Map // *Runtime -> *publisher

type publisher struct {
	mu    sync.Mutex
	addrs map[string]string // account/cluster/service/port -> host address
}

// Publish opens a listener on the host's loopback that forwards every
// connection to a running task of the service (account, cluster), on the
// task's port: what a private network path is in AWS, e.g. the tenants
// workspace reaching a tenant's managed NATS to manage its streams. The
// address is stable for the runtime's life and exists before the service
// does; a connection made while no task runs is closed at once.
func (r *Runtime) Publish(account, cluster, service string, port int) (string, error) {
	if r.ctx == nil {
		return "", fmt.Errorf("the runtime is not started")
	}
	v, _ := publishers.LoadOrStore(r, &publisher{addrs: map[string]string{}})
	p := v.(*publisher)
	key := fmt.Sprintf("%s/%s/%s/%d", account, cluster, service, port)
	p.mu.Lock()
	defer p.mu.Unlock()
	if a, ok := p.addrs[key]; ok {
		return a, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", key, err)
	}
	context.AfterFunc(r.ctx, func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.forwardPublished(c, account, cluster, service, port)
		}
	}()
	p.addrs[key] = l.Addr().String()
	return p.addrs[key], nil
}

func (r *Runtime) forwardPublished(c net.Conn, account, cluster, service string, port int) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	up, err := r.DialService(ctx, account, cluster, service, port)
	cancel()
	if err != nil {
		r.logf("published %s/%s/%s:%d: %v", account, cluster, service, port, err)
		return
	}
	defer up.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	select {
	case <-done:
	case <-r.ctx.Done():
	}
}

func (p *Proxy) servePublish(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	port, err := strconv.Atoi(q.Get("port"))
	if err != nil || q.Get("account") == "" || q.Get("cluster") == "" || q.Get("service") == "" {
		http.Error(w, "want account, cluster, service and port", http.StatusBadRequest)
		return
	}
	addr, err := p.rt.Publish(q.Get("account"), q.Get("cluster"), q.Get("service"), port)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"address": addr})
}
