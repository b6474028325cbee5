package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// The announcer sends the connection.detected events that the zones'
// owners queue in the outbox as they write the meetings (docs/design.md,
// "Meetings"): one per replica, apart from the zones, so that no zone waits
// for a send and any replica sends what any zone queued.
const (
	sends         = 16               // connection.detected on their way at once
	announceBatch = 256              // rows taken at once
	announceEvery = time.Second      // an idle announcer looks for rows due
	sendTimeout   = 10 * time.Second // a batch's sends, with the rows locked
	maxRetryAfter = 5 * time.Minute  // the longest Retry-After honoured
	backlogEvery  = 5 * time.Second  // the outbox's size (a count of its rows) is read at most so often
)

var (
	meetingsDetected = promauto.NewCounter(prometheus.CounterOpts{
		Name: "udaconnect_meetings_detected_total",
		Help: "Meetings detected and announced: connection.detected events the sink accepted.",
	})
	announcementsDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "udaconnect_announcements_dropped_total",
		Help: "Announcements not sent because their meeting was gone by then (merged into an earlier one, or a person deleted).",
	})
	announcementsRefused = promauto.NewCounter(prometheus.CounterOpts{
		Name: "udaconnect_announcements_refused_total",
		Help: "connection.detected sends the sink did not accept, each sent again later.",
	})
	announcementBacklog = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "udaconnect_announcement_backlog",
		Help: "connection.detected events queued and not yet accepted, in the whole outbox.",
	})
	announcementAge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "udaconnect_announcement_oldest_seconds",
		Help: "How long the oldest connection.detected waiting in the outbox has waited.",
	})
)

// announcer sends the outbox to the sink.
type announcer struct {
	db   *postgres.DB
	log  *zap.Logger
	sink cloudevents.Client
	wake chan struct{} // a flush queued something
	done sync.WaitGroup
}

func newAnnouncer(db *postgres.DB, log *zap.Logger, sink cloudevents.Client) *announcer {
	return &announcer{db: db, log: log, sink: sink, wake: make(chan struct{}, 1)}
}

// nudge wakes the announcer: announcements were queued.
func (a *announcer) nudge() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// start sends until ctx ends, then what is due once more; wait waits for
// it.
func (a *announcer) start(ctx context.Context) { a.done.Go(func() { a.run(ctx) }) }

func (a *announcer) wait() { a.done.Wait() }

func (a *announcer) run(ctx context.Context) {
	var measured time.Time
	for ctx.Err() == nil {
		did, err := a.round(ctx)
		if err != nil && ctx.Err() == nil {
			a.log.Warn("announce meetings", zap.Error(err))
		}
		if time.Since(measured) >= backlogEvery {
			if n, age, err := a.db.AnnouncementBacklog(ctx); err == nil {
				announcementBacklog.Set(float64(n))
				announcementAge.Set(age.Seconds())
			}
			measured = time.Now()
		}
		if err == nil && did.Taken == announceBatch {
			continue
		}
		select {
		case <-ctx.Done():
		case <-a.wake:
		case <-time.After(announceEvery):
		}
	}
	last, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()
	if _, err := a.round(last); err != nil {
		a.log.Warn("announce meetings", zap.Error(err))
	}
}

// round sends one batch of the announcements due.
func (a *announcer) round(ctx context.Context) (postgres.Announced, error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	did, err := a.db.Announce(ctx, announceBatch, a.send)
	meetingsDetected.Add(float64(did.Sent))
	announcementsDropped.Add(float64(did.Dropped))
	announcementsRefused.Add(float64(did.Refused))
	return did, err
}

// send emits a connection.detected for each, at most sends at once, and
// says which the sink accepted and the longest Retry-After it answered.
func (a *announcer) send(ctx context.Context, batch []postgres.Announcement) ([]bool, time.Duration) {
	accepted := make([]bool, len(batch))
	var retry atomic.Int64 // seconds
	ctx = context.WithValue(ctx, retryAfterKey{}, &retry)
	var wg sync.WaitGroup
	slots := make(chan struct{}, sends)
	for i, m := range batch {
		e, err := server.NewEvent(source, ev.ConnectionDetected, m.ID, m.Start)
		if err != nil {
			a.log.Error("encode connection.detected", zap.String("event_id", m.ID), zap.Error(err))
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			accepted[i] = cloudevents.IsACK(a.sink.Send(ctx, *e))
		})
	}
	wg.Wait()
	return accepted, time.Duration(retry.Load()) * time.Second
}

// retryAfterKey holds, in a send's context, the longest Retry-After of the
// sink's answers so far.
type retryAfterKey struct{}

// noteRetryAfter is a sink's transport that notes the Retry-After (seconds) of
// the answers to requests whose context holds a retryAfterKey.
type noteRetryAfter struct{ next http.RoundTripper }

func (t noteRetryAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(r)
	longest, ok := r.Context().Value(retryAfterKey{}).(*atomic.Int64)
	if err != nil || !ok {
		return res, err
	}
	if d, ok := server.ParseRetryAfter(res.Header); ok && d > 0 {
		s := int64(min(d, maxRetryAfter) / time.Second)
		for old := longest.Load(); s > old && !longest.CompareAndSwap(old, s); old = longest.Load() {
		}
	}
	return res, nil
}
