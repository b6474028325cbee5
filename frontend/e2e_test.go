package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// four functions, the local broker and the door, on a database of its own.
type stack struct {
	door, broker string
	org          servertest.Client   // the organizer
	tokens       *auth.Tokens        // the door's
	processes    map[string]*process // by binary name
	flaky        *flaky
	outage       *outage // between the functions and the database
	dbURL        string  // the owner's
}

// The door's credentials in the tests.
const (
	testAuthKey        = "24797ff6ec2ee8acdf5fe4ce3088629a31285b446cdb681580c3109a9af49d85" // 32 bytes in hex
	testOrganizerToken = "test-organizer-token-0123456789abcdef"
)

// flaky stands in front of locations, counts the deliveries of each report
// (by the id of the event that carried it, in a group or alone), and
// answers 503 to the first two deliveries of each group (or event) that
// holds a report whose id starts with "flaky".
type flaky struct {
	mu       sync.Mutex
	attempts map[string]int
	next     http.Handler
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ids := []string{r.Header.Get("Ce-Id")}
	if r.Header.Get("Ce-Type") == ev.LocationsReported {
		body, err := io.ReadAll(r.Body)
		var group ev.LocationsReportedData
		if err == nil {
			err = json.Unmarshal(body, &group)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ids = ids[:0]
		for _, report := range group.Reports {
			ids = append(ids, report.ID)
		}
	}
	refuse := false
	f.mu.Lock()
	for _, id := range ids {
		f.attempts[id]++
		refuse = refuse || strings.HasPrefix(id, "flaky") && f.attempts[id] <= 2
	}
	f.mu.Unlock()
	if refuse {
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
			"./functions/connections", "./functions/deadletters", "./frontend", "./eventing/cmd/localbroker")
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

// given are the ports freePort has handed out: a port is free when asked
// for, but the process it is for may not have bound it yet when the next is
// asked for, so none is handed out twice.
var given = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// freePort hands out a port that nothing listens on, below the kernel's
// ephemeral range: a port from that range could be taken, between the
// asking and the binding, as the local end of any outgoing connection.
func freePort(t *testing.T) string {
	t.Helper()
	low := 32768 // the kernel's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &low)
	}
	from := max(1024, low-10000)
	given.Lock()
	defer given.Unlock()
	for range 1000 {
		port := from + rand.IntN(max(1, low-from))
		if given.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // taken
		}
		l.Close()
		given.ports[port] = true
		return fmt.Sprint(port)
	}
	t.Fatalf("no free port below %d", low)
	return ""
}

// process is one of the system's binaries running until the test ends; a
// test may stop it and run it again.
type process struct {
	name, log, metrics string // metrics: the URL of its /metrics
	args, env          []string
	cmd                *exec.Cmd
	exited             chan struct{}
}

// running reports whether the process is still up.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// start runs the binary name with args and env, and a METRICS_PORT of its
// own, until the test ends; its output goes to a log file shown when the
// test fails.
func start(t *testing.T, name string, args []string, env ...string) *process {
	t.Helper()
	p := &process{name: name, log: filepath.Join(t.TempDir(), name+".log"), args: args}
	port := freePort(t)
	p.metrics = "http://127.0.0.1:" + port + "/metrics"
	p.env = append(os.Environ(), append([]string{"LOG_LEVEL=info", "METRICS_PORT=" + port}, env...)...)
	p.run(t)
	t.Cleanup(func() {
		p.stop(os.Interrupt)
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return p
}

// run starts the process, its output appended to its log.
func (p *process) run(t *testing.T) {
	t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	binary, _, _ := strings.Cut(p.name, "-") // persons-2 is replica 2 of persons
	cmd := exec.Command(filepath.Join(build(t), binary), p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); out.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
}

// stop sends sig to the process and waits for it to end.
func (p *process) stop(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	<-p.exited
}

func startStack(t *testing.T) *stack {
	t.Helper()
	return startStackOf(t, 1)
}

// startStackOf starts the system with the given number of replicas of
// persons, locations and connections, as `make run REPLICAS=n` does: the
// broker and the door take them in turn. Replica i of persons runs as
// "persons-i" (the first as "persons"). The locations replicas get the
// settings given, such as RETENTION=30d.
func startStackOf(t *testing.T, replicas int, locationSettings ...string) *stack {
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
	ports := map[string]string{}
	names := []string{"deadletters", "broker", "door", "flaky"}
	replicated := map[string][]string{} // the names of each function's replicas
	for _, fn := range []string{"persons", "locations", "connections"} {
		for i := 1; i <= replicas; i++ {
			name := fn
			if i > 1 {
				name = fmt.Sprintf("%s-%d", fn, i)
			}
			replicated[fn] = append(replicated[fn], name)
		}
		names = append(names, replicated[fn]...)
	}
	for _, name := range names {
		ports[name] = freePort(t)
	}
	local := func(name string) string { return "http://127.0.0.1:" + ports[name] }
	all := func(fn string, first string) string { // the replicas' URLs, the first one's given
		urls := []string{first}
		for _, name := range replicated[fn][1:] {
			urls = append(urls, local(name))
		}
		return strings.Join(urls, ",")
	}
	s := &stack{door: local("door"), broker: local("broker"), org: servertest.Client{Token: testOrganizerToken}, tokens: tokens,
		processes: map[string]*process{}, dbURL: dbURL}
	sink := s.broker + "/udaconnect/default"
	run := func(name string, args []string, env ...string) {
		s.processes[name] = start(t, name, args, append([]string{"HOST=127.0.0.1", "INTERNAL_TOKEN=" + servertest.InternalToken}, env...)...)
	}
	// Every function reaches the database through the outage proxy.
	u, _ := url.Parse(dbURL)
	s.outage = &outage{target: u.Host}
	ol, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ol.Close() })
	go s.outage.serve(ol)
	through := func(role string) string {
		u, _ := url.Parse(roleURL[role])
		u.Host = ol.Addr().String()
		return u.String()
	}
	for _, name := range replicated["persons"] {
		run(name, nil, "PORT="+ports[name], "DATABASE_URL="+through(postgres.RolePersons))
	}
	for _, name := range replicated["locations"] {
		run(name, nil, append([]string{"PORT=" + ports[name], "DATABASE_URL=" + through(postgres.RoleLocations)}, locationSettings...)...)
	}
	for _, name := range replicated["connections"] {
		run(name, nil, "PORT="+ports[name], "K_SINK="+sink, "DATABASE_URL="+through(postgres.RoleConnections))
	}
	run("deadletters", nil, "PORT="+ports["deadletters"], "K_SINK="+sink, "DATABASE_URL="+through(postgres.RoleDeadLetters))
	run("localbroker", []string{"-listen", "127.0.0.1:" + ports["broker"], "-data", filepath.Join(t.TempDir(), "broker"),
		"-manifests", "../eventing",
		"-service", "persons=" + all("persons", local("persons")), "-service", "locations=" + all("locations", local("flaky")),
		"-service", "connections=" + all("connections", local("connections")), "-service", "dead-letters=" + local("deadletters")})
	run("frontend", nil, "PORT="+ports["door"], "K_SINK="+sink, "PERSONS_URL="+all("persons", local("persons")),
		"AUTH_KEY="+testAuthKey, "ORGANIZER_TOKEN="+testOrganizerToken, "ATTENDEE_RATE=50/200", // the access matrix asks much of one attendee
		"LOCATIONS_URL="+all("locations", local("locations")), "CONNECTIONS_URL="+all("connections", local("connections")),
		"DEADLETTERS_URL="+local("deadletters"))

	target, _ := url.Parse(local("locations"))
	s.flaky = &flaky{attempts: map[string]int{}, next: httputil.NewSingleHostReverseProxy(target)}
	l, err := net.Listen("tcp", "127.0.0.1:"+ports["flaky"])
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.flaky}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	ready := []string{local("deadletters") + "/readyz", s.broker + "/healthz", s.door + "/readyz"}
	for _, fn := range []string{"persons", "locations", "connections"} {
		for _, name := range replicated[fn] {
			ready = append(ready, local(name)+"/readyz")
		}
	}
	for _, u := range ready {
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

// lines returns the JSON lines of p's log whose field key is value.
func (p *process) lines(t *testing.T, key, value string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	var found []map[string]any
	for _, line := range strings.Split(string(b), "\n") {
		var fields map[string]any
		if json.Unmarshal([]byte(line), &fields) == nil && fields[key] == value {
			found = append(found, fields)
		}
	}
	return found
}

func (s *stack) locations(t *testing.T, personID int) []udaconnect.Location {
	t.Helper()
	var locs []udaconnect.Location
	s.org.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/locations?start_date=2021-05-05", s.door, personID), nil).Decode(t, &locs)
	return locs
}

// register registers a person through the door as the organizer, and
// returns them with their token.
func (s *stack) register(t *testing.T, first, last, company string) PersonWithToken {
	t.Helper()
	var p PersonWithToken
	r := s.org.Request(t, "POST", s.door+"/api/persons", ev.PersonCreateData{FirstName: first, LastName: last, CompanyName: company})
	if r.Status != http.StatusCreated {
		t.Fatalf("register %s = %d %s; want 201", first, r.Status, r.Body)
	}
	if r.Decode(t, &p); p.ID <= 0 || p.Token == "" {
		t.Fatalf("register %s = %s; want an id and a token", first, r.Body)
	}
	return p
}

// reporter registers a reporter through the door as the organizer, and
// returns it with its token.
func (s *stack) reporter(t *testing.T, name string) ReporterWithToken {
	t.Helper()
	var r ReporterWithToken
	resp := s.org.Request(t, "POST", s.door+"/api/reporters", map[string]string{"name": name})
	if resp.Status != http.StatusCreated {
		t.Fatalf("register reporter %s = %d %s; want 201", name, resp.Status, resp.Body)
	}
	if resp.Decode(t, &r); r.ID <= 0 || r.Token == "" || r.Name != name {
		t.Fatalf("register reporter %s = %s; want an id, the name and a token", name, resp.Body)
	}
	return r
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

	// One report can be followed by its trace id through the logs of every
	// process it passes: a device's trace, or else one the door starts, in
	// which the door sends the report's group; the broker delivers the
	// group to locations, whose reply the broker delivers to connections.
	e := servertest.NewEvent(t, ev.LocationReported, "device-traced", data(5, 31))
	const deviceTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.SetExtension("traceparent", "00-"+deviceTrace+"-00f067aa0ba902b7-01")
	if r := s.org.Send(t, events, "structured", e); r.Status != http.StatusAccepted {
		t.Fatalf("report = %d %s", r.Status, r.Body)
	}
	for _, hop := range []struct{ process, eventType string }{
		{"frontend", ev.LocationsReported}, {"localbroker", ev.LocationsReported}, {"locations", ev.LocationsReported},
		{"localbroker", ev.LocationsRecorded}, {"connections", ev.LocationsRecorded},
	} {
		eventually(t, fmt.Sprintf("%s logs %s with the device's trace id", hop.process, hop.eventType), func() bool {
			for _, l := range s.processes[hop.process].lines(t, "trace_id", deviceTrace) {
				if l["event_type"] == hop.eventType {
					return true
				}
			}
			return false
		})
	}

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

	// A report of an unknown person ends in the dead letters (kept by
	// locations, which refused it in its group), which the organizer lists
	// and replays: it fails again (alone, the Broker keeps it) and waits
	// again.
	if r := s.org.Send(t, events, "structured", servertest.NewEvent(t, ev.LocationReported, "nobody-1", data(4040, 5))); r.Status != http.StatusAccepted {
		t.Fatalf("report of an unknown person = %d %s; want 202 at the door", r.Status, r.Body)
	}
	deadLetter := func() (d udaconnect.DeadLetter) {
		var dead []udaconnect.DeadLetter
		s.org.Request(t, "GET", s.door+"/api/dead-letters?waiting=true", nil).Decode(t, &dead)
		for _, l := range dead {
			if l.EventID == "nobody-1" && l.Status != nil && *l.Status == http.StatusUnprocessableEntity {
				d = l
			}
		}
		return d
	}
	var first udaconnect.DeadLetter
	eventually(t, "the unknown person's report dead-lettered", func() bool { first = deadLetter(); return first.ID != 0 })
	var replayed udaconnect.DeadLetter
	r := s.org.Request(t, "POST", fmt.Sprintf("%s/api/dead-letters/%d/replay", s.door, first.ID), nil)
	if r.Decode(t, &replayed); r.Status != http.StatusOK || replayed.ReplayedAt == nil {
		t.Fatalf("replay = %d %s; want 200, marked replayed", r.Status, r.Body)
	}
	eventually(t, "the replayed report dead-lettered again", func() bool {
		again := deadLetter()
		return again.ID != 0 && again.ReceivedAt.After(first.ReceivedAt)
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
	e = servertest.NewEvent(t, ev.PersonCreate, "new-person", ev.PersonCreateData{FirstName: "Radia", LastName: "Perlman", CompanyName: "DEC"})
	if r := s.org.Send(t, events, "binary", e); r.Status != http.StatusAccepted {
		t.Fatalf("person.create = %d %s", r.Status, r.Body)
	}
	eventually(t, "Radia registered", func() bool {
		var persons []udaconnect.Person
		s.org.Request(t, "GET", s.door+"/api/persons", nil).Decode(t, &persons)
		return len(persons) == 6
	})

	// Frank's data: exported whole, then deleted, after which he is gone
	// from everyone's answers, Paul's connections included.
	var export struct {
		Person    udaconnect.Person     `json:"person"`
		Meetings  []udaconnect.Meeting  `json:"meetings"`
		Locations []udaconnect.Location `json:"locations"`
	}
	eventually(t, "Frank's export with his meeting with Paul", func() bool {
		r := s.org.Request(t, "GET", s.door+"/api/persons/6/export", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("export Frank = %d %s; want 200", r.Status, r.Body)
		}
		r.Decode(t, &export)
		return slices.ContainsFunc(export.Meetings, func(m udaconnect.Meeting) bool { return m.Person.ID == 8 })
	})
	if export.Person.ID != 6 || len(export.Locations) < 5 {
		t.Errorf("export of Frank = person %d, %d reports; want Frank with his reports", export.Person.ID, len(export.Locations))
	}
	if r := s.org.Request(t, "DELETE", s.door+"/api/persons/6", nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete Frank = %d %s; want 204", r.Status, r.Body)
	}
	for _, path := range []string{"/api/persons/6", "/api/persons/6/export", "/api/persons/6/locations"} {
		if r := s.org.Request(t, "GET", s.door+path, nil); r.Status != http.StatusNotFound {
			t.Errorf("GET %s after deleting Frank = %d; want 404", path, r.Status)
		}
	}
	s.org.Request(t, "GET", s.door+"/api/persons/8/connection?start_date=2021-05-05&end_date=2021-05-05&distance=5&window=15m", nil).Decode(t, &conns)
	if len(conns) != 0 {
		t.Errorf("Paul's connections after deleting Frank = %+v; want none", conns)
	}

	// Every process serves its metrics on a port of its own, and the door's
	// public port does not serve them.
	for name, want := range map[string]string{
		"frontend":    `udaconnect_events_total{outcome="ok",type="io.udaconnect.location.reported"}`,
		"localbroker": `udaconnect_broker_deliveries_total{outcome="delivered",trigger="location-reported"}`,
		"persons":     `udaconnect_db_pool_max_connections{pool="reads"}`,
		"locations":   `udaconnect_batch_size_count{batcher="reports"}`,
		"connections": `udaconnect_detection_lag_seconds_count`,
	} {
		r := servertest.Request(t, "GET", s.processes[name].metrics, nil)
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), want) ||
			!strings.Contains(string(r.Body), "udaconnect_http_request_duration_seconds_count") {
			t.Errorf("%s's metrics = %d, without %s or the request durations", name, r.Status, want)
		}
	}
	if r := (servertest.Client{}).Request(t, "GET", s.door+"/metrics", nil); strings.Contains(string(r.Body), "udaconnect_") {
		t.Errorf("the door's public port serves its metrics")
	}
}

// Meetings through the whole system: reports sent to /events make a
// meeting that the person's live stream shows, a few seconds behind at most
// (GET /api/detection says how far); a stream that reconnects
// with Last-Event-ID gets what it missed, once; a report posted to
// /api/locations makes a meeting too.
func TestMeetingsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	register := func(first string) PersonWithToken { return s.register(t, first, "Meets", "Booth") }
	ada, bob, cy := register("Ada"), register("Bob"), register("Cy")
	// Minute m of the last 45 (Cy's report, an attendee's, must be live).
	base := time.Now().UTC().Truncate(time.Minute).Add(-45 * time.Minute)
	at := func(m int) string { return base.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
	n := 0
	send := func(p PersonWithToken, metres float64, m int) {
		t.Helper()
		n++
		e := servertest.NewEvent(t, ev.LocationReported, fmt.Sprint("meet-", n), map[string]any{
			"person_id": p.ID, "latitude": 35.0585136 + metres/110_940, "longitude": -106.5719566, "creation_time": at(m)})
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

	// Together from Bob's report on, as far as the latest report.
	send(ada, 0, 0)
	stream := asAda.Subscribe(t, live, "")
	send(bob, 1, 5)
	send(ada, 0, 10)
	first := stream.Next(t)
	if m := meeting(first); m.Person.ID != bob.ID || m.Ended || m.TogetherS != 300 {
		t.Fatalf("first event = %+v; want an open meeting with Bob, 300 s together", m)
	}

	// Disconnected: Bob's hold ends at minute 20, the meeting with it;
	// another starts at minute 40.
	stream.Close()
	send(ada, 0, 40)
	send(bob, 1, 40)
	send(ada, 0, 43)
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
		"person_id": cy.ID, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": at(44)})
	if r.Status != http.StatusCreated {
		t.Fatalf("POST /api/locations = %d %s; want 201", r.Status, r.Body)
	}
	send(bob, 1, 45) // time moves on: Cy has been with Ada for a minute
	if m := meeting(again.Next(t)); m.Person.ID != cy.ID {
		t.Errorf("next event = %+v; want the meeting with Cy", m)
	}

	// How current the meetings are, for an attendee too.
	var d udaconnect.Detection
	eventually(t, "detection current to Bob's last report", func() bool {
		r := asAda.Request(t, "GET", s.door+"/api/detection", nil)
		r.Decode(t, &d)
		return r.Status == http.StatusOK && d.CurrentTo != nil && d.CurrentTo.Format(time.RFC3339) == at(45)
	})
	if d.BacklogReports != 0 || d.LagS != 0 {
		t.Errorf("GET /api/detection = %+v; want nothing waiting", d)
	}
}
