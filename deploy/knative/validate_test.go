package knative

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validService() *Service {
	timeout := int64(30)
	return &Service{
		ObjectMeta: metav1.ObjectMeta{Name: "persons", Labels: map[string]string{LabelVisibility: VisibilityLocal}},
		Spec: ServiceSpec{Template: RevisionTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
				AnnotationMinScale: "0", AnnotationMaxScale: "5", AnnotationTarget: "50",
				AnnotationClass: "kpa.autoscaling.knative.dev", AnnotationMetric: "concurrency",
			}},
			Spec: RevisionSpec{
				TimeoutSeconds: &timeout,
				PodSpec: corev1.PodSpec{Containers: []corev1.Container{{
					Image: "ko://example.com/persons",
					Ports: []corev1.ContainerPort{{Name: "http1", ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/readyz"},
					}},
				}}},
			},
		}},
	}
}

func TestServiceValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Service)
		want   string // substring of the error; empty for valid
	}{
		{"valid", func(*Service) {}, ""},
		{"reserved env", func(s *Service) {
			s.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PORT", Value: "8080"}}
		}, "PORT is reserved"},
		{"two ports", func(s *Service) {
			c := &s.Spec.Template.Spec.Containers[0]
			c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 9090})
		}, "more than one port"},
		{"port name", func(s *Service) { s.Spec.Template.Spec.Containers[0].Ports[0].Name = "http" }, "want http1 or h2c"},
		{"no image", func(s *Service) { s.Spec.Template.Spec.Containers[0].Image = "" }, "image: required"},
		{"min above max", func(s *Service) { s.Spec.Template.Annotations[AnnotationMinScale] = "9" }, "is above"},
		{"scale not a number", func(s *Service) { s.Spec.Template.Annotations[AnnotationMaxScale] = "ten" }, "non-negative integer"},
		{"zero target", func(s *Service) { s.Spec.Template.Annotations[AnnotationTarget] = "0" }, "positive number"},
		{"hpa metric on kpa", func(s *Service) { s.Spec.Template.Annotations[AnnotationMetric] = "cpu" }, "is not a metric"},
		{"visibility", func(s *Service) { s.Labels[LabelVisibility] = "public" }, "want \"cluster-local\""},
		{"timeout", func(s *Service) { *s.Spec.Template.Spec.TimeoutSeconds = 3600 }, "timeoutSeconds"},
		{"probe port", func(s *Service) {
			s.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Port = intstr.FromInt32(9000)
		}, "is not the container port"},
		{"no containers", func(s *Service) { s.Spec.Template.Spec.Containers = nil }, "containers: required"},
		{"progress deadline", func(s *Service) { s.Spec.Template.Annotations[AnnotationProgressDeadline] = "1800s" }, ""},
		{"progress deadline in minutes", func(s *Service) { s.Spec.Template.Annotations[AnnotationProgressDeadline] = "30m" }, ""},
		{"progress deadline not a duration", func(s *Service) { s.Spec.Template.Annotations[AnnotationProgressDeadline] = "1800" }, "progress-deadline"},
		{"progress deadline below a second", func(s *Service) { s.Spec.Template.Annotations[AnnotationProgressDeadline] = "1.5s" }, "whole seconds"},
		{"http redirected", func(s *Service) { s.Annotations = map[string]string{AnnotationHTTPProtocol: "Redirected"} }, ""},
		{"http disabled", func(s *Service) { s.Annotations = map[string]string{AnnotationHTTPProtocol: "disabled"} }, "want enabled or redirected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validService()
			tt.change(s)
			checkErr(t, s.Validate(), tt.want)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func validTrigger() *Trigger {
	return &Trigger{
		ObjectMeta: metav1.ObjectMeta{Name: "person-create"},
		Spec: TriggerSpec{
			Broker:     "default",
			Filters:    []EventFilter{{Exact: map[string]string{"type": "io.udaconnect.person.create"}}},
			Subscriber: Destination{Ref: &KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "persons"}},
			Delivery: &DeliverySpec{
				Retry: ptr(int32(5)), BackoffPolicy: ptr("exponential"), BackoffDelay: ptr("PT0.2S"),
				DeadLetterSink: &Destination{Ref: &KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "dead-letters"}},
			},
		},
	}
}

func TestTriggerValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Trigger)
		want   string
	}{
		{"valid", func(*Trigger) {}, ""},
		{"no broker", func(tr *Trigger) { tr.Spec.Broker = "" }, "spec.broker: required"},
		{"two dialects", func(tr *Trigger) { tr.Spec.Filters[0].Prefix = map[string]string{"source": "x"} }, "exactly one dialect"},
		{"two attributes", func(tr *Trigger) { tr.Spec.Filters[0].Exact["source"] = "x" }, "exactly one attribute"},
		{"attribute name", func(tr *Trigger) { tr.Spec.Filters[0].Exact = map[string]string{"Type": "x"} }, "not a CloudEvents attribute name"},
		{"empty all", func(tr *Trigger) { tr.Spec.Filters = []EventFilter{{All: []EventFilter{}}} }, "all: empty"},
		{"nested not", func(tr *Trigger) {
			tr.Spec.Filters = []EventFilter{{Not: &EventFilter{Suffix: map[string]string{"type": ".create"}}}}
		}, ""},
		{"no subscriber", func(tr *Trigger) { tr.Spec.Subscriber = Destination{} }, "set ref or uri"},
		{"relative uri", func(tr *Trigger) { tr.Spec.Subscriber = Destination{URI: "/events"} }, "not absolute"},
		{"ref without kind", func(tr *Trigger) { tr.Spec.Subscriber.Ref.Kind = "" }, "ref.kind: required"},
		{"backoff policy", func(tr *Trigger) { tr.Spec.Delivery.BackoffPolicy = ptr("fibonacci") }, "want linear or exponential"},
		{"backoff delay", func(tr *Trigger) { tr.Spec.Delivery.BackoffDelay = ptr("200ms") }, "not an ISO 8601 duration"},
		{"negative retry", func(tr *Trigger) { tr.Spec.Delivery.Retry = ptr(int32(-1)) }, "is negative"},
		{"dead letter sink", func(tr *Trigger) { tr.Spec.Delivery.DeadLetterSink.Ref.Name = "" }, "deadLetterSink.ref.name: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := validTrigger()
			tt.change(tr)
			checkErr(t, tr.Validate(), tt.want)
		})
	}
}

func TestBrokerValidate(t *testing.T) {
	b := &Broker{ObjectMeta: metav1.ObjectMeta{Name: "default", Annotations: map[string]string{AnnotationBrokerClass: ClassKafka}},
		Spec: BrokerSpec{Config: &KReference{APIVersion: "v1", Kind: "ConfigMap", Name: "kafka-broker-config"}}}
	checkErr(t, b.Validate(), "")
	b.Annotations[AnnotationBrokerClass] = "Memory"
	checkErr(t, b.Validate(), "unknown broker class")
	b.Annotations[AnnotationBrokerClass] = ClassMTChannelBased
	b.Spec.Config.Name = ""
	checkErr(t, b.Validate(), "spec.config.name: required")
}

func TestSinkBindingValidate(t *testing.T) {
	sb := &SinkBinding{ObjectMeta: metav1.ObjectMeta{Name: "frontend-k-sink"}, Spec: SinkBindingSpec{
		Subject: Reference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "frontend"},
		Sink:    Destination{Ref: &KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}},
	}}
	checkErr(t, sb.Validate(), "")
	sb.Spec.Subject.Selector = &metav1.LabelSelector{}
	checkErr(t, sb.Validate(), "exactly one of name and selector")
	sb.Spec.Subject.Selector = nil
	sb.Spec.Subject.Kind = ""
	checkErr(t, sb.Validate(), "subject.kind: required")
}

func TestPingSourceValidate(t *testing.T) {
	p := &PingSource{ObjectMeta: metav1.ObjectMeta{Name: "retention"}, Spec: PingSourceSpec{
		Schedule: "17 * * * *", Data: "{}",
		Sink: Destination{Ref: &KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}},
	}}
	checkErr(t, p.Validate(), "")
	p.Spec.Schedule = "hourly"
	checkErr(t, p.Validate(), "spec.schedule")
	p.Spec.Schedule = "17 * * * *"
	p.Spec.DataBase64 = "e30="
	checkErr(t, p.Validate(), "at most one of data and dataBase64")
}

func TestEventPolicyValidate(t *testing.T) {
	valid := func() *EventPolicy {
		return &EventPolicy{ObjectMeta: metav1.ObjectMeta{Name: "broker-senders"}, Spec: EventPolicySpec{
			To:   []EventPolicyTo{{Ref: &EventPolicyToReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}}},
			From: []EventPolicyFrom{{Ref: &EventPolicyFromReference{APIVersion: "eventing.knative.dev/v1", Kind: "Trigger", Name: "person-create"}}},
		}}
	}
	tests := []struct {
		name   string
		change func(*EventPolicy)
		want   string
	}{
		{"valid", func(*EventPolicy) {}, ""},
		{"subject with a trailing wildcard", func(p *EventPolicy) {
			p.Spec.From = []EventPolicyFrom{{Sub: ptr("system:serviceaccount:udaconnect:*")}}
		}, ""},
		{"ref and sub", func(p *EventPolicy) { p.Spec.From[0].Sub = ptr("system:serviceaccount:udaconnect:door") }, "exactly one of ref and sub"},
		{"neither ref nor sub", func(p *EventPolicy) { p.Spec.From[0].Ref = nil }, "exactly one of ref and sub"},
		{"wildcard inside", func(p *EventPolicy) { p.Spec.From = []EventPolicyFrom{{Sub: ptr("system:*:door")}} }, "only allowed as suffix"},
		{"sender without apiVersion", func(p *EventPolicy) { p.Spec.From[0].Ref.APIVersion = "" }, "from[0].ref.apiVersion: required"},
		{"target without name", func(p *EventPolicy) { p.Spec.To[0].Ref.Name = "" }, "to[0].ref.name: required"},
		{"target ref and selector", func(p *EventPolicy) { p.Spec.To[0].Selector = &EventPolicySelector{Kind: "Broker"} }, "exactly one of ref and selector"},
		{"filter", func(p *EventPolicy) { p.Spec.Filters = []EventFilter{{}} }, "exactly one dialect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(p)
			checkErr(t, p.Validate(), tt.want)
		})
	}
}

func TestIsDuration(t *testing.T) {
	for in, want := range map[string]bool{
		"PT0.2S": true, "PT1M": true, "P1DT2H": true, "PT10S": true,
		"P": false, "PT": false, "0.2s": false, "PT-1S": false, "": false,
	} {
		if got := isDuration(in); got != want {
			t.Errorf("isDuration(%q) = %v; want %v", in, got, want)
		}
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate() = %v; want no error", err)
	case want != "" && err == nil:
		t.Errorf("Validate() = nil; want an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("Validate() = %v; want an error containing %q", err, want)
	}
}
