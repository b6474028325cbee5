package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// anotherDoor starts a second door in front of the stack's functions and
// broker, with the first door's settings and those given; it returns its
// address.
func (s *stack) anotherDoor(t *testing.T, settings ...string) string {
	t.Helper()
	port := freePort(t)
	env := append(slices.Clone(s.processes["frontend"].env[len(os.Environ()):]), // the first door's settings
		append([]string{"PORT=" + port, "METRICS_PORT=" + freePort(t)}, settings...)...)
	start(t, "frontend", nil, env...)
	door := "http://127.0.0.1:" + port
	eventually(t, "the other door ready", func() bool {
		resp, err := http.Get(door + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return door
}

// Limits per event and per credential, through the real door and
// functions: each event of a batch is charged to its sender's rate; one
// credential's slow batch, or its streams, leave the others theirs.
func TestLimitsPerCredential(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	a, b := s.register(t, "Rae", "Rate", "Booth"), s.register(t, "Sam", "Rate", "Booth")
	asA, asB := servertest.Client{Token: a.Token}, servertest.Client{Token: b.Token}
	batch := func(p PersonWithToken, n int) string {
		var events []any
		for i := range n {
			events = append(events, servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("rate-%d-%d", p.ID, i), map[string]any{
				"person_id": p.ID, "latitude": 35.05, "longitude": -106.57, "creation_time": time.Now().UTC().Format(time.RFC3339)}))
		}
		body, _ := json.Marshal(events)
		return string(body)
	}
	post := func(c servertest.Client, door string, body io.Reader) servertest.Response {
		req, _ := http.NewRequest("POST", door+"/events", body)
		req.Header.Set("Content-Type", batchType)
		return c.Do(t, req)
	}

	// A batch of 8 at a burst of 5: the request and 4 more events are
	// taken, the last 3 are 429, to send again later.
	door := s.anotherDoor(t, "ATTENDEE_RATE=0.001/5")
	var answer BatchAnswer
	r := post(asA, door, strings.NewReader(batch(a, 8)))
	if r.Decode(t, &answer); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || len(answer.Results) != 8 {
		t.Fatalf("a batch of 8 at a burst of 5 = %d %s; want 429 with Retry-After and a result per event", r.Status, r.Body)
	}
	for i, res := range answer.Results {
		if want := map[bool]int{true: 202, false: 429}[i < 5]; res.Status != want {
			t.Errorf("event %d of the batch = %+v; want %d", i, res, want)
		}
	}

	// A batch held open by A takes A's one parsing slot, not B's: its
	// headers and a first byte are sent, the rest never. A batch of A's
	// posted at the same moment may take the slot first (then the held one
	// is refused at once): hold another until one holds it.
	var conn net.Conn
	eventually(t, "A's second batch refused while the first is read", func() bool {
		var err error
		if conn, err = net.Dial("tcp", strings.TrimPrefix(s.door, "http://")); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /events HTTP/1.1\r\nHost: door\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n[", a.Token, batchType)
		r := post(asA, s.door, strings.NewReader(batch(a, 1)))
		if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "" && strings.Contains(string(r.Body), "batches of this credential") {
			return true
		}
		conn.Close()
		return false
	})
	if r := post(asB, s.door, strings.NewReader(batch(b, 1))); r.Status != http.StatusAccepted {
		t.Errorf("B's batch while A's is read = %d %s; want 202", r.Status, r.Body)
	}
	conn.Close()

	// Three live streams each; the fourth is 429 until one closes.
	live := fmt.Sprintf("%s/api/persons/%d/meetings/live", s.door, a.ID)
	var streams []*servertest.Stream
	for range 3 {
		streams = append(streams, asA.Subscribe(t, live, ""))
	}
	if r := asA.Open(t, mustRequest(t, "GET", live)); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("a 4th stream = %d %s; want 429 with Retry-After", r.Status, r.Body)
	}
	if r := s.org.Open(t, mustRequest(t, "GET", live)); r.Status != http.StatusOK {
		t.Errorf("the organizer's stream beside them = %d; want 200", r.Status)
	}
	streams[0].Close()
	eventually(t, "a 4th stream once one closed", func() bool {
		return asA.Open(t, mustRequest(t, "GET", live)).Status == http.StatusOK
	})
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// A credential's events on their way and heavy reads are capped: the
// broker holds every event, the connections function every read.
func TestInFlightAndHeavyReads(t *testing.T) {
	held := make(chan struct{})
	functions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token-generations":
			fmt.Fprint(w, `{}`)
		case strings.HasSuffix(r.URL.Path, "/connection"):
			<-held
			fmt.Fprint(w, `[]`)
		default:
			fmt.Fprint(w, `[]`) // no report before
		}
	}))
	t.Cleanup(functions.Close)
	b := &broker{hold: held}
	door := startDoor(t, b, "PERSONS_URL="+functions.URL, "LOCATIONS_URL="+functions.URL, "CONNECTIONS_URL="+functions.URL,
		"ATTENDEE_RATE=1000/1000")
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(held) }) }) // before the servers close
	tokens, _ := auth.NewTokens(testAuthKey, testOrganizerToken, time.Hour)
	token, _ := tokens.Issue(1, 1)
	attendee := servertest.Client{Token: token}
	// One more event than the attendee's cap at once: one is refused.
	var wg sync.WaitGroup
	refused := make(chan string, 1)
	for i := range inFlightCaps[auth.Attendee] + 1 {
		wg.Go(func() {
			r := attendee.Send(t, door+"/events", "binary", servertest.NewEvent(t, ev.LocationReported, fmt.Sprint("held-", i),
				map[string]any{"person_id": 1, "latitude": 35.05, "longitude": -106.57}))
			if r.Status == http.StatusTooManyRequests {
				refused <- string(r.Body)
			}
		})
	}
	select {
	case body := <-refused:
		if !strings.Contains(body, "on their way") {
			t.Errorf("the event over the cap = 429 %s; want it refused for the events on their way", body)
		}
	case <-time.After(ForwardTimeout / 2):
		t.Errorf("%d events of an attendee at once, all taken; want one refused with 429", inFlightCaps[auth.Attendee]+1)
	}
	// One more heavy read than the organizer's cap at once: one is refused.
	for i := range heavyCaps[auth.Organizer] + 1 {
		wg.Go(func() {
			r := asOrganizer.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/connection?start_date=2021-05-05&end_date=2021-05-05", door, i+1), nil)
			if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "" {
				refused <- string(r.Body)
			}
		})
	}
	select {
	case body := <-refused:
		if !strings.Contains(body, "heavy reads") {
			t.Errorf("the read over the cap = 429 %s; want it refused for the heavy reads under way", body)
		}
	case <-time.After(ForwardTimeout / 2):
		t.Errorf("%d heavy reads of the organizer at once, all taken; want one refused with 429 and Retry-After", heavyCaps[auth.Organizer]+1)
	}
	release.Do(func() { close(held) })
	wg.Wait()
	if r := attendee.Request(t, "GET", door+"/api/persons/1/connection?start_date=2021-05-05&end_date=2021-05-05&window=15m", nil); r.Status != http.StatusOK {
		t.Errorf("a heavy read once the others finished = %d %s; want 200", r.Status, r.Body)
	}
}
