package batch_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
)

// writer is a Func that doubles its items, records the batches it gets and
// holds each write until the test lets it go.
type writer struct {
	started chan []int    // each batch, as its write starts
	release chan struct{} // each write waits for a value, or for it closed

	mu      sync.Mutex
	batches [][]int
}

func newWriter() *writer {
	return &writer{started: make(chan []int, 100), release: make(chan struct{})}
}

func (w *writer) write(ctx context.Context, items []int) ([]int, []error, error) {
	w.mu.Lock()
	w.batches = append(w.batches, slices.Clone(items))
	w.mu.Unlock()
	w.started <- slices.Clone(items)
	<-w.release
	out := make([]int, len(items))
	for i, n := range items {
		out[i] = 2 * n
	}
	return out, nil, nil
}

func (w *writer) sizes() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var sizes []int
	for _, b := range w.batches {
		sizes = append(sizes, len(b))
	}
	return sizes
}

// doAll calls Do for each item in its own goroutine and returns a channel
// that yields each answer.
func doAll(c *batch.Committer[int, int], items ...int) <-chan answer {
	answers := make(chan answer, len(items))
	for _, n := range items {
		go func() {
			v, err := c.Do(context.Background(), n)
			answers <- answer{n, v, err}
		}()
	}
	return answers
}

type answer struct {
	item, value int
	err         error
}

// waitPending waits until n items are pending: a condition to wait for,
// not a time.
func waitPending(t *testing.T, c *batch.Committer[int, int], n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); c.Stats().Pending != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d; want %d", c.Stats().Pending, n)
		}
	}
}

func TestCoalesce(t *testing.T) {
	for _, tt := range []struct {
		name    string
		maxSize int
		items   int
		want    []int // batch sizes after the first, held one
	}{
		{"one batch", 100, 50, []int{49}},
		{"split at MaxSize", 20, 50, []int{20, 20, 9}},
		{"exactly MaxSize", 10, 11, []int{10}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWriter()
			c := batch.New(batch.Config{MaxSize: tt.maxSize}, w.write)
			defer c.Close()
			// The first item is written alone and held: the others queue.
			answers := doAll(c, 0)
			<-w.started
			var rest []int
			for n := 1; n < tt.items; n++ {
				rest = append(rest, n)
			}
			more := doAll(c, rest...)
			waitPending(t, c, int64(tt.items))
			close(w.release)
			for range tt.items - 1 {
				if a := <-more; a.err != nil || a.value != 2*a.item {
					t.Errorf("Do(%d) = %d, %v; want %d", a.item, a.value, a.err, 2*a.item)
				}
			}
			if a := <-answers; a.err != nil || a.value != 0 {
				t.Errorf("Do(0) = %d, %v; want 0", a.value, a.err)
			}
			if got, want := w.sizes(), append([]int{1}, tt.want...); !slices.Equal(got, want) {
				t.Errorf("batch sizes = %v; want %v", got, want)
			}
			if s := c.Stats(); s.Batches != int64(len(tt.want)+1) || s.Items != int64(tt.items) || s.Largest != int64(slices.Max(tt.want)) {
				t.Errorf("Stats() = %+v; want %d batches of %d items, the largest %d", s, len(tt.want)+1, tt.items, slices.Max(tt.want))
			}
		})
	}
}

func TestOutcomes(t *testing.T) {
	down := udaconnect.Errorf(udaconnect.EUNAVAILABLE, "down")
	odd := errors.New("odd")
	for _, tt := range []struct {
		name  string
		write batch.Func[int, int]
		want  func(item int) (int, error)
	}{
		{
			"results in order",
			func(_ context.Context, items []int) ([]int, []error, error) {
				out := make([]int, len(items))
				for i, n := range items {
					out[i] = n + 100
				}
				return out, nil, nil
			},
			func(n int) (int, error) { return n + 100, nil },
		},
		{
			"errors of single items",
			func(_ context.Context, items []int) ([]int, []error, error) {
				out, errs := make([]int, len(items)), make([]error, len(items))
				for i, n := range items {
					if out[i] = n; n%2 == 1 {
						out[i], errs[i] = 0, odd
					}
				}
				return out, errs, nil
			},
			func(n int) (int, error) {
				if n%2 == 1 {
					return 0, odd
				}
				return n, nil
			},
		},
		{
			"error of the batch",
			func(context.Context, []int) ([]int, []error, error) { return nil, nil, down },
			func(int) (int, error) { return 0, down },
		},
		{
			"panic",
			func(context.Context, []int) ([]int, []error, error) { panic("boom") },
			func(int) (int, error) { return 0, errors.New("write batch of 8: panic: boom") },
		},
		{
			"too few results",
			func(_ context.Context, items []int) ([]int, []error, error) { return items[1:], nil, nil },
			func(int) (int, error) { return 0, errors.New("write batch of 8: got 7 results and 0 errors") },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// MaxWait holds the batch open until it has all 8 items.
			c := batch.New(batch.Config{MaxSize: 8, MaxWait: time.Hour}, tt.write)
			defer c.Close()
			answers := doAll(c, 0, 1, 2, 3, 4, 5, 6, 7)
			for range 8 {
				a := <-answers
				want, wantErr := tt.want(a.item)
				if a.value != want || fmt.Sprint(a.err) != fmt.Sprint(wantErr) {
					t.Errorf("Do(%d) = %d, %v; want %d, %v", a.item, a.value, a.err, want, wantErr)
				}
				if wantErr == down && !errors.Is(a.err, down) {
					t.Errorf("Do(%d) = %v; want the error of the batch itself", a.item, a.err)
				}
			}
			if s := c.Stats(); s.Batches != 1 || s.Items != 8 {
				t.Errorf("Stats() = %+v; want one batch of 8", s)
			}
		})
	}
}

func TestFull(t *testing.T) {
	w := newWriter()
	c := batch.New(batch.Config{MaxSize: 2, QueueSize: 3}, w.write)
	answers := doAll(c, 0)
	<-w.started // held, out of the queue
	more := doAll(c, 1, 2, 3)
	waitPending(t, c, 4)
	if v, err := c.Do(context.Background(), 4); !errors.Is(err, batch.ErrFull) || udaconnect.ErrorCode(err) != udaconnect.EOVERLOADED {
		t.Errorf("Do with the queue full = %d, %v; want ErrFull (%s)", v, err, udaconnect.EOVERLOADED)
	}
	close(w.release)
	for range 3 {
		if a := <-more; a.err != nil {
			t.Errorf("Do(%d) queued before it was full: %v", a.item, a.err)
		}
	}
	<-answers
	// Room again.
	if v, err := c.Do(context.Background(), 5); err != nil || v != 10 {
		t.Errorf("Do once the queue has room = %d, %v; want 10", v, err)
	}
	c.Close()
}

// Close writes every pending item before it returns, and refuses new ones.
func TestCloseDrains(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  batch.Config
	}{
		{"one writer", batch.Config{MaxSize: 4}},
		{"two writers", batch.Config{MaxSize: 4, Writers: 2}},
		{"waiting to fill", batch.Config{MaxSize: 100, MaxWait: time.Hour}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWriter() // holds every write until released
			c := batch.New(tt.cfg, w.write)
			answers := doAll(c, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
			waitPending(t, c, 10)
			closed := make(chan struct{})
			go func() { c.Close(); close(closed) }()
			close(w.release)
			<-closed
			if s := c.Stats(); s.Items != 10 || s.Pending != 0 {
				t.Errorf("after Close: %+v; want all 10 items written, none pending", s)
			}
			for range 10 {
				if a := <-answers; a.err != nil || a.value != 2*a.item {
					t.Errorf("Do(%d) = %d, %v; want %d", a.item, a.value, a.err, 2*a.item)
				}
			}
			if _, err := c.Do(context.Background(), 11); !errors.Is(err, batch.ErrClosed) || udaconnect.ErrorCode(err) != udaconnect.EUNAVAILABLE {
				t.Errorf("Do after Close: %v; want ErrClosed (%s)", err, udaconnect.EUNAVAILABLE)
			}
			c.Close() // again: nothing happens
		})
	}
}

// A caller that gives up gets its context's error; the item is still
// written with its batch.
func TestCallerGivesUp(t *testing.T) {
	w := newWriter()
	c := batch.New(batch.Config{}, w.write)
	defer c.Close()
	answers := doAll(c, 0)
	<-w.started
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, 1)
		errc <- err
	}()
	waitPending(t, c, 2)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Do with its context cancelled: %v; want context.Canceled", err)
	}
	if _, err := c.Do(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with a context already cancelled: %v; want context.Canceled", err)
	}
	close(w.release)
	<-answers
	<-w.started // the batch of the item given up on
	if got := w.sizes(); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("batch sizes = %v; want [1 1]: the given-up item written too", got)
	}
}

// Concurrent callers, many more than a batch: every one gets its own answer.
func TestConcurrent(t *testing.T) {
	c := batch.New(batch.Config{MaxSize: 16, Writers: 2}, func(_ context.Context, items []int) ([]int, []error, error) {
		out := make([]int, len(items))
		for i, n := range items {
			out[i] = -n
		}
		return out, nil, nil
	})
	var wg sync.WaitGroup
	for n := range 500 {
		wg.Go(func() {
			for {
				v, err := c.Do(context.Background(), n)
				if errors.Is(err, batch.ErrFull) {
					runtime.Gosched()
					continue
				}
				if err != nil || v != -n {
					t.Errorf("Do(%d) = %d, %v; want %d", n, v, err, -n)
				}
				return
			}
		})
	}
	wg.Wait()
	c.Close()
	if s := c.Stats(); s.Items != 500 || s.Largest > 16 {
		t.Errorf("Stats() = %+v; want 500 items in batches of at most 16", s)
	}
}

// DoAll answers each of its items in order, across the batches that hold
// them; items that do not all find room in the queue are refused together
// with ErrFull, and none of them is written.
func TestDoAll(t *testing.T) {
	w := newWriter()
	c := batch.New(batch.Config{MaxSize: 2, QueueSize: 4}, w.write)
	held := doAll(c, 100)
	<-w.started // held, out of the queue: 4 places left
	type call struct {
		values []int
		errs   []error
	}
	done := make(chan call, 1)
	go func() {
		values, errs := c.DoAll(context.Background(), []int{1, 2, 3})
		done <- call{values, errs}
	}()
	waitPending(t, c, 4)
	if _, errs := c.DoAll(context.Background(), []int{4, 5}); !errors.Is(errs[0], batch.ErrFull) || !errors.Is(errs[1], batch.ErrFull) {
		t.Errorf("DoAll of 2 with room for 1 = %v; want ErrFull for both", errs)
	}
	close(w.release)
	got := <-done
	<-held
	for i, n := range []int{1, 2, 3} {
		if got.errs[i] != nil || got.values[i] != 2*n {
			t.Errorf("DoAll item %d = %d, %v; want %d", i, got.values[i], got.errs[i], 2*n)
		}
	}
	if sizes := w.sizes(); !slices.Equal(sizes, []int{1, 2, 1}) {
		t.Errorf("batches of %v; want [1 2 1]: the call's items split by MaxSize, the refused ones not written", sizes)
	}
	c.Close()
	if _, errs := c.DoAll(context.Background(), []int{6, 7}); !errors.Is(errs[0], batch.ErrClosed) || !errors.Is(errs[1], batch.ErrClosed) {
		t.Errorf("DoAll after Close = %v; want ErrClosed for each", errs)
	}
}
