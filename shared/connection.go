package udaconnect

import (
	"math"
	"strconv"
	"time"
)

// Bounds of a connection query, which bound what it may cost: the reports
// searched around (the queried person's in the range), how far around
// them, and how many reports of others it may find; beyond MaxFound it is
// refused, to be asked again narrower.
const (
	DefaultDistance = 5.0            // metres
	MaxDistance     = 1_000.0        // metres: the people one met were in the same venue
	MaxWindow       = 24 * time.Hour // apart in time
	MaxRange        = 366 * 24 * time.Hour
	MaxFound        = 100_000 // reports of others near the person's, before each is kept once
	DateLayout      = time.DateOnly
)

// ErrTooMany refuses a connection query that finds more than MaxFound
// reports of others.
var ErrTooMany = Errorf(EINVALID, "the query finds more than %d reports of others nearby: narrow the dates, the distance or the window", MaxFound)

// Connection is a report of another person near one of the queried person's
// reports: who, where and when (Location), and how far apart (Distance, in
// metres, the closest of the queried person's reports).
type Connection struct {
	Person   Person   `json:"person"`
	Location Location `json:"location"`
	Distance float64  `json:"distance"`
}

// ConnectionQuery asks for the connections of PersonID: every report of
// another person within Distance metres of one of PersonID's reports, both in
// [Start, End), and when Window is set at most Window apart in time.
type ConnectionQuery struct {
	PersonID int64
	Start    time.Time
	End      time.Time
	Distance float64
	Window   time.Duration
}

// ConnectionParams are the parameters of a connection query as text, as they
// arrive in a URL query or an event: dates as YYYY-MM-DD, distance in metres,
// window as a duration such as 15m.
type ConnectionParams struct {
	PersonID  int64  `json:"person_id"`
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
	Distance  string `json:"distance,omitempty"`
	Window    string `json:"window,omitempty"`
}

// Query validates p and turns it into a ConnectionQuery; an error names the
// parameter at fault.
func (p ConnectionParams) Query() (ConnectionQuery, error) {
	q := ConnectionQuery{PersonID: p.PersonID, Distance: DefaultDistance}
	if p.PersonID <= 0 {
		return q, Invalid("person_id", "person_id must be a positive integer")
	}
	var err error
	if q.Start, err = parseDate("start_date", p.StartDate); err != nil {
		return q, err
	}
	end, err := parseDate("end_date", p.EndDate)
	if err != nil {
		return q, err
	}
	q.End = end.AddDate(0, 0, 1)
	switch {
	case end.Before(q.Start):
		return q, Invalid("end_date", "end_date must not be before start_date")
	case q.End.Sub(q.Start) > MaxRange:
		return q, Invalid("end_date", "the range from start_date to end_date must not exceed %d days", int(MaxRange.Hours()/24))
	}
	if p.Distance != "" {
		q.Distance, err = strconv.ParseFloat(p.Distance, 64)
		if err != nil || math.IsNaN(q.Distance) || q.Distance <= 0 || q.Distance > MaxDistance {
			return q, Invalid("distance", "distance must be a number of metres above 0 and at most %g", MaxDistance)
		}
	}
	if p.Window != "" {
		q.Window, err = time.ParseDuration(p.Window)
		if err != nil || q.Window <= 0 || q.Window > MaxWindow {
			return q, Invalid("window", "window must be a duration such as 15m or 1h, above 0 and at most %s", MaxWindow)
		}
	}
	return q, nil
}

func parseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, Invalid(field, "%s is required (YYYY-MM-DD)", field)
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, Invalid(field, "%s must be a date as YYYY-MM-DD", field)
	}
	return t, nil
}

// DateRange parses optional start and end dates into [start, end + 1 day);
// a missing bound is open.
func DateRange(startDate, endDate string) (start, end time.Time, err error) {
	if startDate != "" {
		if start, err = parseDate("start_date", startDate); err != nil {
			return start, end, err
		}
	}
	if endDate != "" {
		if end, err = parseDate("end_date", endDate); err != nil {
			return start, end, err
		}
		end = end.AddDate(0, 0, 1)
		if !start.IsZero() && !end.After(start) {
			return start, end, Invalid("end_date", "end_date must not be before start_date")
		}
	}
	return start, end, nil
}
