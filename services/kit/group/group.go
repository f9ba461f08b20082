// Package group commits concurrent writes together. A service handling many
// small writes at once spends most of its database time on per-transaction
// work (BEGIN, COMMIT, a round trip per statement), not on the rows. A
// Committer lets callers that arrive while a transaction is in flight wait
// for the next one and share it, each still getting its own result: the
// classic group commit. Nothing waits on a timer: a lone caller runs at once
// in a group of one, so latency at low load is unchanged, and groups grow
// only when the database is the bottleneck.
package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

var tracer = otel.Tracer("github.com/pivotapp/platform/services/kit/group")

// Item is one caller's request in a group. Func sets Result or Err on each.
type Item[Req, Res any] struct {
	Req    Req
	Result Res
	Err    error
	// Ctx is the caller's context; Func may use it for values (trace) but
	// must not let its cancellation abort the shared work.
	Ctx context.Context
	set bool
}

// Set records the item's outcome.
func (it *Item[Req, Res]) Set(res Res, err error) {
	it.Result, it.Err, it.set = res, err, true
}

// Func performs one group in one transaction and sets every item's
// outcome. An error return fails every item not yet set.
type Func[Req, Res any] func(ctx context.Context, items []*Item[Req, Res]) error

// Options tune a Committer.
type Options struct {
	// Name names the group's trace span.
	Name string
	// MaxGroup caps a group's size (default 64).
	MaxGroup int
	// InFlight is how many groups may run at once (default 2). One group
	// per connection would leave nothing to share; a second lets the next
	// group fill while the first commits.
	InFlight int
	// Timeout bounds a group's work, which runs detached from its callers'
	// cancellation (default 30s).
	Timeout time.Duration
	// Abort, when it ends, cancels every group's work: pass the process's
	// kit.Process.Abort, so a group stuck on a lock cannot hold the process
	// past its shutdown budget.
	Abort context.Context
}

// Committer runs callers' requests in shared groups. The zero value is not
// usable; call New.
type Committer[Req, Res any] struct {
	fn   Func[Req, Res]
	opts Options

	mu      sync.Mutex
	queue   []*waiter[Req, Res]
	running int
}

type waiter[Req, Res any] struct {
	item Item[Req, Res]
	done chan struct{}
}

// New returns a Committer running fn.
func New[Req, Res any](fn Func[Req, Res], opts Options) *Committer[Req, Res] {
	if fn == nil {
		panic("group: nil Func")
	}
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 64
	}
	if opts.InFlight <= 0 {
		opts.InFlight = 2
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Name == "" {
		opts.Name = "group commit"
	}
	return &Committer[Req, Res]{fn: fn, opts: opts}
}

// Do runs req in the next group and returns its outcome. A caller whose ctx
// ends before its group starts is dropped with ctx's error; once its group
// has started, Do waits for the outcome, because the write may commit.
func (c *Committer[Req, Res]) Do(ctx context.Context, req Req) (Res, error) {
	w := &waiter[Req, Res]{item: Item[Req, Res]{Req: req, Ctx: ctx}, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := c.running < c.opts.InFlight
	if lead {
		c.running++
	}
	c.mu.Unlock()
	if lead {
		c.runNext()
	}
	<-w.done
	return w.item.Result, w.item.Err
}

// Queued reports how many callers wait for a group.
func (c *Committer[Req, Res]) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// runNext runs one group from the head of the queue, then hands the
// leadership to a new goroutine if more callers are waiting, so a leader
// returns to its own caller after one group.
func (c *Committer[Req, Res]) runNext() {
	c.mu.Lock()
	n := min(len(c.queue), c.opts.MaxGroup)
	group := make([]*waiter[Req, Res], n)
	copy(group, c.queue)
	c.queue = c.queue[n:]
	c.mu.Unlock()

	c.run(group)

	c.mu.Lock()
	if len(c.queue) == 0 {
		c.running--
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.runNext()
}

func (c *Committer[Req, Res]) run(group []*waiter[Req, Res]) {
	items := make([]*Item[Req, Res], 0, len(group))
	for _, w := range group {
		if err := w.item.Ctx.Err(); err != nil {
			w.item.Err = err
			close(w.done)
			continue
		}
		items = append(items, &w.item)
	}
	if len(items) == 0 {
		return
	}
	// The group's span is a child of the first caller's span and links the
	// others, so every request's trace reaches the shared transaction.
	links := make([]trace.Link, 0, len(items)-1)
	for _, it := range items[1:] {
		if sc := trace.SpanContextFromContext(it.Ctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(items[0].Ctx), c.opts.Timeout)
	defer cancel()
	if c.opts.Abort != nil {
		defer context.AfterFunc(c.opts.Abort, cancel)()
	}
	ctx, span := tracer.Start(ctx, c.opts.Name, trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("group.size", len(items))))
	err := c.call(ctx, items)
	span.End()
	for _, it := range items {
		if !it.set && it.Err == nil {
			it.Err = err
			if err == nil {
				it.Err = errors.New("group: no outcome set for item")
			}
		}
	}
	for _, w := range group {
		select {
		case <-w.done:
		default:
			close(w.done)
		}
	}
}

// call runs fn, turning a panic into every item's error: the other
// callers in the group must not hang on it.
func (c *Committer[Req, Res]) call(ctx context.Context, items []*Item[Req, Res]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("group: panic in %s: %v", c.opts.Name, r)
		}
	}()
	return c.fn(ctx, items)
}
