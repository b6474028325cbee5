// Package plausible decides whether a reported position could be true
// (docs/design.md, "Access"): taken recently, not ahead of the clock,
// reachable from the sender's previous report at a walking speed, and
// inside the venue. It knows no network and no database: the door gives it
// the reports and the time.
package plausible

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Skew is how far ahead of the door's clock a report may be dated: a
// device's clock may run a little fast.
const Skew = time.Minute

// Slack is the distance, in metres, a position may be off: what a phone's
// fix is off by indoors. A move is too fast when it is longer than the
// speed allows plus Slack.
const Slack = 30.0

// A Point is where a person reported being, and when.
type Point struct {
	Latitude, Longitude float64
	Time                time.Time
}

// Bounds is an area from a south-west to a north-east corner, in degrees.
// It does not cross the antimeridian.
type Bounds struct {
	South, West, North, East float64
}

// Contains reports whether p lies in b, its edges included.
func (b Bounds) Contains(p Point) bool {
	return p.Latitude >= b.South && p.Latitude <= b.North && p.Longitude >= b.West && p.Longitude <= b.East
}

// ParseBounds reads "south,west,north,east" in degrees, as VENUE_BOUNDS
// holds them.
func ParseBounds(s string) (Bounds, error) {
	parts := strings.Split(s, ",")
	var v [4]float64
	ok := len(parts) == 4
	for i := 0; ok && i < 4; i++ {
		var err error
		v[i], err = strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
		ok = err == nil && !math.IsNaN(v[i])
	}
	b := Bounds{South: v[0], West: v[1], North: v[2], East: v[3]}
	if !ok || b.South < -90 || b.North > 90 || b.West < -180 || b.East > 180 || b.South >= b.North || b.West >= b.East {
		return b, fmt.Errorf("VENUE_BOUNDS must be south,west,north,east in degrees, south below north and west below east, such as 35.05,-106.58,35.07,-106.56; not %q", s)
	}
	return b, nil
}

// Rules are what a sender's reports must meet. MaxSpeed and Bounds are
// checked only when set.
type Rules struct {
	MaxAge   time.Duration // how far back a report may be dated
	MaxSpeed float64       // metres per second from the previous report
	Bounds   *Bounds
}

// Check returns an error, meant for the sender and naming the field at
// fault, when p could not be true at now: older than MaxAge, dated more
// than Skew ahead, outside Bounds, or, from prev when known (with
// MaxSpeed), farther than MaxSpeed allows (plus Slack) in the time between
// them. A report dated before prev must lie within the Slack of it: it is
// not checked against the others of its time, which reports so dated could
// otherwise spread anywhere within MaxAge's walk of prev at once.
func (r Rules) Check(now time.Time, prev *Point, p Point) error {
	switch age := now.Sub(p.Time); {
	case age > r.MaxAge:
		return implausible("creation_time", "creation_time %s is more than %s before the door received it: send reports as they are taken", p.Time.Format(time.RFC3339), r.MaxAge)
	case age < -Skew:
		return implausible("creation_time", "creation_time %s is ahead of the door's clock (%s) by more than %s", p.Time.Format(time.RFC3339), now.UTC().Format(time.RFC3339), Skew)
	}
	if r.Bounds != nil && !r.Bounds.Contains(p) {
		return implausible("latitude", "the position %g,%g is outside the venue", p.Latitude, p.Longitude)
	}
	if r.MaxSpeed > 0 && prev != nil {
		d, dt := Distance(*prev, p), p.Time.Sub(prev.Time).Seconds()
		if dt < 0 && d > Slack {
			return implausible("creation_time", "creation_time %s is before your previous report's (%s), %.0f m from it: send reports in the order they are taken", p.Time.Format(time.RFC3339Nano), prev.Time.Format(time.RFC3339Nano), d)
		}
		if d > r.MaxSpeed*max(dt, 0)+Slack {
			return implausible("latitude", "the position is %.0f m from the previous report, %.0f s apart: faster than %g m/s", d, dt, r.MaxSpeed)
		}
	}
	return nil
}

// Moves reports whether p, which Check took, is where the sender went from
// prev: after it, within what MaxSpeed allows without the Slack. A report
// that needed the Slack is the previous place as a fix errs around it, and
// the next is checked against prev still, so that the slacks of reports a
// moment apart do not add up into a trail faster than MaxSpeed.
func (r Rules) Moves(prev *Point, p Point) bool {
	return prev == nil || Distance(*prev, p) <= r.MaxSpeed*p.Time.Sub(prev.Time).Seconds()
}

func implausible(field, format string, args ...any) error {
	return &udaconnect.Error{Code: udaconnect.EIMPLAUSIBLE, Field: field, Message: fmt.Sprintf(format, args...)}
}

// earthRadius is the mean radius of the Earth, in metres.
const earthRadius = 6_371_008.8

// Distance is the great-circle distance between a and b in metres
// (haversine): within 0.5% of the geodesic one PostGIS measures, which is
// plenty for a speed limit with a slack.
func Distance(a, b Point) float64 {
	φ1, φ2 := a.Latitude*math.Pi/180, b.Latitude*math.Pi/180
	dφ, dλ := φ2-φ1, (b.Longitude-a.Longitude)*math.Pi/180
	h := math.Sin(dφ/2)*math.Sin(dφ/2) + math.Cos(φ1)*math.Cos(φ2)*math.Sin(dλ/2)*math.Sin(dλ/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}
