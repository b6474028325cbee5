package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// stack is the whole system as `make run` starts it: the real binaries of the
// three functions, the local broker and the door, on a database of its own.
type stack struct {
	door, broker string
	org          servertest.Client // the organizer
	tokens       *auth.Tokens      // the door's
	flaky        *flaky
	outage       *outage // between locations and the database
}

// The door's credentials in the tests.
const (
	testAuthKey        = "test-key-that-signs-attendee-tokens-0123456789"
	testOrganizerToken = "test-organizer-token-0123456789abcdef"
)

// flaky stands in front of locations and answers 503 to the first two
// deliveries of each event whose id starts with "flaky".
type flaky struct {
	mu       sync.Mutex
	attempts map[string]int
	next     http.Handler
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Ce-Id")
	f.mu.Lock()
	f.attempts[id]++
	n := f.attempts[id]
	f.mu.Unlock()
	if strings.HasPrefix(id, "flaky") && n <= 2 {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

// outage stands between locations and PostgreSQL and can cut them apart:
// while down it closes every connection and refuses new ones.
type outage struct {
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func (o *outage) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		if o.down {
			o.mu.Unlock()
			c.Close()
			continue
		}
		pg, err := net.Dial("tcp", o.target)
		if err != nil {
			o.mu.Unlock()
			c.Close()
			continue
		}
		o.conns = append(o.conns, c, pg)
		o.mu.Unlock()
		go func() { io.Copy(pg, c); pg.Close() }()
		go func() { io.Copy(c, pg); c.Close() }()
	}
}

func (o *outage) set(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
	if down {
		for _, c := range o.conns {
			c.Close()
		}
		o.conns = nil
	}
}

var buildOnce sync.Once
var binDir string
var buildErr error

func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "udaconnect-e2e-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./functions/persons", "./functions/locations",
			"./functions/connections", "./frontend", "./eventing/cmd/localbroker")
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func startStack(t *testing.T) *stack {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	roleURL := map[string]string{} // each function connects as its own role
	for _, role := range postgres.Roles {
		roleURL[role] = pgtest.RoleURL(t, dbURL, role)
	}
	tokens, err := auth.NewTokens(testAuthKey, testOrganizerToken, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bin := build(t)
	ports := map[string]string{}
	for _, name := range []string{"persons", "locations", "connections", "broker", "door", "flaky"} {
		ports[name] = freePort(t)
	}
	local := func(name string) string { return "http://127.0.0.1:" + ports[name] }
	s := &stack{door: local("door"), broker: local("broker"), org: servertest.Client{Token: testOrganizerToken}, tokens: tokens}
	sink := s.broker + "/udaconnect/default"
	run := func(name string, args []string, env ...string) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", "LOG_LEVEL=warn"}, env...)...)
		out, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			if t.Failed() {
				b, _ := os.ReadFile(out.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
	}
	run("persons", nil, "PORT="+ports["persons"], "DATABASE_URL="+roleURL[postgres.RolePersons])
	u, _ := url.Parse(roleURL[postgres.RoleLocations])
	s.outage = &outage{target: u.Host}
	ol, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ol.Close() })
	go s.outage.serve(ol)
	u.Host = ol.Addr().String()
	run("locations", nil, "PORT="+ports["locations"], "DATABASE_URL="+u.String())
	run("connections", nil, "PORT="+ports["connections"], "K_SINK="+sink, "DATABASE_URL="+roleURL[postgres.RoleConnections])
	run("localbroker", []string{"-listen", "127.0.0.1:" + ports["broker"],
		"-manifests", "../eventing/broker.yaml,../eventing/triggers.yaml",
		"-service", "persons=" + local("persons"), "-service", "locations=" + local("flaky"),
		"-service", "connections=" + local("connections")})
	run("frontend", nil, "PORT="+ports["door"], "K_SINK="+sink, "PERSONS_URL="+local("persons"),
		"AUTH_KEY="+testAuthKey, "ORGANIZER_TOKEN="+testOrganizerToken,
		"LOCATIONS_URL="+local("locations"), "CONNECTIONS_URL="+local("connections"))

	target, _ := url.Parse(local("locations"))
	s.flaky = &flaky{attempts: map[string]int{}, next: httputil.NewSingleHostReverseProxy(target)}
	l, err := net.Listen("tcp", "127.0.0.1:"+ports["flaky"])
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.flaky}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	for _, u := range []string{local("persons") + "/readyz", local("locations") + "/readyz", local("connections") + "/readyz", s.broker + "/healthz", s.door + "/readyz"} {
		eventually(t, "ready: "+u, func() bool {
			resp, err := http.Get(u)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == 200
		})
	}
	return s
}

// eventually waits for cond, which events make true as they flow through
// the system, for at most a generous while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

func (s *stack) locations(t *testing.T, personID int) []udaconnect.Location {
	t.Helper()
	var locs []udaconnect.Location
	s.org.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/locations?start_date=2021-05-05", s.door, personID), nil).Decode(t, &locs)
	return locs
}

// post posts body as the organizer.
func (s *stack) post(t *testing.T, url, contentType, body string) servertest.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	return s.org.Do(t, req)
}

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	events := s.door + "/events"
	at := func(m int) string { return fmt.Sprintf("2021-05-05T10:%02d:00Z", m) }
	data := func(personID, m int) map[string]any {
		return map[string]any{"person_id": personID, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": at(m)}
	}

	// Frank (6) reports in all three modes, some reports twice.
	for i, mode := range servertest.Modes {
		e := servertest.NewEvent(t, ev.LocationReported, "frank-"+mode, data(6, i))
		for range 2 {
			if r := s.org.Send(t, events, mode, e); r.Status != http.StatusAccepted {
				t.Fatalf("%s report = %d %s; want 202", mode, r.Status, r.Body)
			}
		}
	}
	var batch []string
	for i := range 3 {
		b, _ := json.Marshal(servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("frank-batch-%d", i), data(6, 10+i)))
		batch = append(batch, string(b))
	}
	body := "[" + strings.Join(batch, ",") + "," + batch[0] + "]" // one twice in the batch
	for range 2 {
		if r := s.post(t, events, batchType, body); r.Status != http.StatusAccepted {
			t.Fatalf("batch = %d %s; want 202", r.Status, r.Body)
		}
	}
	eventually(t, "Frank's 5 reports stored", func() bool { return len(s.locations(t, 6)) >= 5 })

	// Paul (8) reports through a locations function that answers 503 twice.
	if r := s.org.Send(t, events, "binary", servertest.NewEvent(t, ev.LocationReported, "flaky-paul", data(8, 1))); r.Status != http.StatusAccepted {
		t.Fatalf("report = %d %s", r.Status, r.Body)
	}
	eventually(t, "Paul's report stored after two 503s", func() bool { return len(s.locations(t, 8)) == 1 })
	s.flaky.mu.Lock()
	if n := s.flaky.attempts["flaky-paul"]; n != 3 {
		t.Errorf("the flaky report was delivered %d times; want 3 (two 503s, then stored)", n)
	}
	s.flaky.mu.Unlock()

	// Every report stored exactly once, and Paul met Frank.
	if locs := s.locations(t, 6); len(locs) != 5 {
		t.Errorf("Frank has %d reports on 2021-05-05; want 5, each stored once", len(locs))
	}
	var conns []udaconnect.Connection
	s.org.Request(t, "GET", s.door+"/api/persons/8/connection?start_date=2021-05-05&end_date=2021-05-05&distance=5&window=15m", nil).Decode(t, &conns)
	if len(conns) != 5 { // Frank's reports at 10:00, 10:01, 10:10, 10:11 and 10:12: within 15 minutes of 10:01
		t.Errorf("Paul's connections = %d; want Frank's 5 reports within 15 minutes", len(conns))
	}
	for _, c := range conns {
		if c.Person.ID != 6 {
			t.Errorf("Paul met %+v; want Frank only", c.Person)
		}
	}

	// A malformed report is refused at the door.
	if r := s.post(t, events, "application/cloudevents+json", `{"specversion":"1.0","id":"x"}`); r.Status != http.StatusBadRequest {
		t.Errorf("malformed report = %d %s; want 400", r.Status, r.Body)
	}

	// A report of an unknown person ends in the dead-letter sink.
	if r := s.org.Send(t, events, "structured", servertest.NewEvent(t, ev.LocationReported, "nobody-1", data(4040, 5))); r.Status != http.StatusAccepted {
		t.Fatalf("report of an unknown person = %d %s; want 202 at the door", r.Status, r.Body)
	}
	eventually(t, "the unknown person's report dead-lettered", func() bool {
		var dead []map[string]any
		servertest.Request(t, "GET", s.broker+"/dead-letters", nil).Decode(t, &dead)
		for _, d := range dead {
			if d["id"] == "nobody-1" && d["knativeerrorcode"] == "422" {
				return true
			}
		}
		return false
	})

	// The database goes away under locations: its reports are refused with
	// 503 and retried by the broker; when it returns they are stored, once.
	s.outage.set(true)
	for i := range 3 {
		e := servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("outage-%d", i), data(9, 20+i))
		if r := s.org.Send(t, events, "binary", e); r.Status != http.StatusAccepted {
			t.Fatalf("report during the outage = %d %s; want 202 at the door", r.Status, r.Body)
		}
	}
	eventually(t, "reports refused during the outage", func() bool {
		s.flaky.mu.Lock()
		defer s.flaky.mu.Unlock()
		return s.flaky.attempts["outage-2"] >= 2
	})
	s.outage.set(false)
	eventually(t, "Otto's 3 reports stored once the database is back", func() bool { return len(s.locations(t, 9)) >= 3 })
	if locs := s.locations(t, 9); len(locs) != 3 {
		t.Errorf("Otto has %d reports after the outage; want 3, each stored once", len(locs))
	}

	// A person registered through the broker.
	e := servertest.NewEvent(t, ev.PersonCreate, "new-person", ev.PersonCreateData{FirstName: "Radia", LastName: "Perlman", CompanyName: "DEC"})
	if r := s.org.Send(t, events, "binary", e); r.Status != http.StatusAccepted {
		t.Fatalf("person.create = %d %s", r.Status, r.Body)
	}
	eventually(t, "Radia registered", func() bool {
		var persons []udaconnect.Person
		s.org.Request(t, "GET", s.door+"/api/persons", nil).Decode(t, &persons)
		return len(persons) == 6
	})
}

// Meetings through the whole system: reports sent to /events make a
// meeting that the person's live stream shows; a stream that reconnects
// with Last-Event-ID gets what it missed, once; a report posted to
// /api/locations makes a meeting too.
func TestMeetingsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	register := func(first string) PersonWithToken {
		t.Helper()
		var p PersonWithToken
		if r := s.org.Request(t, "POST", s.door+"/api/persons", ev.PersonCreateData{FirstName: first, LastName: "Meets", CompanyName: "Booth"}); r.Status != http.StatusCreated {
			t.Fatalf("register %s = %d %s", first, r.Status, r.Body)
		} else {
			r.Decode(t, &p)
		}
		return p
	}
	ada, bob, cy := register("Ada"), register("Bob"), register("Cy")
	n := 0
	send := func(p PersonWithToken, metres float64, at string) {
		t.Helper()
		n++
		e := servertest.NewEvent(t, ev.LocationReported, fmt.Sprint("meet-", n), map[string]any{
			"person_id": p.ID, "latitude": 35.0585136 + metres/110_940, "longitude": -106.5719566, "creation_time": "2021-05-05T" + at + ":00Z"})
		if r := s.org.Send(t, s.door+"/events", "binary", e); r.Status != http.StatusAccepted {
			t.Fatalf("report = %d %s; want 202", r.Status, r.Body)
		}
	}
	meeting := func(e servertest.SSE) udaconnect.Meeting {
		t.Helper()
		var m udaconnect.Meeting
		if err := json.Unmarshal([]byte(e.Data), &m); err != nil || e.Event != "meeting" || e.ID != fmt.Sprint(m.Version) {
			t.Fatalf("event %+v: want a meeting, its version as id (%v)", e, err)
		}
		return m
	}
	asAda := servertest.Client{Token: ada.Token}
	live := fmt.Sprintf("%s/api/persons/%d/meetings/live", s.door, ada.ID)

	send(ada, 0, "10:00")
	stream := asAda.Subscribe(t, live, "")
	send(bob, 1, "10:05")
	first := stream.Next(t)
	if m := meeting(first); m.Person.ID != bob.ID || m.Ended {
		t.Fatalf("first event = %+v; want an open meeting with Bob", m)
	}

	// Disconnected: the meeting with Bob ends, another starts.
	stream.Close()
	send(ada, 0, "10:40")
	send(bob, 1, "10:40")
	var listed []udaconnect.Meeting
	eventually(t, "two meetings of Ada", func() bool {
		asAda.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/meetings", s.door, ada.ID), nil).Decode(t, &listed)
		return len(listed) == 2 && listed[1].Ended
	})
	again := asAda.Subscribe(t, live, first.ID)
	missed := map[int64]bool{}
	for range 2 {
		m := meeting(again.Next(t))
		missed[m.ID] = m.Person.ID == bob.ID && m.Ended == (m.ID == listed[1].ID)
	}
	if !missed[listed[0].ID] || !missed[listed[1].ID] {
		t.Errorf("after reconnecting: %v; want both meetings with Bob, the first ended", missed)
	}

	// Cy reports through the REST route; the next event is that meeting,
	// with nothing repeated before it.
	r := servertest.Client{Token: cy.Token}.Request(t, "POST", s.door+"/api/locations", map[string]any{
		"person_id": cy.ID, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": "2021-05-05T10:41:00Z"})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /api/locations = %d %s; want 201", r.Status, r.Body)
	}
	if m := meeting(again.Next(t)); m.Person.ID != cy.ID {
		t.Errorf("next event = %+v; want the meeting with Cy", m)
	}
}
