package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"
)

// crd is the part of an apiextensions.k8s.io/v1 CustomResourceDefinition
// that carries the schemas.
type crd struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
			Schema struct {
				OpenAPIV3Schema json.RawMessage `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// FromCRD returns the openAPIV3Schema that a CustomResourceDefinition (YAML)
// gives the kind group/version, checking that the CRD defines that kind.
func FromCRD(data []byte, group, version, kind string) (*Schema, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	var c crd
	if err := json.Unmarshal(j, &c); err != nil {
		return nil, err
	}
	if c.Kind != "CustomResourceDefinition" {
		return nil, fmt.Errorf("not a CustomResourceDefinition: kind %q", c.Kind)
	}
	if c.Spec.Group != group || c.Spec.Names.Kind != kind {
		return nil, fmt.Errorf("the CRD defines %s in %s, not %s in %s", c.Spec.Names.Kind, c.Spec.Group, kind, group)
	}
	for _, v := range c.Spec.Versions {
		if v.Name != version {
			continue
		}
		if !v.Served {
			return nil, fmt.Errorf("version %s of %s is not served", version, kind)
		}
		if len(bytes.TrimSpace(v.Schema.OpenAPIV3Schema)) == 0 {
			return nil, fmt.Errorf("version %s of %s has no openAPIV3Schema", version, kind)
		}
		var s Schema
		if err := json.Unmarshal(v.Schema.OpenAPIV3Schema, &s); err != nil {
			return nil, fmt.Errorf("openAPIV3Schema of %s %s: %w", kind, version, err)
		}
		return &s, nil
	}
	return nil, fmt.Errorf("the CRD has no version %s", version)
}
