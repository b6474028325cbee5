// Package manifest reads Kubernetes manifests: it splits YAML streams into
// documents and decodes each strictly into the Go type of its kind, so an
// unknown field, a duplicate key or a value of the wrong type is an error,
// as the API server's strict field validation would make it.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/udaconnect/udaconnect/deploy/knative"
)

// Object is one decoded Kubernetes object.
type Object struct {
	Source string // file name and document number
	GVK    schema.GroupVersionKind
	Name   string
	// Namespace is empty for cluster-scoped kinds and where the manifest
	// leaves it to kustomize.
	Namespace string
	JSON      []byte // the document as JSON
	Value     any    // a pointer to the typed object
}

// ID names the object for messages: Kind.group/name.
func (o *Object) ID() string {
	if o.GVK.Group == "" {
		return o.GVK.Kind + "/" + o.Name
	}
	return o.GVK.Kind + "." + o.GVK.Group + "/" + o.Name
}

// Validator is implemented by types with rules beyond their fields.
type Validator interface {
	Validate() error
}

// kinds maps every kind UdaConnect's manifests use to its Go type.
var kinds = map[schema.GroupVersionKind]func() any{
	{Version: "v1", Kind: "Namespace"}:                                        func() any { return new(corev1.Namespace) },
	{Version: "v1", Kind: "ConfigMap"}:                                        func() any { return new(corev1.ConfigMap) },
	{Version: "v1", Kind: "Secret"}:                                           func() any { return new(corev1.Secret) },
	{Version: "v1", Kind: "Service"}:                                          func() any { return new(corev1.Service) },
	{Version: "v1", Kind: "ServiceAccount"}:                                   func() any { return new(corev1.ServiceAccount) },
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                        func() any { return new(appsv1.Deployment) },
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}:                       func() any { return new(appsv1.StatefulSet) },
	{Group: "batch", Version: "v1", Kind: "Job"}:                              func() any { return new(batchv1.Job) },
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}:        func() any { return new(networkingv1.NetworkPolicy) },
	{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}:            func() any { return new(knative.Service) },
	{Group: "eventing.knative.dev", Version: "v1", Kind: "Broker"}:            func() any { return new(knative.Broker) },
	{Group: "eventing.knative.dev", Version: "v1", Kind: "Trigger"}:           func() any { return new(knative.Trigger) },
	{Group: "sources.knative.dev", Version: "v1", Kind: "SinkBinding"}:        func() any { return new(knative.SinkBinding) },
	{Group: "sources.knative.dev", Version: "v1", Kind: "PingSource"}:         func() any { return new(knative.PingSource) },
	{Group: "eventing.knative.dev", Version: "v1alpha1", Kind: "EventPolicy"}: func() any { return new(knative.EventPolicy) },
}

// KnativeService is the group, version and kind of a Knative Service.
var KnativeService = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}

// EventPolicy is the group, version and kind of a Knative EventPolicy.
var EventPolicy = schema.GroupVersionKind{Group: "eventing.knative.dev", Version: "v1alpha1", Kind: "EventPolicy"}

// separator is a YAML document separator line.
var separator = regexp.MustCompile(`^---(\s.*)?$`)

// Split cuts a YAML stream into its documents, dropping empty ones (only
// comments or blank lines).
func Split(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if hasContent(cur.Bytes()) {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if separator.Match(line) {
			flush()
			continue
		}
		cur.Write(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func hasContent(doc []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) > 0 && line[0] != '#' {
			return true
		}
	}
	return false
}

// Parse decodes every document of a YAML stream strictly.
func Parse(source string, data []byte) ([]*Object, error) {
	var objs []*Object
	var errs []error
	for i, doc := range Split(data) {
		o, err := Decode(fmt.Sprintf("%s#%d", source, i+1), doc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

// Decode decodes one YAML document strictly into the Go type of its kind.
func Decode(source string, doc []byte) (*Object, error) {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var tm metav1.TypeMeta
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
	newValue, ok := kinds[gvk]
	if !ok {
		return nil, fmt.Errorf("%s: no Go type for apiVersion %q kind %q", source, tm.APIVersion, tm.Kind)
	}
	v := newValue()
	strict, err := sigsjson.UnmarshalStrict(j, v, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", source, tm.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %s: %w", source, tm.Kind, errors.Join(strict...))
	}
	meta, ok := v.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%s: %s has no object metadata", source, tm.Kind)
	}
	return &Object{
		Source:    source,
		GVK:       gvk,
		Name:      meta.GetName(),
		Namespace: meta.GetNamespace(),
		JSON:      j,
		Value:     v,
	}, nil
}

// Validate applies the type's own rules, if it has any.
func (o *Object) Validate() error {
	v, ok := o.Value.(Validator)
	if !ok {
		return nil
	}
	if err := v.Validate(); err != nil {
		return fmt.Errorf("%s: %s: %w", o.Source, o.ID(), err)
	}
	return nil
}
