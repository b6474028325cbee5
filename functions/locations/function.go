// Locations records where people were: io.udaconnect.location.reported in,
// stored once per event, io.udaconnect.location.recorded out, and the
// /api/locations routes.
package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

const source = ev.Source + "/locations"

// Function stores location reports.
type Function struct {
	db  *postgres.DB
	log *zap.Logger
}

// New returns the function on db.
func New(_ server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	return &Function{db: db, log: log}, nil
}

// Handle stores the report of a location.reported event, once per event,
// and replies with location.recorded.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if e.Type() != ev.LocationReported {
		return nil, udaconnect.Invalid("type", "this function takes %s events, not %q", ev.LocationReported, e.Type())
	}
	var data ev.LocationReportedData
	if err := server.DecodeData(e, &data); err != nil {
		return nil, err
	}
	report, err := data.Report(e.Source(), e.ID(), e.Time())
	if err != nil {
		return nil, err
	}
	locs, errs, err := f.db.StoreReports(ctx, []udaconnect.Report{report})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	loc := locs[0]
	f.log.Debug("location recorded", zap.String("event_id", e.ID()), zap.Int64("person_id", loc.PersonID), zap.Int64("location_id", loc.ID))
	return server.NewEvent(source, ev.LocationRecorded, fmt.Sprintf("location-%d", loc.ID), loc)
}

// Routes adds the REST routes of locations to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/locations", server.PostEvent(f.Handle, source, ev.LocationReported, f.log))
	mux.Handle("GET /api/locations/{id}", server.Get(func(r *http.Request) (udaconnect.Location, error) {
		id, err := server.PathID(r, "id")
		if err != nil {
			return udaconnect.Location{}, err
		}
		return f.db.FindLocation(r.Context(), id)
	}, f.log))
	mux.Handle("GET /api/persons/{id}/locations", server.Get(func(r *http.Request) ([]udaconnect.Location, error) {
		id, err := server.PathID(r, "id")
		if err != nil {
			return nil, err
		}
		start, end, err := udaconnect.DateRange(r.URL.Query().Get("start_date"), r.URL.Query().Get("end_date"))
		if err != nil {
			return nil, err
		}
		return f.db.FindLocations(r.Context(), id, start, end)
	}, f.log))
}
