package knative

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// reservedEnv are the variables Knative sets in every user container; a
// Service that sets them is refused.
var reservedEnv = []string{"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}

// Validate applies the rules Knative Serving's webhook enforces on a Service
// beyond its CRD schema.
func (s *Service) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	if v, ok := s.Labels[LabelVisibility]; ok && v != VisibilityLocal {
		errs = append(errs, fmt.Errorf("metadata.labels[%s]: %q, want %q", LabelVisibility, v, VisibilityLocal))
	}
	errs = append(errs, validateAutoscaling(s.Spec.Template.Annotations)...)
	// knative.dev/serving pkg/apis/serving/v1 validateProgressDeadlineAnnotation
	// and knative.dev/serving pkg/networking GetHTTPOption.
	if v, ok := s.Spec.Template.Annotations[AnnotationProgressDeadline]; ok {
		if d, err := time.ParseDuration(v); err != nil || d < 0 || d.Round(time.Second) != d {
			errs = append(errs, fmt.Errorf("annotation %s: %q is not a non-negative duration in whole seconds", AnnotationProgressDeadline, v))
		}
	}
	if v, ok := s.Annotations[AnnotationHTTPProtocol]; ok && !slices.Contains([]string{"enabled", HTTPRedirected}, strings.ToLower(v)) {
		errs = append(errs, fmt.Errorf("annotation %s: %q, want enabled or redirected", AnnotationHTTPProtocol, v))
	}

	spec := s.Spec.Template.Spec
	if spec.TimeoutSeconds != nil && (*spec.TimeoutSeconds <= 0 || *spec.TimeoutSeconds > MaxTimeoutSeconds) {
		errs = append(errs, fmt.Errorf("spec.template.spec.timeoutSeconds: %d, want 1..%d", *spec.TimeoutSeconds, MaxTimeoutSeconds))
	}
	if c := spec.ContainerConcurrency; c != nil && (*c < 0 || *c > 1000) {
		errs = append(errs, fmt.Errorf("spec.template.spec.containerConcurrency: %d, want 0..1000", *c))
	}
	if len(spec.Containers) == 0 {
		errs = append(errs, errors.New("spec.template.spec.containers: required"))
	}
	serving := 0
	for i, c := range spec.Containers {
		field := fmt.Sprintf("spec.template.spec.containers[%d]", i)
		if c.Image == "" {
			errs = append(errs, fmt.Errorf("%s.image: required", field))
		}
		if len(c.Ports) > 1 {
			errs = append(errs, fmt.Errorf("%s.ports: more than one port", field))
		}
		for _, p := range c.Ports {
			serving++
			if p.Name != "" && p.Name != "http1" && p.Name != "h2c" {
				errs = append(errs, fmt.Errorf("%s.ports.name: %q, want http1 or h2c", field, p.Name))
			}
			if p.ContainerPort < 1 || p.ContainerPort > 65535 {
				errs = append(errs, fmt.Errorf("%s.ports.containerPort: %d out of range", field, p.ContainerPort))
			}
		}
		for _, e := range c.Env {
			if slices.Contains(reservedEnv, e.Name) {
				errs = append(errs, fmt.Errorf("%s.env: %s is reserved by Knative", field, e.Name))
			}
		}
		for name, probe := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
			if probe == nil || probe.HTTPGet == nil || len(c.Ports) != 1 {
				continue
			}
			if port := probe.HTTPGet.Port; port.String() != "0" && port.IntValue() != int(c.Ports[0].ContainerPort) {
				errs = append(errs, fmt.Errorf("%s.%s.httpGet.port: %s is not the container port", field, name, port.String()))
			}
		}
	}
	if len(spec.Containers) > 1 && serving != 1 {
		errs = append(errs, errors.New("spec.template.spec.containers: exactly one container must name a port"))
	}
	return errors.Join(errs...)
}

func validateAutoscaling(a map[string]string) []error {
	var errs []error
	integer := func(key string) (int, bool) {
		v, ok := a[key]
		if !ok {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("annotation %s: %q is not a non-negative integer", key, v))
			return 0, false
		}
		return n, true
	}
	lo, hasLo := integer(AnnotationMinScale)
	hi, hasHi := integer(AnnotationMaxScale)
	if hasLo && hasHi && hi != 0 && lo > hi {
		errs = append(errs, fmt.Errorf("annotation %s: %d is above %s %d", AnnotationMinScale, lo, AnnotationMaxScale, hi))
	}
	if v, ok := a[AnnotationTarget]; ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0.01 {
			errs = append(errs, fmt.Errorf("annotation %s: %q is not a positive number", AnnotationTarget, v))
		}
	}
	class := a[AnnotationClass]
	if class != "" && class != "kpa.autoscaling.knative.dev" && class != "hpa.autoscaling.knative.dev" {
		errs = append(errs, fmt.Errorf("annotation %s: unknown class %q", AnnotationClass, class))
	}
	if m, ok := a[AnnotationMetric]; ok {
		kpa := []string{"concurrency", "rps"}
		if class == "hpa.autoscaling.knative.dev" {
			kpa = []string{"cpu", "memory"}
		}
		if !slices.Contains(kpa, m) {
			errs = append(errs, fmt.Errorf("annotation %s: %q is not a metric of the %s class", AnnotationMetric, m, class))
		}
	}
	return errs
}

// Validate checks a Broker against Knative Eventing's documented rules.
func (b *Broker) Validate() error {
	var errs []error
	if b.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	if c, ok := b.Annotations[AnnotationBrokerClass]; ok {
		if !slices.Contains([]string{ClassMTChannelBased, ClassKafka, ClassKafkaNamespaced, ClassRabbitMQ}, c) {
			errs = append(errs, fmt.Errorf("annotation %s: unknown broker class %q", AnnotationBrokerClass, c))
		}
	}
	if b.Spec.Config != nil {
		if err := b.Spec.Config.validate("spec.config", true); err != nil {
			errs = append(errs, err)
		}
	}
	if b.Spec.Delivery != nil {
		errs = append(errs, b.Spec.Delivery.validate("spec.delivery"))
	}
	return errors.Join(errs...)
}

// Validate checks a Trigger against Knative Eventing's documented rules.
func (t *Trigger) Validate() error {
	var errs []error
	if t.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	switch {
	case t.Spec.Broker == "" && t.Spec.BrokerRef == nil:
		errs = append(errs, errors.New("spec.broker: required"))
	case t.Spec.Broker != "" && t.Spec.BrokerRef != nil:
		errs = append(errs, errors.New("spec.broker and spec.brokerRef: set only one"))
	case t.Spec.BrokerRef != nil:
		errs = append(errs, t.Spec.BrokerRef.validate("spec.brokerRef", true))
	}
	if t.Spec.Filter != nil {
		for name := range t.Spec.Filter.Attributes {
			if !attributeName.MatchString(name) {
				errs = append(errs, fmt.Errorf("spec.filter.attributes: %q is not a CloudEvents attribute name", name))
			}
		}
	}
	for i, f := range t.Spec.Filters {
		errs = append(errs, f.validate(fmt.Sprintf("spec.filters[%d]", i)))
	}
	errs = append(errs, t.Spec.Subscriber.validate("spec.subscriber"))
	if t.Spec.Delivery != nil {
		errs = append(errs, t.Spec.Delivery.validate("spec.delivery"))
	}
	return errors.Join(errs...)
}

// Validate checks a SinkBinding against Knative Eventing's documented rules.
func (s *SinkBinding) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	sub := s.Spec.Subject
	if sub.APIVersion == "" {
		errs = append(errs, errors.New("spec.subject.apiVersion: required"))
	}
	if sub.Kind == "" {
		errs = append(errs, errors.New("spec.subject.kind: required"))
	}
	if (sub.Name == "") == (sub.Selector == nil) {
		errs = append(errs, errors.New("spec.subject: set exactly one of name and selector"))
	}
	errs = append(errs, s.Spec.Sink.validate("spec.sink"))
	return errors.Join(errs...)
}

// Validate checks a PingSource against Knative Eventing's webhook: a
// standard cron schedule of five fields, at most one of data and
// dataBase64, and a sink.
func (p *PingSource) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	if n := len(strings.Fields(p.Spec.Schedule)); n != 5 {
		errs = append(errs, fmt.Errorf("spec.schedule: %q has %d fields; want a cron schedule of 5", p.Spec.Schedule, n))
	}
	if p.Spec.Data != "" && p.Spec.DataBase64 != "" {
		errs = append(errs, errors.New("spec: set at most one of data and dataBase64"))
	}
	errs = append(errs, p.Spec.Sink.validate("spec.sink"))
	return errors.Join(errs...)
}

// Validate checks an EventPolicy against the rules of Knative Eventing's
// webhook: each sender is a reference or a subject, never both, a subject's
// only wildcard is a trailing '*', each target is a reference or a selector,
// and references name their apiVersion, kind and name.
func (p *EventPolicy) Validate() error {
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("metadata.name: required"))
	}
	for i, f := range p.Spec.From {
		field := fmt.Sprintf("spec.from[%d]", i)
		hasSub := f.Sub != nil && *f.Sub != ""
		if (f.Ref != nil) == hasSub {
			errs = append(errs, fmt.Errorf("%s: set exactly one of ref and sub", field))
		}
		if f.Ref != nil {
			errs = append(errs, requireRef(field+".ref", f.Ref.APIVersion, f.Ref.Kind, f.Ref.Name))
		}
		if hasSub {
			if i := strings.IndexRune(*f.Sub, '*'); i >= 0 && i < len(*f.Sub)-1 {
				errs = append(errs, fmt.Errorf("%s.sub: %q: '*' is only allowed as suffix", field, *f.Sub))
			}
		}
	}
	for i, t := range p.Spec.To {
		field := fmt.Sprintf("spec.to[%d]", i)
		if (t.Ref != nil) == (t.Selector != nil) {
			errs = append(errs, fmt.Errorf("%s: set exactly one of ref and selector", field))
		}
		if t.Ref != nil {
			errs = append(errs, requireRef(field+".ref", t.Ref.APIVersion, t.Ref.Kind, t.Ref.Name))
		}
	}
	for i := range p.Spec.Filters {
		errs = append(errs, p.Spec.Filters[i].validate(fmt.Sprintf("spec.filters[%d]", i)))
	}
	return errors.Join(errs...)
}

func requireRef(field, apiVersion, kind, name string) error {
	var errs []error
	for key, v := range map[string]string{"apiVersion": apiVersion, "kind": kind, "name": name} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s.%s: required", field, key))
		}
	}
	return errors.Join(errs...)
}

// attributeName is a CloudEvents context attribute name: lowercase letters
// and digits.
var attributeName = regexp.MustCompile(`^[a-z0-9]+$`)

func (f *EventFilter) validate(field string) error {
	set := 0
	var errs []error
	single := func(dialect string, m map[string]string) {
		if m == nil {
			return
		}
		set++
		if len(m) != 1 {
			errs = append(errs, fmt.Errorf("%s.%s: exactly one attribute, got %d", field, dialect, len(m)))
		}
		for name := range m {
			if !attributeName.MatchString(name) {
				errs = append(errs, fmt.Errorf("%s.%s: %q is not a CloudEvents attribute name", field, dialect, name))
			}
		}
	}
	single("exact", f.Exact)
	single("prefix", f.Prefix)
	single("suffix", f.Suffix)
	for dialect, list := range map[string][]EventFilter{"all": f.All, "any": f.Any} {
		if list == nil {
			continue
		}
		set++
		if len(list) == 0 {
			errs = append(errs, fmt.Errorf("%s.%s: empty", field, dialect))
		}
		for i := range list {
			errs = append(errs, list[i].validate(fmt.Sprintf("%s.%s[%d]", field, dialect, i)))
		}
	}
	if f.Not != nil {
		set++
		errs = append(errs, f.Not.validate(field+".not"))
	}
	if f.CESQL != "" {
		set++
	}
	if set != 1 {
		errs = append(errs, fmt.Errorf("%s: exactly one dialect (exact, prefix, suffix, all, any, not, cesql), got %d", field, set))
	}
	return errors.Join(errs...)
}

func (r *KReference) validate(field string, needAPIVersion bool) error {
	var errs []error
	if r.Kind == "" {
		errs = append(errs, fmt.Errorf("%s.kind: required", field))
	}
	if r.Name == "" {
		errs = append(errs, fmt.Errorf("%s.name: required", field))
	}
	if needAPIVersion && r.APIVersion == "" && r.Group == "" {
		errs = append(errs, fmt.Errorf("%s.apiVersion: required", field))
	}
	return errors.Join(errs...)
}

func (d *Destination) validate(field string) error {
	if d.Ref == nil && d.URI == "" {
		return fmt.Errorf("%s: set ref or uri", field)
	}
	var errs []error
	if d.Ref != nil {
		errs = append(errs, d.Ref.validate(field+".ref", true))
	}
	if d.URI != "" {
		u, err := url.Parse(d.URI)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s.uri: %v", field, err))
		case d.Ref == nil && !u.IsAbs():
			errs = append(errs, fmt.Errorf("%s.uri: %q is not absolute", field, d.URI))
		}
	}
	return errors.Join(errs...)
}

func (d *DeliverySpec) validate(field string) error {
	var errs []error
	if d.Retry != nil && *d.Retry < 0 {
		errs = append(errs, fmt.Errorf("%s.retry: %d is negative", field, *d.Retry))
	}
	if p := d.BackoffPolicy; p != nil && *p != "linear" && *p != "exponential" {
		errs = append(errs, fmt.Errorf("%s.backoffPolicy: %q, want linear or exponential", field, *p))
	}
	for name, v := range map[string]*string{"backoffDelay": d.BackoffDelay, "timeout": d.Timeout, "retryAfterMax": d.RetryAfterMax} {
		if v != nil && !isDuration(*v) {
			errs = append(errs, fmt.Errorf("%s.%s: %q is not an ISO 8601 duration", field, name, *v))
		}
	}
	if f := d.Format; f != nil && *f != "json" && *f != "binary" {
		errs = append(errs, fmt.Errorf("%s.format: %q, want json or binary", field, *f))
	}
	if d.DeadLetterSink != nil {
		errs = append(errs, d.DeadLetterSink.validate(field+".deadLetterSink"))
	}
	return errors.Join(errs...)
}

var duration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// isDuration reports whether s is an ISO 8601 duration of days, hours,
// minutes and seconds, as Knative's delivery fields take (PT0.2S, PT1M).
func isDuration(s string) bool {
	if !duration.MatchString(s) || s == "P" || strings.HasSuffix(s, "T") {
		return false
	}
	return true
}
