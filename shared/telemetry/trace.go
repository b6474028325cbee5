package telemetry

import (
	"context"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Events carry their trace in the CloudEvents distributed tracing
// extension: the attributes traceparent and tracestate, in the W3C Trace
// Context format. An event keeps the trace it was given from the device to
// the last function; a reply continues the trace of the event it answers.
const (
	TraceParent = "traceparent"
	TraceState  = "tracestate"
)

var propagator = propagation.TraceContext{}

// carrier reads and writes the tracing extension of an event.
type carrier struct{ e *event.Event }

func (c carrier) Get(key string) string {
	s, _ := types.ToString(c.e.Extensions()[key])
	return s
}

func (c carrier) Set(key, value string) { c.e.SetExtension(key, value) }

func (c carrier) Keys() []string { return []string{TraceParent, TraceState} }

// Start begins the span name of handling e: a child of the trace e carries,
// or else of ctx's. An event that carries no trace is given the span's, so
// the trace starts where the event enters the system.
func Start(ctx context.Context, name string, e *event.Event) (context.Context, trace.Span) {
	ctx = propagator.Extract(ctx, carrier{e})
	ctx, span := otel.Tracer("github.com/udaconnect/udaconnect").Start(ctx, name)
	Inject(ctx, e)
	return ctx, span
}

// Inject sets the trace of ctx on e unless e carries one already.
func Inject(ctx context.Context, e *event.Event) {
	if (carrier{e}).Get(TraceParent) == "" {
		propagator.Inject(ctx, carrier{e})
	}
}

// KeepTrace gives to the trace of from unless to carries one already: a
// reply continues the trace of the event it answers.
func KeepTrace(from event.Event, to *event.Event) {
	Inject(propagator.Extract(context.Background(), carrier{&from}), to)
}

// RequestContext returns the context of r with the trace of its W3C
// traceparent header, if any: the parent of an event that carries none.
func RequestContext(r *http.Request) context.Context {
	return propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
}

// EventSpan returns the trace e carries, or else ctx's: the parent of what
// is done with e.
func EventSpan(ctx context.Context, e *event.Event) trace.SpanContext {
	return trace.SpanContextFromContext(propagator.Extract(ctx, carrier{e}))
}

// TraceID returns the id of the trace e carries, or "".
func TraceID(e event.Event) string {
	sc := trace.SpanContextFromContext(propagator.Extract(context.Background(), carrier{&e}))
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

// EventFields are the fixed log fields of an event, then extra: its id,
// type and source, and the id of its trace, so that one report can be
// followed through the logs of every process it passes.
func EventFields(e event.Event, extra ...zap.Field) []zap.Field {
	fields := append(make([]zap.Field, 0, 4+len(extra)),
		zap.String("event_id", e.ID()), zap.String("event_type", e.Type()), zap.String("source", e.Source()))
	if id := TraceID(e); id != "" {
		fields = append(fields, zap.String("trace_id", id))
	}
	return append(fields, extra...)
}
