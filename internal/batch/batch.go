// Package batch coalesces concurrent single-item lookups into batched calls.
//
// Terraform refreshes up to ten resources at once, each asking the cloud for
// one thing (one ECS service, one parameter). APIs such as DescribeServices
// and GetParameters answer up to ten items per call, so a Batcher collects the
// lookups that arrive within a short window (or until the batch is full),
// makes one call for them all and hands every caller its own answer.
package batch

import (
	"context"
	"sync"
	"time"
)

// Func fetches keys (never more than the batcher's maximum, without
// duplicates) that share a group, e.g. one ECS cluster. Keys missing from the
// returned map are reported to their callers as not found.
type Func[K comparable, V any] func(ctx context.Context, group string, keys []K) (map[K]V, error)

// Options tune a Batcher.
type Options struct {
	// Max is the largest batch the API accepts (10 for DescribeServices and
	// GetParameters). A full batch is sent at once.
	Max int
	// Window is how long the first key of a batch waits for others.
	Window time.Duration
	// Disabled, when it returns true, makes every lookup its own call; it is
	// asked on each lookup so a benchmark can measure both modes in one run.
	Disabled func() bool
	// Timeout bounds each batched call, which runs detached from any one
	// caller's cancellation (other callers still wait for it). Default 2m.
	Timeout time.Duration
}

// Batcher coalesces lookups. The zero value is not usable; call New.
type Batcher[K comparable, V any] struct {
	fn   Func[K, V]
	opts Options

	mu      sync.Mutex
	pending map[string]*call[K, V]
}

type call[K comparable, V any] struct {
	group string
	keys  []K
	seen  map[K]struct{}
	timer *time.Timer
	ctx   context.Context
	done  chan struct{}
	res   map[K]V
	err   error
}

// New returns a Batcher that calls fn.
func New[K comparable, V any](fn Func[K, V], opts Options) *Batcher[K, V] {
	if fn == nil {
		panic("batch: nil Func")
	}
	if opts.Max < 1 {
		opts.Max = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	return &Batcher[K, V]{fn: fn, opts: opts, pending: map[string]*call[K, V]{}}
}

// Get returns key's value. found is false when the batched call succeeded but
// did not return key.
func (b *Batcher[K, V]) Get(ctx context.Context, group string, key K) (v V, found bool, err error) {
	res, err := b.GetMany(ctx, group, []K{key})
	if err != nil {
		return v, false, err
	}
	v, found = res[key]
	return v, found, nil
}

// GetMany returns the values of keys, in as few calls as the maximum batch
// size allows, shared with concurrent callers of the same group. Keys not
// found are absent from the map.
func (b *Batcher[K, V]) GetMany(ctx context.Context, group string, keys []K) (map[K]V, error) {
	if len(keys) == 0 {
		return map[K]V{}, nil
	}
	if b.opts.Disabled != nil && b.opts.Disabled() {
		return b.direct(ctx, group, keys)
	}
	calls := b.enqueue(ctx, group, keys)
	out := make(map[K]V, len(keys))
	for _, c := range calls {
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c.err != nil {
			return nil, c.err
		}
		for _, k := range keys {
			if v, ok := c.res[k]; ok {
				out[k] = v
			}
		}
	}
	return out, nil
}

// direct is the uncoalesced path: one call per key.
func (b *Batcher[K, V]) direct(ctx context.Context, group string, keys []K) (map[K]V, error) {
	out := make(map[K]V, len(keys))
	for _, k := range dedupe(keys) {
		res, err := b.fn(ctx, group, []K{k})
		if err != nil {
			return nil, err
		}
		if v, ok := res[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// enqueue adds keys to the group's open batch, sending each batch that
// fills up, and returns every batch the keys went into.
func (b *Batcher[K, V]) enqueue(ctx context.Context, group string, keys []K) []*call[K, V] {
	b.mu.Lock()
	defer b.mu.Unlock()
	var calls []*call[K, V]
	for _, k := range keys {
		c := b.pending[group]
		if c == nil {
			c = &call[K, V]{
				group: group,
				seen:  map[K]struct{}{},
				// The call serves several callers, so one caller giving up
				// must not cancel it for the others.
				ctx:  context.WithoutCancel(ctx),
				done: make(chan struct{}),
			}
			b.pending[group] = c
			c.timer = time.AfterFunc(b.opts.Window, func() { b.flush(c) })
		}
		if _, dup := c.seen[k]; !dup {
			c.seen[k] = struct{}{}
			c.keys = append(c.keys, k)
		}
		if len(calls) == 0 || calls[len(calls)-1] != c {
			calls = append(calls, c)
		}
		if len(c.keys) >= b.opts.Max {
			c.timer.Stop()
			delete(b.pending, group)
			go b.run(c)
		}
	}
	return calls
}

// flush sends a batch whose window ran out, unless it already left full.
func (b *Batcher[K, V]) flush(c *call[K, V]) {
	b.mu.Lock()
	if b.pending[c.group] != c {
		b.mu.Unlock()
		return
	}
	delete(b.pending, c.group)
	b.mu.Unlock()
	b.run(c)
}

func (b *Batcher[K, V]) run(c *call[K, V]) {
	ctx, cancel := context.WithTimeout(c.ctx, b.opts.Timeout)
	defer cancel()
	c.res, c.err = b.fn(ctx, c.group, c.keys)
	close(c.done)
}

func dedupe[K comparable](keys []K) []K {
	seen := make(map[K]struct{}, len(keys))
	out := keys[:0:0]
	for _, k := range keys {
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			out = append(out, k)
		}
	}
	return out
}

// Once caches one value per key, computing each at most once at a time even
// when many goroutines ask together. A failed computation is forgotten so
// the next caller retries. It suits immutable things such as ECS task
// definition revisions.
type Once[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]*onceEntry[V]
}

type onceEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// Do returns the cached value for key or computes it with fn.
func (o *Once[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	o.mu.Lock()
	if o.entries == nil {
		o.entries = map[K]*onceEntry[V]{}
	}
	e, ok := o.entries[key]
	if !ok {
		e = &onceEntry[V]{done: make(chan struct{})}
		o.entries[key] = e
		o.mu.Unlock()
		e.v, e.err = fn(context.WithoutCancel(ctx))
		if e.err != nil {
			o.mu.Lock()
			delete(o.entries, key)
			o.mu.Unlock()
		}
		close(e.done)
		return e.v, e.err
	}
	o.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// Forget drops key, e.g. after a revision was deregistered.
func (o *Once[K, V]) Forget(key K) {
	o.mu.Lock()
	delete(o.entries, key)
	o.mu.Unlock()
}
