package plausible

import (
	"errors"
	"math"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

func TestCheck(t *testing.T) {
	now := time.Date(2026, 6, 16, 10, 0, 0, 0, time.UTC)
	venue := Bounds{South: 35.05, West: -106.58, North: 35.07, East: -106.56}
	attendee := Rules{MaxAge: 10 * time.Minute, MaxSpeed: 10, Bounds: &venue}
	at := func(metresNorth float64, ago time.Duration) Point {
		return Point{Latitude: 35.06 + metresNorth/111_195, Longitude: -106.57, Time: now.Add(-ago)}
	}
	prev := at(0, time.Minute)
	for _, tt := range []struct {
		name  string
		rules Rules
		prev  *Point
		p     Point
		field string // "": plausible
	}{
		{"now, where the last one was", attendee, &prev, at(0, 0), ""},
		{"no previous report", attendee, nil, at(500, 0), ""},
		{"walked 500 m in a minute", attendee, &prev, at(500, 0), ""},
		{"within the slack", attendee, &prev, Point{Latitude: prev.Latitude + 25/111_195.0, Longitude: prev.Longitude, Time: prev.Time}, ""},
		{"1 km in a minute", attendee, &prev, at(1000, 0), "latitude"},
		{"1 km a minute before the previous one", attendee, &prev, at(1000, 2*time.Minute), "creation_time"},
		{"where the previous one was, a minute before it", attendee, &prev, at(0, 2*time.Minute), ""},
		{"40 m away, a second before the previous one", attendee, &prev, at(40, time.Minute+time.Second), "creation_time"},
		{"at the time of the previous one", attendee, &prev, at(0, time.Minute), ""},
		{"9 minutes back", attendee, nil, at(0, 9*time.Minute), ""},
		{"11 minutes back", attendee, nil, at(0, 11*time.Minute), "creation_time"},
		{"three days back", attendee, nil, at(0, 72*time.Hour), "creation_time"},
		{"30 s ahead", attendee, nil, at(0, -30*time.Second), ""},
		{"2 minutes ahead", attendee, nil, at(0, -2*time.Minute), "creation_time"},
		{"outside the venue", attendee, nil, at(5000, 0), "latitude"},
		{"a reporter's batch of an hour ago, anywhere", Rules{MaxAge: 24 * time.Hour}, &prev, Point{Latitude: 48.85, Longitude: 2.35, Time: now.Add(-time.Hour)}, ""},
		{"a reporter's report of two days ago", Rules{MaxAge: 24 * time.Hour}, nil, at(0, 48*time.Hour), "creation_time"},
	} {
		err := tt.rules.Check(now, tt.prev, tt.p)
		var e *udaconnect.Error
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("Check(%s) = %v; want plausible", tt.name, err)
		case tt.field != "" && (!errors.As(err, &e) || e.Code != udaconnect.EIMPLAUSIBLE || e.Field != tt.field):
			t.Errorf("Check(%s) = %v; want implausible, naming %s", tt.name, err, tt.field)
		}
	}
}

// A report moves the sender when its speed from the previous one explains
// it without the Slack; one within the Slack alone is the previous place,
// so that slacks do not add up into a trail.
func TestMoves(t *testing.T) {
	rules := Rules{MaxAge: 10 * time.Minute, MaxSpeed: 10}
	prev := Point{Latitude: 35.06, Longitude: -106.57, Time: time.Date(2026, 6, 16, 10, 0, 0, 0, time.UTC)}
	north := func(metres float64, after time.Duration) Point {
		return Point{Latitude: prev.Latitude + metres/111_195, Longitude: prev.Longitude, Time: prev.Time.Add(after)}
	}
	for _, tt := range []struct {
		name  string
		prev  *Point
		p     Point
		moves bool
	}{
		{"no previous report", nil, north(0, 0), true},
		{"walked 50 m in 10 s", &prev, north(50, 10*time.Second), true},
		{"25 m in no time, within the slack", &prev, north(25, 0), false},
		{"25 m in a second", &prev, north(25, time.Second), false},
		{"still, a second later", &prev, north(0, time.Second), true},
		{"still, a second before", &prev, north(0, -time.Second), false},
	} {
		if got := rules.Moves(tt.prev, tt.p); got != tt.moves {
			t.Errorf("Moves(%s) = %v; want %v", tt.name, got, tt.moves)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b Point
		want float64 // metres
	}{
		{"one degree of latitude", Point{Latitude: 0}, Point{Latitude: 1}, 111_195},
		{"one degree of longitude at 60°", Point{Latitude: 60}, Point{Latitude: 60, Longitude: 1}, 55_597},
		{"the same point", Point{Latitude: 35, Longitude: -106}, Point{Latitude: 35, Longitude: -106}, 0},
		{"across the antimeridian", Point{Longitude: 179.5}, Point{Longitude: -179.5}, 111_195},
	} {
		if got := Distance(tt.a, tt.b); math.Abs(got-tt.want) > 1 {
			t.Errorf("Distance(%s) = %.0f m; want %.0f", tt.name, got, tt.want)
		}
	}
}

func TestParseBounds(t *testing.T) {
	if b, err := ParseBounds("35.05, -106.58,35.07,-106.56"); err != nil || b != (Bounds{35.05, -106.58, 35.07, -106.56}) {
		t.Errorf("ParseBounds = %+v, %v", b, err)
	}
	for _, s := range []string{"", "1,2,3", "35.07,-106.58,35.05,-106.56", "a,b,c,d", "-91,0,0,1", "0,0,1,1,1", "NaN,0,1,1"} {
		if _, err := ParseBounds(s); err == nil {
			t.Errorf("ParseBounds(%q) = nil error; want a refusal", s)
		}
	}
}
