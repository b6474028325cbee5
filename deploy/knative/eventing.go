package knative

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Broker is an eventing.knative.dev/v1 Broker.
type Broker struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              BrokerSpec `json:"spec,omitempty"`
}

// BrokerSpec names the class-specific config and the default delivery.
type BrokerSpec struct {
	Config   *KReference   `json:"config,omitempty"`
	Delivery *DeliverySpec `json:"delivery,omitempty"`
}

// Trigger is an eventing.knative.dev/v1 Trigger.
type Trigger struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TriggerSpec `json:"spec,omitempty"`
}

// TriggerSpec subscribes a destination to the events of a Broker.
type TriggerSpec struct {
	Broker     string         `json:"broker,omitempty"`
	BrokerRef  *KReference    `json:"brokerRef,omitempty"`
	Filter     *TriggerFilter `json:"filter,omitempty"`
	Filters    []EventFilter  `json:"filters,omitempty"`
	Subscriber Destination    `json:"subscriber"`
	Delivery   *DeliverySpec  `json:"delivery,omitempty"`
}

// TriggerFilter is the legacy filter: exact matches on attributes.
type TriggerFilter struct {
	Attributes map[string]string `json:"attributes,omitempty"`
}

// EventFilter is one expression of the filters dialect: exactly one of its
// fields is set.
type EventFilter struct {
	All    []EventFilter     `json:"all,omitempty"`
	Any    []EventFilter     `json:"any,omitempty"`
	Not    *EventFilter      `json:"not,omitempty"`
	Exact  map[string]string `json:"exact,omitempty"`
	Prefix map[string]string `json:"prefix,omitempty"`
	Suffix map[string]string `json:"suffix,omitempty"`
	CESQL  string            `json:"cesql,omitempty"`
}

// SinkBinding is a sources.knative.dev/v1 SinkBinding: it injects K_SINK
// (the sink's URL) into the subject's containers.
type SinkBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              SinkBindingSpec `json:"spec,omitempty"`
}

// SinkBindingSpec binds a sink to a subject.
type SinkBindingSpec struct {
	Sink                Destination          `json:"sink"`
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
	Subject             Reference            `json:"subject"`
}

// PingSource is a sources.knative.dev/v1 PingSource: it sends an event of
// type dev.knative.sources.ping to its sink on a cron schedule.
type PingSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PingSourceSpec `json:"spec,omitempty"`
}

// PingSourceSpec is when a PingSource sends, what and where.
type PingSourceSpec struct {
	Schedule            string               `json:"schedule,omitempty"`
	Timezone            string               `json:"timezone,omitempty"`
	ContentType         string               `json:"contentType,omitempty"`
	Data                string               `json:"data,omitempty"`
	DataBase64          string               `json:"dataBase64,omitempty"`
	Sink                Destination          `json:"sink"`
	CloudEventOverrides *CloudEventOverrides `json:"ceOverrides,omitempty"`
}

// CloudEventOverrides adds extensions to the events the subject sends.
type CloudEventOverrides struct {
	Extensions map[string]string `json:"extensions,omitempty"`
}

// Reference names a subject by name or by label selector.
type Reference struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Namespace  string                `json:"namespace,omitempty"`
	Name       string                `json:"name,omitempty"`
	Selector   *metav1.LabelSelector `json:"selector,omitempty"`
}

// KReference points at an addressable object.
type KReference struct {
	Kind       string  `json:"kind"`
	Namespace  string  `json:"namespace,omitempty"`
	Name       string  `json:"name"`
	APIVersion string  `json:"apiVersion,omitempty"`
	Group      string  `json:"group,omitempty"`
	Address    *string `json:"address,omitempty"`
}

// Destination is an object reference, a URI, or a reference plus a path.
type Destination struct {
	Ref      *KReference `json:"ref,omitempty"`
	URI      string      `json:"uri,omitempty"`
	CACerts  *string     `json:"CACerts,omitempty"`
	Audience *string     `json:"audience,omitempty"`
}

// DeliverySpec is how an event is retried and where it goes when it fails.
type DeliverySpec struct {
	DeadLetterSink *Destination `json:"deadLetterSink,omitempty"`
	Retry          *int32       `json:"retry,omitempty"`
	Timeout        *string      `json:"timeout,omitempty"`
	BackoffPolicy  *string      `json:"backoffPolicy,omitempty"`
	BackoffDelay   *string      `json:"backoffDelay,omitempty"`
	RetryAfterMax  *string      `json:"retryAfterMax,omitempty"`
	Format         *string      `json:"format,omitempty"`
}

// Broker classes Knative ships and the annotation that picks one.
const (
	AnnotationBrokerClass = "eventing.knative.dev/broker.class"
	ClassMTChannelBased   = "MTChannelBasedBroker"
	ClassKafka            = "Kafka"
	ClassKafkaNamespaced  = "KafkaNamespaced"
	ClassRabbitMQ         = "RabbitMQBroker"
)

// EventPolicy is an eventing.knative.dev/v1alpha1 EventPolicy: who may send
// events to the resources it applies to.
type EventPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              EventPolicySpec `json:"spec,omitempty"`
}

// EventPolicySpec lists the targets (empty: every one in the namespace), the
// senders allowed to reach them, and filters every event must pass.
type EventPolicySpec struct {
	To      []EventPolicyTo   `json:"to,omitempty"`
	From    []EventPolicyFrom `json:"from,omitempty"`
	Filters []EventFilter     `json:"filters,omitempty"`
}

// EventPolicyTo names one target by reference or a group by selector.
type EventPolicyTo struct {
	Ref      *EventPolicyToReference `json:"ref,omitempty"`
	Selector *EventPolicySelector    `json:"selector,omitempty"`
}

// EventPolicyToReference is a target in the policy's namespace.
type EventPolicyToReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
}

// EventPolicySelector selects targets of a kind by their labels.
type EventPolicySelector struct {
	APIVersion       string                            `json:"apiVersion,omitempty"`
	Kind             string                            `json:"kind,omitempty"`
	MatchLabels      map[string]string                 `json:"matchLabels,omitempty"`
	MatchExpressions []metav1.LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// EventPolicyFrom is one allowed sender: a resource with an OIDC identity
// (a source, a SinkBinding, a Trigger...) or an identity's subject.
type EventPolicyFrom struct {
	Ref *EventPolicyFromReference `json:"ref,omitempty"`
	Sub *string                   `json:"sub,omitempty"`
}

// EventPolicyFromReference is a sender; the namespace defaults to the
// policy's.
type EventPolicyFromReference struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
}
