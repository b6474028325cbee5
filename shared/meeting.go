package udaconnect

import (
	"strconv"
	"strings"
	"time"
)

// A MeetingStart is a meeting that begins: a report of Person (Location)
// held within the distance of Other's report held at that moment (Near),
// Distance metres apart (docs/design.md, "Meetings").
type MeetingStart struct {
	Person   Person   `json:"person"`
	Location Location `json:"location"`
	Other    Person   `json:"other"`
	Near     Location `json:"near"`
	Distance float64  `json:"distance"`
}

// A Meeting is two people together, as one of them sees it
// (docs/design.md, "Meetings"): each held where they last reported, within
// a few metres of the other, gaps of less than two minutes joined. Person
// is the other person. DurationS is LastSeen − Started in seconds, TogetherS
// the time they were together, gaps excluded; ClosestM their least
// distance, Latitude and Longitude the centroid of where they were
// together, weighted by time.
//
// A meeting has Ended once it can grow no more. Version orders the changes
// of meetings; a meeting that a late report joined to another, or moved to
// start earlier, is a change too, with MergedInto the meeting it became
// part of.
type Meeting struct {
	ID         int64     `json:"id"`
	Person     Person    `json:"person"`
	Started    time.Time `json:"started"`
	LastSeen   time.Time `json:"last_seen"`
	DurationS  float64   `json:"duration_s"`
	TogetherS  float64   `json:"together_s"`
	ClosestM   float64   `json:"closest_m"`
	Latitude   float64   `json:"latitude"`
	Longitude  float64   `json:"longitude"`
	Ended      bool      `json:"ended"`
	Version    int64     `json:"version"`
	MergedInto int64     `json:"merged_into,omitempty"`
}

// Detection is how current the meetings are: the time up to which reports
// are detected (the least of the zones'; nil before any), how long the
// oldest report not yet detected has waited, and how many wait.
type Detection struct {
	CurrentTo      *time.Time `json:"current_to"`
	LagS           float64    `json:"lag_seconds"`
	BacklogReports int64      `json:"backlog_reports"`
}

// Bounds of a page of meetings.
const (
	DefaultMeetingLimit = 100
	MaxMeetingLimit     = 1000
)

// MeetingQuery asks for a page of PersonID's meetings that overlap [Start,
// End) (a zero bound is open), newest first: at most Limit of them, from
// After on.
type MeetingQuery struct {
	PersonID   int64
	Start, End time.Time
	Limit      int
	After      MeetingCursor
}

// A MeetingCursor is where a page of meetings ends: the meetings after it
// started before Started, or at the same time with a lower ID. The zero
// cursor is the first page.
type MeetingCursor struct {
	Started time.Time
	ID      int64
}

// String is the cursor as the after parameter carries it: the start as RFC
// 3339 and the id, separated by a comma.
func (c MeetingCursor) String() string {
	return c.Started.UTC().Format(time.RFC3339Nano) + "," + strconv.FormatInt(c.ID, 10)
}

// MeetingParams are the parameters of a meeting query as a URL carries them.
type MeetingParams struct {
	PersonID           int64
	StartDate, EndDate string
	Limit, After       string
}

// Query validates p and turns it into a MeetingQuery; an error names the
// parameter at fault.
func (p MeetingParams) Query() (MeetingQuery, error) {
	q := MeetingQuery{PersonID: p.PersonID, Limit: DefaultMeetingLimit}
	var err error
	if q.Start, q.End, err = DateRange(p.StartDate, p.EndDate); err != nil {
		return q, err
	}
	if p.Limit != "" {
		if q.Limit, err = strconv.Atoi(p.Limit); err != nil || q.Limit < 1 || q.Limit > MaxMeetingLimit {
			return q, Invalid("limit", "limit must be a whole number from 1 to %d", MaxMeetingLimit)
		}
	}
	if p.After != "" {
		started, id, ok := strings.Cut(p.After, ",")
		t, terr := time.Parse(time.RFC3339Nano, started)
		n, nerr := strconv.ParseInt(id, 10, 64)
		if !ok || terr != nil || nerr != nil || n <= 0 {
			return q, Invalid("after", "after must be the cursor of a Link rel=\"next\", such as 2020-07-07T10:00:00Z,42")
		}
		q.After = MeetingCursor{Started: t, ID: n}
	}
	return q, nil
}
