package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/secret"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// Services maps Knative Service names to local URLs; it is a flag.Value
// taking name=url. A Service with several replicas has their URLs separated
// by commas; the Broker delivers to them in turn, as Knative's activator
// spreads requests over a revision's pods.
type Services map[string]string

func (s Services) String() string { return fmt.Sprint(map[string]string(s)) }

func (s Services) Set(v string) error {
	name, urls, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=http://host:port[,http://host:port...], got %q", v)
	}
	var list []string
	for url := range strings.SplitSeq(urls, ",") {
		if !strings.HasPrefix(url, "http") {
			return fmt.Errorf("want name=http://host:port[,http://host:port...], got %q", v)
		}
		list = append(list, strings.TrimSuffix(url, "/"))
	}
	s[name] = strings.Join(list, ",")
	return nil
}

// replicas are the URLs of a subscriber's replicas, taken in turn.
type replicas struct {
	urls []string
	next atomic.Uint64
}

func newReplicas(urls string) *replicas { return &replicas{urls: strings.Split(urls, ",")} }

func (r *replicas) pick() string { return r.urls[(r.next.Add(1)-1)%uint64(len(r.urls))] }

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
	Store     *Store       // where events wait for delivery; required
	QueueSize int          // events waiting for delivery before the ingress answers 429; default 1024
	MaxBytes  int64        // bytes of events waiting, likewise; default 1 GiB
	Workers   int          // events delivered at once to each Trigger; default 16
	Client    *http.Client // default: 30s timeout
	Token     string       // the secret shared with the door and the functions: sent as a bearer token with every delivery, and required at the ingress when set
	Logger    *zap.Logger  // default: none
}

// The metrics of the brokers: the events their streams hold, and the
// deliveries of each Trigger, once all their retries are done.
var (
	queueDepth = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "udaconnect_broker_queue_depth",
		Help: "Events stored and not yet delivered to every Trigger, by broker.",
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

// depthInterval is how often a broker reads its stream's depth.
const depthInterval = 5 * time.Second

// maxDeadLetterDelay caps the wait between attempts to hand a dead letter
// to its sink, which go on until the sink takes it.
const maxDeadLetterDelay = 30 * time.Second

// ackWait is how long a delivery may go silent before JetStream hands the
// event out again; a delivery in progress says so every ackWait/3.
const ackWait = 5 * time.Second

// Broker is one Knative Broker whose events wait in JetStream: the ingress
// stores each event in the broker's stream before it answers 202; each
// Trigger has a durable consumer that delivers the events its filter passes
// and acknowledges them once the subscriber took them; a retry is a
// negative acknowledgement with the backoff delay, so no worker waits; an
// event that finally fails goes to the dead-letter stream, whose consumers
// hand it to the Trigger's dead-letter sink until it takes it.
type Broker struct {
	Namespace, Name string

	triggers []trigger
	sender   Sender
	secret   *secret.Secret // that the ingress requires, if any
	ingress  string
	subject  string // of the broker's streams; events are at .ingress and .reply, dead letters at .dead.<trigger>
	js       jetstream.JetStream
	workers  int
	log      *zap.Logger

	closed      atomic.Bool
	consumers   []consumer
	pulling     sync.WaitGroup // a puller per consumer
	stopPulling context.CancelFunc
	running     sync.WaitGroup // deliveries in flight
	ctx         context.Context
	cancel      context.CancelFunc
}

type trigger struct {
	name   string
	url    *replicas // the subscriber's
	filter Filter
	policy Policy
}

// New builds the Broker bm with the Triggers of m that name it, and makes
// or updates its streams and a consumer for each Trigger in cfg.Store. A
// Trigger without delivery takes the Broker's.
func New(ctx context.Context, m *Manifests, bm BrokerManifest, cfg Config) (*Broker, error) {
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 1 << 30
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
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	b := &Broker{
		Namespace: bm.Metadata.Namespace,
		Name:      bm.Metadata.Name,
		sender:    Sender{Client: cfg.Client, Token: cfg.Token},
		ingress:   cfg.BaseURL + "/" + bm.Metadata.Namespace + "/" + bm.Metadata.Name,
		subject:   bm.Metadata.Namespace + "." + bm.Metadata.Name,
		workers:   cfg.Workers,
		log:       cfg.Logger.With(zap.String("broker", bm.Metadata.Namespace+"/"+bm.Metadata.Name)),
	}
	if cfg.Token != "" {
		b.secret = secret.New(cfg.Token)
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
	if cfg.Store == nil {
		return nil, errors.New("no store")
	}
	b.js = cfg.Store.js
	if err := b.makeStreams(ctx, cfg); err != nil {
		return nil, err
	}
	if err := b.makeConsumers(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// The broker's two streams. Events stay in the first until every Trigger's
// consumer acknowledged them (interest retention). The last places are kept
// for replies, one for each worker: the ingress may fill only its own
// subject, so a delivery can always publish its reply. Dead letters stay in
// the second until their sink took them.
func (b *Broker) makeStreams(ctx context.Context, cfg Config) error {
	reserve := min(cfg.Workers, cfg.QueueSize/2)
	events := jetstream.StreamConfig{
		Name:                 b.streamName(),
		Subjects:             []string{b.subject + ".ingress", b.subject + ".reply"},
		Retention:            jetstream.InterestPolicy,
		Storage:              jetstream.FileStorage,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		MaxMsgs:              int64(cfg.QueueSize),
		MaxMsgsPerSubject:    int64(cfg.QueueSize - reserve),
		MaxBytes:             cfg.MaxBytes,
		MaxMsgSize:           2 * maxBodyBytes,
	}
	dead := jetstream.StreamConfig{
		Name:       b.streamName() + "_dead",
		Subjects:   []string{b.subject + ".dead.>"},
		Retention:  jetstream.WorkQueuePolicy,
		Storage:    jetstream.FileStorage,
		Discard:    jetstream.DiscardNew,
		MaxBytes:   cfg.MaxBytes,
		MaxMsgSize: 2 * maxBodyBytes,
	}
	for _, sc := range []jetstream.StreamConfig{events, dead} {
		s, err := b.js.CreateOrUpdateStream(ctx, sc)
		if err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		// A Trigger removed from the manifests would hold its events forever.
		var names []string
		for _, t := range b.triggers {
			names = append(names, t.name, deadConsumer(t))
		}
		for name := range s.ConsumerNames(ctx).Name() {
			if !slices.Contains(names, name) {
				if err := s.DeleteConsumer(ctx, name); err != nil {
					return fmt.Errorf("stream %s: delete consumer %s: %w", sc.Name, name, err)
				}
				b.log.Info("consumer of a removed trigger deleted", zap.String("consumer", name))
			}
		}
	}
	return nil
}

func (b *Broker) streamName() string { return b.Namespace + "_" + b.Name }

func deadConsumer(t trigger) string { return "dead-" + t.name }

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
	url, err := services.Resolve(tm.Spec.Subscriber)
	if err != nil {
		return t, fmt.Errorf("subscriber: %w", err)
	}
	t.url = newReplicas(url)
	delivery := tm.Spec.Delivery
	if delivery == nil {
		delivery = brokerDelivery
	}
	if t.policy, err = NewPolicy(delivery, services.Resolve); err != nil {
		return t, fmt.Errorf("delivery: %w", err)
	}
	return t, nil
}

// consumer is a durable JetStream consumer and what handles its events.
type consumer struct {
	c      jetstream.Consumer
	handle func(jetstream.Msg)
}

// makeConsumers makes or updates each Trigger's consumer and, if it has a
// sink, its dead-letter consumer. They exist from now on, so the events
// stored before Start wait for them.
func (b *Broker) makeConsumers(ctx context.Context) error {
	for _, t := range b.triggers {
		if err := b.makeConsumer(ctx, b.streamName(), jetstream.ConsumerConfig{Durable: t.name},
			func(msg jetstream.Msg) { b.deliver(t, msg) }); err != nil {
			return err
		}
		if t.policy.DeadLetterSink == "" {
			continue
		}
		if err := b.makeConsumer(ctx, b.streamName()+"_dead", jetstream.ConsumerConfig{Durable: deadConsumer(t),
			FilterSubject: b.subject + ".dead." + t.name}, func(msg jetstream.Msg) { b.deliverDeadLetter(t, msg) }); err != nil {
			return err
		}
	}
	return nil
}

func (b *Broker) makeConsumer(ctx context.Context, stream string, cc jetstream.ConsumerConfig, handle func(jetstream.Msg)) error {
	cc.AckPolicy = jetstream.AckExplicitPolicy
	cc.AckWait = ackWait
	cc.MaxDeliver = -1
	// Events waiting for a retry count as pending: let as many wait as the
	// stream holds, while the workers bound the deliveries at once.
	cc.MaxAckPending = -1
	c, err := b.js.CreateOrUpdateConsumer(ctx, stream, cc)
	if err != nil {
		return fmt.Errorf("consumer %s: %w", cc.Durable, err)
	}
	b.consumers = append(b.consumers, consumer{c: c, handle: handle})
	return nil
}

// Start delivers until Close: each consumer's puller hands its events to
// its workers.
func (b *Broker) Start(ctx context.Context) error {
	b.ctx, b.cancel = context.WithCancel(context.WithoutCancel(ctx))
	var pullCtx context.Context
	pullCtx, b.stopPulling = context.WithCancel(b.ctx)
	for _, c := range b.consumers {
		b.pulling.Go(func() { b.pull(pullCtx, c) })
	}
	b.pulling.Go(func() { b.measureDepth(pullCtx) })
	return nil
}

// measureDepth sets the broker's queue depth from its stream until ctx ends.
func (b *Broker) measureDepth(ctx context.Context) {
	depth := queueDepth.WithLabelValues(b.Namespace + "/" + b.Name)
	for {
		if s, err := b.js.Stream(ctx, b.streamName()); err == nil {
			if info, err := s.Info(ctx); err == nil {
				depth.Set(float64(info.State.Msgs))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(depthInterval):
		}
	}
}

// pull takes c's events one at a time, each only once a worker is free to
// deliver it: an event never waits taken but undelivered, where JetStream
// would hand it out again after ackWait. Each Trigger has workers of its
// own, so a slow subscriber holds back no other.
func (b *Broker) pull(ctx context.Context, c consumer) {
	workers := make(chan struct{}, b.workers)
	for {
		select {
		case workers <- struct{}{}:
		case <-ctx.Done():
			return
		}
		msg, err := c.c.Next(jetstream.FetchContext(ctx))
		if err != nil {
			<-workers
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, nats.ErrTimeout) {
				b.log.Warn("pull failed", zap.String("consumer", c.c.CachedInfo().Name), zap.Error(err))
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		b.running.Go(func() {
			defer func() { <-workers }()
			c.handle(msg)
		})
	}
}

// Close refuses new events, stops taking events from the streams, lets the
// deliveries in flight finish until ctx ends, then aborts them. What is not
// delivered stays in the streams for the next Start.
func (b *Broker) Close(ctx context.Context) error {
	b.closed.Store(true)
	if b.stopPulling != nil {
		b.stopPulling()
	}
	b.pulling.Wait()
	done := make(chan struct{})
	go func() { b.running.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("drain: %w: deliveries in flight aborted, delivered again on the next start", ctx.Err())
	}
	if b.cancel != nil {
		b.cancel()
	}
	b.running.Wait()
	return err
}

// deliver sends the event of msg to t's subscriber without the broker's
// TTL, publishes a reply back into the broker with the event's TTL, and
// acknowledges msg. When either step fails it schedules a retry, or
// dead-letters the event once the failure is final or the retries are
// spent, as Knative's broker filter does.
func (b *Broker) deliver(t trigger, msg jetstream.Msg) {
	e, ok := b.stored(msg)
	if !ok {
		return
	}
	if !t.filter(e) {
		b.ack(msg)
		return
	}
	defer inProgress(msg)()
	ttl := e.Extensions()[TTLExtension]
	e.SetExtension(TTLExtension, nil)
	attempt := attempts(msg)
	log := b.log.With(telemetry.EventFields(e, zap.String("trigger", t.name), zap.Int("attempt", attempt))...)

	dest := t.url.pick()
	r := b.sender.Send(b.ctx, dest, e, t.policy.Timeout)
	if r.OK() && r.Reply != nil {
		reply := *r.Reply
		reply.SetExtension(TTLExtension, ttl)
		telemetry.KeepTrace(e, &reply)
		log = log.With(zap.String("reply_id", reply.ID()), zap.String("reply_type", reply.Type()))
		if err := b.publish(b.ctx, reply, true); err != nil {
			r = Result{Status: statusOf(err), Body: jsonError(err), Err: err}
			dest = b.ingress
		}
	}
	if b.ctx.Err() != nil {
		return // shutting down: delivered again on the next start
	}
	log = log.With(zap.Int("status", r.Status))
	switch {
	case r.OK():
		deliveries.WithLabelValues(t.name, "delivered").Inc()
		log.Info("event delivered")
		b.ack(msg)
	case ev.Retryable(r.Status) && attempt <= t.policy.Retry: // a connection error counts as 500
		retries.WithLabelValues(t.name).Inc()
		delay := t.policy.RetryDelay(attempt, r)
		log.Info("delivery failed, retrying", zap.String("destination", dest), zap.Duration("delay", delay), zap.Error(r.Err))
		b.nak(msg, delay)
	default:
		deliveries.WithLabelValues(t.name, "failed").Inc()
		log.Warn("delivery failed", zap.String("destination", dest), zap.Error(r.Err))
		b.deadLetter(t, msg, withError(e, dest, r), log)
	}
}

// deadLetter moves a finally failed event to the dead-letter stream, from
// where its Trigger's sink gets it; with no sink it is lost, and logged so.
func (b *Broker) deadLetter(t trigger, msg jetstream.Msg, e event.Event, log *zap.Logger) {
	if t.policy.DeadLetterSink == "" {
		log.Error("event lost: no dead-letter sink")
		b.ack(msg)
		return
	}
	data, err := json.Marshal(e)
	if err == nil {
		_, err = b.js.Publish(b.ctx, b.subject+".dead."+t.name, data)
	}
	if err != nil {
		log.Error("dead letter not stored, retrying", zap.Error(err))
		b.nak(msg, maxDeadLetterDelay)
		return
	}
	b.ack(msg)
}

// deliverDeadLetter hands a dead letter to t's sink, retrying with t's
// backoff (capped at maxDeadLetterDelay) until the sink takes it or refuses
// it with a final status.
func (b *Broker) deliverDeadLetter(t trigger, msg jetstream.Msg) {
	e, ok := b.stored(msg)
	if !ok {
		return
	}
	defer inProgress(msg)()
	attempt := attempts(msg)
	log := b.log.With(telemetry.EventFields(e, zap.String("trigger", t.name), zap.Int("attempt", attempt),
		zap.Any("status", e.Extensions()[ErrorCodeExtension]), zap.Any("destination", e.Extensions()[ErrorDestExtension]))...)
	r := b.sender.Send(b.ctx, t.policy.DeadLetterSink, e, t.policy.Timeout)
	if b.ctx.Err() != nil {
		return
	}
	if !r.OK() && !ev.Retryable(r.Status) {
		// As in Knative: what the sink refuses for good is lost.
		log.Error("event lost: the dead-letter sink refused it", zap.Int("dead_letter_status", r.Status), zap.Error(r.Err))
		b.ack(msg)
		return
	}
	if !r.OK() {
		delay := min(t.policy.RetryDelay(attempt, r), maxDeadLetterDelay)
		log.Error("dead-letter sink failed, retrying", zap.Int("dead_letter_status", r.Status), zap.Duration("delay", delay), zap.Error(r.Err))
		b.nak(msg, delay)
		return
	}
	deadLetters.WithLabelValues(t.name).Inc()
	log.Warn("event dead-lettered")
	b.ack(msg)
}

// stored decodes the event of msg; one that cannot be decoded was never
// stored by this broker and is dropped.
func (b *Broker) stored(msg jetstream.Msg) (event.Event, bool) {
	var e event.Event
	if err := json.Unmarshal(msg.Data(), &e); err != nil {
		b.log.Error("event lost: unreadable in the stream", zap.String("subject", msg.Subject()), zap.Error(err))
		b.ack(msg)
		return e, false
	}
	return e, true
}

func (b *Broker) ack(msg jetstream.Msg) {
	if err := msg.Ack(); err != nil {
		b.log.Warn("ack failed: the event will be delivered again", zap.Error(err))
	}
}

func (b *Broker) nak(msg jetstream.Msg, delay time.Duration) {
	if err := msg.NakWithDelay(delay); err != nil {
		b.log.Warn("nak failed: the event will be delivered again after the ack wait", zap.Error(err))
	}
}

// attempts is the number of this delivery of msg, from 1.
func attempts(msg jetstream.Msg) int {
	md, err := msg.Metadata()
	if err != nil {
		return 1
	}
	return int(md.NumDelivered)
}

// inProgress tells JetStream, while a delivery runs, that msg is still
// being worked on; the returned func stops it.
func inProgress(msg jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(ackWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}
