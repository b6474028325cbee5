package detect

import (
	"cmp"
	"slices"
	"time"
)

// Reference computes the meetings of reports clipped at now, the plain way:
// each person's held intervals, then for each pair every elementary interval
// between the two persons' boundaries. It is slow and obviously right: the
// oracle that Detector is tested against. The result is sorted by (A, B,
// Started).
func Reference(p Params, reports []Report, now time.Time) []Meeting {
	end := now.UnixNano()
	byPerson := map[int64][]Report{}
	seen := map[int64]bool{}
	for _, r := range reports {
		if !seen[r.ID] {
			seen[r.ID] = true
			byPerson[r.Person] = append(byPerson[r.Person], r)
		}
	}
	persons := make([]int64, 0, len(byPerson))
	held := map[int64][]interval{}
	for person, rs := range byPerson {
		persons = append(persons, person)
		held[person] = heldIntervals(p, rs, end)
	}
	slices.Sort(persons)
	var meetings []Meeting
	for i, a := range persons {
		for _, b := range persons[i+1:] {
			meetings = append(meetings, pairMeetings(p, a, b, held[a], held[b], end)...)
		}
	}
	return meetings
}

// An interval is [from, to) in Unix nanoseconds, with the report held over
// it.
type interval struct {
	from, to int64
	r        Report
}

// heldIntervals are where a person is held: each report from its time until
// the next report (by time, then ID) or for Hold, whichever is first, clipped
// at end. Empty intervals are left out.
func heldIntervals(p Params, rs []Report, end int64) []interval {
	slices.SortFunc(rs, func(x, y Report) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.ID, y.ID))
	})
	var held []interval
	for i, r := range rs {
		from := r.Time.UnixNano()
		to := min(from+int64(p.Hold), end)
		if i+1 < len(rs) {
			to = min(to, rs[i+1].Time.UnixNano())
		}
		if from < to {
			held = append(held, interval{from, to, r})
		}
	}
	return held
}

// at returns the interval of held that contains t.
func at(held []interval, t int64) (interval, bool) {
	i, _ := slices.BinarySearchFunc(held, t, func(h interval, t int64) int {
		if h.to <= t {
			return -1
		}
		if h.from > t {
			return 1
		}
		return 0
	})
	if i < len(held) && held[i].from <= t && t < held[i].to {
		return held[i], true
	}
	return interval{}, false
}

// pairMeetings are the meetings of a and b (a < b), from their held
// intervals, clipped at end.
func pairMeetings(p Params, a, b int64, heldA, heldB []interval, end int64) []Meeting {
	var bounds []int64
	for _, h := range append(slices.Clone(heldA), heldB...) {
		bounds = append(bounds, h.from, h.to)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	var meetings []Meeting
	var m *Meeting
	var lastSeen, together int64
	var sumLat, sumLon float64
	flush := func() {
		if m != nil {
			m.LastSeen = time.Unix(0, lastSeen).UTC()
			m.Together = time.Duration(together)
			m.Lat, m.Lon = sumLat/float64(together), sumLon/float64(together)
			m.Ended = end >= lastSeen+int64(p.Gap)
			meetings = append(meetings, *m)
		}
	}
	for i := 0; i+1 < len(bounds); i++ {
		from, to := bounds[i], bounds[i+1]
		ha, okA := at(heldA, from)
		hb, okB := at(heldB, from)
		if !okA || !okB {
			continue
		}
		ra, rb := ha.r, hb.r
		d := distance(ra.Lat, ra.Lon, scaleAt(ra.Lat), rb.Lat, rb.Lon, scaleAt(rb.Lat))
		if d > p.Distance {
			continue
		}
		if m == nil || from-lastSeen >= int64(p.Gap) {
			flush()
			m = &Meeting{Key: Key{A: a, B: b, Started: time.Unix(0, from).UTC()}, ClosestM: d}
			together, sumLat, sumLon = 0, 0, 0
		}
		lat, lon := midpoint(ra.Lat, ra.Lon, rb.Lat, rb.Lon)
		w := float64(to - from)
		lastSeen, together = to, together+(to-from)
		sumLat, sumLon = sumLat+lat*w, sumLon+lon*w
		m.ClosestM = min(m.ClosestM, d)
	}
	flush()
	return meetings
}
