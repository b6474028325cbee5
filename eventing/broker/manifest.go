// Package broker runs Knative Broker and Trigger manifests without a
// cluster: an in-memory broker with Knative's ingress, filters, delivery,
// replies and dead-letter sink.
package broker

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	eventingAPI = "eventing.knative.dev/v1"
	sourcesAPI  = "sources.knative.dev/v1"
)

// Manifests are the Brokers, Triggers and PingSources read from Knative
// YAML files.
type Manifests struct {
	Brokers     []BrokerManifest
	Triggers    []TriggerManifest
	PingSources []PingSourceManifest
}

// Meta is the part of a Kubernetes object's metadata the broker uses.
type Meta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// BrokerManifest is a Knative Broker.
type BrokerManifest struct {
	Metadata Meta `json:"metadata"`
	Spec     struct {
		Delivery *Delivery `json:"delivery"`
	} `json:"spec"`
}

// TriggerManifest is a Knative Trigger.
type TriggerManifest struct {
	Metadata Meta `json:"metadata"`
	Spec     struct {
		Broker string `json:"broker"`
		Filter *struct {
			Attributes map[string]string `json:"attributes"`
		} `json:"filter"`
		Filters    []FilterExpr `json:"filters"`
		Subscriber Destination  `json:"subscriber"`
		Delivery   *Delivery    `json:"delivery"`
	} `json:"spec"`
}

// PingSourceManifest is a Knative PingSource.
type PingSourceManifest struct {
	Metadata Meta `json:"metadata"`
	Spec     struct {
		Schedule    string      `json:"schedule"`
		Timezone    string      `json:"timezone"`
		ContentType string      `json:"contentType"`
		Data        string      `json:"data"`
		Sink        Destination `json:"sink"`
		CEOverrides *struct {
			Extensions map[string]string `json:"extensions"`
		} `json:"ceOverrides"`
	} `json:"spec"`
}

// Destination is a Knative duck Destination: a ref to an addressable or a URI.
type Destination struct {
	Ref *struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"ref"`
	URI string `json:"uri"`
}

// Delivery is a Knative DeliverySpec.
type Delivery struct {
	Retry          *int32       `json:"retry"`
	BackoffPolicy  string       `json:"backoffPolicy"`
	BackoffDelay   string       `json:"backoffDelay"`
	Timeout        string       `json:"timeout"`
	DeadLetterSink *Destination `json:"deadLetterSink"`
}

// Load reads Broker, Trigger and PingSource objects from multi-document YAML
// files; a directory stands for its *.yaml and *.yml files. Other kinds are
// ignored.
func Load(paths ...string) (*Manifests, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			found, _ := filepath.Glob(filepath.Join(p, pattern))
			files = append(files, found...)
		}
	}
	m := &Manifests{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := m.add(data); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return m, nil
}

var docSeparator = regexp.MustCompile(`(?m)^---\s*$`)

func (m *Manifests) add(data []byte) error {
	for i, doc := range docSeparator.Split(string(data), -1) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		var meta *Meta
		var err error
		switch head.APIVersion + " " + head.Kind {
		case sourcesAPI + " PingSource":
			var p PingSourceManifest
			err = yaml.Unmarshal([]byte(doc), &p)
			m.PingSources = append(m.PingSources, p)
			meta = &m.PingSources[len(m.PingSources)-1].Metadata
		case eventingAPI + " Broker":
			var b BrokerManifest
			err = yaml.Unmarshal([]byte(doc), &b)
			m.Brokers = append(m.Brokers, b)
			meta = &m.Brokers[len(m.Brokers)-1].Metadata
		case eventingAPI + " Trigger":
			var t TriggerManifest
			err = yaml.Unmarshal([]byte(doc), &t)
			m.Triggers = append(m.Triggers, t)
			meta = &m.Triggers[len(m.Triggers)-1].Metadata
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("document %d: %s: %w", i+1, head.Kind, err)
		}
		if meta.Namespace == "" {
			meta.Namespace = "default"
		}
	}
	return nil
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// ParseDuration parses an ISO-8601 duration such as PT0.2S or P1DT2H; years
// and months are refused because their length varies.
func ParseDuration(s string) (time.Duration, error) {
	parts := isoDuration.FindStringSubmatch(s)
	if parts == nil || s == "P" || s[len(s)-1] == 'T' {
		return 0, fmt.Errorf("invalid ISO-8601 duration %q", s)
	}
	units := []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, unit := range units {
		if parts[i+1] == "" {
			continue
		}
		n, err := strconv.ParseFloat(parts[i+1], 64)
		if err != nil {
			return 0, fmt.Errorf("invalid ISO-8601 duration %q", s)
		}
		d += time.Duration(n * float64(unit))
	}
	return d, nil
}
