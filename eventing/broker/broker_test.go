package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

const brokerYAML = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: udaconnect}
spec:
  delivery:
    retry: 2
    backoffPolicy: exponential
    backoffDelay: PT0.2S
    deadLetterSink: {ref: {kind: Service, name: dead-letters}}
`

func triggerYAML(name, eventType, service string) string {
	return fmt.Sprintf(`---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: %s, namespace: udaconnect}
spec: {broker: default, filters: [{exact: {type: %s}}], subscriber: {ref: {kind: Service, name: %s}}}
`, name, eventType, service)
}

type testBroker struct {
	*Broker
	srv  *httptest.Server
	dead *subscriber // the dead-letter sink
}

// newTestBroker serves brokerYAML and the triggers, with a store of its own
// and, unless services has one, a dead-letter sink that takes every event;
// it is not started.
func newTestBroker(t testing.TB, cfg Config, services Services, triggers ...string) *testBroker {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	url := "http://" + srv.Listener.Addr().String()
	m := &Manifests{}
	if err := m.add([]byte(brokerYAML + strings.Join(triggers, ""))); err != nil {
		t.Fatal(err)
	}
	if services == nil {
		services = Services{}
	}
	tb := &testBroker{srv: srv, dead: &subscriber{}}
	if _, ok := services["dead-letters"]; !ok {
		services["dead-letters"] = tb.dead.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) })
	}
	store, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	cfg.Services, cfg.BaseURL, cfg.Store = services, url, store
	if tb.Broker, err = New(context.Background(), m, m.Brokers[0], cfg); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = Handler(tb.Broker)
	srv.Start()
	return tb
}

func (tb *testBroker) start(t *testing.T) {
	if err := tb.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close(context.Background()) })
}

// drain returns once every stored event, reply and dead letter is handled,
// and closes the broker.
func (tb *testBroker) drain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{tb.streamName(), tb.streamName() + "_dead"} {
		for {
			s, err := tb.js.Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatalf("stream %s: %v", name, err)
			}
			if info.State.Msgs == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := tb.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// subscriber records the events it receives and answers with handle.
type subscriber struct {
	mu     sync.Mutex
	events []event.Event
}

func (s *subscriber) serve(t testing.TB, handle func(w http.ResponseWriter, n int)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
		if err != nil {
			t.Errorf("subscriber got no event: %v", err)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, *e)
		n := len(s.events)
		s.mu.Unlock()
		handle(w, n)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (s *subscriber) got() []event.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

func replyWith(eventType string, structured bool) func(w http.ResponseWriter, n int) {
	return func(w http.ResponseWriter, n int) {
		if structured {
			w.Header().Set("Content-Type", "application/cloudevents+json")
			fmt.Fprintf(w, `{"specversion":"1.0","id":"r%d","source":"/persons","type":%q,"data":{"id":%d}}`, n, eventType, n)
			return
		}
		w.Header().Set("Ce-Specversion", "1.0")
		w.Header().Set("Ce-Id", fmt.Sprint("r", n))
		w.Header().Set("Ce-Source", "/persons")
		w.Header().Set("Ce-Type", eventType)
		w.WriteHeader(http.StatusOK)
	}
}

func TestReplyRouting(t *testing.T) {
	for _, structured := range []bool{false, true} {
		t.Run(fmt.Sprint("structured=", structured), func(t *testing.T) {
			var persons, audit subscriber
			services := Services{
				"persons": persons.serve(t, replyWith("io.udaconnect.person.created", structured)),
				"audit":   audit.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) }),
			}
			tb := newTestBroker(t, Config{}, services,
				triggerYAML("person-create", "io.udaconnect.person.create", "persons"),
				triggerYAML("person-created", "io.udaconnect.person.created", "audit"))
			tb.start(t)
			post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Type", "io.udaconnect.person.create"), `{}`)
			tb.drain(t)
			got, replies := persons.got(), audit.got()
			if len(got) != 1 || len(replies) != 1 || replies[0].ID() != "r1" {
				t.Fatalf("persons got %v, audit got %v; want the event, then its reply", got, replies)
			}
			for _, e := range append(got, replies...) {
				if _, ok := e.Extensions()[TTLExtension]; ok {
					t.Errorf("subscriber saw %s; the broker keeps its TTL to itself", TTLExtension)
				}
			}
			if resp := post(t, tb.srv.URL+"/udaconnect/default", binaryHeaders, `{}`); resp.StatusCode != 503 {
				t.Errorf("POST after Close = %d; want 503", resp.StatusCode)
			}
		})
	}
}

func TestTTLExhaustion(t *testing.T) {
	tests := []struct {
		ttl       string
		wantCalls int
	}{{"", 255}, {"3", 2}}
	for _, tt := range tests {
		t.Run("ttl="+tt.ttl, func(t *testing.T) {
			var loop subscriber
			const loopType = "io.udaconnect.loop"
			services := Services{"loop": loop.serve(t, replyWith(loopType, false))}
			tb := newTestBroker(t, Config{}, services, triggerYAML("loop", loopType, "loop"))
			tb.start(t)
			headers := with(binaryHeaders, "Ce-Type", loopType)
			if tt.ttl != "" {
				headers["Ce-Knativebrokerttl"] = tt.ttl
			}
			post(t, tb.srv.URL+"/udaconnect/default", headers, `{}`)
			tb.drain(t)
			dead := tb.dead.got()
			if n := len(loop.got()); n != tt.wantCalls || len(dead) != 1 {
				t.Fatalf("%d deliveries, %d dead letters; want %d and 1", n, len(dead), tt.wantCalls)
			}
			if ext := dead[0].Extensions(); ext[ErrorCodeExtension] != "400" || ext[ErrorDestExtension] != tb.ingress {
				t.Errorf("dead letter extensions = %v; want code 400 from %s", ext, tb.ingress)
			}
		})
	}
}

func TestDeadLetter(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int // answers in turn; the last one repeats
		wantCalls int
		wantCode  string
	}{
		{"final", []int{422}, 1, "422"},
		{"retries spent", []int{503}, 3, "503"},
		{"recovers", []int{503, 503, 202}, 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var locations subscriber
			url := locations.serve(t, func(w http.ResponseWriter, n int) {
				w.WriteHeader(tt.statuses[min(n, len(tt.statuses))-1])
				fmt.Fprint(w, `{"error":"unknown person"}`)
			})
			tb := newTestBroker(t, Config{}, Services{"locations": url},
				triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
			tb.start(t)
			post(t, tb.srv.URL+"/udaconnect/default", binaryHeaders, `{"person_id":999}`)
			tb.drain(t)
			dead := tb.dead.got()
			if n := len(locations.got()); n != tt.wantCalls {
				t.Errorf("%d calls; want %d", n, tt.wantCalls)
			}
			if tt.wantCode == "" {
				if len(dead) != 0 {
					t.Errorf("dead letters = %v; want none", dead)
				}
				return
			}
			if len(dead) != 1 || dead[0].ID() != "1" || string(dead[0].Data()) != `{"person_id":999}` {
				t.Fatalf("dead letters = %v; want the original event", dead)
			}
			ext := dead[0].Extensions()
			wantData := base64.StdEncoding.EncodeToString([]byte(`{"error":"unknown person"}`))
			if ext[ErrorCodeExtension] != tt.wantCode || ext[ErrorDestExtension] != url || ext[ErrorDataExtension] != wantData {
				t.Errorf("dead letter extensions = %v; want code %s, dest %s, data %s", ext, tt.wantCode, url, wantData)
			}
		})
	}
}

// A reply finds room in a stream the ingress filled, and is delivered.
func TestReplyIntoFullStream(t *testing.T) {
	got, release := make(chan struct{}), make(chan struct{})
	var persons, audit subscriber
	reply := replyWith("io.udaconnect.person.created", false)
	services := Services{"persons": persons.serve(t, func(w http.ResponseWriter, n int) {
		close(got)
		<-release
		reply(w, n)
	}), "audit": audit.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) })}
	tb := newTestBroker(t, Config{QueueSize: 2, Workers: 1}, services,
		triggerYAML("person-create", "io.udaconnect.person.create", "persons"),
		triggerYAML("person-created", "io.udaconnect.person.created", "audit"))
	tb.start(t)
	post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Type", "io.udaconnect.person.create"), `{}`)
	<-got
	resp := post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Type", "io.udaconnect.person.create", "Ce-Id", "2"), `{}`)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("POST to the full ingress = %d; want 429", resp.StatusCode)
	}
	close(release)
	tb.drain(t)
	if replies, dead := audit.got(), tb.dead.got(); len(replies) != 1 || len(dead) != 0 {
		t.Fatalf("replies %v, dead letters %v; want the reply delivered, no dead letter", replies, dead)
	}
}

// Events stored before a crash are delivered after the restart, from the
// same directory.
func TestRestartDelivers(t *testing.T) {
	dir := t.TempDir()
	var locations subscriber
	url := locations.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) })
	m := &Manifests{}
	if err := m.add([]byte(brokerYAML + triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))); err != nil {
		t.Fatal(err)
	}
	services := Services{"locations": url, "dead-letters": url}
	open := func() (*Store, *Broker) {
		store, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := New(context.Background(), m, m.Brokers[0], Config{Services: services, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		return store, b
	}
	store, b := open()
	for i := range 3 {
		if err := b.publish(context.Background(), func() event.Event { e := testEvent(); e.SetID(fmt.Sprint(i)); return e }(), false); err != nil {
			t.Fatal(err)
		}
	}
	store.Close() // never started: nothing delivered
	store, b = open()
	defer store.Close()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	tb := &testBroker{Broker: b}
	tb.drain(t)
	if got := locations.got(); len(got) != 3 {
		t.Errorf("after the restart %d events delivered; want the 3 stored before", len(got))
	}
}

// BenchmarkDeliver measures events delivered per second from a stream that
// holds them all, to a subscriber that takes each at once.
func BenchmarkDeliver(b *testing.B) {
	srv, _ := answering(b, http.StatusAccepted)
	tb := newTestBroker(b, Config{QueueSize: 1 << 20, Workers: 64}, Services{"locations": srv.URL},
		triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	for i := range b.N {
		e := testEvent()
		e.SetID(fmt.Sprint(i))
		if err := tb.publish(context.Background(), e, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	if err := tb.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	tb.drain(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// The trace of an event (the CloudEvents tracing extension) reaches its
// subscriber, and a reply without a trace of its own continues it.
func TestReplyKeepsTrace(t *testing.T) {
	const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	for name, replyTrace := range map[string]string{"reply without a trace": "", "reply with its own": own} {
		t.Run(name, func(t *testing.T) {
			var persons, audit subscriber
			reply := replyWith("io.udaconnect.person.created", false)
			services := Services{
				"persons": persons.serve(t, func(w http.ResponseWriter, n int) {
					if replyTrace != "" {
						w.Header().Set("Ce-Traceparent", replyTrace)
					}
					reply(w, n)
				}),
				"audit": audit.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) }),
			}
			tb := newTestBroker(t, Config{}, services,
				triggerYAML("person-create", "io.udaconnect.person.create", "persons"),
				triggerYAML("person-created", "io.udaconnect.person.created", "audit"))
			tb.start(t)
			post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Type", "io.udaconnect.person.create", "Ce-Traceparent", trace), `{}`)
			tb.drain(t)
			got, replies := persons.got(), audit.got()
			if len(got) != 1 || len(replies) != 1 {
				t.Fatalf("persons got %d events, audit %d; want 1 and its reply", len(got), len(replies))
			}
			want := trace
			if replyTrace != "" {
				want = replyTrace
			}
			if tp := got[0].Extensions()["traceparent"]; tp != trace {
				t.Errorf("the subscriber got traceparent %v; want %s", tp, trace)
			}
			if tp := replies[0].Extensions()["traceparent"]; tp != want {
				t.Errorf("the reply was routed with traceparent %v; want %s", tp, want)
			}
		})
	}
}

// An event waiting for its retry holds no worker: with one worker, the
// events behind a failing one are delivered while it waits.
func TestRetryHoldsNoWorker(t *testing.T) {
	var locations subscriber
	url := locations.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) })
	poisoned := subscriber{}
	poison := poisoned.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusServiceUnavailable) })
	slow := `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: %s, namespace: udaconnect}
spec:
  broker: default
  filters: [{exact: {type: io.udaconnect.location.reported}}]
  subscriber: {ref: {kind: Service, name: %s}}
  delivery: {retry: 5, backoffDelay: PT10S, deadLetterSink: {ref: {kind: Service, name: dead-letters}}}
`
	tb := newTestBroker(t, Config{Workers: 1}, Services{"locations": url, "poison": poison},
		fmt.Sprintf(slow, "location-reported", "locations"), fmt.Sprintf(slow, "poisoned", "poison"))
	tb.start(t)
	for i := range 20 {
		post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Id", fmt.Sprint(i)), `{}`)
	}
	// Each of the 20 events fails at poison, whose first retry waits 20 s;
	// meanwhile its one worker hands poison every other event, and locations
	// gets them all.
	for deadline := time.Now().Add(10 * time.Second); len(locations.got()) < 20 || len(poisoned.got()) < 20; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("locations got %d events, poison %d; want all 20 each while poison's retries wait", len(locations.got()), len(poisoned.got()))
		}
	}
	if n := len(poisoned.got()); n != 20 {
		t.Errorf("poison got %d deliveries; want each of the 20 events once, their retries waiting", n)
	}
}

// A dead letter the sink refuses with a final status is lost, as in
// Knative, not retried for ever.
func TestDeadLetterRefused(t *testing.T) {
	var locations, sink subscriber
	services := Services{
		"locations":    locations.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusUnprocessableEntity) }),
		"dead-letters": sink.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusBadRequest) }),
	}
	tb := newTestBroker(t, Config{}, services, triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	tb.start(t)
	post(t, tb.srv.URL+"/udaconnect/default", binaryHeaders, `{}`)
	tb.drain(t)
	if n := len(sink.got()); n != 1 {
		t.Errorf("the sink got the dead letter %d times; want once", n)
	}
}
