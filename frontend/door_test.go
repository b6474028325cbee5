package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/udaconnect/udaconnect/frontend/auth"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// broker is a stand-in for the broker's ingress that answers each event id
// with a chosen status (202 by default) and records what it accepted.
type broker struct {
	mu       sync.Mutex
	status   map[string]int
	accepted []string
	events   []event.Event
}

func (b *broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.status[e.ID()]; s != 0 {
		w.WriteHeader(s)
		return
	}
	b.accepted = append(b.accepted, e.ID())
	b.events = append(b.events, *e)
	w.WriteHeader(http.StatusAccepted)
}

func startDoor(t testing.TB, b *broker, settings ...string) string {
	t.Helper()
	sink := httptest.NewServer(b)
	t.Cleanup(sink.Close)
	env := map[string]string{"PERSONS_URL": "http://127.0.0.1:1", "LOCATIONS_URL": "http://127.0.0.1:1", "CONNECTIONS_URL": "http://127.0.0.1:1",
		"DEADLETTERS_URL": "http://127.0.0.1:1", "AUTH_KEY": testAuthKey, "ORGANIZER_TOKEN": testOrganizerToken}
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	h, err := newHandler(sink.URL, func(k string) string { return env[k] }, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func report(id string, personID int) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"/devices/test","type":%q,"datacontenttype":"application/json",
		"data":{"person_id":%d,"latitude":35.05,"longitude":-106.57,"creation_time":"2020-07-07T10:00:00Z"}}`, id, ev.LocationReported, personID)
}

// asOrganizer sends as the organizer.
var asOrganizer = servertest.Client{Token: testOrganizerToken}

func post(t *testing.T, url, contentType, body string) servertest.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return asOrganizer.Do(t, req)
}

const batchType = "application/cloudevents-batch+json"

func TestEventsSingle(t *testing.T) {
	b := &broker{status: map[string]int{"busy": 429, "down": 503}}
	url := startDoor(t, b) + "/events"
	for _, mode := range servertest.Modes {
		e := servertest.NewEvent(t, ev.LocationReported, "ok-"+mode, map[string]any{"person_id": 1, "latitude": 35.05, "longitude": -106.57})
		if r := asOrganizer.Send(t, url, mode, e); r.Status != http.StatusAccepted {
			t.Errorf("%s event = %d %s; want 202", mode, r.Status, r.Body)
		}
	}
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
		retryAfter              bool
	}{
		{"broker busy", "application/cloudevents+json", report("busy", 1), 429, true},
		{"broker down", "application/cloudevents+json", report("down", 1), 503, true},
		{"malformed", "application/cloudevents+json", `{"specversion": "1.0"`, 400, false},
		{"no id", "application/cloudevents+json", `{"specversion":"1.0","source":"s","type":"` + ev.LocationReported + `"}`, 400, false},
		{"bad latitude", "application/cloudevents+json", strings.Replace(report("lat", 1), "35.05", "95", 1), 400, false},
		{"unknown type", "application/cloudevents+json", strings.Replace(report("type", 1), ev.LocationReported, "com.example.other", 1), 400, false},
	} {
		r := post(t, url, tt.contentType, tt.body)
		if r.Status != tt.status || (r.Header.Get("Retry-After") != "") != tt.retryAfter {
			t.Errorf("%s = %d (Retry-After %q) %s; want %d", tt.name, r.Status, r.Header.Get("Retry-After"), r.Body, tt.status)
		}
	}
	if want := []string{"ok-binary", "ok-structured"}; !slices.Equal(b.accepted, want) {
		t.Errorf("the broker accepted %v; want %v", b.accepted, want)
	}
}

func TestEventsBatch(t *testing.T) {
	b := &broker{status: map[string]int{"bad": 400, "busy": 429, "down": 503, "gone": 404, "huge": 413}}
	url := startDoor(t, b) + "/events"
	var all []string
	for i := range 50 {
		all = append(all, report(fmt.Sprintf("r%d", i), 1))
	}
	if r := post(t, url, batchType, "["+strings.Join(all, ",")+"]"); r.Status != http.StatusAccepted {
		t.Fatalf("batch of 50 = %d %s; want 202", r.Status, r.Body)
	}
	if len(b.accepted) != 50 {
		t.Errorf("the broker accepted %d events of the batch; want 50", len(b.accepted))
	}

	for _, tt := range []struct {
		name     string
		ids      []string
		status   int
		statuses []int
	}{
		{"a refused event", []string{"fine", "bad"}, 400, []int{202, 400}},
		{"a busy broker beats a refused event", []string{"fine", "bad", "busy"}, 429, []int{202, 400, 429}},
		{"the higher of two retryable statuses", []string{"busy", "down", "fine"}, 503, []int{429, 503, 202}},
		{"a retryable status beats a higher final one", []string{"huge", "gone"}, 404, []int{413, 404}},
	} {
		var events []string
		for _, id := range tt.ids {
			events = append(events, report(id, 1))
		}
		r := post(t, url, batchType, "["+strings.Join(events, ",")+"]")
		var body BatchAnswer
		r.Decode(t, &body)
		if r.Status != tt.status || (r.Header.Get("Retry-After") != "") != ev.Retryable(tt.status) || body.Error == "" {
			t.Errorf("%s: batch = %d (Retry-After %q) %s; want %d", tt.name, r.Status, r.Header.Get("Retry-After"), r.Body, tt.status)
		}
		if len(body.Results) != len(tt.ids) {
			t.Fatalf("%s: %d results; want one per event, %d", tt.name, len(body.Results), len(tt.ids))
		}
		for i, res := range body.Results {
			if res.ID != tt.ids[i] || res.Status != tt.statuses[i] || (res.Error == "") != (res.Status == 202) {
				t.Errorf("%s: result %d = %+v; want id %q, status %d, and an error unless 202", tt.name, i, res, tt.ids[i], tt.statuses[i])
			}
		}
	}
	r := post(t, url, batchType, "["+report("fine", 1)+","+strings.Replace(report("far", 1), "-106.57", "-206.57", 1)+"]")
	var body BatchAnswer
	if r.Decode(t, &body); len(body.Results) != 2 || !strings.Contains(body.Results[1].Error, "longitude") {
		t.Errorf("batch with a bad longitude = %d %s; want the refused event's error to name longitude", r.Status, r.Body)
	}

	for _, tt := range []struct {
		name, body string
		status     int
	}{
		{"empty", "[]", 400},
		{"not an array", "{}", 400},
		{"invalid event", `[{"specversion":"1.0"}]`, 400},
		{"too many", "[" + strings.Repeat(report("x", 1)+",", MaxBatchSize) + report("x", 1) + "]", 413},
	} {
		if r := post(t, url, batchType, tt.body); r.Status != tt.status {
			t.Errorf("%s batch = %d %s; want %d", tt.name, r.Status, r.Body, tt.status)
		}
	}
}

// An attendee's events are their own: the door refuses a report for someone
// else and a registration, forwards the others under the attendee's own
// source without Knative's extensions, and limits the attendee's rate.
func TestEventsOfAnAttendee(t *testing.T) {
	persons := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{}`) // GET /token-generations: no token reissued
	}))
	t.Cleanup(persons.Close)
	b := &broker{}
	url := startDoor(t, b, "PERSONS_URL="+persons.URL, "ATTENDEE_RATE=0.001/4") + "/events"
	tokens, err := auth.NewTokens(testAuthKey, testOrganizerToken, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := tokens.Issue(1, 1)
	attendee := servertest.Client{Token: token}
	send := func(id string, data any) servertest.Response {
		e := servertest.NewEvent(t, ev.LocationReported, id, data)
		e.SetSource("/devices/phone")
		e.SetExtension("knativebrokerttl", "255")
		e.SetExtension("knativeerrorcode", "500")
		return attendee.Send(t, url, "structured", e)
	}
	own := map[string]any{"person_id": 1, "latitude": 35.05, "longitude": -106.57}
	if r := send("own", own); r.Status != http.StatusAccepted {
		t.Errorf("own report = %d %s; want 202", r.Status, r.Body)
	}
	if r := send("other", map[string]any{"person_id": 2, "latitude": 35.05, "longitude": -106.57}); r.Status != http.StatusForbidden {
		t.Errorf("report for someone else = %d %s; want 403", r.Status, r.Body)
	}
	create := servertest.NewEvent(t, ev.PersonCreate, "create", ev.PersonCreateData{FirstName: "A", LastName: "B", CompanyName: "C"})
	if r := attendee.Send(t, url, "binary", create); r.Status != http.StatusForbidden {
		t.Errorf("person.create by an attendee = %d %s; want 403", r.Status, r.Body)
	}
	if len(b.events) != 1 {
		t.Fatalf("the broker got %d events; want the attendee's own report only", len(b.events))
	}
	e := b.events[0]
	if e.Source() != "/senders/person-1/devices/phone" || e.Extensions()["partitionkey"] != "1" {
		t.Errorf("forwarded source %q, extensions %v; want /senders/person-1/devices/phone, partitionkey 1", e.Source(), e.Extensions())
	}
	for name := range e.Extensions() {
		if strings.HasPrefix(name, "knative") {
			t.Errorf("forwarded with Knative's extension %s", name)
		}
	}
	r := send("fourth", own) // the attendee's burst is 4 requests
	if r.Status != http.StatusAccepted {
		t.Errorf("4th request = %d %s; want 202 within the burst", r.Status, r.Body)
	}
	if r := send("fifth", own); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("5th request = %d (Retry-After %q); want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
	if r := asOrganizer.Send(t, url, "binary", servertest.NewEvent(t, ev.LocationReported, "org", own)); r.Status != http.StatusAccepted {
		t.Errorf("the organizer after the attendee's limit = %d; want 202: each credential has its own", r.Status)
	}
}

// The OpenAPI document and the door's routes describe the same API.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := parseAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, r := range routes {
		served = append(served, r.pattern)
	}
	served = append(served, "POST /events", "POST /api/session", "GET /api/session", "DELETE /api/session")
	slices.Sort(served)
	if documented := doc.operations(); !slices.Equal(documented, served) {
		t.Errorf("documented operations %v; the door serves %v", documented, served)
	}
	url := startDoor(t, &broker{})
	for path, want := range map[string]string{"/api/docs": "/api/persons/{id}/connection", "/api/openapi.yaml": "openapi: 3", "/": "UdaConnect"} {
		r := servertest.Request(t, "GET", url+path, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s = %d, without %q", path, r.Status, want)
		}
	}
	if r := asOrganizer.Request(t, "GET", url+"/api/persons", nil); r.Status != 503 {
		t.Errorf("GET /api/persons with persons down = %d; want 503", r.Status)
	}
}

// BenchmarkEventsBatch measures the door forwarding batches of 100 events
// from 8 devices at once to a broker that accepts each at once.
func BenchmarkEventsBatch(b *testing.B) {
	url := startDoor(b, &broker{}) + "/events"
	var events []string
	for i := range 100 {
		events = append(events, report(fmt.Sprintf("r%d", i), 1))
	}
	body := "[" + strings.Join(events, ",") + "]"
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 8
	client := &http.Client{Transport: transport}
	b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, batchType, strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Fatalf("batch = %d; want 202", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}

// A location stored through POST /api/locations goes on to the broker as
// location.recorded, as the reply to a location.reported does; when the
// broker does not take it, the client is told to send again.
func TestRESTReportPassedOn(t *testing.T) {
	locations := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id": 42, "person_id": 1, "latitude": 35.05, "longitude": -106.57, "creation_time": "2020-07-07T10:00:00Z"}`)
	}))
	t.Cleanup(locations.Close)
	b := &broker{}
	url := startDoor(t, b, "LOCATIONS_URL="+locations.URL) + "/api/locations"
	body := map[string]any{"person_id": 1, "latitude": 35.05, "longitude": -106.57}
	if r := asOrganizer.Request(t, "POST", url, body); r.Status != http.StatusCreated || !strings.Contains(string(r.Body), `"id": 42`) {
		t.Fatalf("POST /api/locations = %d %s; want 201 with the location", r.Status, r.Body)
	}
	if len(b.events) != 1 || b.events[0].Type() != ev.LocationRecorded || b.events[0].ID() != "location-42" || !strings.Contains(string(b.events[0].Data()), `"id":42`) {
		t.Fatalf("the broker got %v; want location.recorded location-42 with the location", b.events)
	}

	b.status = map[string]int{"location-42": http.StatusServiceUnavailable}
	if r := asOrganizer.Request(t, "POST", url, body); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("POST /api/locations with the broker down = %d %s (Retry-After %q); want 503 with Retry-After", r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}
