package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nuid"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// PingEventType is the type Knative's PingSource gives its events.
const PingEventType = "dev.knative.sources.ping"

// Ping is a PingSource whose sink is one of the brokers.
type Ping struct {
	name     string // namespace/name
	schedule cron.Schedule
	event    event.Event // the event sent, but for its id and time
	broker   *Broker
}

// NewPings compiles the PingSources of m; each must send to one of brokers.
func NewPings(m *Manifests, brokers []*Broker) ([]Ping, error) {
	var pings []Ping
	for _, pm := range m.PingSources {
		name := pm.Metadata.Namespace + "/" + pm.Metadata.Name
		p, err := newPing(pm, brokers)
		if err != nil {
			return nil, fmt.Errorf("PingSource %s: %w", name, err)
		}
		p.name = name
		pings = append(pings, p)
	}
	return pings, nil
}

func newPing(pm PingSourceManifest, brokers []*Broker) (Ping, error) {
	var p Ping
	spec := pm.Spec.Schedule
	if pm.Spec.Timezone != "" {
		spec = "CRON_TZ=" + pm.Spec.Timezone + " " + spec
	}
	var err error
	if p.schedule, err = cron.ParseStandard(spec); err != nil {
		return p, fmt.Errorf("schedule: %w", err)
	}
	ref := pm.Spec.Sink.Ref
	for _, b := range brokers {
		if ref != nil && ref.Kind == "Broker" && ref.Name == b.Name && pm.Metadata.Namespace == b.Namespace {
			p.broker = b
		}
	}
	if p.broker == nil {
		return p, fmt.Errorf("sink: the local broker runs PingSources whose sink is one of its Brokers")
	}
	p.event = event.New()
	p.event.SetType(PingEventType)
	p.event.SetSource(fmt.Sprintf("/apis/v1/namespaces/%s/pingsources/%s", pm.Metadata.Namespace, pm.Metadata.Name))
	if pm.Spec.Data != "" {
		contentType := pm.Spec.ContentType
		if contentType == "" {
			contentType = "text/plain"
		}
		if err := p.event.SetData(contentType, []byte(pm.Spec.Data)); err != nil {
			return p, fmt.Errorf("data: %w", err)
		}
	}
	if o := pm.Spec.CEOverrides; o != nil {
		for k, v := range o.Extensions {
			p.event.SetExtension(k, v)
		}
	}
	return p, nil
}

// Run sends p's event into its broker at each time of its schedule until
// ctx ends. A send that fails is logged; the next time comes anyway, as
// with Knative's PingSource.
func (p Ping) Run(ctx context.Context, log *zap.Logger) {
	log = log.With(zap.String("pingsource", p.name))
	for {
		next := p.schedule.Next(time.Now())
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		e := p.event.Clone()
		e.SetID(nuid.Next())
		e.SetTime(next)
		if err := p.broker.publish(ctx, e, false); err != nil {
			log.Error("ping not sent", zap.String("event_id", e.ID()), zap.Error(err))
			continue
		}
		log.Info("ping sent", zap.String("event_id", e.ID()))
	}
}
