package group_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pivotapp/platform/services/kit/group"
)

// gate is a group function that blocks until released, so a test can pile
// callers up behind a running group and see them share the next one.
type gate struct {
	mu      sync.Mutex
	sizes   []int
	release chan struct{}
	started chan struct{}
	running atomic.Int32
	maxRun  atomic.Int32
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), started: make(chan struct{}, 100)}
}

func (g *gate) fn(_ context.Context, items []*group.Item[int, string]) error {
	n := g.running.Add(1)
	defer g.running.Add(-1)
	for {
		m := g.maxRun.Load()
		if n <= m || g.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	g.mu.Lock()
	g.sizes = append(g.sizes, len(items))
	g.mu.Unlock()
	g.started <- struct{}{}
	<-g.release
	for _, it := range items {
		if it.Req < 0 {
			it.Set("", fmt.Errorf("negative %d", it.Req))
			continue
		}
		it.Set(fmt.Sprint(it.Req*10), nil)
	}
	return nil
}

func TestCommitter_callersWaitingShareTheNextGroup(t *testing.T) {
	g := newGate()
	c := group.New(g.fn, group.Options{InFlight: 1})
	results := make([]string, 11)
	errs := make([]error, 11)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], errs[0] = c.Do(context.Background(), 0) })
	<-g.started // the first caller runs alone
	for i := 1; i <= 10; i++ {
		wg.Go(func() {
			req := i
			if i == 5 {
				req = -5
			}
			results[i], errs[i] = c.Do(context.Background(), req)
		})
	}
	// The ten queue behind the running group; give them time to arrive.
	waitFor(t, func() bool { return c.Queued() == 10 })
	close(g.release)
	wg.Wait()

	if len(g.sizes) != 2 || g.sizes[0] != 1 || g.sizes[1] != 10 {
		t.Fatalf("group sizes = %v, want [1 10]", g.sizes)
	}
	for i := range 11 {
		switch {
		case i == 5:
			if errs[i] == nil || !strings.Contains(errs[i].Error(), "negative -5") {
				t.Errorf("caller 5: err = %v, want its own error", errs[i])
			}
		case errs[i] != nil || results[i] != fmt.Sprint(i*10):
			t.Errorf("caller %d: got %q, %v", i, results[i], errs[i])
		}
	}
}

func TestCommitter_inFlightBoundsConcurrentGroups(t *testing.T) {
	g := newGate()
	c := group.New(g.fn, group.Options{InFlight: 3, MaxGroup: 4})
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if _, err := c.Do(context.Background(), i); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(g.release)
	wg.Wait()
	if m := g.maxRun.Load(); m > 3 {
		t.Errorf("%d groups ran at once, want at most 3", m)
	}
	total := 0
	for _, n := range g.sizes {
		if n > 4 {
			t.Errorf("group of %d, want at most MaxGroup 4", n)
		}
		total += n
	}
	if total != 40 {
		t.Errorf("%d items ran, want 40", total)
	}
}

func TestCommitter_errorFailsItemsWithoutOutcome(t *testing.T) {
	boom := errors.New("connection reset")
	c := group.New(func(_ context.Context, items []*group.Item[int, string]) error {
		items[0].Set("kept", nil)
		return boom
	}, group.Options{})
	res, err := c.Do(context.Background(), 1)
	if err != nil || res != "kept" {
		t.Fatalf("an item set before the error keeps its outcome: %q, %v", res, err)
	}

	g := newGate()
	c = group.New(func(ctx context.Context, items []*group.Item[int, string]) error {
		if len(items) > 1 {
			items[0].Set("first", nil)
			return boom
		}
		return g.fn(ctx, items)
	}, group.Options{InFlight: 1})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Do(context.Background(), 0) })
	<-g.started
	errs := make(chan error, 2)
	for i := 1; i <= 2; i++ {
		wg.Go(func() {
			_, err := c.Do(context.Background(), i)
			errs <- err
		})
	}
	waitFor(t, func() bool { return c.Queued() == 2 })
	close(g.release)
	wg.Wait()
	close(errs)
	var failed int
	for err := range errs {
		if errors.Is(err, boom) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("%d callers got the group's error, want 1 (the other had its outcome set)", failed)
	}
}

func TestCommitter_panicBecomesEveryCallersError(t *testing.T) {
	c := group.New(func(context.Context, []*group.Item[int, string]) error {
		panic("bug")
	}, group.Options{Name: "store things"})
	_, err := c.Do(context.Background(), 1)
	if err == nil || !strings.Contains(err.Error(), "panic in store things: bug") {
		t.Fatalf("err = %v", err)
	}
	// The committer still works afterwards.
	c2 := group.New(func(_ context.Context, items []*group.Item[int, string]) error {
		for _, it := range items {
			it.Set("ok", nil)
		}
		return nil
	}, group.Options{})
	if res, err := c2.Do(context.Background(), 1); err != nil || res != "ok" {
		t.Fatalf("%q, %v", res, err)
	}
}

func TestCommitter_cancelledBeforeItsGroupIsDropped(t *testing.T) {
	g := newGate()
	var seen sync.Map
	c := group.New(func(ctx context.Context, items []*group.Item[int, string]) error {
		for _, it := range items {
			seen.Store(it.Req, true)
		}
		return g.fn(ctx, items)
	}, group.Options{InFlight: 1})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.Do(context.Background(), 0) })
	<-g.started
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	wg.Go(func() { _, err = c.Do(ctx, 1) })
	waitFor(t, func() bool { return c.Queued() == 1 })
	cancel()
	close(g.release)
	wg.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, ok := seen.Load(1); ok {
		t.Error("a caller cancelled before its group started must not reach the group function")
	}
}

func TestCommitter_startedGroupIgnoresCallerCancellation(t *testing.T) {
	g := newGate()
	var groupCtxErr atomic.Value
	c := group.New(func(ctx context.Context, items []*group.Item[int, string]) error {
		err := g.fn(ctx, items)
		groupCtxErr.Store(fmt.Sprint(ctx.Err()))
		return err
	}, group.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var res string
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = c.Do(ctx, 7)
	}()
	<-g.started
	cancel()
	close(g.release)
	<-done
	if err != nil || res != "70" {
		t.Fatalf("a started write is waited for: %q, %v", res, err)
	}
	if got := groupCtxErr.Load(); got != "<nil>" {
		t.Errorf("group context error = %v, want none", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
