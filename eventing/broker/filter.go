package broker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// FilterExpr is one expression of a Trigger's `filters`, Knative's new
// trigger filters dialect. Exactly one field is set.
type FilterExpr struct {
	Exact  map[string]string `json:"exact"`
	Prefix map[string]string `json:"prefix"`
	Suffix map[string]string `json:"suffix"`
	All    []FilterExpr      `json:"all"`
	Any    []FilterExpr      `json:"any"`
	Not    *FilterExpr       `json:"not"`
	CESQL  string            `json:"cesql"`
}

// Filter reports whether a Trigger wants an event.
type Filter func(e event.Event) bool

// NewFilter compiles a Trigger's filters. As in Knative, `filters` (all
// expressions must pass) wins over the legacy `filter.attributes`, where
// every attribute must match exactly and an empty value matches anything.
// No filter at all passes every event.
func NewFilter(filters []FilterExpr, attributes map[string]string) (Filter, error) {
	if len(filters) > 0 {
		return compile(FilterExpr{All: filters})
	}
	return func(e event.Event) bool {
		for name, want := range attributes {
			if got, ok := attribute(e, name); want != "" && (!ok || got != want) {
				return false
			}
		}
		return true
	}, nil
}

func compile(x FilterExpr) (Filter, error) {
	set := 0
	for _, n := range []int{len(x.Exact), len(x.Prefix), len(x.Suffix), len(x.All), len(x.Any), len(x.CESQL)} {
		if n > 0 {
			set++
		}
	}
	if x.Not != nil {
		set++
	}
	if set != 1 {
		return nil, errors.New("a filter expression needs exactly one of exact, prefix, suffix, all, any, not")
	}
	switch {
	case len(x.Exact) > 0:
		return match("exact", x.Exact, func(got, want string) bool { return got == want })
	case len(x.Prefix) > 0:
		return match("prefix", x.Prefix, strings.HasPrefix)
	case len(x.Suffix) > 0:
		return match("suffix", x.Suffix, strings.HasSuffix)
	case len(x.All) > 0:
		fs, err := compileList(x.All)
		return func(e event.Event) bool {
			for _, f := range fs {
				if !f(e) {
					return false
				}
			}
			return true
		}, err
	case len(x.Any) > 0:
		fs, err := compileList(x.Any)
		return func(e event.Event) bool {
			for _, f := range fs {
				if f(e) {
					return true
				}
			}
			return false
		}, err
	case x.Not != nil:
		f, err := compile(*x.Not)
		return func(e event.Event) bool { return !f(e) }, err
	}
	return nil, errors.New("cesql filters are not supported by the local broker")
}

func compileList(xs []FilterExpr) ([]Filter, error) {
	fs := make([]Filter, len(xs))
	for i, x := range xs {
		f, err := compile(x)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return fs, nil
}

// match builds an exact, prefix or suffix filter; Knative allows one
// attribute per expression and no empty name or value.
func match(dialect string, m map[string]string, test func(got, want string) bool) (Filter, error) {
	if len(m) != 1 {
		return nil, fmt.Errorf("%s takes exactly one attribute, got %d", dialect, len(m))
	}
	for name, want := range m {
		if name == "" || want == "" {
			return nil, fmt.Errorf("%s needs a non-empty attribute name and value", dialect)
		}
		return func(e event.Event) bool {
			got, ok := attribute(e, name)
			return ok && test(got, want)
		}, nil
	}
	panic("unreachable")
}

// attribute returns the canonical string of a context attribute or an
// extension; absent and blank attributes are reported as missing.
func attribute(e event.Event, name string) (string, bool) {
	var v any
	if version := spec.VS.Version(e.SpecVersion()); version != nil && version.Attribute(name) != nil {
		v = version.Attribute(name).Get(e.Context)
	} else {
		v = e.Extensions()[strings.ToLower(name)]
	}
	if v == nil {
		return "", false
	}
	s, err := types.Format(v)
	return s, err == nil
}
