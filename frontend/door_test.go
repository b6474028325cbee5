package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
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
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap/zaptest"
)

// broker is a stand-in for the broker's ingress. It answers each event
// with a chosen status by id (202 by default), a group of reports with the
// status of the first report in it that has one, and records what it
// accepted (the reports of a group by their events' ids) and what it
// answered each report. While hold is set, each event waits for it closed.
type broker struct {
	mu       sync.Mutex
	status   map[string]int
	hold     chan struct{}
	accepted []string
	events   []event.Event
	answered map[string]int // by report id
	reports  map[string]ev.ReportData
}

func (b *broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	if b.hold != nil {
		<-b.hold
	}
	ids := []string{e.ID()}
	var group ev.LocationsReportedData
	if e.Type() == ev.LocationsReported {
		if err := e.DataAs(&group); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		ids = ids[:0]
		for _, r := range group.Reports {
			ids = append(ids, r.ID)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	status := http.StatusAccepted
	for _, id := range ids {
		if s := b.status[id]; s != 0 {
			status = s
			break
		}
	}
	if b.answered == nil {
		b.answered, b.reports = map[string]int{}, map[string]ev.ReportData{}
	}
	for _, r := range group.Reports {
		b.answered[r.ID], b.reports[r.ID] = status, r
	}
	if status != http.StatusAccepted {
		w.WriteHeader(status)
		return
	}
	b.accepted = append(b.accepted, ids...)
	b.events = append(b.events, *e)
	w.WriteHeader(http.StatusAccepted)
}

// answer is the status the broker gave the group of the report id.
func (b *broker) answer(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.answered[id]
}

func startDoor(t testing.TB, b *broker, settings ...string) string {
	t.Helper()
	sink := httptest.NewServer(b)
	t.Cleanup(sink.Close)
	env := map[string]string{"PERSONS_URL": "http://127.0.0.1:1", "LOCATIONS_URL": "http://127.0.0.1:1", "CONNECTIONS_URL": "http://127.0.0.1:1",
		"DEADLETTERS_URL": "http://127.0.0.1:1", "AUTH_KEY": testAuthKey, "ORGANIZER_TOKEN": testOrganizerToken,
		"INTERNAL_TOKEN": servertest.InternalToken}
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

// quietFunctions are the settings of a door whose persons and locations
// know of no reissued token and of no report before.
func quietFunctions(t *testing.T) []string {
	functions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token-generations" {
			fmt.Fprint(w, `{}`) // no token reissued
			return
		}
		fmt.Fprint(w, `[]`) // GET /api/persons/1/locations: no report before
	}))
	t.Cleanup(functions.Close)
	return []string{"PERSONS_URL=" + functions.URL, "LOCATIONS_URL=" + functions.URL}
}

// attendeeOne sends as the attendee of person 1.
func attendeeOne(t *testing.T) servertest.Client {
	tokens, err := auth.NewTokens(testAuthKey, testOrganizerToken, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	token, _ := tokens.Issue(1, 1)
	return servertest.Client{Token: token}
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
	var many strings.Builder // extensions that would not fit in a server's headers beside the system's own
	for i := range 40 {
		fmt.Fprintf(&many, `"x%d":%q,`, i, strings.Repeat("v", 1000))
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
		{"extensions of 40 KB", "application/cloudevents+json", strings.Replace(report("many", 1), `"data"`, many.String()+`"data"`, 1), 413, false},
		{"lone surrogate in the id", "application/cloudevents+json", strings.Replace(report("lone", 1), "lone", `lone\ud800`, 1), 400, false},
		{"not UTF-8, the type in capitals", "Application/CloudEvents+JSON", strings.Replace(report("bad", 1), "bad", "bad\xff", 1), 400, false},
	} {
		r := post(t, url, tt.contentType, tt.body)
		if r.Status != tt.status || (r.Header.Get("Retry-After") != "") != tt.retryAfter || strings.Contains(string(r.Body), `\n`) {
			t.Errorf("%s = %d (Retry-After %q) %s; want %d, its message on one line", tt.name, r.Status, r.Header.Get("Retry-After"), r.Body, tt.status)
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
	// A media type is case-insensitive, and may carry parameters.
	if r := post(t, url, "Application/CloudEvents-Batch+JSON; charset=utf-8", "["+report("cased", 1)+"]"); r.Status != http.StatusAccepted {
		t.Errorf("batch as Application/CloudEvents-Batch+JSON = %d %s; want 202", r.Status, r.Body)
	}

	// The reports of a batch travel in groups, each answered as its group.
	for _, tt := range []struct {
		name string
		ids  []string
	}{
		{"a refused group", []string{"fine", "bad"}},
		{"a busy broker", []string{"fine", "busy"}},
		{"two retryable statuses", []string{"busy", "down", "fine"}},
		{"a retryable and a final status", []string{"huge", "gone"}},
	} {
		var events []string
		for _, id := range tt.ids {
			events = append(events, report(id, 1))
		}
		r := post(t, url, batchType, "["+strings.Join(events, ",")+"]")
		var body BatchAnswer
		r.Decode(t, &body)
		if len(body.Results) != len(tt.ids) {
			t.Fatalf("%s: %d results; want one per event, %d", tt.name, len(body.Results), len(tt.ids))
		}
		worst := http.StatusAccepted
		for i, res := range body.Results {
			want := b.answer(tt.ids[i])
			if res.ID != tt.ids[i] || res.Status != want || (res.Error == "") != (res.Status == 202) {
				t.Errorf("%s: result %d = %+v; want id %q, status %d (its group's), and an error unless 202", tt.name, i, res, tt.ids[i], want)
			}
			if worse(res.Status, worst) {
				worst = res.Status
			}
		}
		if worst == http.StatusAccepted || r.Status != worst || (r.Header.Get("Retry-After") != "") != ev.Retryable(worst) || body.Error == "" {
			t.Errorf("%s: batch = %d (Retry-After %q) %s; want %d, the worst of its events", tt.name, r.Status, r.Header.Get("Retry-After"), r.Body, worst)
		}
	}
	// What the door refuses itself fails no report beside it.
	b.status = nil
	r := post(t, url, batchType, "["+report("kept", 1)+","+strings.Replace(report("far", 1), "-106.57", "-206.57", 1)+"]")
	var mixed BatchAnswer
	if r.Decode(t, &mixed); len(mixed.Results) != 2 || mixed.Results[0].Status != 202 || mixed.Results[1].Status != 400 ||
		!strings.Contains(mixed.Results[1].Error, "longitude") {
		t.Errorf("batch with a bad longitude = %d %s; want the good report accepted, the refused one's error naming longitude", r.Status, r.Body)
	}

	for _, tt := range []struct {
		name, body string
		status     int
	}{
		{"empty", "[]", 400},
		{"not an array", "{}", 400},
		{"invalid event", `[{"specversion":"1.0"}]`, 400},
		{"an event without an id", `[{"specversion":"1.0","source":"/s","type":"t"}]`, 400},
		{"not an event", `[{}]`, 400},
		{"too many", "[" + strings.Repeat(report("x", 1)+",", MaxBatchSize) + report("x", 1) + "]", 413},
	} {
		if r := post(t, url, batchType, tt.body); r.Status != tt.status || strings.Contains(string(r.Body), `\n`) {
			t.Errorf("%s batch = %d %s; want %d, its message on one line", tt.name, r.Status, r.Body, tt.status)
		}
	}
}

// An attendee's events are their own: the door refuses a report for someone
// else and a registration, forwards the others under the attendee's own
// source without Knative's extensions, and limits the attendee's rate.
func TestEventsOfAnAttendee(t *testing.T) {
	b := &broker{}
	url := startDoor(t, b, append(quietFunctions(t), "ATTENDEE_RATE=0.001/4")...) + "/events"
	attendee := attendeeOne(t)
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
	if !slices.Equal(b.accepted, []string{"own"}) {
		t.Fatalf("the broker accepted %v; want the attendee's own report only", b.accepted)
	}
	e := b.events[0]
	if src := b.reports["own"].Source; e.Type() != ev.LocationsReported || src != "/senders/person-1/devices/phone" || e.Extensions()["partitionkey"] != "1" {
		t.Errorf("forwarded a %s with the report from %q, extensions %v; want a group from /senders/person-1/devices/phone, partitionkey 1", e.Type(), src, e.Extensions())
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

// An attendee's reports cannot spread over the venue at once, to learn whom
// a grid of fake positions "met": not dated back beside the previous one,
// not a chain of steps each within a fix's error, not sent all at once to
// be checked against the same previous report.
func TestAttendeeReportsDoNotSpread(t *testing.T) {
	url := startDoor(t, &broker{}, quietFunctions(t)...) + "/events"
	attendee := attendeeOne(t)
	now := time.Now().UTC()
	at := func(id string, metresNorth, metresEast float64, when time.Time) event.Event {
		return servertest.NewEvent(t, ev.LocationReported, id, map[string]any{"person_id": 1,
			"latitude": 35.06 + metresNorth/111_195, "longitude": -106.57 + metresEast/91_100, "creation_time": when.Format(time.RFC3339Nano)})
	}
	if r := attendee.Send(t, url, "binary", at("base", 0, 0, now)); r.Status != http.StatusAccepted {
		t.Fatalf("the first report = %d %s; want 202", r.Status, r.Body)
	}
	accepted := func(events ...event.Event) (n int) { // of a batch
		body, _ := json.Marshal(events)
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", batchType)
		r := attendee.Do(t, req)
		if r.Status == http.StatusAccepted {
			return len(events)
		}
		var answer BatchAnswer
		r.Decode(t, &answer)
		for _, res := range answer.Results {
			if res.Status == http.StatusAccepted {
				n++
			}
		}
		return n
	}
	var grid []event.Event // around the first report, which stays where it is
	for i := range 9 {
		if i != 4 {
			grid = append(grid, at(fmt.Sprint("grid-", i), float64(i%3-1)*1000, float64(i/3-1)*1000, now.Add(-9*time.Minute)))
		}
	}
	if n := accepted(grid...); n != 0 {
		t.Errorf("a grid 1 km apart dated 9 minutes back: %d of 8 taken; want none", n)
	}
	var chain []event.Event
	for i := range 10 {
		chain = append(chain, at(fmt.Sprint("chain-", i), float64(i+1)*25, 0, now.Add(time.Duration(i+1)*time.Microsecond)))
	}
	if n := accepted(chain...); n != 1 {
		t.Errorf("a chain of steps of 25 m a microsecond apart: %d of 10 taken; want the first alone", n)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for i := range 20 {
		angle := float64(i) * 2 * math.Pi / 20
		e := at(fmt.Sprint("ring-", i), 400*math.Cos(angle), 400*math.Sin(angle), now.Add(45*time.Second))
		wg.Go(func() {
			if r := attendee.Send(t, url, "binary", e); r.Status == http.StatusAccepted {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("a ring of 20 reports 400 m around, sent at once: %d taken; want one", taken)
	}
}

// The OpenAPI document and the door's routes describe the same API.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, err := parseAPIDoc()
	if err != nil {
		t.Fatal(err)
	}
	ops := served()
	slices.Sort(ops)
	if documented := doc.operations(); !slices.Equal(documented, ops) {
		t.Errorf("documented operations %v; the door serves %v", documented, ops)
	}
	url := startDoor(t, &broker{})
	for path, want := range map[string]string{"/api/docs": "/api/persons/{id}/connection", "/api/openapi.yaml": "openapi: 3", "/": "UdaConnect"} {
		r := servertest.Client{}.Request(t, "GET", url+path, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s = %d, without %q", path, r.Status, want)
		}
	}
	if r := asOrganizer.Request(t, "GET", url+"/api/persons", nil); r.Status != 503 {
		t.Errorf("GET /api/persons with persons down = %d; want 503", r.Status)
	}
}

// An attendee's report at POST /api/locations that the door cannot read is
// refused as the locations function refuses the organizer's: 400 naming
// the field, in JSON's words, not Go's.
func TestUnreadableReportOfAnAttendee(t *testing.T) {
	url := startDoor(t, &broker{}, quietFunctions(t)...) + "/api/locations"
	attendee := attendeeOne(t)
	for _, tt := range []struct{ body, field, says string }{
		{`{"person_id":"1","latitude":1,"longitude":1}`, "person_id", "person_id must be a whole number, not a JSON string"},
		{`{"person_id":1.5,"latitude":1,"longitude":1}`, "person_id", "person_id must be a whole number, not a JSON number 1.5"},
		{`{"person_id":1,"latitude":1,"longitude":1,"creation_time":5}`, "creation_time", "creation_time must be a string"},
		{`[]`, "data", "must be a JSON object, not a JSON array"},
		{`nul`, "data", "not valid JSON"},
	} {
		r := attendee.Request(t, "POST", url, []byte(tt.body))
		var body server.ErrorBody
		if r.Decode(t, &body); r.Status != http.StatusBadRequest || body.Field != tt.field || !strings.Contains(body.Error, tt.says) {
			t.Errorf("%s = %d %s; want 400 naming %s: %q", tt.body, r.Status, r.Body, tt.field, tt.says)
		}
	}
}

// A path the API does not serve, or a method it does not take there, is
// answered in JSON as every other error, a 405 with the methods it takes.
func TestUnknownRoutes(t *testing.T) {
	url := startDoor(t, &broker{})
	for _, tt := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/api/nothing", 404, ""},
		{"GET", "/api/persons/1/", 404, ""},
		{"PUT", "/api/persons", 405, "GET, HEAD, POST"},
		{"PATCH", "/api/persons/1", 405, "GET, HEAD, DELETE"},
		{"DELETE", "/api/locations/1", 405, "GET, HEAD"},
		{"GET", "/events", 405, "POST"},
		{"PUT", "/api/session", 405, "GET, HEAD, POST, DELETE"},
	} {
		r := asOrganizer.Request(t, tt.method, url+tt.path, nil)
		var body server.ErrorBody
		if json.Unmarshal(r.Body, &body) != nil || body.Error == "" || r.Status != tt.status || r.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d (Allow %q) %s; want %d (Allow %q) with a JSON message", tt.method, tt.path, r.Status, r.Header.Get("Allow"), r.Body, tt.status, tt.allow)
		}
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

// A batch's status is its worst event's: a retryable status before a final
// one, then the higher.
func TestWorse(t *testing.T) {
	for _, tt := range []struct{ a, b, want int }{
		{400, 202, 400}, {429, 400, 429}, {503, 429, 503}, {404, 413, 404}, {202, 202, 202},
	} {
		worst := tt.b
		if worse(tt.a, tt.b) {
			worst = tt.a
		}
		if worst != tt.want {
			t.Errorf("worse of %d and %d = %d; want %d", tt.a, tt.b, worst, tt.want)
		}
	}
}

// Single events sent at the same time travel in one group, and each is
// acknowledged only once the Broker has accepted that group; a group the
// Broker refuses answers each of its requests with the group's retryable
// status.
func TestLinger(t *testing.T) {
	b := &broker{hold: make(chan struct{}), status: map[string]int{"down-0": 503}}
	url := startDoor(t, b, "GROUP_LINGER=2s") + "/events"
	for _, prefix := range []string{"up", "down"} {
		answers := make(chan servertest.Response, 3)
		for i := range 3 {
			go func() {
				e := servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("%s-%d", prefix, i), map[string]any{"person_id": i + 1, "latitude": 35.05, "longitude": -106.57})
				answers <- asOrganizer.Send(t, url, "binary", e)
			}()
		}
		select {
		case r := <-answers:
			t.Fatalf("%s: a report was answered %d before the broker took its group", prefix, r.Status)
		case <-time.After(2500 * time.Millisecond): // the linger has passed: the group waits on the broker
		}
		b.hold <- struct{}{}
		want := http.StatusAccepted
		if prefix == "down" {
			want = http.StatusServiceUnavailable
		}
		for range 3 {
			if r := <-answers; r.Status != want || (r.Header.Get("Retry-After") != "") != (want != http.StatusAccepted) {
				t.Errorf("%s: report answered %d (Retry-After %q) %s; want %d, its group's", prefix, r.Status, r.Header.Get("Retry-After"), r.Body, want)
			}
		}
	}
	if len(b.events) != 1 || len(b.accepted) != 3 {
		t.Errorf("the broker accepted %d events holding %v; want one group of the 3 reports sent together", len(b.events), b.accepted)
	}
}

// A group continues the trace of its first report.
func TestGroupTrace(t *testing.T) {
	b := &broker{}
	url := startDoor(t, b) + "/events"
	e := servertest.NewEvent(t, ev.LocationReported, "traced", map[string]any{"person_id": 1, "latitude": 35.05, "longitude": -106.57})
	const deviceTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.SetExtension("traceparent", "00-"+deviceTrace+"-00f067aa0ba902b7-01")
	if r := asOrganizer.Send(t, url, "structured", e); r.Status != http.StatusAccepted {
		t.Fatalf("report = %d %s", r.Status, r.Body)
	}
	if len(b.events) != 1 {
		t.Fatalf("the broker got %d groups; want 1", len(b.events))
	}
	if id := telemetry.TraceID(b.events[0]); id != deviceTrace {
		t.Errorf("the group of a traced report carries trace %q; want the device's, %s", id, deviceTrace)
	}
}
