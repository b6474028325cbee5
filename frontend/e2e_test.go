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
// four functions, the local broker and the door, on a database of its own.
type stack struct {
	door, broker string
	org          servertest.Client // the organizer
	tokens       *auth.Tokens      // the door's
	flaky        *flaky
	outage       *outage          // between the functions and the database
	procs        map[string]*proc // by binary name
	dbURL        string           // the owner's
}

// proc is one process of the stack, which a test may stop and start again.
type proc struct {
	name string
	cmd  *exec.Cmd
	args []string
	env  []string
	log  *os.File
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(p.cmd.Path, p.args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// stop sends sig and waits for the process to end.
func (p *proc) stop(sig os.Signal) {
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
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
	for _, name := range []string{"persons", "locations", "connections", "deadletters", "broker", "door", "flaky"} {
		ports[name] = freePort(t)
	}
	local := func(name string) string { return "http://127.0.0.1:" + ports[name] }
	s := &stack{door: local("door"), broker: local("broker"), org: servertest.Client{Token: testOrganizerToken}, tokens: tokens,
		procs: map[string]*proc{}, dbURL: dbURL}
	sink := s.broker + "/udaconnect/default"
	logs := t.TempDir()
	run := func(name string, args []string, env ...string) {
		out, err := os.Create(filepath.Join(logs, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		p := &proc{name: name, cmd: &exec.Cmd{Path: filepath.Join(bin, name)}, args: args, log: out,
			env: append(os.Environ(), append([]string{"HOST=127.0.0.1", "LOG_LEVEL=warn"}, env...)...)}
		p.start(t)
		s.procs[name] = p
		t.Cleanup(func() {
			p.stop(os.Interrupt)
			if t.Failed() {
				b, _ := os.ReadFile(out.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
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
	run("persons", nil, "PORT="+ports["persons"], "DATABASE_URL="+through(postgres.RolePersons))
	run("locations", nil, "PORT="+ports["locations"], "DATABASE_URL="+through(postgres.RoleLocations))
	run("connections", nil, "PORT="+ports["connections"], "K_SINK="+sink, "DATABASE_URL="+through(postgres.RoleConnections))
	run("deadletters", nil, "PORT="+ports["deadletters"], "K_SINK="+sink, "DATABASE_URL="+through(postgres.RoleDeadLetters))
	run("localbroker", []string{"-listen", "127.0.0.1:" + ports["broker"], "-data", filepath.Join(t.TempDir(), "broker"),
		"-manifests", "../eventing",
		"-service", "persons=" + local("persons"), "-service", "locations=" + local("flaky"),
		"-service", "connections=" + local("connections"), "-service", "dead-letters=" + local("deadletters")})
	run("frontend", nil, "PORT="+ports["door"], "K_SINK="+sink, "PERSONS_URL="+local("persons"),
		"AUTH_KEY="+testAuthKey, "ORGANIZER_TOKEN="+testOrganizerToken,
		"LOCATIONS_URL="+local("locations"), "CONNECTIONS_URL="+local("connections"), "DEADLETTERS_URL="+local("deadletters"))

	target, _ := url.Parse(local("locations"))
	s.flaky = &flaky{attempts: map[string]int{}, next: httputil.NewSingleHostReverseProxy(target)}
	l, err := net.Listen("tcp", "127.0.0.1:"+ports["flaky"])
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.flaky}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	for _, u := range []string{local("persons") + "/readyz", local("locations") + "/readyz", local("connections") + "/readyz",
		local("deadletters") + "/readyz", s.broker + "/healthz", s.door + "/readyz"} {
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

	// A report of an unknown person ends in the dead-letter sink, which the
	// organizer lists and replays: it fails again and waits again.
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
		return again.ID == first.ID && again.ReceivedAt.After(first.ReceivedAt)
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
