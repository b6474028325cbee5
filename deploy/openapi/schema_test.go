package openapi

import (
	"strings"
	"testing"
)

const testCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names:
    kind: Widget
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion:
              type: string
            kind:
              type: string
            metadata:
              type: object
            spec:
              type: object
              required:
                - size
              properties:
                size:
                  type: integer
                  format: int32
                port:
                  anyOf:
                    - type: integer
                    - type: string
                  x-kubernetes-int-or-string: true
                quantity:
                  type: string
                  pattern: ^[0-9]+(Mi|Gi)$
                name:
                  type: string
                  minLength: 2
                  maxLength: 4
                weight:
                  type: integer
                  minimum: 1
                  maximum: 10
                ruled:
                  type: string
                  x-kubernetes-validations:
                    - rule: self != ''

                mode:
                  type: string
                  enum: [fast, slow]
                labels:
                  type: object
                  additionalProperties:
                    type: string
                free:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name]
                  items:
                    type: object
                    properties:
                      name:
                        type: string
`

func TestValidate(t *testing.T) {
	s, err := FromCRD([]byte(testCRD), "example.com", "v1", "Widget")
	if err != nil {
		t.Fatalf("FromCRD: %v", err)
	}
	tests := []struct {
		name string
		spec string
		want string // substring of the first error; empty for valid
	}{
		{"valid", `{"size": 3, "port": "http", "quantity": "5Gi", "mode": "fast", "labels": {"a": "b"}, "free": {"any": [1]}}`, ""},
		{"int port", `{"size": 3, "port": 8080}`, ""},
		{"unknown field", `{"size": 3, "colour": "red"}`, ".spec.colour: unknown field"},
		{"missing required", `{}`, `required field "size" is missing`},
		{"wrong type", `{"size": "3"}`, ".spec.size: want integer, got string"},
		{"fraction", `{"size": 3.5}`, "want integer, got number"},
		{"int32 overflow", `{"size": 4294967296}`, "is not an int32"},
		{"int or string", `{"size": 1, "port": true}`, "want an integer or a string"},
		{"pattern", `{"size": 1, "quantity": "5GB"}`, "does not match"},
		{"enum", `{"size": 1, "mode": "medium"}`, "is not one of"},
		{"additional properties type", `{"size": 1, "labels": {"a": 1}}`, ".spec.labels.a: want string"},
		{"duplicate map key", `{"size": 1, "ports": [{"name": "a"}, {"name": "a"}]}`, "duplicate entry"},
		{"null", `{"size": null}`, "null is not allowed"},
		{"lengths and range", `{"size": 1, "name": "ééé", "weight": 10}`, ""},
		{"too short", `{"size": 1, "name": "é"}`, "length 1 is outside [2, 4]"},
		{"too long", `{"size": 1, "name": "abcde"}`, "length 5 is outside [2, 4]"},
		{"below minimum", `{"size": 1, "weight": 0}`, "0 is outside [1, 10]"},
		{"above maximum", `{"size": 1, "weight": 11}`, "11 is outside [1, 10]"},
		{"CEL rule", `{"size": 1, "ruled": "x"}`, "cannot be checked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeJSON([]byte(`{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "whatever": 1}, "spec": ` + tt.spec + `}`))
			if err != nil {
				t.Fatal(err)
			}
			errs := s.Validate(v)
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("Validate() = %v; want no error", errs)
			case tt.want != "" && len(errs) == 0:
				t.Errorf("Validate() = nil; want %q", tt.want)
			case tt.want != "" && !strings.Contains(errs[0].Error(), tt.want):
				t.Errorf("Validate() = %v; want %q", errs, tt.want)
			}
		})
	}
}

func TestFromCRDRefuses(t *testing.T) {
	if _, err := FromCRD([]byte(testCRD), "example.com", "v2", "Widget"); err == nil {
		t.Error("FromCRD(v2) = nil error; want no such version")
	}
	if _, err := FromCRD([]byte(testCRD), "example.com", "v1", "Gadget"); err == nil {
		t.Error("FromCRD(Gadget) = nil error; want wrong kind")
	}
	unsupported := strings.Replace(testCRD, "format: int32", "multipleOf: 2", 1)
	if _, err := FromCRD([]byte(unsupported), "example.com", "v1", "Widget"); err == nil || !strings.Contains(err.Error(), `"multipleOf" is not supported`) {
		t.Errorf("FromCRD(multipleOf) = %v; want the keyword refused", err)
	}
}
