package detect

import (
	"cmp"
	"math"
	"slices"
)

// rep is a report as the detector keeps it: times in Unix nanoseconds, and
// the scale of the map at its latitude.
type rep struct {
	id, t    int64
	lat, lon float64
	s        scale
}

func newRep(r Report) rep {
	return rep{id: r.ID, t: r.Time.UnixNano(), lat: r.Lat, lon: r.Lon, s: scaleAt(r.Lat)}
}

func (r rep) report(person int64) Report {
	return Report{ID: r.id, Person: person, Time: instant(r.t), Lat: r.lat, Lon: r.lon}
}

func (r *rep) distance(q *rep) float64 { return distance(r.lat, r.lon, r.s, q.lat, q.lon, q.s) }

func compareRep(x, y rep) int { return cmp.Or(cmp.Compare(x.t, y.t), cmp.Compare(x.id, y.id)) }

// A timeline is a person's reports, sorted by time then ID, with none missing
// from the first on.
type timeline []rep

// end is when reports[i] stops being held: at the next report, or after hold.
func (tl timeline) end(i int, hold int64) int64 {
	e := tl[i].t + hold
	if i+1 < len(tl) {
		e = min(e, tl[i+1].t)
	}
	return e
}

// latest is the time of the last report, math.MinInt64 if none.
func (tl timeline) latest() int64 {
	if len(tl) == 0 {
		return math.MinInt64
	}
	return tl[len(tl)-1].t
}

// last returns the index of the last report taken at or before t, or -1.
func (tl timeline) last(t int64) int {
	// Most often t is after the last report, or the one before it.
	for i := len(tl) - 1; i >= 0 && i >= len(tl)-2; i-- {
		if tl[i].t <= t {
			return i
		}
	}
	i, _ := slices.BinarySearchFunc(tl, t, func(r rep, t int64) int {
		if r.t <= t {
			return -1
		}
		return 1
	})
	return i - 1
}

// insert places r, and returns its index, or false if it is there already.
func (tl *timeline) insert(r rep) (int, bool) {
	i, found := slices.BinarySearchFunc(*tl, r, compareRep)
	if found {
		return i, false
	}
	*tl = slices.Insert(*tl, i, r)
	return i, true
}

// A person is someone the detector holds reports of.
type person struct {
	// What a search of the grid looks at comes first: most often the latest
	// report is all it needs, and it is here, not in the timeline.
	mark    uint64 // the last search that found this person
	latest  rep    // the last of reports
	id      int64
	slot    uint32 // a number of its own among the persons in memory
	reports timeline
	cells   []cellRef // the grid cells of reports, with how many are in each
	// partners are the person's pairs, by the other's slot: a report looks
	// its pairs up here, in one array, rather than in a table of all pairs.
	partners []partner
	keep     int64 // while pruning: the earliest time a pair may sweep from
}

// add places r in p's timeline, and returns its index, or false if it is
// there already.
func (p *person) add(r rep) (int, bool) {
	i, added := p.reports.insert(r)
	if added && i == len(p.reports)-1 {
		p.latest = r
	}
	return i, added
}

// partner is a pair as one of its two persons files it.
type partner struct {
	slot uint32 // the other's
	pr   *pair
}

// partnerAt returns the index of q among p's partners, or where it would go.
func (p *person) partnerAt(q *person) int {
	lo, hi := 0, len(p.partners)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.partners[m].slot < q.slot {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// pairWith returns the pair of p and q, if there is one.
func (p *person) pairWith(q *person) *pair {
	if i := p.partnerAt(q); i < len(p.partners) && p.partners[i].slot == q.slot {
		return p.partners[i].pr
	}
	return nil
}

// sortPartners sorts partners filed in any order, and tells whether each
// is there once.
func (p *person) sortPartners() bool {
	slices.SortFunc(p.partners, func(x, y partner) int { return cmp.Compare(x.slot, y.slot) })
	for i := 1; i < len(p.partners); i++ {
		if p.partners[i].slot == p.partners[i-1].slot {
			return false
		}
	}
	return true
}

// file adds pr, the pair of p and q, to p's partners.
func (p *person) file(q *person, pr *pair) {
	p.partners = slices.Insert(p.partners, p.partnerAt(q), partner{q.slot, pr})
}
