// Deadletters keeps what the Broker could not deliver: every Trigger's
// dead-letter sink. Each dead letter is stored in PostgreSQL (its own role)
// and served at /api/dead-letters, from where an organizer replays one or
// all: the stored event is sent to the Broker ($K_SINK) again. Each sender
// has a cap of dead letters, and they are deleted once older than
// $DEAD_LETTER_RETENTION (default 30d).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// Knative's extensions on a dead letter: the last status, the destination
// and its answer. A replay leaves them out, and the broker's TTL with them.
var errorExtensions = []string{"knativeerrorcode", "knativeerrordest", "knativeerrordata", "knativebrokerttl"}

// Pages of GET /api/dead-letters.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// errNoSink refuses a replay while the function has no Broker to replay
// to: its revision started before its SinkBinding gave it K_SINK.
var errNoSink = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "K_SINK is not set: there is no broker to replay to yet, try again later")

// DefaultRetention is how long a dead letter is kept without
// DEAD_LETTER_RETENTION; expiry runs at start and then every expiryEvery.
const (
	DefaultRetention = 30 * 24 * time.Hour
	expiryEvery      = time.Hour
)

// Function stores dead letters and replays them.
type Function struct {
	db   *postgres.DB
	log  *zap.Logger
	sink cloudevents.Client // the Broker: K_SINK; nil without
	stop context.CancelFunc // stops the expiry
	done chan struct{}      // closed when the expiry stopped
}

// New returns the function on db, replaying to cfg.Sink and deleting the
// dead letters older than DEAD_LETTER_RETENTION while it runs; Close stops
// that. Without a sink it stores dead letters and refuses replays with 503.
func New(cfg server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	retention, err := server.ParseRetention("DEAD_LETTER_RETENTION", os.Getenv("DEAD_LETTER_RETENTION"))
	if err != nil {
		return nil, err
	}
	if retention == 0 {
		retention = DefaultRetention
	}
	f := &Function{db: db, log: log}
	if cfg.Sink == "" {
		log.Warn("K_SINK is not set: replays are refused until a revision with it starts")
	} else if f.sink, err = newSink(cfg); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	f.stop, f.done = stop, make(chan struct{})
	go f.expire(ctx, retention)
	return f, nil
}

func newSink(cfg server.Config) (cloudevents.Client, error) {
	transport, err := server.SinkTransport(cfg.CACerts, cfg.InternalToken, server.OIDCTokenFile, 2)
	if err != nil {
		return nil, err
	}
	sink, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(cfg.Sink), cehttp.WithClient(http.Client{Transport: transport}))
	if err != nil {
		return nil, fmt.Errorf("K_SINK: %w", err)
	}
	return sink, nil
}

// expire deletes the dead letters older than retention now and every
// expiryEvery, until ctx ends.
func (f *Function) expire(ctx context.Context, retention time.Duration) {
	defer close(f.done)
	tick := time.NewTicker(expiryEvery)
	defer tick.Stop()
	for {
		cutoff := time.Now().Add(-retention)
		n, err := f.db.DeleteDeadLettersBefore(ctx, cutoff)
		switch {
		case err != nil && ctx.Err() == nil:
			f.log.Error("delete old dead letters", zap.Error(err))
		case n > 0:
			f.log.Info("old dead letters deleted", zap.Time("before", cutoff), zap.Int64("deleted", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops the expiry. The server calls it once it has stopped taking
// requests.
func (f *Function) Close() {
	f.stop()
	<-f.done
}

// Handle stores a dead letter, once per event and destination. Any event
// the server takes is one (it refuses what could not be stored: attributes
// with control characters, data that is not UTF-8); data that is not the
// JSON it claims is kept as base64.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		e.DataBase64 = true
		if raw, err = json.Marshal(e); err != nil {
			return nil, udaconnect.Invalid("event", "the event cannot be encoded: %v", err)
		}
	}
	d := udaconnect.DeadLetter{Source: e.Source(), EventID: e.ID(), Type: e.Type(), Event: raw}
	ext := e.Extensions()
	if code, err := types.ToInteger(ext["knativeerrorcode"]); err == nil {
		status := int(code)
		d.Status = &status
	}
	d.Destination, _ = types.ToString(ext["knativeerrordest"])
	if d, err = f.db.StoreDeadLetter(ctx, d); errors.Is(err, postgres.ErrCapped) {
		f.log.Warn("dead letter dropped: its sender has as many as it may keep", zap.String("event_id", d.EventID),
			zap.String("event_type", d.Type), zap.String("source", d.Source))
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Warn: a dead letter is an event that did not reach its destination.
	f.log.Warn("dead letter stored", zap.Int64("dead_letter_id", d.ID), zap.String("event_id", d.EventID),
		zap.String("event_type", d.Type), zap.String("source", d.Source), zap.String("destination", d.Destination), zap.Intp("status", d.Status))
	return nil, nil
}

// Routes adds the routes of dead letters to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/dead-letters", f.list)
	mux.HandleFunc("POST /api/dead-letters/{id}/replay", f.replayOne)
	mux.HandleFunc("POST /api/dead-letters/replay", f.replayAll)
}

// list answers a page of dead letters in ID order, from after (an ID) and
// up to limit; the next page is in a Link header. waiting=true leaves out
// the replayed ones (true or false, 400 otherwise).
func (f *Function) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := queryInt(q, "after", 0, 0, 1<<62)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	limit, err := queryInt(q, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		server.WriteError(w, err)
		return
	}
	waiting := q.Get("waiting") == "true"
	if v := q.Get("waiting"); v != "" && !waiting && v != "false" {
		server.WriteError(w, udaconnect.Invalid("waiting", "waiting must be true or false, not %q", v))
		return
	}
	letters, err := f.db.FindDeadLetters(r.Context(), after, int(limit), waiting)
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if len(letters) == int(limit) {
		next := url.Values{"after": {fmt.Sprint(letters[len(letters)-1].ID)}, "limit": {fmt.Sprint(limit)}}
		if waiting {
			next.Set("waiting", "true")
		}
		w.Header().Set("Link", fmt.Sprintf(`</api/dead-letters?%s>; rel="next"`, next.Encode()))
	}
	if letters == nil {
		letters = []udaconnect.DeadLetter{}
	}
	server.WriteJSON(w, http.StatusOK, letters)
}

// replayOne sends one dead letter to the Broker again and answers it,
// marked replayed.
func (f *Function) replayOne(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	if err != nil {
		server.WriteError(w, err)
		return
	}
	d, err := f.db.FindDeadLetter(r.Context(), id)
	if err == nil {
		d, err = f.replay(r.Context(), d)
	}
	if err != nil {
		f.fail(w, r, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, d)
}

// Replayed is the answer to replaying all dead letters.
type Replayed struct {
	Replayed int `json:"replayed"`
}

// replayAll sends every waiting dead letter to the Broker again, oldest
// first, and stops at the first the Broker refuses.
func (f *Function) replayAll(w http.ResponseWriter, r *http.Request) {
	var n int
	for after := int64(0); ; {
		letters, err := f.db.FindDeadLetters(r.Context(), after, maxLimit, true)
		if err != nil {
			f.fail(w, r, err)
			return
		}
		for _, d := range letters {
			if _, err := f.replay(r.Context(), d); err != nil {
				f.fail(w, r, fmt.Errorf("after %d replayed: %w", n, err))
				return
			}
			n++
		}
		if len(letters) < maxLimit {
			break
		}
		after = letters[len(letters)-1].ID
	}
	server.WriteJSON(w, http.StatusOK, Replayed{Replayed: n})
}

// replay sends d's event to the Broker without Knative's error extensions
// and marks d replayed.
func (f *Function) replay(ctx context.Context, d udaconnect.DeadLetter) (udaconnect.DeadLetter, error) {
	if f.sink == nil {
		return d, errNoSink
	}
	var e event.Event
	if err := json.Unmarshal(d.Event, &e); err != nil {
		return d, fmt.Errorf("dead letter %d: stored event: %w", d.ID, err)
	}
	for _, name := range errorExtensions {
		e.SetExtension(name, nil)
	}
	marked, err := f.db.MarkReplayed(ctx, d.ID)
	if err != nil {
		return d, err
	}
	if res := f.sink.Send(ctx, e); !cloudevents.IsACK(res) {
		if err := f.db.UnmarkReplayed(context.WithoutCancel(ctx), marked); err != nil {
			f.log.Error("unmark dead letter", zap.Int64("dead_letter_id", d.ID), zap.Error(err))
		}
		return d, udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the broker did not take dead letter %d, try again later: %v", d.ID, res)
	}
	f.log.Info("dead letter replayed", zap.Int64("dead_letter_id", d.ID), zap.String("event_id", d.EventID), zap.String("source", d.Source))
	return marked, nil
}

func (f *Function) fail(w http.ResponseWriter, r *http.Request, err error) {
	if server.ErrorStatus(err) >= 500 {
		f.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
	}
	server.WriteError(w, err)
}

// queryInt reads the query parameter name as an integer in [lo, hi], or
// fallback when it is absent.
func queryInt(q url.Values, name string, fallback, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, udaconnect.Invalid(name, "%s must be an integer from %d to %d, not %q", name, lo, hi, v)
	}
	return n, nil
}
