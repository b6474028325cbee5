package main

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/shared/capacity"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"sigs.k8s.io/yaml"
)

// The prod overlay's scaling follows the capacity model at its design point,
// with the costs of the committed bench run: a bench run that moves them
// moves the overlay too.
func TestProdOverlayFollowsTheModel(t *testing.T) {
	b, err := os.ReadFile("../../../docs/bench.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	plan := capacity.Plan(r.Costs(), capacity.DesignPoint)

	b, err = os.ReadFile("../../../deploy/overlays/prod/scale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	annotations := map[string]map[string]string{} // by service
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var svc struct {
			Metadata struct{ Name string }
			Spec     struct {
				Template struct {
					Metadata struct{ Annotations map[string]string }
				}
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &svc); err != nil {
			t.Fatal(err)
		}
		annotations[svc.Metadata.Name] = svc.Spec.Template.Metadata.Annotations
	}
	for _, p := range capacity.Scaled {
		a := annotations[p]
		want := map[string]string{
			"autoscaling.knative.dev/metric":    "rps",
			"autoscaling.knative.dev/target":    strconv.Itoa(plan.Target[p]),
			"autoscaling.knative.dev/max-scale": strconv.Itoa(plan.MaxScale(p)),
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("prod overlay: %s's %s = %q; the model says %q", p, k, a[k], v)
			}
		}
	}

	b, err = os.ReadFile("../../../eventing/kafka/kafka-broker-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var config struct{ Data map[string]string }
	if err := yaml.Unmarshal(b, &config); err != nil {
		t.Fatal(err)
	}
	if got, want := config.Data["default.topic.partitions"], strconv.Itoa(plan.TopicPartitions()); got != want {
		t.Errorf("Kafka topic partitions = %q; the model says %q", got, want)
	}
}

// With the crowds measured, connections' CPU is the 2,000 hall's at its own
// rate (not the 10,000 hall's), and PostgreSQL's adds detection alone in that hall; the rest stays
// the single events'.
func TestCostsFromTheCrowd(t *testing.T) {
	r := sampleResults()
	r.Ingest[0].Stored = 1000
	r.Ingest[0].CPU = map[string]float64{"locations": 1, "connections": 5, "postgres": 2}
	single := r.Costs()
	if single.Crowd || single.CPU["connections"] != 5e-3 || single.CPU["postgres"] != 2e-3 || single.DetectedPerReport != 0 {
		t.Fatalf("costs without crowds = %+v; want the single events' alone", single)
	}
	r.Crowds = sampleCrowds()
	slices.Reverse(r.Crowds.Doors) // the 2,000 hall's found by its name, the 10,000 hall's left out
	c := r.Costs()
	// 2.4 s over 24,000 reports; 2 s over 1,000 reports plus 150 µs.
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if !c.Crowd || !near(c.CPU["connections"], 100e-6) || !near(c.CPU["postgres"], 2.15e-3) || !near(c.CPU["locations"], 1e-3) || c.ZoneLagP99 != 1200 ||
		!near(c.DetectedPerReport, 80_000.0/24_000) {
		t.Errorf("costs = %+v; want connections 100 µs, PostgreSQL 2.15 ms, locations 1 ms, zone lag p99 1,200 ms, 3.33 connection.detected a report", c)
	}
	md := capacity.Markdown(c)
	for _, want := range []string{
		"| CPU of connections | 0.100 ms | the 2,000 hall at its own rate through the whole path |",
		"| lag of fresh meetings in one zone, p50 / p99 | 0.30 s / 1.20 s | the 2,000 hall at its own rate through the whole path |",
		"| connection.detected events (meetings stored) | 3.33 | detection alone in the 2,000 hall |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the model's Markdown lacks %q:\n%s", want, md)
		}
	}
}

// The connection.detected whose size the model counts is one as connections
// sends it: an event of that type, its two people in its data, larger than
// a report.
func TestDetectedEvent(t *testing.T) {
	body := detectedEvent()
	var e struct {
		Type string
		Data ev.ConnectionDetectedData
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if e.Type != ev.ConnectionDetected || e.Data.Person.ID == 0 || e.Data.Other.ID == 0 || e.Data.Distance == 0 {
		t.Errorf("detected event = %s; want a connection.detected of two people", body)
	}
	if c := sampleResults().Costs(); c.DetectedEventBytes != float64(len(body)) || c.DetectedEventBytes < 2*c.EventBytes {
		t.Errorf("costs: detected event %.0f bytes, report %.0f; want the event's %d, larger than two reports", c.DetectedEventBytes, c.EventBytes, len(body))
	}
}
