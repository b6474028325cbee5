package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/udaconnect/udaconnect/shared/secret"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

const (
	// TTLExtension counts how many more times an event may pass the
	// broker; replies inherit it, which breaks reply loops.
	TTLExtension = "knativebrokerttl"
	defaultTTL   = 255
	maxBodyBytes = 1 << 20
)

var (
	errNotEvent  = errors.New("not a CloudEvent: send ce-* headers (binary mode) or Content-Type application/cloudevents+json (structured mode)")
	errBatch     = errors.New("batches are not accepted by the broker: send one CloudEvent per request")
	errTooLarge  = fmt.Errorf("body exceeds %d bytes", maxBodyBytes)
	errMethod    = errors.New("method not allowed")
	errQueueFull = errors.New("broker queue is full: retry later")
	errClosed    = errors.New("broker is shutting down")
	errNotStored = errors.New("event not stored: retry later")
	errTTL       = errors.New("knativebrokerttl exhausted: event dropped to break a reply loop")
	errStranger  = errors.New("events are taken from the door and the functions only: no valid credential")
)

// statuses maps the ingress's errors to HTTP statuses; any other is a 400.
var statuses = map[error]int{
	errBatch:     http.StatusUnsupportedMediaType,
	errTooLarge:  http.StatusRequestEntityTooLarge,
	errQueueFull: http.StatusTooManyRequests,
	errClosed:    http.StatusServiceUnavailable,
	errNotStored: http.StatusServiceUnavailable,
}

func statusOf(err error) int {
	for e, status := range statuses {
		if errors.Is(err, e) {
			return status
		}
	}
	return http.StatusBadRequest
}

// Handler serves each broker's ingress at /<namespace>/<name> and GET /healthz.
func Handler(brokers ...*Broker) http.Handler {
	byPath := map[string]*Broker{}
	for _, b := range brokers {
		byPath[b.Namespace+"/"+b.Name] = b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{namespace}/{name}", func(w http.ResponseWriter, r *http.Request) {
		b, ok := byPath[r.PathValue("namespace")+"/"+r.PathValue("name")]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("no broker at %s", r.URL.Path))
			return
		}
		b.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no broker at %s", r.URL.Path))
	})
	return mux
}

// ServeHTTP is the broker's ingress: one CloudEvent per POST, 202 once
// stored; with a secret, only from those who hold it (401 otherwise).
func (b *Broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b.secret != nil && !b.secret.Is(secret.BearerToken(r)) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		writeError(w, http.StatusUnauthorized, errStranger)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, errMethod)
		return
	}
	e, status, err := readEvent(w, r)
	if err != nil {
		b.log.Info("event refused", zap.Int("status", status), zap.Error(err))
		writeError(w, status, err)
		return
	}
	if err := b.publish(r.Context(), *e, false); err != nil {
		status = statusOf(err)
		if status == http.StatusTooManyRequests {
			telemetry.Overloaded("broker")
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		telemetry.CountEvent(e.Type(), status)
		b.log.Info("event refused", telemetry.EventFields(*e, zap.Int("status", status), zap.Error(err))...)
		writeError(w, status, err)
		return
	}
	telemetry.CountEvent(e.Type(), http.StatusAccepted)
	b.log.Debug("event accepted", telemetry.EventFields(*e)...)
	w.WriteHeader(http.StatusAccepted)
}

// publish stores e in the broker's stream under Knative's TTL rules: an
// event without TTL gets 255, one with a TTL is decremented, and one at 0
// is refused. Replies are still taken while a shutdown drains the
// deliveries; they wait in the stream for the next start.
func (b *Broker) publish(ctx context.Context, e event.Event, reply bool) error {
	e = e.Clone() // a retried publish must not decrement the caller's TTL
	ttl := int32(defaultTTL)
	if v, ok := e.Extensions()[TTLExtension]; ok {
		if n, err := types.ToInteger(v); err == nil {
			ttl = max(n-1, 0)
		}
	}
	if ttl <= 0 {
		return errTTL
	}
	e.SetExtension(TTLExtension, ttl)
	if b.closed.Load() && !reply {
		return errClosed
	}
	if !b.wanted(e) {
		// Accepted and dropped, as Knative's broker does with an event no
		// Trigger wants: it must not take a place in the stream.
		b.log.Debug("no trigger wants the event", telemetry.EventFields(e)...)
		return nil
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	subject := b.subject + ".ingress"
	if reply {
		subject = b.subject + ".reply"
	}
	if _, err := b.js.Publish(ctx, subject, data); err != nil {
		if isFull(err) {
			return errQueueFull
		}
		return fmt.Errorf("%w: %w", errNotStored, err)
	}
	return nil
}

// readEvent reads one CloudEvent from a request and says which status
// refuses it when it is not one.
func readEvent(w http.ResponseWriter, r *http.Request) (*event.Event, int, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = errTooLarge
	}
	if err == nil {
		var e *event.Event
		if e, err = decodeEvent(r.Context(), r.Header, body); err == nil {
			return e, http.StatusAccepted, nil
		}
	}
	return nil, statusOf(err), err
}

// decodeEvent parses a binary or structured CloudEvent and validates it.
func decodeEvent(ctx context.Context, h http.Header, body []byte) (*event.Event, error) {
	msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
	switch msg.ReadEncoding() {
	case binding.EncodingBatch:
		return nil, errBatch
	case binding.EncodingUnknown:
		return nil, errNotEvent
	}
	e, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("malformed CloudEvent: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, fmt.Errorf("invalid CloudEvent: %w", err)
	}
	return e, nil
}

func jsonError(err error) []byte {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	return b
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(jsonError(err), '\n'))
}

// wanted reports whether a Trigger of b wants e.
func (b *Broker) wanted(e event.Event) bool {
	for _, t := range b.triggers {
		if t.filter(e) {
			return true
		}
	}
	return false
}
