package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	"github.com/udaconnect/udaconnect/frontend/plausible"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"go.uber.org/zap"
)

// An attendee's report must be live and plausible (docs/design.md,
// "Access"); a reporter's may be an offline batch of up to a day. The
// organizer's are imports, unchecked.
const (
	DefaultAttendeeReportAge = 10 * time.Minute
	DefaultReporterReportAge = 24 * time.Hour
	DefaultMaxSpeed          = 10.0 // metres per second: running, not driving
)

// reportRules checks the reports of attendees and reporters against their
// rules; an attendee's against their previous report.
type reportRules struct {
	attendee, reporter plausible.Rules
	last               *lastReports
	now                func() time.Time
}

// check returns an error (422, naming the field) when p may not send r as
// it is, or when the previous report cannot be known now (503).
func (c *reportRules) check(ctx context.Context, p auth.Principal, r udaconnect.Report) error {
	point := plausible.Point{Latitude: r.Latitude, Longitude: r.Longitude, Time: r.CreationTime}
	switch p.Role {
	case auth.Organizer:
		return nil
	case auth.Reporter:
		return c.reporter.Check(c.now(), nil, point)
	}
	stored, err := c.last.get(ctx, r.PersonID, point.Time)
	if err != nil {
		return udaconnect.Errorf(udaconnect.EUNAVAILABLE, "your previous report cannot be read now, try again later")
	}
	return c.last.admit(r.PersonID, stored, point, c.attendee, c.now())
}

// lastReports is the door's memory of the latest report of each attendee
// that it admitted. On a miss (the door started since, or another door
// took the attendee's earlier reports) it reads the person's latest stored
// report of that day. Each door keeps its own: docs/threat-model.md says
// what that leaves open.
type lastReports struct {
	fetch func(ctx context.Context, personID int64, day time.Time) (*plausible.Point, error)

	mu   sync.Mutex
	last map[int64]plausible.Point
}

// get returns the person's previous report: the one in memory, else their
// latest stored of that day (nil when there is none).
func (l *lastReports) get(ctx context.Context, personID int64, at time.Time) (*plausible.Point, error) {
	l.mu.Lock()
	p, ok := l.last[personID]
	l.mu.Unlock()
	if ok {
		return &p, nil
	}
	return l.fetch(ctx, personID, at)
}

// admit checks p against the person's previous report with rules: the one
// in memory, else stored (what get read). It keeps the new previous report:
// p when it moves the person there (plausible.Rules.Moves). One person's
// reports are checked and kept one at a time, so that reports sent at once
// are each checked against the one before, not all against the same.
func (l *lastReports) admit(personID int64, stored *plausible.Point, p plausible.Point, rules plausible.Rules, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev := stored
	if last, ok := l.last[personID]; ok {
		prev = &last
	}
	if err := rules.Check(now, prev, p); err != nil {
		return err
	}
	switch {
	case rules.Moves(prev, p):
		l.last[personID] = p
	case prev != nil:
		l.last[personID] = *prev
	}
	return nil
}

// maxDayBytes bounds what the door reads of a person's reports of a day:
// a report every 5 s for 24 hours, with room to spare.
const maxDayBytes = 32 << 20

// fetchLast asks the locations function for the person's reports of the
// day of at, oldest first, and returns the last: nil when there is none.
func fetchLast(client *http.Client, locations *replicas, log *zap.Logger) func(context.Context, int64, time.Time) (*plausible.Point, error) {
	return func(ctx context.Context, personID int64, at time.Time) (*plausible.Point, error) {
		day := at.UTC().Format(time.DateOnly)
		u := locations.pick().JoinPath("api", "persons", fmt.Sprint(personID), "locations")
		u.RawQuery = "start_date=" + day + "&end_date=" + day
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("locations answered %s", resp.Status)
		}
		if err != nil {
			log.Error("read the previous report", zap.Int64("person_id", personID), zap.Error(err))
			return nil, err
		}
		defer resp.Body.Close()
		var locs []udaconnect.Location
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxDayBytes)).Decode(&locs); err != nil {
			log.Error("read the previous report", zap.Int64("person_id", personID), zap.Error(err))
			return nil, err
		}
		if len(locs) == 0 {
			return nil, nil
		}
		last := locs[len(locs)-1]
		return &plausible.Point{Latitude: last.Latitude, Longitude: last.Longitude, Time: last.CreationTime}, nil
	}
}
