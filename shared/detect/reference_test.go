package detect

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// A small world for hand-made examples: a hall around (35.0844, −106.6511),
// positions in metres north and east of it, times in seconds from t0.
var (
	t0     = time.Date(2026, 6, 16, 9, 0, 0, 0, time.UTC)
	origin = Point{35.0844, -106.6511}
)

func at0(seconds float64) time.Time {
	return t0.Add(time.Duration(seconds * float64(time.Second))).UTC()
}

func place(north, east float64) (lat, lon float64) {
	s := scaleAt(origin.Lat)
	return origin.Lat + north/s.north, origin.Lon + east/s.east
}

// reporter makes the reports of a person, with ids unique across reporters.
type reporter struct {
	person int64
	next   *int64
}

func (w reporter) at(seconds, north, east float64) []Report {
	*w.next++
	lat, lon := place(north, east)
	return []Report{{ID: *w.next, Person: w.person, Time: at0(seconds), Lat: lat, Lon: lon}}
}

// every reports from `from` to `to` seconds (both included), every step, at
// the same place.
func (w reporter) every(from, to, step, north, east float64) []Report {
	var rs []Report
	for s := from; s <= to; s += step {
		rs = append(rs, w.at(s, north, east)...)
	}
	return rs
}

func people(n int) []reporter {
	next := new(int64)
	ws := make([]reporter, n)
	for i := range ws {
		ws[i] = reporter{person: int64(i + 1), next: next}
	}
	return ws
}

func join(rss ...[]Report) []Report {
	var all []Report
	for _, rs := range rss {
		all = append(all, rs...)
	}
	return all
}

// span is what a test expects of a meeting: start and last seen in seconds,
// time together in seconds, the closest distance.
type span struct {
	a, b                        int64
	start, last, together, near float64
	ended                       bool
}

func spans(ms []Meeting) []span {
	var ss []span
	for _, m := range ms {
		ss = append(ss, span{m.A, m.B, m.Started.Sub(t0).Seconds(), m.LastSeen.Sub(t0).Seconds(),
			m.Together.Seconds(), math.Round(m.ClosestM*1000) / 1000, m.Ended})
	}
	return ss
}

func TestReference(t *testing.T) {
	p := DefaultParams()
	const min = 60.0
	w := people(3)
	a, b, c := w[0], w[1], w[2]
	tests := []struct {
		name    string
		reports []Report
		now     float64
		want    []span
	}{{
		name:    "side by side, clipped at now",
		reports: join(a.every(0, 600, 5, 0, 0), b.every(10, 600, 5, 0, 2)),
		now:     300,
		want:    []span{{1, 2, 10, 300, 290, 2, false}},
	}, {
		name:    "both stop reporting: held for 15 min, then ended",
		reports: join(a.every(0, 600, 5, 0, 0), b.every(10, 600, 5, 0, 2)),
		now:     60 * min,
		want:    []span{{1, 2, 10, 600 + 15*min, 590 + 15*min, 2, true}},
	}, {
		name:    "one stops reporting: held until 15 min after its last report",
		reports: join(a.at(0, 0, 0), b.every(0, 30*min, min, 0, 3)),
		now:     60 * min,
		want:    []span{{1, 2, 0, 15 * min, 15 * min, 3, true}},
	}, {
		name: "walking through a spot someone left minutes ago is no meeting",
		reports: join(a.every(0, 10*min, 5, 0, 0), a.every(10*min+5, 20*min, 5, 50, 50),
			b.every(0, 12*min, 5, 30, 0), b.every(12*min+5, 16*min, 5, 0, 1)),
		now:  30 * min,
		want: nil,
	}, {
		name: "passing by: together only while both are held near",
		reports: join(a.every(0, 10*min, 5, 0, 0),
			b.at(100, 0, 20), b.at(105, 0, 10), b.at(110, 0, 4), b.at(115, 0, -4), b.at(120, 0, -10)),
		now:  30 * min,
		want: []span{{1, 2, 110, 120, 10, 4, true}},
	}, {
		name: "a gap just under 2 min is joined",
		reports: join(a.every(0, 20*min, 5, 0, 0),
			b.at(0, 0, 1), b.at(5*min, 0, 20), b.at(7*min-1, 0, 1), b.at(8*min, 0, 20)),
		now:  30 * min,
		want: []span{{1, 2, 0, 8 * min, 6*min + 1, 1, true}},
	}, {
		name: "a gap of 2 min splits",
		reports: join(a.every(0, 20*min, 5, 0, 0),
			b.at(0, 0, 1), b.at(5*min, 0, 20), b.at(7*min, 0, 1), b.at(8*min, 0, 20)),
		now:  30 * min,
		want: []span{{1, 2, 0, 5 * min, 5 * min, 1, true}, {1, 2, 7 * min, 8 * min, min, 1, true}},
	}, {
		name:    "every 5 s",
		reports: join(a.every(0, 30*min, 5, 0, 0), b.every(0, 30*min, 5, 0, 3)),
		now:     60 * min,
		want:    []span{{1, 2, 0, 45 * min, 45 * min, 3, true}},
	}, {
		name:    "every 5 min, the same meeting",
		reports: join(a.every(0, 30*min, 5*min, 0, 0), b.every(0, 30*min, 5*min, 0, 3)),
		now:     60 * min,
		want:    []span{{1, 2, 0, 45 * min, 45 * min, 3, true}},
	}, {
		name: "duplicates count once",
		reports: func() []Report {
			rs := join(a.every(0, 5*min, min, 0, 0), b.every(0, 5*min, min, 0, 3))
			return append(rs, rs...)
		}(),
		now:  10 * min,
		want: []span{{1, 2, 0, 10 * min, 10 * min, 3, false}},
	}, {
		name:    "a late report of going away splits a meeting",
		reports: join(a.every(0, 10*min, 5*min, 0, 0), b.every(0, 10*min, 5*min, 0, 3), b.at(3*min, 0, 50)),
		now:     12 * min,
		want:    []span{{1, 2, 0, 3 * min, 3 * min, 3, true}, {1, 2, 5 * min, 12 * min, 7 * min, 3, false}},
	}, {
		name:    "a late report of coming back merges two meetings",
		reports: join(a.every(0, 10*min, 5*min, 0, 0), b.at(0, 0, 3), b.at(3*min, 0, 50), b.at(4*min, 0, 4), b.at(5*min, 0, 3)),
		now:     12 * min,
		want:    []span{{1, 2, 0, 12 * min, 11 * min, 3, false}},
	}, {
		name:    "three people, three pairs",
		reports: join(a.every(0, 2*min, min, 0, 0), b.every(0, 2*min, min, 0, 3), c.every(0, 2*min, min, 0, -4)),
		now:     5 * min,
		want:    []span{{1, 2, 0, 5 * min, 5 * min, 3, false}, {1, 3, 0, 5 * min, 5 * min, 4, false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spans(Reference(p, tt.reports, at0(tt.now)))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Reference = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestReferenceCentroid(t *testing.T) {
	w := people(2)
	// Together 2 min at one place, then 1 min 2 m to the east.
	rs := join(w[0].at(0, 0, 0), w[1].at(0, 0, 2), w[0].at(120, 0, 2), w[1].at(120, 0, 4))
	ms := Reference(DefaultParams(), rs, at0(180))
	if len(ms) != 1 {
		t.Fatalf("Reference = %v; want one meeting", ms)
	}
	lat, lon := place(0, (1*120+3*60)/180.0)
	if m := ms[0]; math.Abs(m.Lat-lat) > 1e-9 || math.Abs(m.Lon-lon) > 1e-9 {
		t.Errorf("centroid = %v, %v; want %v, %v", m.Lat, m.Lon, lat, lon)
	}
}
