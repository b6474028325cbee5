package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// Live streams end when their credential is revoked or their person
// deleted, within 5 s at every door: while a door has a stream open it
// reads the token generations every StreamCheck (not every 20 s) and ends
// the streams they condemn. A stream also ends after its life
// (STREAM_MAX_LIFE, an hour by default): a client reconnects with
// Last-Event-ID, as an EventSource does by itself, and its credential is
// checked again.
const (
	StreamCheck           = 2 * time.Second
	DefaultStreamMaxLife  = time.Hour
	streamRefreshDeadline = 2 * time.Second // StreamCheck + this stays within 5 s
)

// streams are the live streams open at this door.
type streams struct {
	gens    *auth.Generations
	maxLife time.Duration
	log     *zap.Logger

	mu       sync.Mutex
	open     map[*openStream]struct{}
	watching bool // a watch runs while streams are open
}

type openStream struct {
	principal auth.Principal
	person    string // the subject of the person whose meetings it streams
	end       context.CancelFunc
}

// serve serves the stream r asks for with next until its life ends, its
// credential is revoked or its person deleted.
func (s *streams) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := server.PathID(r, "id")
		if err != nil {
			writeError(w, err)
			return
		}
		ctx, end := context.WithTimeout(r.Context(), s.maxLife)
		defer end()
		o := &openStream{principal: principalOf(r.Context()), person: auth.Principal{Role: auth.Attendee, PersonID: id}.Subject(), end: end}
		s.add(o)
		defer s.remove(o)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *streams) add(o *openStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[o] = struct{}{}
	if !s.watching {
		s.watching = true
		go s.watch()
	}
}

func (s *streams) remove(o *openStream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.open, o)
}

// watch ends, every StreamCheck, the streams that the token generations
// condemn, until no stream is open.
func (s *streams) watch() {
	tick := time.NewTicker(StreamCheck)
	defer tick.Stop()
	for range tick.C {
		s.mu.Lock()
		if len(s.open) == 0 {
			s.watching = false
			s.mu.Unlock()
			return
		}
		open := make([]*openStream, 0, len(s.open))
		for o := range s.open {
			open = append(open, o)
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), streamRefreshDeadline)
		err := s.gens.Refresh(ctx)
		cancel()
		if err != nil {
			s.log.Error("check the live streams' credentials", zap.Error(err))
			continue
		}
		for _, o := range open {
			if s.gens.Revoked(o.principal) || s.gens.Current(o.person) == auth.Deleted {
				o.end()
			}
		}
	}
}
