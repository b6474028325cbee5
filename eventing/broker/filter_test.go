package broker

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"sigs.k8s.io/yaml"
)

func testEvent() event.Event {
	e := event.New()
	e.SetID("1")
	e.SetType("io.udaconnect.location.reported")
	e.SetSource("/devices/42")
	e.SetExtension("booth", "b7")
	return e
}

func TestFilter(t *testing.T) {
	tests := []struct {
		name, spec string
		want       bool
	}{
		{"no filter", `{}`, true},
		{"exact", `filters: [{exact: {type: io.udaconnect.location.reported}}]`, true},
		{"exact other", `filters: [{exact: {type: io.udaconnect.person.create}}]`, false},
		{"exact extension", `filters: [{exact: {booth: b7}}]`, true},
		{"exact missing attribute", `filters: [{exact: {subject: x}}]`, false},
		{"prefix", `filters: [{prefix: {type: io.udaconnect.location.}}]`, true},
		{"prefix other", `filters: [{prefix: {type: io.udaconnect.person.}}]`, false},
		{"suffix", `filters: [{suffix: {source: /42}}]`, true},
		{"suffix other", `filters: [{suffix: {source: /43}}]`, false},
		{"filters are all", `filters: [{prefix: {type: io.}}, {exact: {booth: b8}}]`, false},
		{"all", `filters: [{all: [{prefix: {type: io.}}, {exact: {booth: b7}}]}]`, true},
		{"all one fails", `filters: [{all: [{prefix: {type: io.}}, {exact: {booth: b8}}]}]`, false},
		{"any", `filters: [{any: [{exact: {booth: b8}}, {suffix: {type: .reported}}]}]`, true},
		{"any none", `filters: [{any: [{exact: {booth: b8}}, {suffix: {type: .created}}]}]`, false},
		{"not", `filters: [{not: {exact: {booth: b8}}}]`, true},
		{"not passing", `filters: [{not: {exact: {booth: b7}}}]`, false},
		{"nested", `filters: [{any: [{not: {prefix: {source: /devices}}}, {all: [{exact: {id: "1"}}]}]}]`, true},
		{"filters win over filter", `{filters: [{exact: {booth: b8}}], filter: {attributes: {booth: b7}}}`, false},
		{"attributes", `filter: {attributes: {type: io.udaconnect.location.reported, booth: b7}}`, true},
		{"attributes empty is any", `filter: {attributes: {type: io.udaconnect.location.reported, subject: ""}}`, true},
		{"attributes other", `filter: {attributes: {booth: b8}}`, false},
		{"attributes missing", `filter: {attributes: {subject: x}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := filterFromYAML(t, tt.spec)
			if err != nil {
				t.Fatalf("NewFilter(%s) = %v", tt.spec, err)
			}
			if got := f(testEvent()); got != tt.want {
				t.Errorf("filter %s = %v; want %v", tt.spec, got, tt.want)
			}
		})
	}
}

func TestFilterInvalid(t *testing.T) {
	for _, spec := range []string{
		`filters: [{exact: {type: a, source: b}}]`,
		`filters: [{exact: {type: ""}}]`,
		`filters: [{exact: {type: a}, prefix: {type: a}}]`,
		`filters: [{all: []}]`,
		`filters: [{not: {suffix: {}}}]`,
		`filters: [{cesql: "type = 'a'"}]`,
	} {
		if _, err := filterFromYAML(t, spec); err == nil {
			t.Errorf("NewFilter(%s) = nil error; want one", spec)
		}
	}
}

func filterFromYAML(t *testing.T, spec string) (Filter, error) {
	t.Helper()
	var s struct {
		Filter  struct{ Attributes map[string]string } `json:"filter"`
		Filters []FilterExpr                           `json:"filters"`
	}
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	return NewFilter(s.Filters, s.Filter.Attributes)
}
