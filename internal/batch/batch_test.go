package batch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pivotapp/platform/internal/batch"
)

type recorder struct {
	mu    sync.Mutex
	calls [][]string
}

func (r *recorder) fn(_ context.Context, group string, keys []string) (map[string]string, error) {
	r.mu.Lock()
	r.calls = append(r.calls, append([]string{group}, keys...))
	r.mu.Unlock()
	out := map[string]string{}
	for _, k := range keys {
		if k != "missing" {
			out[k] = group + "/" + k
		}
	}
	return out, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func TestBatcher_coalescesConcurrentLookups(t *testing.T) {
	r := &recorder{}
	b := batch.New(r.fn, batch.Options{Max: 10, Window: 20 * time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 25)
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("svc-%02d", i)
			v, found, err := b.Get(context.Background(), "cluster", key)
			if err != nil || !found || v != "cluster/"+key {
				errs <- fmt.Errorf("get %s = %q, %v, %w", key, v, found, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// 25 keys at up to 10 per call: three calls, however they interleave.
	if got := r.count(); got != 3 {
		t.Fatalf("calls = %d, want 3: %v", got, r.calls)
	}
	for _, c := range r.calls {
		if len(c)-1 > 10 {
			t.Errorf("batch of %d keys exceeds the maximum of 10", len(c)-1)
		}
	}
}

func TestBatcher_groupsAreSeparateCalls(t *testing.T) {
	r := &recorder{}
	b := batch.New(r.fn, batch.Options{Max: 10, Window: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for _, g := range []string{"a", "b"} {
		for _, k := range []string{"x", "y", "y"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, _, _ := b.Get(context.Background(), g, k); v != g+"/"+k {
					t.Errorf("get %s/%s = %q", g, k, v)
				}
			}()
		}
	}
	wg.Wait()
	if got := r.count(); got != 2 {
		t.Fatalf("calls = %d, want one per group: %v", got, r.calls)
	}
	for _, c := range r.calls {
		if !slices.Equal(sortedCopy(c[1:]), []string{"x", "y"}) {
			t.Errorf("call %v: duplicate keys must be sent once", c)
		}
	}
}

func TestBatcher_notFoundAndErrors(t *testing.T) {
	r := &recorder{}
	b := batch.New(r.fn, batch.Options{Max: 10, Window: time.Millisecond})
	_, found, err := b.Get(context.Background(), "g", "missing")
	if err != nil || found {
		t.Fatalf("missing key: found=%v err=%v, want not found and no error", found, err)
	}

	boom := errors.New("throttled")
	failing := batch.New(func(context.Context, string, []string) (map[string]int, error) { return nil, boom },
		batch.Options{Max: 10, Window: time.Millisecond})
	if _, _, err := failing.Get(context.Background(), "g", "k"); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the batched call's error", err)
	}
}

func TestBatcher_getManySplitsAtMax(t *testing.T) {
	r := &recorder{}
	b := batch.New(r.fn, batch.Options{Max: 10, Window: 5 * time.Millisecond})
	keys := make([]string, 23)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%02d", i)
	}
	res, err := b.GetMany(context.Background(), "g", keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 23 {
		t.Fatalf("got %d results, want 23", len(res))
	}
	if got := r.count(); got != 3 {
		t.Fatalf("calls = %d, want 3 (10+10+3)", got)
	}
}

func TestBatcher_disabledMakesOneCallPerKey(t *testing.T) {
	r := &recorder{}
	var off atomic.Bool
	off.Store(true)
	b := batch.New(r.fn, batch.Options{Max: 10, Window: 50 * time.Millisecond, Disabled: off.Load})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = b.Get(context.Background(), "g", fmt.Sprint(i))
		}()
	}
	wg.Wait()
	if got := r.count(); got != 5 {
		t.Fatalf("calls = %d, want 5 with coalescing disabled", got)
	}
}

func TestBatcher_callerCancellationDoesNotCancelOthers(t *testing.T) {
	release := make(chan struct{})
	b := batch.New(func(ctx context.Context, _ string, keys []string) (map[string]string, error) {
		<-release
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out := map[string]string{}
		for _, k := range keys {
			out[k] = k
		}
		return out, nil
	}, batch.Options{Max: 10, Window: 5 * time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { _, _, err := b.Get(ctx, "g", "a"); first <- err }()
	second := make(chan string, 1)
	go func() { v, _, _ := b.Get(context.Background(), "g", "b"); second <- v }()
	time.Sleep(2 * time.Millisecond)
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller got %v", err)
	}
	close(release)
	if v := <-second; v != "b" {
		t.Fatalf("other caller got %q, want b", v)
	}
}

func TestOnce_computesEachKeyOnce(t *testing.T) {
	var o batch.Once[string, int]
	var n atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := o.Do(context.Background(), "arn:1", func(context.Context) (int, error) {
				n.Add(1)
				time.Sleep(5 * time.Millisecond)
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("Do = %d, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if n.Load() != 1 {
		t.Fatalf("computed %d times, want 1", n.Load())
	}

	// Errors are not cached.
	fail := true
	for range 2 {
		_, err := o.Do(context.Background(), "arn:2", func(context.Context) (int, error) {
			if fail {
				fail = false
				return 0, errors.New("boom")
			}
			return 7, nil
		})
		_ = err
	}
	if v, err := o.Do(context.Background(), "arn:2", func(context.Context) (int, error) { return 0, errors.New("called again") }); err != nil || v != 7 {
		t.Fatalf("after a failure then a success, Do = %d, %v; want the cached 7", v, err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
