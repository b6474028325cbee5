package broker

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// Knative's extensions on a dead-lettered event.
const (
	ErrorCodeExtension = "knativeerrorcode"
	ErrorDestExtension = "knativeerrordest"
	ErrorDataExtension = "knativeerrordata"
	maxErrorData       = 1024 // characters of base64, as in Knative
)

// withError returns a copy of e carrying why its delivery to dest failed:
// the last status, the destination and the base64 of the answer's body.
func withError(e event.Event, dest string, r Result) event.Event {
	e = e.Clone()
	data := base64.StdEncoding.EncodeToString(r.Body)
	if len(data) > maxErrorData {
		data = data[:maxErrorData]
	}
	e.SetExtension(ErrorCodeExtension, r.Status)
	e.SetExtension(ErrorDestExtension, dest)
	e.SetExtension(ErrorDataExtension, data)
	return e
}

// Store is the built-in dead-letter sink: POST takes a CloudEvent, GET
// lists the events received, oldest first, as structured JSON.
type Store struct {
	mu     sync.Mutex
	events []event.Event
	limit  int
	log    *zap.Logger
}

// NewStore returns a Store that keeps the last limit events.
func NewStore(limit int, log *zap.Logger) *Store {
	return &Store{limit: limit, log: log}
}

// Events returns the events received so far.
func (s *Store) Events() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]event.Event{}, s.events...)
}

func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.Events())
	case http.MethodPost:
		e, status, err := readEvent(w, r)
		if err != nil {
			writeError(w, status, err)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, *e)
		if len(s.events) > s.limit {
			s.events = s.events[len(s.events)-s.limit:]
		}
		s.mu.Unlock()
		s.log.Warn("dead letter", telemetry.EventFields(*e,
			zap.Any("status", e.Extensions()[ErrorCodeExtension]),
			zap.Any("destination", e.Extensions()[ErrorDestExtension]))...)
		w.WriteHeader(http.StatusAccepted)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, errMethod)
	}
}
