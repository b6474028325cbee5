package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// heldStore stores batches in PostGIS, each once the test lets it go, and
// records them: the hook that shows how reports were batched.
type heldStore struct {
	db      *postgres.DB
	release chan struct{} // closed to let every write through

	mu      sync.Mutex
	batches [][]udaconnect.Report
}

func (s *heldStore) store(ctx context.Context, reports []udaconnect.Report) ([]udaconnect.Location, []error, error) {
	s.mu.Lock()
	s.batches = append(s.batches, reports)
	s.mu.Unlock()
	<-s.release
	return s.db.StoreReports(ctx, reports)
}

func (s *heldStore) writes() [][]udaconnect.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// startHeld serves the function with cfg, its writes held until released,
// on a seeded database of its own.
func startHeld(t *testing.T, cfg batch.Config) (string, *Function, *heldStore) {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	if err := db.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &heldStore{db: db, release: make(chan struct{})}
	f := newFunction(db, zaptest.NewLogger(t), cfg, s.store)
	t.Cleanup(f.Close)
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
	})
	return servertest.Start(t, f).URL, f, s
}

// waitPending waits until n reports are waiting for their batch: a
// condition to wait for, not a time.
func waitPending(t *testing.T, f *Function, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); f.reports.Stats().Pending != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("pending reports = %d; want %d", f.reports.Stats().Pending, n)
		}
	}
}

// reply is the answer to one report sent by sendAll.
type reply struct {
	id       string // the event's
	status   int
	retry    string // Retry-After
	location udaconnect.Location
	err      error
}

// sendAll posts each event (structured mode) in its own goroutine and
// returns a channel that yields each reply.
func sendAll(url string, events ...event.Event) <-chan reply {
	replies := make(chan reply, len(events))
	for _, e := range events {
		go func() { replies <- send(url, e) }()
	}
	return replies
}

func send(url string, e event.Event) reply {
	r := reply{id: e.ID()}
	body, err := json.Marshal(e)
	if err != nil {
		r.err = err
		return r
	}
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		r.err = err
		return r
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	req.Header.Set("Authorization", "Bearer "+servertest.InternalToken) // as the broker
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	r.status, r.retry, r.err = resp.StatusCode, resp.Header.Get("Retry-After"), err
	if resp.StatusCode == http.StatusOK {
		r.err = json.Unmarshal(data, &r.location) // the reply's data, in binary mode
	}
	return r
}

func collect(t *testing.T, replies <-chan reply, n int) map[string][]reply {
	t.Helper()
	byID := map[string][]reply{}
	for range n {
		r := <-replies
		if r.err != nil {
			t.Errorf("report %s: %v", r.id, r.err)
		}
		byID[r.id] = append(byID[r.id], r)
	}
	return byID
}

// reports returns n events of Paul (8) reporting on 2021-01-01, a second
// apart, with ids prefix-0, prefix-1, ...
func reports(t *testing.T, prefix string, n int) []event.Event {
	t.Helper()
	var es []event.Event
	for i := range n {
		at := time.Date(2021, 1, 1, 0, 0, i, 0, time.UTC).Format(time.RFC3339)
		es = append(es, servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("%s-%d", prefix, i), reportData(8, 35.05, -106.57, at)))
	}
	return es
}

func storedCount(t *testing.T, f *Function) int {
	t.Helper()
	locs, err := f.db.FindLocations(context.Background(), 8, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return len(locs)
}

// Reports sent together are stored together: while both writers are held,
// the others wait and then go in one write. Duplicates, within a batch and
// across concurrent batches, are stored once and acknowledged each time; a
// report of an unknown person is refused on its own.
func TestGroupCommit(t *testing.T) {
	url, f, s := startHeld(t, batchConfig)
	events := reports(t, "paul", 40)
	first := sendAll(url, events[0]) // held by the first writer
	waitWrites(t, s, 1)
	second := sendAll(url, events[1]) // and by the second
	waitWrites(t, s, 2)
	burst := append(slices.Clone(events[2:]), events[3], events[3], events[0])
	burst = append(burst, servertest.NewEvent(t, ev.LocationReported, "stranger", reportData(4040, 35, -106, "2021-01-01T00:00:00Z")))
	replies := sendAll(url, burst...)
	waitPending(t, f, int64(2+len(burst)))
	close(s.release)

	byID := collect(t, replies, len(burst))
	for id, rs := range collect(t, first, 1) {
		byID[id] = append(byID[id], rs...)
	}
	for id, rs := range collect(t, second, 1) {
		byID[id] = append(byID[id], rs...)
	}
	if got, want := sizes(s.writes()), []int{1, 1, len(burst)}; !slices.Equal(got, want) {
		t.Errorf("batch sizes = %v; want %v: the burst in one write", got, want)
	}
	for id, rs := range byID {
		want := http.StatusOK
		if id == "stranger" {
			want = http.StatusUnprocessableEntity
		}
		for _, r := range rs {
			if r.status != want || (want == 200 && (r.location.ID == 0 || r.location != rs[0].location)) {
				t.Errorf("report %s = %d %+v; want %d, the same location each time (%+v)", id, r.status, r.location, want, rs[0].location)
			}
		}
	}
	if len(byID["paul-3"]) != 3 || len(byID["paul-0"]) != 2 {
		t.Errorf("answers to the duplicates: %d and %d; want 3 and 2", len(byID["paul-3"]), len(byID["paul-0"]))
	}
	if n := storedCount(t, f); n != 40 {
		t.Errorf("stored %d reports; want the 40 different ones", n)
	}

	// Delivered again later, in a new batch: the same locations.
	again := collect(t, sendAll(url, events[3], events[7], events[39]), 3)
	for id, rs := range again {
		if rs[0].status != http.StatusOK || rs[0].location != byID[id][0].location {
			t.Errorf("report %s again = %d %+v; want %+v", id, rs[0].status, rs[0].location, byID[id][0].location)
		}
	}
	if n := storedCount(t, f); n != 40 {
		t.Errorf("stored %d reports after redelivery; want 40", n)
	}
}

// waitWrites waits until n writes have started.
func waitWrites(t *testing.T, s *heldStore, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.writes()) != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("writes started = %d; want %d", len(s.writes()), n)
		}
	}
}

func sizes(batches [][]udaconnect.Report) []int {
	var n []int
	for _, b := range batches {
		n = append(n, len(b))
	}
	return n
}

// With the database down, every report of a batch gets a retryable 503, and
// none is lost: sent again, each is stored once.
func TestBatchDatabaseDown(t *testing.T) {
	url, f, s := startHeld(t, batch.Config{MaxSize: 100, Writers: 1})
	events := reports(t, "down", 20)
	replies := sendAll(url, events...)
	waitPending(t, f, int64(len(events)))
	f.db.Close()
	close(s.release)
	for id, rs := range collect(t, replies, len(events)) {
		if r := rs[0]; r.status != http.StatusServiceUnavailable || r.retry == "" {
			t.Errorf("report %s with the database down = %d, Retry-After %q; want 503 with Retry-After", id, r.status, r.retry)
		}
	}
	total := 0
	for _, n := range sizes(s.writes()) {
		total += n
	}
	if total != 20 {
		t.Errorf("batch sizes = %v; want the 20 reports written once each: each report of a batch fails with it", sizes(s.writes()))
	}
}

// When the queue is full a report is refused at once with 429 and
// Retry-After; those queued before it are stored.
func TestQueueFull(t *testing.T) {
	url, f, s := startHeld(t, batch.Config{MaxSize: 100, QueueSize: 5, Writers: 1})
	events := reports(t, "full", 7)
	first := sendAll(url, events[0])
	waitWrites(t, s, 1) // held in its write
	queued := sendAll(url, events[1:6]...)
	waitPending(t, f, 6)
	if r := send(url, events[6]); r.status != http.StatusTooManyRequests || r.retry == "" {
		t.Errorf("report with the queue full = %d, Retry-After %q; want 429 with Retry-After", r.status, r.retry)
	}
	close(s.release)
	collect(t, first, 1)
	for id, rs := range collect(t, queued, 5) {
		if rs[0].status != http.StatusOK {
			t.Errorf("report %s queued before the queue was full = %d; want 200", id, rs[0].status)
		}
	}
	if r := send(url, events[6]); r.status != http.StatusOK {
		t.Errorf("report once the queue has room = %d; want 200", r.status)
	}
}

// Close, as on SIGTERM, stores every report still waiting before it returns;
// after it, reports are refused with a retryable 503.
func TestCloseStoresPending(t *testing.T) {
	url, f, s := startHeld(t, batch.Config{MaxSize: 4, Writers: 1})
	events := reports(t, "sigterm", 15)
	replies := sendAll(url, events...)
	waitPending(t, f, int64(len(events)))
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	close(s.release)
	<-closed
	if n := storedCount(t, f); n != len(events) {
		t.Errorf("stored %d reports when Close returned; want all %d", n, len(events))
	}
	for id, rs := range collect(t, replies, len(events)) {
		if rs[0].status != http.StatusOK {
			t.Errorf("report %s pending at Close = %d; want 200", id, rs[0].status)
		}
	}
	r := send(url, reports(t, "late", 1)[0])
	if r.status != http.StatusServiceUnavailable || r.retry == "" {
		t.Errorf("report after Close = %d, Retry-After %q; want 503 with Retry-After", r.status, r.retry)
	}
}

// Poison in a group commit fails alone: reports that PostgreSQL refuses
// (here a fingerprint that breaks its CHECK constraint, which nothing before
// the write looks at) are answered 400, and every honest report of the same
// batch is stored and answered 200 on its first delivery.
func TestPoisonInGroupCommit(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	if err := db.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &heldStore{db: db, release: make(chan struct{})}
	poisoned := func(ctx context.Context, reports []udaconnect.Report) ([]udaconnect.Location, []error, error) {
		for i := range reports {
			if strings.HasPrefix(reports[i].EventID, "poison") {
				reports[i].Hash = []byte("not a SHA-256")
			}
		}
		return s.store(ctx, reports)
	}
	f := newFunction(db, zaptest.NewLogger(t), batch.Config{MaxSize: 100, Writers: 1}, poisoned)
	t.Cleanup(f.Close)
	url := servertest.Start(t, f).URL

	events := append(reports(t, "honest", 40), reports(t, "poison", 5)...)
	replies := sendAll(url, events...)
	waitPending(t, f, int64(len(events)))
	close(s.release)
	for id, rs := range collect(t, replies, len(events)) {
		want := http.StatusOK
		if strings.HasPrefix(id, "poison") {
			want = http.StatusBadRequest
		}
		if rs[0].status != want {
			t.Errorf("report %s = %d; want %d on its first delivery", id, rs[0].status, want)
		}
	}
	if n := storedCount(t, f); n != 40 {
		t.Errorf("stored %d reports; want the 40 honest ones", n)
	}
	if w := s.writes(); len(w) > 2 {
		t.Errorf("%d batches; want the reports together in at most 2", len(w))
	}
}
