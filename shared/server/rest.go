package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// MaxRequestSize bounds the body of a REST request.
const MaxRequestSize = 64 << 10

// PostEvent serves a REST POST as an event: its JSON body becomes the data
// of an event of type typ from source, handled by h; the reply's data is the
// answer, with 201. An Idempotency-Key header becomes the event's id, so a
// client that retries a POST is stored once; as in the IETF Idempotency-Key
// draft, a key sent again while its first request is still being handled
// here is a 409, and one sent again with another body a 422 (see
// ev.Fingerprint).
func PostEvent(h Handler, source, typ string, log *zap.Logger) http.HandlerFunc {
	var inFlight sync.Map // of Idempotency-Keys
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			WriteError(w, udaconnect.Errorf(udaconnect.ETOOLARGE, "the request body is larger than %d bytes", MaxRequestSize))
			return
		case err != nil:
			WriteError(w, udaconnect.Errorf(udaconnect.EINVALID, "the request body cannot be read"))
			return
		case !utf8.Valid(body):
			WriteError(w, udaconnect.Invalid("body", "the request body is not valid UTF-8"))
			return
		case !json.Valid(body):
			WriteError(w, udaconnect.Invalid("body", "the request body must be a JSON object"))
			return
		}
		id := r.Header.Get("Idempotency-Key")
		if err := checkIdempotencyKey(id); err != nil {
			WriteError(w, err)
			return
		}
		if id == "" {
			id = uuid.NewString()
		} else if _, busy := inFlight.LoadOrStore(id, struct{}{}); busy {
			WriteError(w, errInFlight)
			return
		} else {
			defer inFlight.Delete(id)
		}
		e, err := NewEvent(source, typ, id, json.RawMessage(body))
		if err != nil {
			WriteError(w, err)
			return
		}
		reply, err := h(r.Context(), *e)
		if err != nil {
			if ErrorStatus(err) >= 500 {
				log.Error("request failed", telemetry.EventFields(*e, zap.Error(err))...)
			}
			WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(reply.Data())
	}
}

var errInFlight = udaconnect.Errorf(udaconnect.EINFLIGHT, "the first request with this Idempotency-Key is still being handled, try again later")

// checkIdempotencyKey refuses a key that could not be an event's id.
func checkIdempotencyKey(key string) error {
	if len(key) > ev.MaxKeyBytes {
		return udaconnect.Invalid("Idempotency-Key", "Idempotency-Key must be at most %d bytes", ev.MaxKeyBytes)
	}
	return udaconnect.CheckText("Idempotency-Key", key)
}

// PathID reads the path value name as a positive integer ID.
func PathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, udaconnect.Invalid(name, "%s must be a positive integer, not %q", name, r.PathValue(name))
	}
	return id, nil
}

// Get serves a GET whose answer is the JSON of what f returns.
func Get[T any](f func(r *http.Request) (T, error), log *zap.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r)
		if err != nil {
			if ErrorStatus(err) >= 500 {
				log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
			}
			WriteError(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, v)
	}
}

// GetByID serves a GET of the thing whose ID is the path value id.
func GetByID[T any](find func(ctx context.Context, id int64) (T, error), log *zap.Logger) http.HandlerFunc {
	return Get(func(r *http.Request) (T, error) {
		id, err := PathID(r, "id")
		if err != nil {
			var zero T
			return zero, err
		}
		return find(r.Context(), id)
	}, log)
}
