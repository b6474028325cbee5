package broker

import (
	"context"
	"strings"
	"testing"
	"time"
)

var localServices = Services{"persons": "http://127.0.0.1:8091", "locations": "http://127.0.0.1:8092",
	"connections": "http://127.0.0.1:8093", "dead-letters": "http://127.0.0.1:8094"}

// TestRepoManifests loads the manifests the cluster applies.
func TestRepoManifests(t *testing.T) {
	for _, paths := range [][]string{{"../broker.yaml", "../triggers.yaml", "../retention.yaml", "../detection.yaml"}, {".."}} {
		m, err := Load(paths...)
		if err != nil {
			t.Fatalf("Load(%v) = %v", paths, err)
		}
		if len(m.Brokers) != 1 || m.Brokers[0].Metadata != (Meta{Name: "default", Namespace: "udaconnect"}) {
			t.Fatalf("Load(%v) brokers = %+v; want udaconnect/default", paths, m.Brokers)
		}
		store, err := OpenStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		b, err := New(context.Background(), m, m.Brokers[0], Config{Services: localServices, Store: store})
		if err != nil {
			t.Fatalf("New(udaconnect/default) = %v", err)
		}
		if pings, err := NewPings(m, []*Broker{b}); err != nil || len(pings) != 2 {
			t.Errorf("NewPings = %d, %v; want the PingSources retention and detection", len(pings), err)
		}
		want := map[string]string{"person-create": "persons", "location-reported": "locations", "location-recorded": "connections",
			"retention-due": "locations", "detection-due": "connections"}
		if len(b.triggers) != len(want) {
			t.Errorf("%d triggers; want %d", len(b.triggers), len(want))
		}
		for _, tr := range b.triggers {
			wantPolicy := Policy{Retry: 10, Delay: 500 * time.Millisecond, DeadLetterSink: localServices["dead-letters"]}
			if got := tr.url.pick(); got != localServices[want[tr.name]] || tr.policy != wantPolicy {
				t.Errorf("trigger %s: subscriber %s, policy %+v; want %s, %+v", tr.name, got, tr.policy, localServices[want[tr.name]], wantPolicy)
			}
		}
	}
}

func TestLoadIgnoresOtherKinds(t *testing.T) {
	m := &Manifests{}
	err := m.add([]byte(brokerYAML + `---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: door}
---
apiVersion: v1
kind: Service
metadata: {name: frontend}
` + triggerYAML("t", "x", "unmapped")))
	if err != nil || len(m.Brokers) != 1 || len(m.Triggers) != 1 {
		t.Fatalf("add = %v, %d brokers, %d triggers; want 1 and 1", err, len(m.Brokers), len(m.Triggers))
	}
	if _, err := New(context.Background(), m, m.Brokers[0], Config{Services: localServices}); err == nil || !strings.Contains(err.Error(), "-service unmapped=URL") {
		t.Errorf("New with an unmapped Service = %v; want an error naming the flag", err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"PT0.2S", 200 * time.Millisecond}, {"PT1S", time.Second}, {"PT1M30S", 90 * time.Second},
		{"PT2H", 2 * time.Hour}, {"P1DT1H", 25 * time.Hour}, {"P1W", 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got, err := ParseDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "P", "PT", "0.2s", "P1M", "P1Y", "PT-1S"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = nil error; want one", in)
		}
	}
}
