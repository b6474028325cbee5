package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// sink records the events the function emits; while refusing it answers
// them with that status (and Retry-After: 1).
type sink struct {
	mu       sync.Mutex
	events   []ev.ConnectionDetectedData
	ids      []string
	refusing int
	refusals int
}

func (s *sink) refuse(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusing = status
}

func (s *sink) refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// received are the events received, by id, and how many times each.
func (s *sink) received() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[string]int{}
	for _, id := range s.ids {
		n[id]++
	}
	return n
}

// keys are the meetings announced, each with the id of its event.
func (s *sink) keys() map[detect.Key]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := map[detect.Key]string{}
	for i, d := range s.events {
		a, b := min(d.Person.ID, d.Other.ID), max(d.Person.ID, d.Other.ID)
		keys[detect.Key{A: a, B: b, Started: d.Location.CreationTime.UTC()}] = s.ids[i]
	}
	return keys
}

// distinct are the events received about person, each id once.
func (s *sink) distinct(person int64) map[string]ev.ConnectionDetectedData {
	s.mu.Lock()
	defer s.mu.Unlock()
	events := map[string]ev.ConnectionDetectedData{}
	for i, id := range s.ids {
		if d := s.events[i]; d.Person.ID == person || d.Other.ID == person {
			events[id] = d
		}
	}
	return events
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var d ev.ConnectionDetectedData
	if err := e.DataAs(&d); err != nil || e.Type() != ev.ConnectionDetected {
		http.Error(w, "unexpected event", 400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusing != 0 {
		s.refusals++
		w.Header().Set("Retry-After", "1")
		http.Error(w, "not now", s.refusing)
		return
	}
	s.events, s.ids = append(s.events, d), append(s.ids, e.ID())
	w.WriteHeader(http.StatusAccepted)
}

// start serves the function on a seeded database of its own.
func start(t *testing.T) (string, *postgres.DB, *sink) {
	t.Helper()
	url, db, s, _ := startFunction(t)
	return url, db, s
}

// startFunction is start with the function itself.
func startFunction(t *testing.T) (string, *postgres.DB, *sink, *Function) {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	if err := db.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	sinkSrv := httptest.NewServer(s)
	t.Cleanup(sinkSrv.Close)
	f, err := New(server.Config{Sink: sinkSrv.URL}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, f)
	t.Cleanup(f.Close) // before the server closes: the streams end first
	return srv.URL, db, s, f
}

// Every route answers only the door and the broker, the live stream too.
func TestCallers(t *testing.T) {
	url, _, _ := start(t)
	servertest.RefusesStrangers(t, url, "POST /", "GET /api/persons/1/connection", "GET /api/persons/1/meetings",
		"GET /api/persons/1/meetings/live")
}

func ids(conns []udaconnect.Connection) []int64 {
	var got []int64
	for _, c := range conns {
		got = append(got, c.Location.ID)
	}
	slices.Sort(got)
	return got
}

// The seed's answer, worked out by hand from its points: Pam (1) reported 6
// times on 2020-07-07 10:37:06 at (37.55363, -122.290883), where Frank,
// Taco, Otto and Paul reported at the same second (34, 57, 65, 66, 67), Taco
// on 2020-08-15 (30) and Frank on 2020-08-15 (68); and on 2020-08-15 at
// (37.553441, -122.290521), 0.26 m from Taco's report 31 of that second.
// Her other points lie 38 m from those.
func TestConnectionsOfSeed(t *testing.T) {
	url, _, _ := start(t)
	for _, tt := range []struct {
		name  string
		query string
		want  []int64
	}{
		{"plain", "start_date=2020-01-01&end_date=2020-12-30&distance=5", []int64{30, 31, 34, 57, 65, 66, 67, 68}},
		{"default distance", "start_date=2020-01-01&end_date=2020-12-30", []int64{30, 31, 34, 57, 65, 66, 67, 68}},
		{"window", "start_date=2020-01-01&end_date=2020-12-30&distance=5&window=15m", []int64{31, 34, 57, 65, 66, 67}},
		{"one day", "start_date=2020-07-07&end_date=2020-07-07", []int64{34, 57, 65, 66, 67}},
		{"half a metre", "start_date=2020-08-15&end_date=2020-08-15&distance=0.5", []int64{31}},
		{"a tenth of a metre", "start_date=2020-08-15&end_date=2020-08-15&distance=0.1", nil},
		{"50 m", "start_date=2020-08-15&end_date=2020-08-15&distance=50", []int64{30, 31, 68}},
		{"2019", "start_date=2019-01-01&end_date=2019-12-31&distance=5", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := servertest.Request(t, "GET", url+"/api/persons/1/connection?"+tt.query, nil)
			var conns []udaconnect.Connection
			r.Decode(t, &conns)
			if r.Status != 200 || !slices.Equal(ids(conns), tt.want) {
				t.Errorf("GET connection?%s = %d %v; want %v", tt.query, r.Status, ids(conns), tt.want)
			}
			for _, c := range conns {
				if c.Person.ID == 1 || c.Person.ID != c.Location.PersonID || c.Person.LastName == "" {
					t.Errorf("connection %+v: want another person, with their name", c)
				}
			}
		})
	}
}

func TestConnectionsRequested(t *testing.T) {
	url, _, _ := start(t)
	five := 5.0
	for _, mode := range servertest.Modes {
		t.Run(mode, func(t *testing.T) {
			e := servertest.NewEvent(t, ev.ConnectionsRequested, "req-"+mode, ev.ConnectionsRequestedData{
				PersonID: 1, StartDate: "2020-01-01", EndDate: "2020-12-30", Distance: &five, Window: "15m"})
			r := servertest.Send(t, url, mode, e)
			var found ev.ConnectionsFoundData
			if r.Status != 200 || r.Event == nil || r.Event.Type() != ev.ConnectionsFound || r.Event.DataAs(&found) != nil {
				t.Fatalf("connections.requested = %d %s; want 200 with %s", r.Status, r.Body, ev.ConnectionsFound)
			}
			if want := []int64{31, 34, 57, 65, 66, 67}; found.PersonID != 1 || !slices.Equal(ids(found.Connections), want) {
				t.Errorf("connections.found = person %d %v; want person 1 %v", found.PersonID, ids(found.Connections), want)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		data   any
		status int
		field  string
	}{
		{"unknown person", ev.ConnectionsRequestedData{PersonID: 4040, StartDate: "2020-01-01", EndDate: "2020-01-02"}, 422, ""},
		{"no dates", ev.ConnectionsRequestedData{PersonID: 1}, 400, "start_date"},
		{"bad window", ev.ConnectionsRequestedData{PersonID: 1, StartDate: "2020-01-01", EndDate: "2020-01-02", Window: "soon"}, 400, "window"},
		{"distance as text", []byte(`{"person_id": 1, "start_date": "2020-01-01", "end_date": "2020-01-02", "distance": "far"}`), 400, "distance"},
	} {
		r := servertest.Send(t, url, "binary", servertest.NewEvent(t, ev.ConnectionsRequested, tt.name, tt.data))
		if r.Status != tt.status || r.ErrorField(t) != tt.field {
			t.Errorf("connections.requested %s = %d %s; want %d naming %q", tt.name, r.Status, r.Body, tt.status, tt.field)
		}
	}
}

func TestConnectionRouteRefused(t *testing.T) {
	url, db, _ := start(t)
	lonely, err := db.CreatePerson(context.Background(), udaconnect.Person{FirstName: "No", LastName: "Reports", CompanyName: "None"}, "test", "lonely", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path   string
		status int
		field  string
	}{
		{"/api/persons/4040/connection?start_date=2020-01-01&end_date=2020-12-30", 404, ""},
		{"/api/persons/1/connection?end_date=2020-12-30", 400, "start_date"},
		{"/api/persons/1/connection?start_date=2020-01-01&end_date=2020-02-30", 400, "end_date"},
		{"/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-30&distance=-1", 400, "distance"},
		{"/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-30&distance=abc", 400, "distance"},
		{"/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-30&window=15", 400, "window"},
		{"/api/persons/one/connection?start_date=2020-01-01&end_date=2020-12-30", 400, "id"},
	} {
		r := servertest.Request(t, "GET", url+tt.path, nil)
		if r.Status != tt.status || r.ErrorField(t) != tt.field {
			t.Errorf("GET %s = %d %s; want %d naming %q", tt.path, r.Status, r.Body, tt.status, tt.field)
		}
	}
	r := servertest.Request(t, "GET", url+"/api/persons/"+itoa(lonely.ID)+"/connection?start_date=2020-01-01&end_date=2020-12-30", nil)
	if r.Status != 200 || string(r.Body) != "[]\n" {
		t.Errorf("connections of a person with no reports = %d %s; want 200 []", r.Status, r.Body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A newcomer stands where Pam, Frank, Taco, Otto and Paul reported on
// 2020-07-07 at 10:37:06, five minutes later and again ten minutes later:
// reports far older than the seed's latest, placed from what is stored.
// Pam, Taco and Otto are held there for 15 minutes; Frank reported from
// Albuquerque at the same second (a later report, by id) and Paul a minute
// later, so they are held there.
func TestConnectionDetected(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		t.Run(http.StatusText(status), func(t *testing.T) { testConnectionDetected(t, status) })
	}
}

func testConnectionDetected(t *testing.T, refusal int) {
	url, db, s := start(t)
	ctx := context.Background()
	newcomer, err := db.CreatePerson(ctx, udaconnect.Person{FirstName: "New", LastName: "Comer", CompanyName: "Late"}, "test", "newcomer", nil)
	if err != nil {
		t.Fatal(err)
	}
	var reports []udaconnect.Report
	for i, at := range []time.Time{time.Date(2020, 7, 7, 10, 42, 6, 0, time.UTC), time.Date(2020, 7, 7, 10, 47, 6, 0, time.UTC)} {
		reports = append(reports, udaconnect.Report{
			Location: udaconnect.Location{PersonID: newcomer.ID, Latitude: 37.55363, Longitude: -122.290883, CreationTime: at},
			Source:   "test", EventID: fmt.Sprint("newcomer-", i),
		})
	}
	// The events cannot be sent at first: they wait in the outbox, and are
	// sent again until they are accepted.
	s.refuse(refusal)
	locs, errs, err := db.StoreReports(ctx, reports)
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatal(err, errs)
	}
	deliver := func(loc udaconnect.Location) {
		t.Helper()
		e := servertest.NewEvent(t, ev.LocationRecorded, fmt.Sprint("location-", loc.ID), loc)
		if r := servertest.Send(t, url, "binary", e); r.Status != http.StatusAccepted {
			t.Fatalf("location.recorded %d = %d %s; want 202", loc.ID, r.Status, r.Body)
		}
	}
	deliver(locs[0])
	eventually(t, "a refused connection.detected", func() bool { return s.refused() > 0 })
	s.refuse(0)

	// One meeting with each of the three, at 0 m, from the newcomer's first
	// report; each event once, whatever was sent before.
	eventually(t, "three connection.detected", func() bool { return len(s.distinct(newcomer.ID)) == 3 })
	var met []int64
	for _, d := range s.distinct(newcomer.ID) {
		if d.Person.ID != newcomer.ID || d.Location != locs[0] || d.Distance > 0.001 || d.Other.ID != d.Near.PersonID || d.Other.FirstName == "" {
			t.Errorf("connection.detected %+v: want the newcomer's first report and another person", d)
		}
		met = append(met, d.Other.ID)
	}
	slices.Sort(met)
	if want := []int64{1, 5, 9}; !slices.Equal(met, want) {
		t.Errorf("connection.detected with %v; want %v", met, want)
	}

	// Delivered again, and the second report: nothing new, the meetings go
	// on.
	deliver(locs[0])
	deliver(locs[1])
	waitDetected(t, db)
	if got := len(s.distinct(newcomer.ID)); got != 3 {
		t.Errorf("%d distinct connection.detected after the second report; want the 3", got)
	}
	for id, n := range s.received() {
		if n != 1 {
			t.Errorf("%s accepted %d times; want once", id, n)
		}
	}
	ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: newcomer.ID, Limit: 10})
	if err != nil || len(ms) != 3 {
		t.Fatalf("the newcomer's meetings = %+v, %v; want 3", ms, err)
	}
	for _, m := range ms {
		// Held until 10:52:06, 15 minutes after the others' reports.
		if !m.Started.Equal(reports[0].CreationTime) || !m.LastSeen.Equal(time.Date(2020, 7, 7, 10, 52, 6, 0, time.UTC)) || m.TogetherS != 600 || !m.Ended {
			t.Errorf("meeting %+v: want 10:42:06 to 10:52:06, 600 s together, ended", m)
		}
	}
}

// An answer larger than the buffer is streamed, and arrives whole.
func TestConnectionRouteStreams(t *testing.T) {
	url, db, _ := start(t)
	ctx := context.Background()
	crowd, err := db.CreatePerson(ctx, udaconnect.Person{FirstName: "Big", LastName: "Crowd", CompanyName: "Many"}, "test", "crowd", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Beside Pam's report of 2020-08-15 (37.553441, -122.290521), once a second.
	var reports []udaconnect.Report
	at := time.Date(2020, 8, 15, 12, 0, 0, 0, time.UTC)
	for i := range 400 {
		reports = append(reports, udaconnect.Report{
			Location: udaconnect.Location{PersonID: crowd.ID, Latitude: 37.553441, Longitude: -122.290521, CreationTime: at.Add(time.Duration(i) * time.Second)},
			Source:   "test", EventID: fmt.Sprintf("crowd-%d", i),
		})
	}
	if _, _, err := db.StoreReports(ctx, reports); err != nil {
		t.Fatal(err)
	}
	r := servertest.Request(t, "GET", url+"/api/persons/1/connection?start_date=2020-08-15&end_date=2020-08-15&distance=1", nil)
	var conns []udaconnect.Connection
	r.Decode(t, &conns)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" || len(r.Body) <= server.StreamBuffer {
		t.Fatalf("GET connection = %d %q, %d bytes; want 200 application/json, more than %d bytes", r.Status, r.Header.Get("Content-Type"), len(r.Body), server.StreamBuffer)
	}
	if len(conns) != 401 || !slices.IsSortedFunc(conns, func(a, b udaconnect.Connection) int { return a.Location.CreationTime.Compare(b.Location.CreationTime) }) {
		t.Errorf("GET connection = %d connections; want Taco's 31 and the crowd's 400, oldest first", len(conns))
	}
}
