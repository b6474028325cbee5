package broker

import (
	"context"
	"net/http"
	"testing"
	"time"
)

const pingYAML = `---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: retention, namespace: udaconnect}
spec:
  schedule: "* * * * *"
  contentType: application/json
  data: '{"due":true}'
  ceOverrides: {extensions: {job: retention}}
  sink: {ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}}
`

func TestPingSource(t *testing.T) {
	m := &Manifests{}
	if err := m.add([]byte(brokerYAML + pingYAML)); err != nil {
		t.Fatal(err)
	}
	if len(m.PingSources) != 1 {
		t.Fatalf("%d PingSources read; want 1", len(m.PingSources))
	}
	var sink subscriber
	tb := newTestBroker(t, Config{}, Services{"sink": sink.serve(t, func(w http.ResponseWriter, n int) { w.WriteHeader(http.StatusAccepted) })},
		triggerYAML("retention-due", PingEventType, "sink"))
	pings, err := NewPings(m, []*Broker{tb.Broker})
	if err != nil {
		t.Fatal(err)
	}
	tb.start(t)
	// The schedule's next time is this minute's end: send it now instead.
	p := pings[0]
	now := time.Now()
	next := p.schedule.Next(now)
	if d := next.Sub(now); d <= 0 || d > time.Minute || next.Second() != 0 {
		t.Errorf("next ping in %v at %v; want at the next minute", d, next)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.schedule = everySecond{}
	go p.Run(ctx, tb.log)
	for len(sink.got()) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	e := sink.got()[0]
	if e.Type() != PingEventType || e.Source() != "/apis/v1/namespaces/udaconnect/pingsources/retention" ||
		string(e.Data()) != `{"due":true}` || e.Extensions()["job"] != "retention" {
		t.Errorf("ping = %v; want Knative's ping event with the data and extension", e)
	}
}

func TestPingSourceInvalid(t *testing.T) {
	for name, yaml := range map[string]string{
		"schedule": `{apiVersion: sources.knative.dev/v1, kind: PingSource, metadata: {name: p}, spec: {schedule: "every hour", sink: {ref: {kind: Broker, name: default}}}}`,
		"sink":     `{apiVersion: sources.knative.dev/v1, kind: PingSource, metadata: {name: p, namespace: udaconnect}, spec: {schedule: "* * * * *", sink: {ref: {kind: Service, name: x}}}}`,
	} {
		m := &Manifests{}
		if err := m.add([]byte("---\n" + yaml)); err != nil {
			t.Fatal(err)
		}
		tb := newTestBroker(t, Config{}, nil)
		if _, err := NewPings(m, []*Broker{tb.Broker}); err == nil {
			t.Errorf("NewPings with a bad %s = nil error; want one", name)
		}
	}
}

// everySecond is a schedule of every second.
type everySecond struct{}

func (everySecond) Next(t time.Time) time.Time { return t.Truncate(time.Second).Add(time.Second) }
