package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/shared/capacity"
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
