// Package knative holds the Knative kinds UdaConnect's manifests use, as Go
// types a manifest decodes into strictly, and their validation: the fields
// and rules of Knative's documented API (serving.knative.dev/v1 Service,
// eventing.knative.dev/v1 Broker and Trigger, sources.knative.dev/v1
// SinkBinding, eventing.knative.dev/v1alpha1 EventPolicy) that its admission
// webhooks enforce.
package knative

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Service is a serving.knative.dev/v1 Service.
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ServiceSpec `json:"spec,omitempty"`
}

// ServiceSpec is a Configuration's template plus a Route's traffic.
type ServiceSpec struct {
	Template RevisionTemplateSpec `json:"template"`
	Traffic  []TrafficTarget      `json:"traffic,omitempty"`
}

// RevisionTemplateSpec describes the Revisions the Service stamps out.
type RevisionTemplateSpec struct {
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RevisionSpec `json:"spec,omitempty"`
}

// RevisionSpec is a PodSpec with Knative's request-level settings.
type RevisionSpec struct {
	corev1.PodSpec              `json:",inline"`
	ContainerConcurrency        *int64 `json:"containerConcurrency,omitempty"`
	TimeoutSeconds              *int64 `json:"timeoutSeconds,omitempty"`
	ResponseStartTimeoutSeconds *int64 `json:"responseStartTimeoutSeconds,omitempty"`
	IdleTimeoutSeconds          *int64 `json:"idleTimeoutSeconds,omitempty"`
}

// TrafficTarget routes a share of the Service's traffic.
type TrafficTarget struct {
	Tag               string `json:"tag,omitempty"`
	RevisionName      string `json:"revisionName,omitempty"`
	ConfigurationName string `json:"configurationName,omitempty"`
	LatestRevision    *bool  `json:"latestRevision,omitempty"`
	Percent           *int64 `json:"percent,omitempty"`
	URL               string `json:"url,omitempty"`
}

// Annotations and labels of Knative Serving that the manifests set.
const (
	AnnotationClass    = "autoscaling.knative.dev/class"
	AnnotationMetric   = "autoscaling.knative.dev/metric"
	AnnotationTarget   = "autoscaling.knative.dev/target"
	AnnotationMinScale = "autoscaling.knative.dev/min-scale"
	AnnotationMaxScale = "autoscaling.knative.dev/max-scale"
	LabelVisibility    = "networking.knative.dev/visibility"
	VisibilityLocal    = "cluster-local"
	// AnnotationProgressDeadline (on the revision template) is how long a
	// revision may take to become ready before Serving fails it.
	AnnotationProgressDeadline = "serving.knative.dev/progress-deadline"
	// AnnotationHTTPProtocol (on the Service) says what its public address
	// does with http: enabled, or redirected to https.
	AnnotationHTTPProtocol = "networking.knative.dev/http-protocol"
	HTTPRedirected         = "redirected"
)

// MaxTimeoutSeconds is Knative Serving's default max-revision-timeout-seconds.
const MaxTimeoutSeconds = 600
