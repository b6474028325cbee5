package detect

import (
	"math"
	"time"
)

// agg is a meeting as far as a sweep has gone: its first moment, the end of
// its last together-moment, the measure of its together-moments, the least
// distance, and the midpoints summed with their durations as weights.
type agg struct {
	start, last, together int64
	closest               float64
	sumLat, sumLon        float64
}

// run is the state of a sweep: the meeting open so far, if any.
type run struct {
	open bool
	agg
}

// instant is a time in Unix nanoseconds as a time.Time, in UTC.
func instant(t int64) time.Time { return time.Unix(0, t).UTC() }

// meeting is the meeting of a and b that m is, at time now.
func (m agg) meeting(a, b int64, gap, now int64) Meeting {
	return Meeting{
		Key:      Key{A: a, B: b, Started: instant(m.start)},
		LastSeen: instant(m.last),
		Together: time.Duration(m.together),
		ClosestM: m.closest,
		Lat:      m.sumLat / float64(m.together),
		Lon:      m.sumLon / float64(m.together),
		Ended:    now >= m.last+gap,
	}
}

// rules are Params in Unix nanoseconds.
type rules struct {
	distance        float64
	hold, gap, late int64
}

func rulesOf(p Params) rules {
	return rules{distance: p.Distance, hold: int64(p.Hold), gap: int64(p.Gap), late: int64(p.Lateness)}
}

// sweep carries r over the elementary intervals of [from, to): the moments
// between consecutive boundaries of a's and b's held reports. Where both are
// held within distance of each other, the interval joins the open meeting
// if it starts less than gap after its last together-moment, or else opens
// a new one; done receives each meeting that a new one closes.
func (rl rules) sweep(a, b timeline, from, to int64, r *run, done func(agg)) {
	ia, ib := a.last(from), b.last(from)
	for cur := from; cur < to; {
		heldA, nextA := rl.state(a, ia, cur)
		heldB, nextB := rl.state(b, ib, cur)
		next := min(nextA, nextB, to)
		if heldA && heldB {
			ra, rb := &a[ia], &b[ib]
			if d := ra.distance(rb); d <= rl.distance {
				lat, lon := midpoint(ra.lat, ra.lon, rb.lat, rb.lon)
				r.feed(cur, next, d, lat, lon, rl.gap, done)
			}
		}
		cur = next
		for ia+1 < len(a) && a[ia+1].t <= cur {
			ia++
		}
		for ib+1 < len(b) && b[ib+1].t <= cur {
			ib++
		}
	}
}

// state tells whether report i of tl (the last at or before cur) is held at
// cur, and when that changes.
func (rl rules) state(tl timeline, i int, cur int64) (held bool, next int64) {
	if i >= 0 {
		if e := tl.end(i, rl.hold); e > cur {
			return true, e
		}
	}
	if i+1 < len(tl) {
		return false, tl[i+1].t
	}
	return false, math.MaxInt64
}

// feed adds the together-moments [from, to), d metres apart around (lat,
// lon), to the run.
func (r *run) feed(from, to int64, d, lat, lon float64, gap int64, done func(agg)) {
	if !r.open || from-r.last >= gap {
		if r.open {
			done(r.agg)
		}
		*r = run{open: true, agg: agg{start: from, closest: d}}
	}
	w := float64(to - from)
	r.last, r.together = to, r.together+(to-from)
	r.sumLat, r.sumLon = r.sumLat+lat*w, r.sumLon+lon*w
	r.closest = min(r.closest, d)
}
