// Connections tells whom a person met: io.udaconnect.connections.requested
// in, io.udaconnect.connections.found out, the /api/persons/{id}/connection
// route; it keeps the meetings of the reports that locations queues for
// detection (woken by io.udaconnect.locations.recorded, location.recorded
// and a ping every minute) and emits an io.udaconnect.connection.detected
// per meeting that starts; it serves the meetings, their changes as they
// happen, and how current they are.
package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

const source = ev.Source + "/connections"

// pingWait bounds how long a ping's delivery waits for the backlog to
// drain (eventing/detection.yaml): with a ping a minute, long enough to
// keep a replica up while there is work, within the time the local broker
// gives a delivery.
const pingWait = 25 * time.Second

// errNoSink refuses the locations to detect meetings of while the function
// has nowhere to send them: its revision started before its SinkBinding
// gave it K_SINK, and it does not detect. The broker retries them.
var errNoSink = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "K_SINK is not set: there is no broker to send %s to yet, try again later", ev.ConnectionDetected)

// Function finds connections.
type Function struct {
	db       *postgres.DB
	log      *zap.Logger
	sink     cloudevents.Client // where connection.detected goes: K_SINK; nil without
	detect   *runner            // nil without a sink
	announce *announcer         // nil without a sink
	live     *live
	stop     context.CancelFunc // stops listening for meeting changes and detecting
	silence  context.CancelFunc // stops announcing, once detection has stopped
	status   detectionStatus
}

// New returns the function on db, emitting to cfg.Sink, detecting as the
// DETECT_* variables say. Without a sink it answers requests but does not
// detect, is not ready and refuses locations with 503.
func New(cfg server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	dc, err := detectConfigFromEnv()
	if err != nil {
		return nil, err
	}
	f := &Function{db: db, log: log, live: newLive()}
	ctx, stop := context.WithCancel(context.Background())
	f.stop = stop
	go f.listen(ctx)
	if cfg.Sink == "" {
		log.Warn("K_SINK is not set: not ready until a revision with it starts")
		return f, nil
	}
	transport, err := server.SinkTransport(cfg.CACerts, cfg.InternalToken, server.OIDCTokenFile, sends)
	if err != nil {
		f.Close()
		return nil, err
	}
	sink, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(cfg.Sink), cehttp.WithClient(http.Client{Transport: noteRetryAfter{transport}}))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("K_SINK: %w", err)
	}
	f.sink = sink
	f.announce = newAnnouncer(db, log, sink)
	announcing, silence := context.WithCancel(context.Background())
	f.silence = silence
	f.announce.start(announcing)
	f.detect = newRunner(db, log, dc, f.announce.nudge)
	f.detect.start(ctx)
	return f, nil
}

// Ready reports whether the function has somewhere to send its events.
func (f *Function) Ready(context.Context) error {
	if f.sink == nil {
		return errNoSink
	}
	return nil
}

// Close stops detecting, once what was applied is written and
// checkpointed, then announcing, once what is due is sent, and ends the
// live streams. The server calls it once it has stopped taking requests.
func (f *Function) Close() {
	f.Drain()
	f.stop()
	if f.detect != nil {
		f.detect.wait()
		f.silence()
		f.announce.wait()
	}
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
		// The locations are queued already: the delivery only wakes the
		// zones' owners, and never waits for detection.
		if _, err := recordedLocations(e); err != nil {
			return nil, err
		}
		if f.detect == nil {
			return nil, errNoSink
		}
		f.detect.nudge()
		return nil, nil
	case ev.DetectionDue:
		// Woken from zero by the ping, the replica stays while the backlog
		// drains (up to pingWait).
		if f.detect == nil {
			return nil, errNoSink
		}
		f.detect.nudge()
		return nil, f.waitForBacklog(ctx)
	default:
		return nil, udaconnect.Invalid("type", "this function takes %s, %s, %s and %s events, not %q", ev.ConnectionsRequested, ev.LocationsRecorded, ev.LocationRecorded, ev.DetectionDue, e.Type())
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

// Routes adds the connection and meeting routes to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/persons/{id}/connection", f.connectionRoute)
	mux.HandleFunc("GET /api/persons/{id}/meetings", f.meetingsRoute)
	mux.HandleFunc("GET /api/persons/{id}/meetings/live", f.liveRoute)
	mux.HandleFunc("GET /api/detection", f.detectionRoute)
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
