package otlp_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/shared/telemetry/otlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector is an OTLP/HTTP endpoint that decodes what it is sent with the
// protocol's own request type.
type collector struct {
	requests chan *coltracepb.ExportTraceServiceRequest
	headers  chan http.Header
	status   int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	c.headers <- r.Header
	c.requests <- &req
	w.WriteHeader(c.status)
}

// Spans reach the collector as OTLP does: the resource's service.name, the
// scope, ids, parent, kind, status, attributes and events, over
// OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces with OTEL_EXPORTER_OTLP_HEADERS.
func TestExporter(t *testing.T) {
	c := &collector{requests: make(chan *coltracepb.ExportTraceServiceRequest, 1), headers: make(chan http.Header, 1), status: http.StatusOK}
	srv := httptest.NewServer(c)
	defer srv.Close()
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=s%20ecret, x-tenant=a",
	}
	exp, err := otlp.NewExporter(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "persons"))),
		sdktrace.WithSyncer(exp),
	)
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: [16]byte{0x4b, 0xf9}, SpanID: [8]byte{0x00, 0xf0}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	_, span := tp.Tracer("github.com/udaconnect/udaconnect").Start(ctx, "handle", trace.WithSpanKind(trace.SpanKindServer))
	span.SetAttributes(attribute.String("event_type", "io.udaconnect.person.create"), attribute.Int64("n", 3),
		attribute.StringSlice("tags", []string{"a", "b"}), attribute.Bool("ok", true))
	span.AddEvent("stored", trace.WithAttributes(attribute.Float64("ms", 1.5)))
	span.SetStatus(codes.Error, "database down")
	span.End()

	if h := <-c.headers; h.Get("api-key") != "s ecret" || h.Get("x-tenant") != "a" || h.Get("Content-Type") != "application/x-protobuf" {
		t.Errorf("headers %v; want api-key, x-tenant and the protobuf content type", h)
	}
	req := <-c.requests
	if len(req.ResourceSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans) != 1 || len(req.ResourceSpans[0].ScopeSpans[0].Spans) != 1 {
		t.Fatalf("request %v; want one resource, scope and span", req)
	}
	rs := req.ResourceSpans[0]
	if a := rs.Resource.Attributes; len(a) != 1 || a[0].Key != "service.name" || a[0].Value.GetStringValue() != "persons" {
		t.Errorf("resource %v; want service.name persons", a)
	}
	if s := rs.ScopeSpans[0].Scope.Name; s != "github.com/udaconnect/udaconnect" {
		t.Errorf("scope %q", s)
	}
	s := rs.ScopeSpans[0].Spans[0]
	sc := span.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	psid := parent.SpanID()
	switch {
	case s.Name != "handle" || s.Kind != tracepb.Span_SPAN_KIND_SERVER:
		t.Errorf("span %q kind %v; want handle, server", s.Name, s.Kind)
	case hex.EncodeToString(s.TraceId) != tid.String() || hex.EncodeToString(s.SpanId) != sid.String() || hex.EncodeToString(s.ParentSpanId) != psid.String():
		t.Errorf("ids %x %x parent %x; want %s %s %s", s.TraceId, s.SpanId, s.ParentSpanId, tid, sid, psid)
	case s.Flags != 0x301:
		t.Errorf("flags %#x; want sampled with a remote parent (0x301)", s.Flags)
	case s.Status.Code != tracepb.Status_STATUS_CODE_ERROR || s.Status.Message != "database down":
		t.Errorf("status %v", s.Status)
	case s.StartTimeUnixNano == 0 || s.EndTimeUnixNano < s.StartTimeUnixNano:
		t.Errorf("times %d..%d", s.StartTimeUnixNano, s.EndTimeUnixNano)
	case len(s.Events) != 1 || s.Events[0].Name != "stored" || s.Events[0].Attributes[0].Value.GetDoubleValue() != 1.5:
		t.Errorf("events %v", s.Events)
	}
	got := map[string]string{}
	for _, a := range s.Attributes {
		got[a.Key] = a.Value.String()
	}
	for key, want := range map[string]string{"event_type": "io.udaconnect.person.create", "n": "3", "tags": `"b"`, "ok": "true"} {
		if !strings.Contains(got[key], want) {
			t.Errorf("attribute %s = %s; want %s in it", key, got[key], want)
		}
	}

	// A refused batch is an error for the SDK to report.
	c.status = http.StatusServiceUnavailable
	if err := exp.ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{span.(sdktrace.ReadOnlySpan)}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("ExportSpans to a collector answering 503 = %v; want the status", err)
	}
	<-c.headers
	<-c.requests
}

// A bad endpoint, header or timeout stops the process at start with the
// variable's name.
func TestNewExporter(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom"}, ""},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "grpc://collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, "OTEL_EXPORTER_OTLP_TIMEOUT"},
	} {
		_, err := otlp.NewExporter(func(k string) string { return tt.env[k] })
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%v: %v", tt.env, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v: error %v; want one naming %s", tt.env, err, tt.want)
		}
	}
}
