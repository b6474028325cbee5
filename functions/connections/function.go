// Connections tells whom a person met: io.udaconnect.connections.requested
// in, io.udaconnect.connections.found out, the /api/persons/{id}/connection
// route, and for every io.udaconnect.location.recorded an
// io.udaconnect.connection.detected per other person nearby.
package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"

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

// Function finds connections.
type Function struct {
	db   *postgres.DB
	log  *zap.Logger
	sink cloudevents.Client // where connection.detected goes: K_SINK
}

// New returns the function on db, emitting to cfg.Sink.
func New(cfg server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	if cfg.Sink == "" {
		return nil, fmt.Errorf("K_SINK is not set")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64 // events go out in bursts, to one host
	sink, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(cfg.Sink), cehttp.WithClient(http.Client{Transport: transport}))
	if err != nil {
		return nil, fmt.Errorf("K_SINK: %w", err)
	}
	return &Function{db: db, log: log, sink: sink}, nil
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
	case ev.LocationRecorded:
		var loc udaconnect.Location
		if err := server.DecodeData(e, &loc); err != nil {
			return nil, err
		}
		return nil, f.detect(ctx, loc)
	default:
		return nil, udaconnect.Invalid("type", "this function takes %s and %s events, not %q", ev.ConnectionsRequested, ev.LocationRecorded, e.Type())
	}
}

func (f *Function) find(ctx context.Context, p udaconnect.ConnectionParams) ([]udaconnect.Connection, error) {
	q, err := p.Query()
	if err != nil {
		return nil, err
	}
	return f.db.FindConnections(ctx, q)
}

// detect emits a connection.detected for every other person near loc: with
// their closest report. Its ids derive from loc and the other person, so a
// redelivered location yields the same events again, not new ones.
func (f *Function) detect(ctx context.Context, loc udaconnect.Location) error {
	if loc.ID <= 0 {
		return udaconnect.Invalid("id", "id must be the positive id of a recorded location")
	}
	near, err := f.db.FindConnections(ctx, udaconnect.NearQuery(loc))
	if err != nil || len(near) == 0 {
		return err
	}
	person, err := f.db.FindPerson(ctx, loc.PersonID)
	if err != nil {
		return err
	}
	closest := map[int64]udaconnect.Connection{}
	for _, c := range near {
		if prev, ok := closest[c.Person.ID]; !ok || c.Distance < prev.Distance {
			closest[c.Person.ID] = c
		}
	}
	// Sent a few at a time: one slow answer must not hold up the others.
	var wg sync.WaitGroup
	errs := make(chan error, len(closest))
	slots := make(chan struct{}, 8)
	for other, c := range closest {
		data := ev.ConnectionDetectedData{Person: person, Location: loc, Other: c.Person, Near: c.Location, Distance: c.Distance}
		e, err := server.NewEvent(source, ev.ConnectionDetected, fmt.Sprintf("connection-%d-%d", loc.ID, other), data)
		if err != nil {
			return err
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if res := f.sink.Send(ctx, *e); !cloudevents.IsACK(res) {
				errs <- udaconnect.Errorf(udaconnect.EUNAVAILABLE, "send %s: %v", ev.ConnectionDetected, res)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	f.log.Debug("connections detected", zap.Int64("person_id", loc.PersonID), zap.Int64("location_id", loc.ID), zap.Int("people", len(closest)))
	return nil
}

// Routes adds the connection route to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/persons/{id}/connection", f.connectionRoute)
}

// connectionRoute answers the connections of a person, written out as the
// rows arrive from the database rather than collected first. An error before
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
