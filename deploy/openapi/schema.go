// Package openapi validates a decoded object against the structural
// openAPIV3Schema of a CustomResourceDefinition, the way the API server
// treats a create with strict field validation: a field the schema does not
// know is an error (unless the schema preserves unknown fields), and so is a
// wrong type, a missing required field, a value outside an enum, pattern,
// length or range, or a duplicate key in a map-type or set-type list.
// Schemas that use a keyword this package does not implement are refused
// when loaded, and a value that reaches a CEL rule
// (x-kubernetes-validations), which it cannot evaluate, is an error, so a
// check never passes by ignoring part of a schema.
package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Schema is one node of an openAPIV3Schema.
type Schema struct {
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	AdditionalProperties *Schema            `json:"additionalProperties,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	PreserveUnknown      bool               `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
	IntOrString          bool               `json:"x-kubernetes-int-or-string,omitempty"`
	EmbeddedResource     bool               `json:"x-kubernetes-embedded-resource,omitempty"`
	ListType             string             `json:"x-kubernetes-list-type,omitempty"`
	ListMapKeys          []string           `json:"x-kubernetes-list-map-keys,omitempty"`
	MapType              string             `json:"x-kubernetes-map-type,omitempty"`
	MinLength            *int               `json:"minLength,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Rules                []json.RawMessage  `json:"x-kubernetes-validations,omitempty"`

	pattern *regexp.Regexp
}

// ignored are keywords that document or default a value but never make it
// invalid.
var ignored = []string{"description", "default", "example", "title", "externalDocs"}

// known are the keywords Schema implements.
var known = []string{
	"type", "format", "pattern", "enum", "required", "properties", "items",
	"additionalProperties", "anyOf", "allOf", "oneOf", "nullable",
	"x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
	"x-kubernetes-embedded-resource", "x-kubernetes-list-type",
	"x-kubernetes-list-map-keys", "x-kubernetes-map-type",
	"minLength", "maxLength", "minimum", "maximum", "x-kubernetes-validations",
}

// UnmarshalJSON reads a schema node and refuses keywords it cannot check.
func (s *Schema) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(known, k) && !slices.Contains(ignored, k) {
			return fmt.Errorf("schema keyword %q is not supported", k)
		}
	}
	if ap, ok := raw["additionalProperties"]; ok && (bytes.Equal(ap, []byte("true")) || bytes.Equal(ap, []byte("false"))) {
		return errors.New("schema keyword additionalProperties as a boolean is not supported")
	}
	type plain Schema
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Schema(p)
	if s.Pattern != "" {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return fmt.Errorf("pattern %q: %w", s.Pattern, err)
		}
		s.pattern = re
	}
	return nil
}

// Validate checks a value decoded from JSON with json.Decoder.UseNumber
// (maps, slices, json.Number, string, bool, nil) and returns every problem,
// each naming its path.
func (s *Schema) Validate(v any) []error {
	var errs []error
	s.validate("", v, &errs, true)
	return errs
}

// DecodeJSON decodes a document the way Validate expects it.
func DecodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *Schema) validate(path string, v any, errs *[]error, root bool) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: %s", displayPath(path), fmt.Sprintf(format, args...)))
	}
	if v == nil {
		if !s.Nullable {
			fail("null is not allowed")
		}
		return
	}
	if s.IntOrString {
		if !isInteger(v) {
			if _, ok := v.(string); !ok {
				fail("want an integer or a string, got %s", typeName(v))
				return
			}
		}
	} else if s.Type != "" && !hasType(v, s.Type) {
		fail("want %s, got %s", s.Type, typeName(v))
		return
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return equal(e, v) }) {
		fail("%v is not one of %v", v, s.Enum)
	}
	if str, ok := v.(string); ok && s.pattern != nil && !s.pattern.MatchString(str) {
		fail("%q does not match %s", str, s.Pattern)
	}
	if str, ok := v.(string); ok {
		// Kubernetes counts a string's length in characters.
		if n := utf8.RuneCountInString(str); s.MinLength != nil && n < *s.MinLength || s.MaxLength != nil && n > *s.MaxLength {
			fail("length %d is outside %s", n, bounds(s.MinLength, s.MaxLength))
		}
	}
	if n, ok := v.(json.Number); ok {
		checkFormat(n, s.Format, fail)
		if f, err := n.Float64(); err == nil && (s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum) {
			fail("%s is outside %s", n, bounds(s.Minimum, s.Maximum))
		}
	}
	if len(s.Rules) > 0 {
		fail("x-kubernetes-validations (CEL) cannot be checked here")
	}
	for _, sub := range s.AllOf {
		sub.validate(path, v, errs, false)
	}
	if len(s.AnyOf) > 0 && !slices.ContainsFunc(s.AnyOf, func(sub *Schema) bool { return len(sub.Validate(v)) == 0 }) {
		fail("matches none of anyOf")
	}
	if len(s.OneOf) > 0 {
		matched := 0
		for _, sub := range s.OneOf {
			if len(sub.Validate(v)) == 0 {
				matched++
			}
		}
		if matched != 1 {
			fail("matches %d of oneOf, want 1", matched)
		}
	}

	switch v := v.(type) {
	case map[string]any:
		s.validateObject(path, v, errs, fail, root)
	case []any:
		s.validateList(path, v, errs, fail)
	}
}

func (s *Schema) validateObject(path string, obj map[string]any, errs *[]error, fail func(string, ...any), root bool) {
	for _, name := range s.Required {
		if _, ok := obj[name]; !ok {
			fail("required field %q is missing", name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		child := path + "." + k
		if root && k == "metadata" {
			// The API server checks an object's metadata against ObjectMeta,
			// not against the CRD schema; callers decode it strictly.
			continue
		}
		if root && (k == "apiVersion" || k == "kind") {
			if _, ok := obj[k].(string); !ok {
				fail("%s: want string", k)
			}
			continue
		}
		switch {
		case s.Properties[k] != nil:
			s.Properties[k].validate(child, obj[k], errs, false)
		case s.AdditionalProperties != nil:
			s.AdditionalProperties.validate(child, obj[k], errs, false)
		case s.PreserveUnknown || s.EmbeddedResource && (k == "apiVersion" || k == "kind" || k == "metadata"):
		default:
			*errs = append(*errs, fmt.Errorf("%s: unknown field", displayPath(child)))
		}
	}
}

func (s *Schema) validateList(path string, list []any, errs *[]error, fail func(string, ...any)) {
	if s.Items != nil {
		for i, item := range list {
			s.Items.validate(fmt.Sprintf("%s[%d]", path, i), item, errs, false)
		}
	}
	switch s.ListType {
	case "set":
		for i := range list {
			for j := range i {
				if equal(list[i], list[j]) {
					fail("duplicate entry %v in a set", list[i])
				}
			}
		}
	case "map":
		seen := map[string]bool{}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			var key []string
			for _, k := range s.ListMapKeys {
				key = append(key, fmt.Sprint(m[k]))
			}
			id := strings.Join(key, "/")
			if seen[id] {
				fail("duplicate entry with key %v=%s", s.ListMapKeys, id)
			}
			seen[id] = true
		}
	}
}

// bounds writes an inclusive range for messages, "any" where it is open.
func bounds[T int | float64](lo, hi *T) string {
	text := func(p *T) string {
		if p == nil {
			return "any"
		}
		return fmt.Sprint(*p)
	}
	return "[" + text(lo) + ", " + text(hi) + "]"
}

func checkFormat(n json.Number, format string, fail func(string, ...any)) {
	var bits int
	switch format {
	case "int32":
		bits = 32
	case "int64":
		bits = 64
	default:
		return
	}
	if _, err := strconv.ParseInt(n.String(), 10, bits); err != nil {
		fail("%s is not an %s", n, format)
	}
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		return isInteger(v)
	case "number":
		_, ok := v.(json.Number)
		return ok
	}
	return false
}

func isInteger(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	if _, err := n.Int64(); err == nil {
		return true
	}
	f, err := n.Float64()
	return err == nil && f == math.Trunc(f) && !strings.ContainsAny(n.String(), ".eE")
}

func typeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if isInteger(v) {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func equal(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

func displayPath(p string) string {
	if p == "" {
		return "."
	}
	return p
}
