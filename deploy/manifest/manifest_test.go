package manifest

import (
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/deploy/knative"
)

func TestSplit(t *testing.T) {
	in := "# only a comment\n---\na: 1\n--- # next\nb: 2\n---\n\n---\nc: 3\n"
	docs := Split([]byte(in))
	if len(docs) != 3 {
		t.Fatalf("Split() = %d documents %q; want 3", len(docs), docs)
	}
	if got := strings.TrimSpace(string(docs[2])); got != "c: 3" {
		t.Errorf("third document = %q; want %q", got, "c: 3")
	}
}

const ksvc = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: persons
spec:
  template:
    spec:
      containers:
        - image: ko://example.com/persons
          ports:
            - containerPort: 8080
`

func TestDecode(t *testing.T) {
	o, err := Decode("ksvc", []byte(ksvc))
	if err != nil {
		t.Fatalf("Decode() = %v", err)
	}
	s, ok := o.Value.(*knative.Service)
	if !ok || o.ID() != "Service.serving.knative.dev/persons" {
		t.Fatalf("Decode() = %T %s; want a Knative Service named persons", o.Value, o.ID())
	}
	if got := s.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; got != 8080 {
		t.Errorf("containerPort = %d; want 8080", got)
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", strings.Replace(ksvc, "containerPort", "containerPorts", 1), "unknown field"},
		{"field case", strings.Replace(ksvc, "containerPort", "ContainerPort", 1), "unknown field"},
		{"duplicate key", strings.Replace(ksvc, "  name: persons\n", "  name: persons\n  name: other\n", 1), "already set"},
		{"wrong type", strings.Replace(ksvc, "8080", `"http"`, 1), "cannot unmarshal"},
		{"unknown kind", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", "no Go type"},
		{"misplaced field", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\nspec:\n  data: {}\n", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("doc", []byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode() = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}
