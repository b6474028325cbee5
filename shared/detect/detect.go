// Package detect finds meetings: two people held within a few metres of each
// other at the same moments, from their location reports.
//
// A person is held where they last reported, from that report's time until
// their next report or for at most Params.Hold, whichever is first. Two people
// are together at a moment when both are held then, within Params.Distance
// metres of each other. A meeting of a pair is a maximal set of their
// together-moments in which gaps shorter than Params.Gap are joined.
// Everything is clipped at the detector's time (its watermark): no one is
// together after it.
//
// Reference computes the meetings of a set of reports plainly, pair by pair.
// Detector computes the same meetings incrementally: each report costs work
// in proportion to the people held near it, not to their history.
package detect

import (
	"context"
	"fmt"
	"time"
)

// Params are the rules of detection.
type Params struct {
	Distance float64 // metres
	Hold     time.Duration
	Gap      time.Duration
	// Lateness is how far behind the detector's time a report may be and
	// still be placed from memory alone; an older one goes to History
	// (slower, as exact).
	Lateness time.Duration
}

// DefaultParams are 5 m, a hold of 15 min, gaps of 2 min joined, reports up
// to 2 min late placed from memory.
func DefaultParams() Params {
	return Params{Distance: 5, Hold: 15 * time.Minute, Gap: 2 * time.Minute, Lateness: 2 * time.Minute}
}

// Report is where a person was at a time.
type Report struct {
	ID       int64 // location id; a report seen twice (same ID) counts once
	Person   int64
	Time     time.Time
	Lat, Lon float64
}

// validate tells what makes r unfit to place, if anything: the detector
// takes only reports already checked, but never trusts them.
func (r Report) validate() error {
	switch {
	case !(r.Lat >= -90 && r.Lat <= 90) || !(r.Lon >= -180 && r.Lon <= 180):
		return fmt.Errorf("report %d: position %v, %v is not WGS84 degrees", r.ID, r.Lat, r.Lon)
	case r.Time.Year() < 1970 || r.Time.Year() > 2200:
		return fmt.Errorf("report %d: time %v out of range", r.ID, r.Time)
	}
	return nil
}

// Key names a stored meeting: the pair (A < B) and when it started.
type Key struct {
	A, B    int64
	Started time.Time
}

// Meeting is one meeting of a pair, as far as the detector's time.
type Meeting struct {
	Key
	LastSeen time.Time     // the end of its last together-moment
	Together time.Duration // the measure of its together-moments, gaps excluded
	ClosestM float64       // the least distance over its together-moments
	Lat, Lon float64       // the time-weighted mean of the midpoint of the two
	Ended    bool          // time ≥ LastSeen + Gap: it cannot grow any more
}

// Changes is what changed in the meetings since the last call of
// Detector.Changes. Applying Removed, then Upserted, to the meetings stored
// so far gives the detector's meetings.
type Changes struct {
	Upserted []Meeting // write these by Key (insert, or update to these values)
	Removed  []Removed // delete these keys (a meeting that moved its start, or was merged)
	Started  []Start   // meetings that began (first seen), to announce
}

// Removed is a meeting that is no more.
type Removed struct {
	Key
	Into *Key // the meeting it became part of, when merged; nil when it just went
}

// Start is a meeting that began: the report that started it, the other
// person's report held at that moment, and their distance.
type Start struct {
	Meeting
	Report, Near Report
	Distance     float64
}

// History is the record of reports and meetings that a detector consults for
// a report older than its time minus Params.Lateness. It must hold every
// report given to Add before that call, and every change returned by Changes
// before the next call of Add. It may hold reports not yet given to Add: the
// meetings are exact once those are given too (until then a meeting may
// begin, for a while, where its reports are not at hand).
type History interface {
	// Reports returns the reports taken between from and to (both
	// included) of the persons given, and of anyone within radius metres of
	// any of the points, in any order.
	Reports(ctx context.Context, from, to time.Time, persons []int64, points []Point, radius float64) ([]Report, error)
	// Meetings returns the stored meetings of person that overlap [from, to]:
	// Started ≤ to and LastSeen ≥ from.
	Meetings(ctx context.Context, person int64, from, to time.Time) ([]Meeting, error)
}

// Point is a place, in WGS84 degrees.
type Point struct{ Lat, Lon float64 }
