// Package batch coalesces concurrent writes into batches: group commit.
// Callers hand in one item each and wait; a writer takes every item waiting,
// up to a size, writes them at once, and answers each caller with its own
// result only after the whole batch is written.
package batch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/telemetry"
)

// A Func writes items in one batch. It returns one result and one error per
// item, in order (errs may be nil when no item failed on its own), or err
// when the batch as a whole failed, which each of its items then gets.
type Func[T, R any] func(ctx context.Context, items []T) (results []R, errs []error, err error)

// Config bounds a Committer; a zero field takes its default.
type Config struct {
	Name      string        // names the Committer in metrics; default "batch"
	MaxSize   int           // items in one batch; default 1000
	MaxWait   time.Duration // how long a batch waits to fill after its first item; default 0: it is written as soon as a writer is free
	QueueSize int           // items waiting for a writer at most, beyond which Do refuses; default 10 × MaxSize
	Writers   int           // batches written at the same time; default 1
	Timeout   time.Duration // the time one write may take; default 10 s
}

// Errors of Do.
var (
	ErrFull   = udaconnect.Errorf(udaconnect.EOVERLOADED, "too many requests are waiting, try again later")
	ErrClosed = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "shutting down, try again later")
)

// The metrics of every Committer, by its name.
var (
	batchSize = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "udaconnect_batch_size",
		Help:    "Items written in one batch (group commit), by batcher.",
		Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000},
	}, []string{"batcher"})
	queueDepth = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "udaconnect_batch_queue_depth",
		Help: "Items taken and not yet answered, queued or being written, by batcher.",
	}, []string{"batcher"})
)

// A Committer writes items in batches with a Func.
type Committer[T, R any] struct {
	cfg   Config
	depth prometheus.Gauge    // udaconnect_batch_queue_depth of this Committer
	size  prometheus.Observer // udaconnect_batch_size of this Committer
	write Func[T, R]
	queue chan request[T, R]

	mu     sync.Mutex // held to send on queue and to close it
	closed bool
	gather sync.Mutex     // held by the writer collecting a batch: writers take turns, so that items queued together stay together
	done   sync.WaitGroup // the writers

	batches, items, largest atomic.Int64
	taken                   atomic.Int64 // items out of the queue, not yet answered
}

type request[T, R any] struct {
	item  T
	index int            // of the item among those of its call
	reply chan result[R] // buffered for every item of the call: a writer never waits on a caller
}

type result[R any] struct {
	index int
	value R
	err   error
}

// New starts the writers of a Committer that writes with write.
func New[T, R any](cfg Config, write Func[T, R]) *Committer[T, R] {
	if cfg.Name == "" {
		cfg.Name = "batch"
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = 1000
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10 * cfg.MaxSize
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	c := &Committer[T, R]{cfg: cfg, depth: queueDepth.WithLabelValues(cfg.Name), size: batchSize.WithLabelValues(cfg.Name), write: write, queue: make(chan request[T, R], cfg.QueueSize)}
	c.done.Add(cfg.Writers)
	for range cfg.Writers {
		go c.run()
	}
	return c
}

// Do queues item for the next batch and returns its result once that batch
// is written. It returns ErrFull at once when the queue is full, ErrClosed
// after Close, and ctx's error if ctx ends first; the item may then still be
// written.
func (c *Committer[T, R]) Do(ctx context.Context, item T) (R, error) {
	values, errs := c.DoAll(ctx, []T{item})
	return values[0], errs[0]
}

// DoAll queues items, in order, for the next batches and returns the result
// of each once the batches that hold them are written: what Do returns for
// each, in order. The items are queued together or not at all: when the
// queue has no room for all of them, each gets ErrFull and none is written,
// so that a caller that tries again later does not write some twice. When
// ctx ends first, those not yet answered get its error and may still be
// written.
func (c *Committer[T, R]) DoAll(ctx context.Context, items []T) ([]R, []error) {
	values, errs := make([]R, len(items)), make([]error, len(items))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return values, errs
	}
	reply := make(chan result[R], len(items))
	if err := c.enqueue(items, reply); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return values, errs
	}
	answered := make([]bool, len(items))
	for range items {
		select {
		case res := <-reply:
			values[res.index], errs[res.index], answered[res.index] = res.value, res.err, true
		case <-ctx.Done():
			for i := range errs {
				if !answered[i] {
					errs[i] = ctx.Err()
				}
			}
			return values, errs
		}
	}
	return values, errs
}

// enqueue queues every item, to be answered on reply, or none when the
// queue has no room for them all.
func (c *Committer[T, R]) enqueue(items []T, reply chan result[R]) error {
	c.mu.Lock() // alone: the room counted stays free until the items are in
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if cap(c.queue)-len(c.queue) < len(items) {
		telemetry.Overloaded(c.cfg.Name)
		return ErrFull
	}
	c.depth.Add(float64(len(items))) // first: a writer may take an item before this line ends
	for i, item := range items {
		c.queue <- request[T, R]{item: item, index: i, reply: reply}
	}
	return nil
}

// Close stops taking items, writes every item already queued, and returns
// when the last batch is written. Calling it again does nothing.
func (c *Committer[T, R]) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	c.done.Wait()
}

// Stats counts what a Committer has done so far.
type Stats struct {
	Batches int64 // batches written, whether they succeeded or not
	Items   int64 // items in those batches
	Largest int64 // items in the largest batch
	Pending int64 // items taken by Do and not yet answered: queued or being written
}

// Stats returns the counts so far.
func (c *Committer[T, R]) Stats() Stats {
	taken := c.taken.Load() // first: an item moving out of the queue is missed, never counted twice
	return Stats{Batches: c.batches.Load(), Items: c.items.Load(), Largest: c.largest.Load(), Pending: taken + int64(len(c.queue))}
}

// run is a writer: it takes a batch, writes it, answers its callers, until
// the queue is closed and empty.
func (c *Committer[T, R]) run() {
	defer c.done.Done()
	batch := make([]request[T, R], 0, c.cfg.MaxSize)
	for {
		c.gather.Lock()
		batch = c.collect(batch[:0])
		c.gather.Unlock()
		if len(batch) == 0 {
			return
		}
		c.flush(batch)
		clear(batch) // let the items go
	}
}

// collect waits for a first request, then takes those already waiting, and
// with MaxWait those that arrive until it passes, up to MaxSize. It returns
// no request once the queue is closed and empty.
func (c *Committer[T, R]) collect(batch []request[T, R]) []request[T, R] {
	req, ok := <-c.queue
	if !ok {
		return batch
	}
	batch = c.take(batch, req)
	var deadline <-chan time.Time
	if c.cfg.MaxWait > 0 {
		t := time.NewTimer(c.cfg.MaxWait)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < c.cfg.MaxSize {
		var req request[T, R]
		var ok bool
		select {
		case req, ok = <-c.queue:
		default:
			if deadline == nil {
				return batch // nothing more waiting, and no reason to wait
			}
			select {
			case req, ok = <-c.queue:
			case <-deadline:
				return batch
			}
		}
		if !ok {
			return batch
		}
		batch = c.take(batch, req)
	}
	return batch
}

func (c *Committer[T, R]) take(batch []request[T, R], req request[T, R]) []request[T, R] {
	c.taken.Add(1)
	return append(batch, req)
}

// flush writes batch and answers each of its requests.
func (c *Committer[T, R]) flush(batch []request[T, R]) {
	items := make([]T, len(batch))
	for i, req := range batch {
		items[i] = req.item
	}
	results, errs, err := c.call(items)
	c.count(len(batch))
	for i, req := range batch {
		switch {
		case err != nil:
			req.reply <- result[R]{index: req.index, err: err}
		case errs != nil && errs[i] != nil:
			req.reply <- result[R]{index: req.index, err: errs[i]}
		default:
			req.reply <- result[R]{index: req.index, value: results[i]}
		}
	}
}

func (c *Committer[T, R]) count(size int) {
	n := int64(size)
	c.size.Observe(float64(size))
	c.depth.Sub(float64(size))
	c.batches.Add(1)
	c.items.Add(n)
	c.taken.Add(-n)
	for {
		largest := c.largest.Load()
		if n <= largest || c.largest.CompareAndSwap(largest, n) {
			return
		}
	}
}

// call runs the Func on items with the write timeout, and turns a panic or
// a result of the wrong length into an error of the batch.
func (c *Committer[T, R]) call(items []T) (results []R, errs []error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			results, errs, err = nil, nil, fmt.Errorf("write batch of %d: panic: %v", len(items), p)
		}
	}()
	results, errs, err = c.write(ctx, items)
	switch {
	case err != nil:
		return nil, nil, err
	case len(results) != len(items) || (errs != nil && len(errs) != len(items)):
		return nil, nil, fmt.Errorf("write batch of %d: got %d results and %d errors", len(items), len(results), len(errs))
	}
	return results, errs, nil
}
