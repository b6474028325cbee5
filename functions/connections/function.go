// Connections tells whom a person met: io.udaconnect.connections.requested
// in, io.udaconnect.connections.found out, the /api/persons/{id}/connection
// route; for every io.udaconnect.locations.recorded (or location.recorded)
// it keeps the meetings up to date and emits an
// io.udaconnect.connection.detected per meeting it starts; it serves the
// meetings, and their changes as they happen.
package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

const source = ev.Source + "/connections"

// Detection in batches: the locations recorded while one batch is searched
// around are searched around together in the next, up to 1,000 at a time
// (a group of reports), in one statement; up to 20,000 wait (20 groups
// delivered at once), beyond which a group is refused with 429 and the
// Broker delivers it again later. Larger batches cost less per location but
// run into the statement timeout when the database is busy with ingest
// (docs/bench.md).
var detectConfig = batch.Config{Name: "detection", MaxSize: ev.MaxGroupReports, QueueSize: 20 * ev.MaxGroupReports, Writers: 2, Timeout: 10 * time.Second}

// sends bounds the connection.detected events on their way at once.
const sends = 16

var (
	meetingsDetected = promauto.NewCounter(prometheus.CounterOpts{
		Name: "udaconnect_meetings_detected_total",
		Help: "Meetings detected, each announced by a connection.detected event.",
	})
	detectionLag = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "udaconnect_detection_lag_seconds",
		Help:    "From a location recorded (its event's time) to its meetings updated and announced, per location.",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300},
	})
)

// errNoSink refuses the locations to detect meetings of while the function
// has nowhere to send them: its revision started before its SinkBinding
// gave it K_SINK. The broker retries them.
var errNoSink = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "K_SINK is not set: there is no broker to send %s to yet, try again later", ev.ConnectionDetected)

// Function finds connections.
type Function struct {
	db     *postgres.DB
	log    *zap.Logger
	sink   cloudevents.Client // where connection.detected goes: K_SINK; nil without
	detect *batch.Committer[detection, struct{}]
	live   *live
	stop   context.CancelFunc // stops listening for meeting changes
}

// detection is a recorded location to detect meetings of, with the trace
// of its event, which the connection.detected events it causes continue.
type detection struct {
	loc   udaconnect.Location
	trace trace.SpanContext
}

// New returns the function on db, emitting to cfg.Sink. Without a sink it
// answers requests but is not ready and refuses locations with 503.
func New(cfg server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	f := &Function{db: db, log: log, live: newLive()}
	f.detect = batch.New(detectConfig, f.detectBatch)
	ctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	go f.listen(ctx)
	if cfg.Sink == "" {
		log.Warn("K_SINK is not set: not ready until a revision with it starts")
		return f, nil
	}
	// A connection per event on its way.
	transport, err := server.SinkTransport(cfg.CACerts, cfg.InternalToken, server.OIDCTokenFile, detectConfig.Writers*sends)
	if err != nil {
		f.Close()
		return nil, err
	}
	sink, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(cfg.Sink), cehttp.WithClient(http.Client{Transport: transport}))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("K_SINK: %w", err)
	}
	f.sink = sink
	return f, nil
}

// Ready reports whether the function has somewhere to send its events.
func (f *Function) Ready(context.Context) error {
	if f.sink == nil {
		return errNoSink
	}
	return nil
}

// Close detects the meetings of the locations still waiting and stops. The
// server calls it once it has stopped taking requests.
func (f *Function) Close() {
	f.Drain()
	f.stop()
	f.detect.Close()
	s := f.detect.Stats()
	f.log.Info("detection stopped", zap.Int64("batches", s.Batches), zap.Int64("locations", s.Items), zap.Int64("largest_batch", s.Largest))
}

// Handle answers connections.requested and detects connections on
// location.recorded.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case ev.ConnectionsRequested:
		var data ev.ConnectionsRequestedData
		if err := server.DecodeData(e, &data); err != nil {
			return nil, err
		}
		conns, err := f.find(ctx, data.Params())
		if err != nil {
			return nil, err
		}
		return server.NewEvent(source, ev.ConnectionsFound, e.ID(), ev.ConnectionsFoundData{PersonID: data.PersonID, Connections: conns})
	case ev.LocationsRecorded, ev.LocationRecorded:
		locs, err := recordedLocations(e)
		if err != nil {
			return nil, err
		}
		if f.sink == nil {
			return nil, errNoSink
		}
		span := trace.SpanContextFromContext(ctx)
		detections := make([]detection, len(locs))
		for i, l := range locs {
			detections[i] = detection{loc: l, trace: span}
		}
		_, errs := f.detect.DoAll(ctx, detections)
		for _, err := range errs {
			if err != nil {
				return nil, err // retryable: the event comes again, and changes nothing twice
			}
		}
		lag := time.Since(e.Time()).Seconds()
		for range locs {
			detectionLag.Observe(lag)
		}
		return nil, nil
	default:
		return nil, udaconnect.Invalid("type", "this function takes %s, %s and %s events, not %q", ev.ConnectionsRequested, ev.LocationsRecorded, ev.LocationRecorded, e.Type())
	}
}

// recordedLocations reads the locations of a locations.recorded event, or
// the one of a location.recorded.
func recordedLocations(e event.Event) ([]udaconnect.Location, error) {
	var data ev.LocationsRecordedData
	if e.Type() == ev.LocationRecorded {
		data.Locations = make([]udaconnect.Location, 1)
		if err := server.DecodeData(e, &data.Locations[0]); err != nil {
			return nil, err
		}
	} else if err := server.DecodeData(e, &data); err != nil {
		return nil, err
	}
	for _, l := range data.Locations {
		if l.ID <= 0 {
			return nil, udaconnect.Invalid("id", "id must be the positive id of a recorded location")
		}
	}
	return data.Locations, nil
}

func (f *Function) find(ctx context.Context, p udaconnect.ConnectionParams) ([]udaconnect.Connection, error) {
	q, err := p.Query()
	if err != nil {
		return nil, err
	}
	return f.db.FindConnections(ctx, q)
}

// detectBatch brings the meetings up to date with the locations, emits a
// connection.detected for every meeting that they start and answers each
// location once its own events are accepted. An event's id derives from the
// location and the other person, so a redelivered location yields the same
// events again, not new ones; the meetings it leaves as they were.
func (f *Function) detectBatch(ctx context.Context, locs []detection) ([]struct{}, []error, error) {
	ids := make([]int64, len(locs))
	traces := make(map[int64]trace.SpanContext, len(locs)) // by location id
	for i, l := range locs {
		ids[i] = l.loc.ID
		traces[l.loc.ID] = l.trace
	}
	changed, meetings, err := f.db.DetectMeetings(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	events := make([]*event.Event, len(meetings))
	for i, m := range meetings {
		if events[i], err = server.NewEvent(source, ev.ConnectionDetected, fmt.Sprintf("connection-%d-%d", m.Location.ID, m.Other.ID), m); err != nil {
			return nil, nil, err
		}
		telemetry.Inject(trace.ContextWithSpanContext(ctx, traces[m.Location.ID]), events[i])
	}
	failed := make(map[int64]error) // by location id
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, sends)
	for i, e := range events {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if res := f.sink.Send(ctx, *e); !cloudevents.IsACK(res) {
				mu.Lock()
				failed[meetings[i].Location.ID] = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "send %s: %v", ev.ConnectionDetected, res)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	meetingsDetected.Add(float64(len(meetings) - len(failed)))
	errs := make([]error, len(locs))
	for i, l := range locs {
		errs[i] = failed[l.loc.ID]
	}
	f.log.Debug("meetings detected", zap.Int("locations", len(locs)), zap.Int("meetings", len(meetings)), zap.Int("persons_changed", len(changed)))
	return make([]struct{}, len(locs)), errs, nil
}

// Routes adds the connection and meeting routes to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/persons/{id}/connection", f.connectionRoute)
	mux.HandleFunc("GET /api/persons/{id}/meetings", f.meetingsRoute)
	mux.HandleFunc("GET /api/persons/{id}/meetings/live", f.liveRoute)
}

// connectionRoute answers the connections of a person, encoded one by one
// into the response rather than into a whole answer first. An error before
// anything was sent is answered with its status; one after that cannot
// change the status, so the response is cut short (see server.StreamJSON).
func (f *Function) connectionRoute(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	if err != nil {
		server.WriteError(w, err)
		return
	}
	v := r.URL.Query()
	q, err := udaconnect.ConnectionParams{
		PersonID: id, StartDate: v.Get("start_date"), EndDate: v.Get("end_date"),
		Distance: v.Get("distance"), Window: v.Get("window"),
	}.Query()
	if err != nil {
		server.WriteError(w, err)
		return
	}
	server.StreamJSON(w, r, f.log, func(yield func(udaconnect.Connection) error) error {
		return f.db.ForEachConnection(r.Context(), q, yield)
	})
}
