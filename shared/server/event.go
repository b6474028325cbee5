package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// MaxEventSize bounds the body of one CloudEvent.
const MaxEventSize = 256 << 10

// A Handler handles one CloudEvent, in the shape of the Knative Functions Go
// template: a reply event, or none, or an error.
type Handler func(ctx context.Context, e event.Event) (*event.Event, error)

// Events serves CloudEvents in binary or structured mode with h, answering
// as Knative expects: 200 with the reply event, 202 without one, and the
// status of the error otherwise. A not-found error becomes 422 here: an
// event that refers to something missing is final, not worth a retry.
func Events(h Handler, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "send CloudEvents with POST"})
			return
		}
		start := time.Now()
		e, err := ReadEvent(w, r)
		if err != nil {
			log.Warn("event refused", zap.String("error", udaconnect.ErrorMessage(err)))
			telemetry.CountEvent("", ErrorStatus(err))
			WriteError(w, err)
			return
		}
		ctx, span := telemetry.Start(telemetry.RequestContext(r), "handle "+e.Type(), e)
		defer span.End()
		fields := telemetry.EventFields(*e)
		reply, err := h(ctx, *e)
		if udaconnect.ErrorCode(err) == udaconnect.ENOTFOUND {
			err = &udaconnect.Error{Code: udaconnect.EUNKNOWN, Message: udaconnect.ErrorMessage(err)}
		}
		fields = append(fields, zap.Duration("duration", time.Since(start)))
		switch {
		case err != nil:
			status := ErrorStatus(err)
			telemetry.CountEvent(e.Type(), status)
			fields = append(fields, zap.Int("status", status), zap.Error(err))
			if status >= 500 {
				log.Error("event failed", fields...)
			} else {
				log.Warn("event refused", fields...)
			}
			WriteError(w, err)
		case reply == nil:
			telemetry.CountEvent(e.Type(), http.StatusAccepted)
			log.Info("event handled", fields...)
			w.WriteHeader(http.StatusAccepted)
		default:
			telemetry.CountEvent(e.Type(), http.StatusOK)
			telemetry.Inject(ctx, reply)
			log.Info("event handled", append(fields, zap.String("reply_type", reply.Type()))...)
			if err := cehttp.WriteResponseWriter(r.Context(), binding.ToMessage(reply), http.StatusOK, w); err != nil {
				log.Warn("write reply", zap.Error(err))
			}
		}
	})
}

// OneLine is err's message on one line, for an answer: the CloudEvents SDK
// ends each attribute's complaint with a line break.
func OneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// The media types of a CloudEvent in structured mode and of a batch.
const (
	StructuredType = "application/cloudevents+json"
	BatchType      = "application/cloudevents-batch+json"
)

// MediaType is the media type of r's body, in lower case and without its
// parameters (media types are case-insensitive), or "" when it has none.
func MediaType(r *http.Request) string {
	t, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return t
}

// ReadEvent reads one CloudEvent, binary or structured, of at most
// MaxEventSize bytes, and checks it is well formed and can be stored and
// forwarded whole (ev.Check).
func ReadEvent(w http.ResponseWriter, r *http.Request) (*event.Event, error) {
	ct := MediaType(r)
	if ct == BatchType {
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "batches are not accepted here: send one event at a time")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventSize))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, udaconnect.Errorf(udaconnect.ETOOLARGE, "the event is larger than %d bytes", MaxEventSize)
	case err != nil:
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "the event cannot be read")
	case ct == StructuredType && !utf8.Valid(body):
		// The JSON decoder would replace what is not UTF-8 unseen.
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "the event is not valid UTF-8")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "malformed CloudEvent: %s", OneLine(err))
	}
	if err := e.Validate(); err != nil {
		return nil, udaconnect.Errorf(udaconnect.EINVALID, "invalid CloudEvent: %s", OneLine(err))
	}
	if err := ev.Check(e, ev.MaxKeyBytes); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeData decodes the JSON data of e into v; the error names the field at
// fault.
func DecodeData(e event.Event, v any) error {
	ct := e.DataContentType()
	if ct != "" && ct != event.ApplicationJSON && !strings.HasSuffix(strings.SplitN(ct, ";", 2)[0], "+json") &&
		!strings.HasPrefix(ct, event.ApplicationJSON+";") && ct != event.TextJSON {
		return udaconnect.Invalid("datacontenttype", "datacontenttype must be application/json, not %q", ct)
	}
	if len(e.Data()) == 0 {
		return udaconnect.Invalid("data", "the event has no data")
	}
	return DecodeJSON(e.Data(), v)
}

// DecodeJSON decodes the JSON data into v; the error names the field at
// fault, in the words of JSON rather than Go's.
func DecodeJSON(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return udaconnect.Invalid("data", "data must be a JSON object, not a JSON %s", typeErr.Value)
	case errors.As(err, &typeErr):
		return udaconnect.Invalid(typeErr.Field, "%s must be a %s, not a JSON %s", typeErr.Field, typeName(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return udaconnect.Invalid("data", "data is not valid JSON (at byte %d)", syntaxErr.Offset)
	default:
		return udaconnect.Invalid("data", "data cannot be read: %v", err)
	}
}

// typeName says a Go type the way a JSON author would.
func typeName(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "int"):
		return "whole number"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "time.Time":
		return "RFC 3339 time string"
	default:
		return fmt.Sprint(goType)
	}
}

// NewEvent returns an event from source of type typ with data v.
func NewEvent(source, typ, id string, v any) (*event.Event, error) {
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource(source)
	e.SetTime(time.Now().UTC())
	if err := e.SetData(event.ApplicationJSON, v); err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	return &e, nil
}
