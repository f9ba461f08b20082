package ecsdeploy

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A plan refreshes every service of an environment, ten at a time, and the
// reads trickle in: the batcher alone made ten DescribeServices calls for 25
// services (2.5 per call where the API takes 10). Once a process has read
// readAheadAfter services of one cluster within readAheadSpan, it is
// refreshing many of them, so it lists the cluster's services and describes
// every one it has not read yet, ten per call; the reads that follow are
// answered from that. An entry answers one read only and expires after
// readAheadTTL, so a later plan in the same process reads afresh.
const (
	readAheadAfter = 5
	readAheadSpan  = 10 * time.Second
	readAheadTTL   = 10 * time.Second
	// readAheadMax bounds the listing: a cluster with more services than
	// one page of ListServices is not read ahead.
	readAheadMax = 100
)

type readAhead struct {
	mu       sync.Mutex
	clusters map[string]*clusterReads
}

// clusterReads are the reads of one cluster's services in the current span.
type clusterReads struct {
	since time.Time
	names map[string]bool
	fetch *aheadFetch
}

// aheadFetch is one read-ahead: done closes once got is set (it stays
// empty when the read-ahead failed).
type aheadFetch struct {
	at   time.Time
	done chan struct{}
	mu   sync.Mutex
	got  map[string]ecstypes.Service
}

// note records a read of name in cluster and returns the read-ahead that
// answers it, if any; start is true when the caller must run it (fetch),
// skipping the names in exclude, which were read already.
func (r *readAhead) note(cluster, name string) (f *aheadFetch, start bool, exclude map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if r.clusters == nil {
		r.clusters = map[string]*clusterReads{}
	}
	cr := r.clusters[cluster]
	if cr == nil || now.Sub(cr.since) > readAheadSpan {
		cr = &clusterReads{since: now, names: map[string]bool{}}
		r.clusters[cluster] = cr
	}
	if cr.fetch != nil && now.Sub(cr.fetch.at) > readAheadTTL {
		cr.fetch = nil
	}
	cr.names[name] = true
	if cr.fetch != nil {
		return cr.fetch, false, nil
	}
	if len(cr.names) < readAheadAfter {
		return nil, false, nil
	}
	exclude = make(map[string]bool, len(cr.names))
	for n := range cr.names {
		if n != name {
			exclude[n] = true
		}
	}
	cr.fetch = &aheadFetch{at: now, done: make(chan struct{})}
	return cr.fetch, true, exclude
}

// take returns name's service once.
func (f *aheadFetch) take(name string) (ecstypes.Service, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	svc, ok := f.got[name]
	if ok {
		delete(f.got, name)
	}
	return svc, ok
}

// service returns one service for a Read: from a read-ahead when there is
// one, else through the batcher.
func (c *Client) service(ctx context.Context, cluster, name string) (ecstypes.Service, bool, error) {
	if coalescingDisabled() {
		return c.services.Get(ctx, cluster, name)
	}
	f, start, exclude := c.ahead.note(cluster, name)
	if start {
		c.fetchAhead(context.WithoutCancel(ctx), cluster, exclude, f)
	}
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return ecstypes.Service{}, false, ctx.Err()
		}
		if svc, ok := f.take(name); ok {
			return svc, true, nil
		}
	}
	// Not listed (deleted since, or the read-ahead failed): ask for it.
	return c.services.Get(ctx, cluster, name)
}

// fetchAhead lists cluster's services and describes those not in exclude.
// Failures only leave f empty: each read then asks for itself.
func (c *Client) fetchAhead(ctx context.Context, cluster string, exclude map[string]bool, f *aheadFetch) {
	defer close(f.done)
	out, err := c.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(readAheadMax)})
	if err != nil || out.NextToken != nil {
		return
	}
	names := make([]string, 0, len(out.ServiceArns))
	for _, a := range out.ServiceArns {
		if n := a[strings.LastIndex(a, "/")+1:]; !exclude[n] {
			names = append(names, n)
		}
	}
	got, err := c.services.GetMany(ctx, cluster, names)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = got
}
