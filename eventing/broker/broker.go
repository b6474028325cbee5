package broker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// Services maps Knative Service names to local URLs; it is a flag.Value
// taking name=url.
type Services map[string]string

func (s Services) String() string { return fmt.Sprint(map[string]string(s)) }

func (s Services) Set(v string) error {
	name, url, ok := strings.Cut(v, "=")
	if !ok || name == "" || !strings.HasPrefix(url, "http") {
		return fmt.Errorf("want name=http://host:port, got %q", v)
	}
	s[name] = strings.TrimSuffix(url, "/")
	return nil
}

// Resolve gives the local URL of a Destination: a Service ref through the
// map, or its absolute uri.
func (s Services) Resolve(d Destination) (string, error) {
	if d.Ref == nil {
		if !strings.HasPrefix(d.URI, "http") {
			return "", fmt.Errorf("destination has neither ref nor absolute uri")
		}
		return d.URI, nil
	}
	url, ok := s[d.Ref.Name]
	if !ok {
		return "", fmt.Errorf("no local address for %s %q: map it with -service %s=URL", d.Ref.Kind, d.Ref.Name, d.Ref.Name)
	}
	return url, nil
}

// Config holds what a Broker needs beyond its manifests.
type Config struct {
	Services  Services
	BaseURL   string       // where the broker is served, for knativeerrordest of replies
	QueueSize int          // events waiting for a worker; default 1024
	Workers   int          // events delivered at once; default 16
	Client    *http.Client // default: 30s timeout
	Clock     Clock        // default: real time
	Logger    *zap.Logger  // default: none
}

// The metrics of the brokers: their queues, and the deliveries of each
// Trigger, once all their retries are done.
var (
	queueDepth = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "udaconnect_broker_queue_depth",
		Help: "Events queued or being delivered, by broker.",
	}, []string{"broker"})
	deliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "udaconnect_broker_deliveries_total",
		Help: "Events handed to a Trigger's subscriber (and their replies to the broker), by trigger and outcome: delivered or failed after every retry.",
	}, []string{"trigger", "outcome"})
	retries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "udaconnect_broker_retries_total",
		Help: "Attempts to deliver an event after its first, by trigger.",
	}, []string{"trigger"})
	deadLetters = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "udaconnect_broker_dead_letters_total",
		Help: "Failed deliveries handed to the dead-letter sink, by trigger; the other failed deliveries are lost.",
	}, []string{"trigger"})
)

// Broker is one Knative Broker running in memory: a bounded queue, and
// workers that deliver each event to the Triggers whose filters pass.
type Broker struct {
	Namespace, Name string

	triggers []trigger
	sender   Sender
	ingress  string
	workers  int
	log      *zap.Logger

	queue   chan event.Event
	depth   prometheus.Gauge // events queued or being delivered
	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup // queued or in-flight events
	running sync.WaitGroup // workers
	cancel  context.CancelFunc
}

type trigger struct {
	name   string
	url    string
	filter Filter
	policy Policy
}

// New builds the Broker bm with the Triggers of m that name it. A Trigger
// without delivery takes the Broker's.
func New(m *Manifests, bm BrokerManifest, cfg Config) (*Broker, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Client == nil {
		// Keep a connection per worker to each subscriber: without, most
		// deliveries would dial anew.
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.MaxIdleConnsPerHost = cfg.Workers
		cfg.Client = &http.Client{Timeout: 30 * time.Second, Transport: transport}
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	b := &Broker{
		Namespace: bm.Metadata.Namespace,
		Name:      bm.Metadata.Name,
		sender:    Sender{Client: cfg.Client, Clock: cfg.Clock},
		ingress:   cfg.BaseURL + "/" + bm.Metadata.Namespace + "/" + bm.Metadata.Name,
		workers:   cfg.Workers,
		log:       cfg.Logger.With(zap.String("broker", bm.Metadata.Namespace+"/"+bm.Metadata.Name)),
		queue:     make(chan event.Event, cfg.QueueSize),
		depth:     queueDepth.WithLabelValues(bm.Metadata.Namespace + "/" + bm.Metadata.Name),
	}
	for _, tm := range m.Triggers {
		if tm.Spec.Broker != b.Name || tm.Metadata.Namespace != b.Namespace {
			continue
		}
		t, err := newTrigger(tm, bm.Spec.Delivery, cfg.Services)
		if err != nil {
			return nil, fmt.Errorf("trigger %s/%s: %w", tm.Metadata.Namespace, tm.Metadata.Name, err)
		}
		b.triggers = append(b.triggers, t)
	}
	return b, nil
}

func newTrigger(tm TriggerManifest, brokerDelivery *Delivery, services Services) (trigger, error) {
	t := trigger{name: tm.Metadata.Name}
	var attrs map[string]string
	if tm.Spec.Filter != nil {
		attrs = tm.Spec.Filter.Attributes
	}
	var err error
	if t.filter, err = NewFilter(tm.Spec.Filters, attrs); err != nil {
		return t, fmt.Errorf("filters: %w", err)
	}
	if t.url, err = services.Resolve(tm.Spec.Subscriber); err != nil {
		return t, fmt.Errorf("subscriber: %w", err)
	}
	delivery := tm.Spec.Delivery
	if delivery == nil {
		delivery = brokerDelivery
	}
	if t.policy, err = NewPolicy(delivery, services.Resolve); err != nil {
		return t, fmt.Errorf("delivery: %w", err)
	}
	return t, nil
}

// Start runs the workers until Close.
func (b *Broker) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	for range b.workers {
		b.running.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-b.queue:
					b.dispatch(ctx, e)
					b.depth.Dec()
					b.pending.Done()
				}
			}
		})
	}
}

// Close refuses new events, lets queued and in-flight deliveries finish
// until ctx ends, then aborts what is left.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	drained := make(chan struct{})
	go func() { b.pending.Wait(); close(drained) }()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = fmt.Errorf("drain: %w, %d events left in the queue", ctx.Err(), len(b.queue))
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.running.Wait()
	return err
}

// dispatch delivers e to every Trigger that wants it, concurrently.
func (b *Broker) dispatch(ctx context.Context, e event.Event) {
	var wg sync.WaitGroup
	for _, t := range b.triggers {
		if t.filter(e) {
			wg.Go(func() { b.deliver(ctx, t, e.Clone()) })
		}
	}
	wg.Wait()
}

// deliver sends e to t's subscriber without the broker's TTL, publishes a
// reply back into the broker with e's TTL, and dead-letters e when either
// step finally fails, as Knative's broker filter does.
func (b *Broker) deliver(ctx context.Context, t trigger, e event.Event) {
	ttl := e.Extensions()[TTLExtension]
	e.SetExtension(TTLExtension, nil)
	log := b.log.With(telemetry.EventFields(e, zap.String("trigger", t.name))...)

	r, attempts := b.sender.Retry(ctx, t.policy, func(ctx context.Context) Result {
		return b.sender.Send(ctx, t.url, e, t.policy.Timeout)
	})
	retries.WithLabelValues(t.name).Add(float64(attempts - 1))
	dest := t.url
	if r.OK() && r.Reply != nil {
		reply := *r.Reply
		reply.SetExtension(TTLExtension, ttl)
		telemetry.KeepTrace(e, &reply)
		log = log.With(zap.String("reply_id", reply.ID()), zap.String("reply_type", reply.Type()))
		r, _ = b.sender.Retry(ctx, t.policy, func(context.Context) Result {
			if err := b.publish(reply, true); err != nil {
				return Result{Status: statusOf(err), Body: jsonError(err), Err: err}
			}
			return Result{Status: http.StatusAccepted}
		})
		dest = b.ingress
	}
	log = log.With(zap.Int("status", r.Status), zap.Int("attempts", attempts))
	if r.OK() {
		deliveries.WithLabelValues(t.name, "delivered").Inc()
		log.Info("event delivered")
		return
	}
	deliveries.WithLabelValues(t.name, "failed").Inc()
	log.Warn("delivery failed", zap.String("destination", dest), zap.Error(r.Err))
	if t.policy.DeadLetterSink == "" {
		log.Error("event lost: no dead-letter sink")
		return
	}
	dl, _ := b.sender.Retry(ctx, t.policy, func(ctx context.Context) Result {
		return b.sender.Send(ctx, t.policy.DeadLetterSink, withError(e, dest, r), t.policy.Timeout)
	})
	if !dl.OK() {
		log.Error("event lost: dead-letter sink failed", zap.Int("dead_letter_status", dl.Status), zap.Error(dl.Err))
		return
	}
	deadLetters.WithLabelValues(t.name).Inc()
}
