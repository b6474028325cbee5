package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// Live streams: each replica listens for the meeting changes that any
// replica commits (PostgreSQL LISTEN/NOTIFY) and wakes the streams of the
// persons concerned, which read the changes after the last they sent.
const (
	heartbeat   = 15 * time.Second // a comment on an idle stream, so that it is seen alive
	liveBatch   = 100              // changes read at once
	liveRetry   = 1000             // ms a client waits before it reconnects
	relistenGap = time.Second      // between attempts to listen again
)

// live is who follows whose meetings on this replica.
type live struct {
	mu       sync.Mutex
	follows  map[int64]map[chan struct{}]bool
	draining chan struct{} // closed when the server shuts down: streams end
	drain    sync.Once
}

func newLive() *live {
	return &live{follows: map[int64]map[chan struct{}]bool{}, draining: make(chan struct{})}
}

// follow returns a channel that is signalled when personID's meetings
// change, and the function that stops it.
func (l *live) follow(personID int64) (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.follows[personID] == nil {
		l.follows[personID] = map[chan struct{}]bool{}
	}
	l.follows[personID][c] = true
	return c, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.follows[personID], c)
		if len(l.follows[personID]) == 0 {
			delete(l.follows, personID)
		}
	}
}

// changed wakes the streams of personID.
func (l *live) changed(personID int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.follows[personID] {
		wake(c)
	}
}

// all wakes every stream: when the replica listens again, changes may have
// gone by unheard.
func (l *live) all() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, cs := range l.follows {
		for c := range cs {
			wake(c)
		}
	}
}

func wake(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default: // already woken
	}
}

// listen hears the meeting changes until ctx ends, listening again after a
// failure.
func (f *Function) listen(ctx context.Context) {
	for {
		err := f.db.ListenMeetings(ctx, f.live.all, f.live.changed)
		if ctx.Err() != nil {
			return
		}
		f.log.Error("listen for meeting changes", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(relistenGap):
		}
	}
}

// Drain ends the live streams, which the server calls as it shuts down:
// their clients reconnect to another replica.
func (f *Function) Drain() { f.live.drain.Do(func() { close(f.live.draining) }) }

// liveRoute streams a person's meeting changes as Server-Sent Events: an
// event "meeting" for each, its id the change's version, its data the
// meeting. A client that sends Last-Event-ID gets every change after it;
// without, the stream starts with the next change.
func (f *Function) liveRoute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := server.PathID(r, "id")
	if err == nil {
		_, err = f.db.FindPerson(ctx, id)
	}
	after := int64(-1)
	if err == nil && r.Header.Get("Last-Event-ID") != "" {
		after, err = strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
		if err != nil || after < 0 {
			err = udaconnect.Invalid("Last-Event-ID", "Last-Event-ID must be the id of an event of this stream")
		}
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	woken, stop := f.live.follow(id) // before reading: no change can slip between
	defer stop()
	if after < 0 {
		if after, err = f.db.MeetingVersion(ctx, id); err != nil {
			f.writeError(w, r, err)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	fmt.Fprintf(w, "retry: %d\n\n", liveRetry)
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		changes, err := f.db.FindMeetingChanges(ctx, id, after, liveBatch)
		if err != nil {
			if ctx.Err() == nil {
				f.log.Error("live stream", zap.String("path", r.URL.Path), zap.Error(err))
			}
			return // the client reconnects
		}
		for _, m := range changes {
			data, _ := json.Marshal(m)
			fmt.Fprintf(w, "event: meeting\nid: %d\ndata: %s\n\n", m.Version, data)
			after = m.Version
		}
		if rc.Flush() != nil {
			return
		}
		if len(changes) == liveBatch {
			continue
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-f.live.draining:
				return
			case <-woken:
				break wait
			case <-tick.C:
				if _, err := io.WriteString(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
					return
				}
			}
		}
	}
}

// meetingsRoute answers a page of a person's meetings, newest first, with
// the address of the next page in a Link header when there may be one.
func (f *Function) meetingsRoute(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	v := r.URL.Query()
	var meetings []udaconnect.Meeting
	var q udaconnect.MeetingQuery
	if err == nil {
		q, err = udaconnect.MeetingParams{PersonID: id, StartDate: v.Get("start_date"), EndDate: v.Get("end_date"),
			Limit: v.Get("limit"), After: v.Get("after")}.Query()
	}
	if err == nil {
		meetings, err = f.db.FindMeetings(r.Context(), q)
	}
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	if len(meetings) == q.Limit {
		last := meetings[len(meetings)-1]
		v.Set("after", udaconnect.MeetingCursor{Started: last.Started, ID: last.ID}.String())
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, r.URL.Path, v.Encode()))
	}
	server.WriteJSON(w, http.StatusOK, meetings)
}

// writeError answers err, logging it when it is the server's fault.
func (f *Function) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if server.ErrorStatus(err) >= 500 {
		f.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	server.WriteError(w, err)
}
