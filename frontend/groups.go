package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/batch"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Reports travel in groups (docs/design.md, "Ingest in groups"): the door
// gathers the reports it accepts, from single events and batches alike,
// into locations.reported events of at most ev.MaxGroupReports reports and
// about ev.MaxGroupBytes, and answers each request once the Broker has
// accepted the groups that carry its reports. A group takes the reports
// already waiting and those that arrive within the linger after its first,
// so that single events sent at the same time travel together.
//
// Up to groupWriters groups are on their way to the Broker at once; up to
// groupQueue reports wait for one (MaxParsing batches and as many single
// events), beyond which a report is answered 429.
const (
	DefaultLinger = 5 * time.Millisecond
	groupWriters  = 8
	groupQueue    = (MaxParsing + 16) * MaxBatchSize
)

// A pendingReport is an accepted report waiting for its group: the id of
// the event that carried it, which its result names, and the trace of that
// event (or of its request). A group continues the trace of its first
// report.
type pendingReport struct {
	eventID string
	report  udaconnect.Report
	trace   trace.SpanContext
}

// newGrouper returns the Committer that sends the door's reports in groups
// through d, waiting up to linger for a group to fill.
func newGrouper(d *Door, linger time.Duration) *batch.Committer[pendingReport, Result] {
	cfg := batch.Config{Name: "door-groups", MaxSize: ev.MaxGroupReports, MaxWait: linger, QueueSize: groupQueue,
		Writers: groupWriters, Timeout: ForwardTimeout}
	return batch.New(cfg, func(ctx context.Context, reports []pendingReport) ([]Result, []error, error) {
		return d.sendGroups(ctx, reports), nil, nil
	})
}

// sendGroups sends reports to the Broker as locations.reported events, at
// most ev.MaxGroupReports reports and about ev.MaxGroupBytes each, all at
// once, and returns each report's result: its group's.
func (d *Door) sendGroups(ctx context.Context, reports []pendingReport) []Result {
	results := make([]Result, len(reports))
	var wg sync.WaitGroup
	for start := 0; start < len(reports); {
		end, size := start, 0
		for end < len(reports) && end-start < ev.MaxGroupReports && (end == start || size < ev.MaxGroupBytes) {
			size += reportBytes + len(reports[end].report.Source) + len(reports[end].report.EventID)
			end++
		}
		group, at := reports[start:end], results[start:end]
		wg.Go(func() {
			res := d.sendGroup(ctx, group)
			for i, r := range group {
				at[i] = Result{ID: r.eventID, Status: res.Status, Error: res.Error}
				telemetry.CountEvent(ev.LocationReported, res.Status)
			}
		})
		start = end
	}
	wg.Wait()
	return results
}

// reportBytes is about what a report takes in a group besides its source
// and id.
const reportBytes = 160

// sendGroup sends one locations.reported event carrying reports. Its key is
// their person's when they are one person's (docs/scaling.md).
func (d *Door) sendGroup(ctx context.Context, reports []pendingReport) Result {
	data := ev.LocationsReportedData{Reports: make([]ev.ReportData, len(reports))}
	person := reports[0].report.PersonID
	for i, r := range reports {
		data.Reports[i] = ev.NewReportData(r.report)
		if r.report.PersonID != person {
			person = 0
		}
	}
	e, err := server.NewEvent(ev.Source+"/door", ev.LocationsReported, uuid.NewString(), data)
	if err != nil {
		return Result{Status: http.StatusBadRequest, Error: udaconnect.ErrorMessage(err)}
	}
	if person != 0 {
		e.SetExtension("partitionkey", strconv.FormatInt(person, 10))
	}
	ctx, span := telemetry.Start(trace.ContextWithSpanContext(ctx, reports[0].trace), "forward "+e.Type(), e)
	defer span.End()
	res := d.send(ctx, *e)
	d.log.Info("group forwarded", telemetry.EventFields(*e, zap.Int("reports", len(reports)), zap.Int("status", res.Status))...)
	return res
}
