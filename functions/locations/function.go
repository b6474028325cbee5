// Locations records where people were: io.udaconnect.locations.reported
// (or a single io.udaconnect.location.reported) in, each report stored once,
// io.udaconnect.locations.recorded (location.recorded) out, and the
// /api/locations routes. It also keeps reports only as long as RETENTION
// says, and exports a person's data.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

const source = ev.Source + "/locations"

// Group commit: the reports that arrive while a batch is being stored are
// stored together in the next, up to 1,000 at a time (a group of the door's);
// up to 20,000 wait (20 groups delivered at once), beyond which a report is
// refused with 429 and the Broker delivers it again later. Two batches are
// stored at once so that one is built while the other commits.
var batchConfig = batch.Config{Name: "reports", MaxSize: ev.MaxGroupReports, QueueSize: 20 * ev.MaxGroupReports, Writers: 2, Timeout: 10 * time.Second}

// Function stores location reports.
type Function struct {
	db        *postgres.DB
	log       *zap.Logger
	reports   *batch.Committer[udaconnect.Report, udaconnect.Location]
	retention time.Duration // 0 keeps reports forever
}

// New returns the function on db, keeping reports for $RETENTION (such as
// 30d or 720h; unset keeps them forever) and queueing each for detection in
// its zone of $DETECT_ZONES (udaconnect.ParseZones); Close stops it.
func New(_ server.Config, db *postgres.DB, log *zap.Logger) (*Function, error) {
	retention, err := server.ParseRetention("RETENTION", os.Getenv("RETENTION"))
	if err != nil {
		return nil, err
	}
	zones, err := udaconnect.ParseZones(os.Getenv("DETECT_ZONES"))
	if err != nil {
		return nil, err
	}
	f := newFunction(db, log, batchConfig, func(ctx context.Context, reports []udaconnect.Report) ([]udaconnect.Location, []error, error) {
		for i := range reports {
			reports[i].Zone = zones.Of(reports[i].Latitude, reports[i].Longitude)
		}
		return db.StoreReports(ctx, reports)
	})
	f.retention = retention
	return f, nil
}

// newFunction returns the function storing each batch of reports with store.
func newFunction(db *postgres.DB, log *zap.Logger, cfg batch.Config, store batch.Func[udaconnect.Report, udaconnect.Location]) *Function {
	f := &Function{db: db, log: log}
	f.reports = batch.New(cfg, func(ctx context.Context, reports []udaconnect.Report) ([]udaconnect.Location, []error, error) {
		locs, errs, err := store(ctx, reports)
		if err != nil {
			return nil, nil, err
		}
		log.Debug("reports stored", zap.Int("batch", len(reports)))
		return locs, errs, nil
	})
	return f
}

// Close stores the reports still waiting and stops storing. The server calls
// it once it has stopped taking requests.
func (f *Function) Close() {
	f.reports.Close()
	s := f.reports.Stats()
	f.log.Info("reports batcher stopped", zap.Int64("batches", s.Batches), zap.Int64("reports", s.Items), zap.Int64("largest_batch", s.Largest))
}

// Handle stores the reports of a locations.reported event, or the one of a
// location.reported, once per report, together with the reports that arrive
// at the same time, and replies with locations.recorded (or
// location.recorded) once their batches are committed.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	switch e.Type() {
	case ev.RetentionDue:
		return nil, f.applyRetention(ctx, e)
	case ev.LocationsReported:
		return f.storeGroup(ctx, e)
	case ev.LocationReported:
		var data ev.LocationReportedData
		if err := server.DecodeData(e, &data); err != nil {
			return nil, err
		}
		report, err := data.Report(e.Source(), e.ID(), e.Time())
		if err != nil {
			return nil, err
		}
		report.Hash = report.Fingerprint()
		loc, err := f.reports.Do(ctx, report)
		if err != nil {
			return nil, err
		}
		f.log.Debug("location recorded", telemetry.EventFields(e, zap.Int64("person_id", loc.PersonID), zap.Int64("location_id", loc.ID))...)
		return replyTo(ev.LocationRecorded, fmt.Sprintf("location-%d", loc.ID), strconv.FormatInt(loc.PersonID, 10), loc)
	default:
		return nil, udaconnect.Invalid("type", "this function takes %s, %s and %s events, not %q", ev.LocationsReported, ev.LocationReported, ev.RetentionDue, e.Type())
	}
}

// storeGroup stores the reports of a locations.reported event and replies
// with the locations stored. A report refused for good (an unknown person,
// a key used before with another report) becomes a dead letter of its own,
// a location.reported that an organizer can replay; a report that could
// not be stored now fails the whole event, which the Broker sends again:
// what was stored is then answered, not stored twice.
func (f *Function) storeGroup(ctx context.Context, e event.Event) (*event.Event, error) {
	var data ev.LocationsReportedData
	if err := server.DecodeData(e, &data); err != nil {
		return nil, err
	}
	if len(data.Reports) == 0 || len(data.Reports) > ev.MaxGroupReports {
		return nil, udaconnect.Invalid("reports", "reports must hold 1 to %d reports, not %d", ev.MaxGroupReports, len(data.Reports))
	}
	reports := make([]udaconnect.Report, len(data.Reports))
	errs := make([]error, len(data.Reports))
	valid := make([]udaconnect.Report, 0, len(reports))
	for i, d := range data.Reports {
		if reports[i], errs[i] = d.Report(); errs[i] == nil {
			reports[i].Hash = reports[i].Fingerprint()
			valid = append(valid, reports[i])
		}
	}
	locs, stored := f.reports.DoAll(ctx, valid)
	recorded := ev.LocationsRecordedData{Locations: make([]udaconnect.Location, 0, len(locs))}
	var refused []udaconnect.DeadLetter
	next := 0 // in valid
	for i, r := range reports {
		err := errs[i]
		if err == nil {
			err = stored[next]
			if err == nil {
				recorded.Locations = append(recorded.Locations, locs[next])
			}
			next++
		}
		if err == nil {
			continue
		}
		status := server.ErrorStatus(err)
		if ev.Retryable(status) {
			return nil, err
		}
		d, derr := deadLetter(r, status, udaconnect.ErrorMessage(err))
		if derr != nil {
			return nil, derr
		}
		refused = append(refused, d)
	}
	if err := f.db.StoreDeadLetters(ctx, refused); err != nil {
		return nil, err
	}
	for _, d := range refused {
		f.log.Warn("report refused", zap.String("source", d.Source), zap.String("event_id", d.EventID), zap.Intp("status", d.Status))
	}
	f.log.Debug("locations recorded", telemetry.EventFields(e, zap.Int("recorded", len(recorded.Locations)), zap.Int("refused", len(refused)))...)
	key, _ := e.Extensions()["partitionkey"].(string)
	return replyTo(ev.LocationsRecorded, "locations-"+e.ID(), key, recorded)
}

// replyTo is a reply of type typ, with the given id and data, in the
// partition of key, the reports' (docs/scaling.md): none when empty.
func replyTo(typ, id, key string, data any) (*event.Event, error) {
	r, err := server.NewEvent(source, typ, id, data)
	if err != nil {
		return nil, err
	}
	if key != "" {
		r.SetExtension("partitionkey", key)
	}
	return r, nil
}

// destination names locations in the dead letters of the reports it refuses.
const destination = "locations"

// deadLetter is the dead letter of a report of a group refused with status:
// a location.reported as it could have come alone, which an organizer can
// replay once the cause is gone.
func deadLetter(r udaconnect.Report, status int, reason string) (udaconnect.DeadLetter, error) {
	e := event.New()
	e.SetSource(r.Source)
	e.SetID(r.EventID)
	e.SetType(ev.LocationReported)
	e.SetTime(r.CreationTime)
	// As Knative marks a dead letter: its answer, where, and why (base64).
	e.SetExtension("knativeerrorcode", status)
	e.SetExtension("knativeerrordest", destination)
	e.SetExtension("knativeerrordata", base64.StdEncoding.EncodeToString([]byte(reason)))
	if err := e.SetData(event.ApplicationJSON, ev.LocationReportedData{
		PersonID: &r.PersonID, Latitude: &r.Latitude, Longitude: &r.Longitude, CreationTime: r.CreationTime.Format(time.RFC3339Nano),
	}); err != nil {
		return udaconnect.DeadLetter{}, err
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return udaconnect.DeadLetter{}, udaconnect.Invalid("event", "the refused report cannot be encoded: %v", err)
	}
	return udaconnect.DeadLetter{Source: r.Source, EventID: r.EventID, Type: ev.LocationReported, Destination: destination, Status: &status, Event: raw}, nil
}

// applyRetention deletes the reports older than the retention, in bounded
// batches; without a retention it keeps them.
func (f *Function) applyRetention(ctx context.Context, e event.Event) error {
	if f.retention == 0 {
		f.log.Info("retention due, but off: RETENTION is not set", zap.String("event_id", e.ID()))
		return nil
	}
	cutoff := time.Now().Add(-f.retention)
	deleted, err := f.db.DeleteReportsBefore(ctx, cutoff)
	if err != nil {
		return err
	}
	f.log.Info("old reports deleted", zap.String("event_id", e.ID()), zap.Time("before", cutoff), zap.Int64("deleted", deleted))
	return nil
}

// Routes adds the REST routes of locations to mux.
func (f *Function) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/locations", server.PostEvent(f.Handle, source, ev.LocationReported, f.log))
	mux.Handle("GET /api/locations/{id}", server.GetByID(f.db.FindLocation, f.log))
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
	mux.HandleFunc("GET /api/persons/{id}/export", f.export)
}

// export answers all of a person's data as one JSON document,
// {"person": …, "meetings": [… newest first], "locations": [… oldest
// first]}, the reports streamed as they come from the database.
func (f *Function) export(w http.ResponseWriter, r *http.Request) {
	id, err := server.PathID(r, "id")
	var p udaconnect.Person
	var meetings []udaconnect.Meeting
	if err == nil {
		p, err = f.db.FindPerson(r.Context(), id)
	}
	if err == nil {
		meetings, err = f.allMeetings(r.Context(), id)
	}
	if err != nil {
		if server.ErrorStatus(err) >= 500 {
			f.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
		}
		server.WriteError(w, err)
		return
	}
	head, err := json.Marshal(struct {
		Person   udaconnect.Person    `json:"person"`
		Meetings []udaconnect.Meeting `json:"meetings"`
	}{p, meetings})
	if err != nil {
		server.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="udaconnect-person-%d.json"`, id))
	prefix := string(head[:len(head)-1]) + `,"locations":` // the object, open for the reports
	server.StreamJSONIn(w, r, f.log, prefix, "}", func(yield func(udaconnect.Location) error) error {
		return f.db.EachLocation(r.Context(), id, yield)
	})
}

// allMeetings returns every meeting of the person, page by page.
func (f *Function) allMeetings(ctx context.Context, id int64) ([]udaconnect.Meeting, error) {
	meetings := []udaconnect.Meeting{}
	q := udaconnect.MeetingQuery{PersonID: id, Limit: udaconnect.MaxMeetingLimit}
	for {
		page, err := f.db.FindMeetings(ctx, q)
		if err != nil {
			return nil, err
		}
		meetings = append(meetings, page...)
		if len(page) < q.Limit {
			return meetings, nil
		}
		last := page[len(page)-1]
		q.After = udaconnect.MeetingCursor{Started: last.Started, ID: last.ID}
	}
}
