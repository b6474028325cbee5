package telemetry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap/zapcore"
)

const (
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceParent = "00-" + traceID + "-00f067aa0ba902b7-01"
)

// scrape returns what /metrics answers.
func scrape() string {
	rec := httptest.NewRecorder()
	promhttp.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func newEvent(traceparent string) event.Event {
	e := event.New()
	e.SetID("1")
	e.SetType("io.udaconnect.location.reported")
	e.SetSource("/devices/1")
	if traceparent != "" {
		e.SetExtension(telemetry.TraceParent, traceparent)
	}
	return e
}

// Requests are counted by the pattern of their route, not their path, and
// by the status answered.
func TestMiddleware(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "0" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write([]byte("ok"))
	})
	srv := httptest.NewServer(telemetry.Middleware(mux))
	defer srv.Close()
	for _, path := range []string{"/things/1", "/things/2", "/things/0", "/nowhere"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	want := `
		udaconnect_http_request_duration_seconds_count{route="GET /things/{id}",status="200"} 2
		udaconnect_http_request_duration_seconds_count{route="GET /things/{id}",status="404"} 1
		udaconnect_http_request_duration_seconds_count{route="none",status="404"} 1
	`
	got := scrape()
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(got, strings.TrimSpace(line)) {
			t.Errorf("metrics lack %s; got:\n%s", strings.TrimSpace(line), got)
		}
	}
}

// Events outside the catalogue count as "other": senders cannot make up
// labels.
func TestCountEvent(t *testing.T) {
	telemetry.CountEvent("io.udaconnect.location.reported", http.StatusAccepted)
	telemetry.CountEvent("made.up", http.StatusBadRequest)
	telemetry.CountEvent("io.udaconnect.location.reported", http.StatusServiceUnavailable)
	got := scrape()
	for _, want := range []string{
		`udaconnect_events_total{outcome="ok",type="io.udaconnect.location.reported"} 1`,
		`udaconnect_events_total{outcome="refused",type="other"} 1`,
		`udaconnect_events_total{outcome="retry",type="io.udaconnect.location.reported"} 1`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %s; got:\n%s", want, got)
		}
	}
}

func TestEventFields(t *testing.T) {
	for _, tt := range []struct {
		traceparent, want string
	}{
		{traceParent, traceID},
		{"", ""},
		{"not a traceparent", ""},
	} {
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range telemetry.EventFields(newEvent(tt.traceparent)) {
			f.AddTo(enc)
		}
		if got, _ := enc.Fields["trace_id"].(string); got != tt.want || enc.Fields["event_id"] != "1" {
			t.Errorf("EventFields(traceparent %q) = %v; want trace_id %q and event_id 1", tt.traceparent, enc.Fields, tt.want)
		}
	}
}

// An event entering without a trace is given one; one with a trace keeps
// it, and a reply continues it.
func TestStart(t *testing.T) {
	otel.SetTracerProvider(sdktrace.NewTracerProvider())
	e := newEvent("")
	_, span := telemetry.Start(context.Background(), "forward", &e)
	span.End()
	if id := telemetry.TraceID(e); len(id) != 32 {
		t.Fatalf("an event without a trace was given %q; want a trace id", id)
	}

	e = newEvent(traceParent)
	ctx, span := telemetry.Start(context.Background(), "handle", &e)
	defer span.End()
	if tp := e.Extensions()[telemetry.TraceParent]; tp != traceParent {
		t.Errorf("Start changed the event's traceparent to %v; want it kept", tp)
	}
	reply := newEvent("")
	telemetry.Inject(ctx, &reply)
	if id := telemetry.TraceID(reply); id != traceID {
		t.Errorf("the reply's trace = %q; want %s", id, traceID)
	}

	kept := newEvent("")
	telemetry.KeepTrace(e, &kept)
	if tp := kept.Extensions()[telemetry.TraceParent]; tp != traceParent {
		t.Errorf("KeepTrace gave %v; want %s", tp, traceParent)
	}
}
