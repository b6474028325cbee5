package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// broker records the events replayed to it and answers status.
type broker struct {
	mu     sync.Mutex
	status int
	events []event.Event
}

func (b *broker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.events = append(b.events, *e)
	w.WriteHeader(b.status)
}

func (b *broker) got() []event.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]event.Event(nil), b.events...)
}

// start serves the function as its own database role, replaying to b.
func start(t *testing.T, b *broker) string {
	t.Helper()
	sink := httptest.NewServer(b)
	t.Cleanup(sink.Close)
	db, err := postgres.Open(context.Background(), pgtest.RoleURL(t, pgtest.NewDatabase(t), postgres.RoleDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f, err := New(server.Config{Sink: sink.URL}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, f).URL
}

// Every route answers only the door and the broker.
func TestCallers(t *testing.T) {
	servertest.RefusesStrangers(t, start(t, &broker{}), "POST /", "GET /api/dead-letters", "POST /api/dead-letters/1/replay",
		"POST /api/dead-letters/replay")
}

func deadLetter(t *testing.T, id string) event.Event {
	e := servertest.NewEvent(t, "io.udaconnect.location.reported", id, map[string]any{"person_id": 999})
	e.SetExtension("knativeerrorcode", 422)
	e.SetExtension("knativeerrordest", "http://locations")
	e.SetExtension("knativeerrordata", "eyJlcnJvciI6InVua25vd24gcGVyc29uIn0=")
	e.SetExtension("knativebrokerttl", 254)
	return e
}

func TestDeadLetters(t *testing.T) {
	b := &broker{status: http.StatusAccepted}
	url := start(t, b)
	for _, id := range []string{"a", "b", "c", "a"} { // a twice: stored once
		if r := servertest.Send(t, url, "binary", deadLetter(t, id)); r.Status != http.StatusAccepted {
			t.Fatalf("POST dead letter %s = %d %s; want 202", id, r.Status, r.Body)
		}
	}

	var page []udaconnect.DeadLetter
	r := servertest.Request(t, "GET", url+"/api/dead-letters?limit=2", nil)
	r.Decode(t, &page)
	if len(page) != 2 || page[0].EventID != "a" || page[1].EventID != "b" || page[0].Status == nil || *page[0].Status != 422 ||
		page[0].Destination != "http://locations" || page[0].ReplayedAt != nil {
		t.Fatalf("GET /api/dead-letters?limit=2 = %s; want a and b, 422 from http://locations, waiting", r.Body)
	}
	link := r.Header.Get("Link")
	want := fmt.Sprintf(`</api/dead-letters?after=%d&limit=2>; rel="next"`, page[1].ID)
	if link != want {
		t.Fatalf("Link = %q; want %q", link, want)
	}
	servertest.Request(t, "GET", fmt.Sprintf("%s/api/dead-letters?after=%d&limit=2", url, page[1].ID), nil).Decode(t, &page)
	if len(page) != 1 || page[0].EventID != "c" {
		t.Fatalf("second page = %+v; want c", page)
	}

	var one udaconnect.DeadLetter
	r = servertest.Request(t, "POST", fmt.Sprintf("%s/api/dead-letters/%d/replay", url, page[0].ID), nil)
	if r.Decode(t, &one); r.Status != http.StatusOK || one.ReplayedAt == nil {
		t.Fatalf("replay c = %d %s; want 200, marked replayed", r.Status, r.Body)
	}
	got := b.got()
	var data struct {
		PersonID int64 `json:"person_id"`
	}
	if len(got) != 1 || got[0].ID() != "c" || got[0].DataAs(&data) != nil || data.PersonID != 999 {
		t.Fatalf("broker got %v; want event c with its data", got)
	}
	for name := range got[0].Extensions() {
		if strings.HasPrefix(name, "knative") {
			t.Errorf("replayed event carries %s; want Knative's extensions left out", name)
		}
	}

	var all Replayed
	servertest.Request(t, "POST", url+"/api/dead-letters/replay", nil).Decode(t, &all)
	if all.Replayed != 2 || len(b.got()) != 3 {
		t.Errorf("replay all = %+v, broker got %d; want 2 more (a and b)", all, len(b.got()))
	}
	servertest.Request(t, "GET", url+"/api/dead-letters?waiting=true", nil).Decode(t, &page)
	if len(page) != 0 {
		t.Errorf("waiting after replaying all = %+v; want none", page)
	}
	// Failing again after its replay, a dead letter waits again.
	servertest.Send(t, url, "binary", deadLetter(t, "a"))
	servertest.Request(t, "GET", url+"/api/dead-letters?waiting=true", nil).Decode(t, &page)
	if len(page) != 1 || page[0].EventID != "a" {
		t.Errorf("waiting after a came back = %+v; want a", page)
	}
}

func TestReplayRefused(t *testing.T) {
	b := &broker{status: http.StatusServiceUnavailable}
	url := start(t, b)
	servertest.Send(t, url, "binary", deadLetter(t, "a"))
	var page []udaconnect.DeadLetter
	servertest.Request(t, "GET", url+"/api/dead-letters", nil).Decode(t, &page)
	tests := []struct {
		method, path string
		want         int
	}{
		{"POST", fmt.Sprintf("/api/dead-letters/%d/replay", page[0].ID), http.StatusServiceUnavailable},
		{"POST", "/api/dead-letters/replay", http.StatusServiceUnavailable},
		{"POST", "/api/dead-letters/999999/replay", http.StatusNotFound},
		{"POST", "/api/dead-letters/x/replay", http.StatusBadRequest},
		{"GET", "/api/dead-letters?limit=0", http.StatusBadRequest},
		{"GET", "/api/dead-letters?limit=1001", http.StatusBadRequest},
		{"GET", "/api/dead-letters?after=-1", http.StatusBadRequest},
		{"GET", "/api/dead-letters?waiting=yes", http.StatusBadRequest},
		{"GET", "/api/dead-letters?waiting=TRUE", http.StatusBadRequest},
		{"GET", "/api/dead-letters?waiting=false", http.StatusOK},
	}
	for _, tt := range tests {
		if r := servertest.Request(t, tt.method, url+tt.path, nil); r.Status != tt.want {
			t.Errorf("%s %s = %d %s; want %d", tt.method, tt.path, r.Status, r.Body, tt.want)
		}
	}
	servertest.Request(t, "GET", url+"/api/dead-letters?waiting=true", nil).Decode(t, &page)
	if len(page) != 1 {
		t.Errorf("waiting after refused replays = %+v; want the dead letter still waiting", page)
	}
}

// Without K_SINK (before the SinkBinding gives it) dead letters are stored
// and replays refused with 503.
func TestWithoutSink(t *testing.T) {
	db, err := postgres.Open(context.Background(), pgtest.RoleURL(t, pgtest.NewDatabase(t), postgres.RoleDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f, err := New(server.Config{}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	url := servertest.Start(t, f).URL
	if r := servertest.Send(t, url, "structured", deadLetter(t, "a")); r.Status != http.StatusAccepted {
		t.Fatalf("POST dead letter without a sink = %d %s; want 202", r.Status, r.Body)
	}
	if r := servertest.Request(t, "POST", url+"/api/dead-letters/replay", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("replay without a sink = %d %s; want 503", r.Status, r.Body)
	}
}

// A dead letter whose data holds a NUL, or is not the JSON it claims, is
// stored too; one the server cannot store (a NUL in an attribute, data that
// is not UTF-8) is refused with 400, final.
func TestPoisonStored(t *testing.T) {
	url := start(t, &broker{status: http.StatusAccepted})
	for body, want := range map[string]int{
		`{"specversion":"1.0","id":"nul-data","source":"/s","type":"t","knativeerrorcode":"400","data":{"name":"a\u0000b"}}`: 202,
		`{"specversion":"1.0","id":"nul\u0000id","source":"/s","type":"t","data":{}}`:                                        400,
		"{\"specversion\":\"1.0\",\"id\":\"bad-utf8\",\"source\":\"/s\",\"type\":\"t\",\"data\":{\"name\":\"\xfe\"}}":        400,
	} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/cloudevents+json")
		if r := servertest.Do(t, req); r.Status != want {
			t.Errorf("POST %q = %d %s; want %d", body, r.Status, r.Body, want)
		}
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader("not json"))
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "not-json", "Ce-Source": "/s", "Ce-Type": "t", "Content-Type": "application/json"} {
		req.Header.Set(k, v)
	}
	if r := servertest.Do(t, req); r.Status != http.StatusAccepted {
		t.Errorf("POST data that is not JSON = %d %s; want 202", r.Status, r.Body)
	}
	var page []udaconnect.DeadLetter
	servertest.Request(t, "GET", url+"/api/dead-letters", nil).Decode(t, &page)
	if len(page) != 2 || page[0].EventID != "nul-data" || page[1].EventID != "not-json" {
		t.Errorf("dead letters = %+v; want nul-data and not-json", page)
	}
}

// Dead letters are bounded: an attendee's beyond 100 are dropped (202, so
// that the Broker does not retry them), another sender keeps its own; those
// older than DEAD_LETTER_RETENTION are deleted when the function starts
// (and every hour).
func TestCapAndExpiry(t *testing.T) {
	t.Setenv("DEAD_LETTER_RETENTION", "1s")
	dbURL := pgtest.NewDatabase(t)
	owner, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	db, err := postgres.Open(context.Background(), pgtest.RoleURL(t, dbURL, postgres.RoleDeadLetters))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	old := udaconnect.DeadLetter{Source: "/senders/organizer/import", EventID: "old", Type: "t", Event: []byte(`{}`)}
	if _, err := owner.StoreDeadLetter(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // older than the retention when the function starts
	f, err := New(server.Config{}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	url := servertest.Start(t, f).URL
	count := func() map[string]int {
		var page []udaconnect.DeadLetter
		servertest.Request(t, "GET", url+"/api/dead-letters?limit=1000", nil).Decode(t, &page)
		n := map[string]int{}
		for _, d := range page {
			n[strings.Split(d.Source, "/")[2]]++
		}
		return n
	}
	for deadline := time.Now().Add(10 * time.Second); count()["organizer"] != 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := count()["organizer"]; n != 0 {
		t.Fatalf("%d dead letters older than the retention kept; want none", n)
	}
	for i := range 105 {
		e := deadLetter(t, fmt.Sprint("mine-", i))
		e.SetSource("/senders/person-7/phone")
		if r := servertest.Send(t, url, "binary", e); r.Status != http.StatusAccepted {
			t.Fatalf("dead letter %d = %d %s; want 202, kept or dropped", i, r.Status, r.Body)
		}
	}
	for i := range 3 {
		e := deadLetter(t, fmt.Sprint("gateway-", i))
		e.SetSource("/senders/reporter-1/gateway")
		servertest.Send(t, url, "binary", e)
	}
	if n := count(); n["person-7"] != 100 || n["reporter-1"] != 3 {
		t.Errorf("dead letters kept by sender = %v; want 100 of the attendee's 105, the reporter's 3", n)
	}
}
