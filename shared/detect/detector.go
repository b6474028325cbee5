package detect

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// Detector finds meetings incrementally: the same meetings as Reference,
// whatever the order and grouping of the reports, at a cost per report in
// proportion to the people filed near it. It is not safe for concurrent use.
//
// It keeps each person's recent reports (a timeline), a grid of where they
// were, and the pairs that have been together, each with checkpoints of its
// sweep. A report at t changes its person's held position only from t until
// their next report or the hold's end: the people filed near its position
// and near the position it replaces are the only ones whose pairs can
// change, from t on. Reports older than the frontier (the detector's time
// minus Lateness) are no longer in memory, so one older than that is placed
// through History.
type Detector struct {
	p  Params
	rl rules
	h  History

	now     int64 // the detector's time; math.MinInt64 before any report
	newest  int64 // the newest report's time
	persons map[int64]*person
	pairs   int      // how many pairs there are, filed with their persons
	free    []uint32 // slots of persons forgotten
	grid    *grid

	touched   []touched // pairs changed since the last settle, not yet filed
	dirty     []*pair   // pairs changed since the last Changes
	growing   []*pair   // pairs that change as time passes
	evaluated int64     // the time of the last evaluation
	pruned    int64     // the frontier of the last pruning
	search    uint64    // the mark of the last search of the grid
	pend      pending
	fresh     []agg  // scratch: the meetings of the pair being evaluated
	old       []sent // scratch: the meetings sent before, being compared
}

// New returns a detector with no reports, that consults h for late reports.
func New(p Params, h History) *Detector {
	return &Detector{
		p: p, rl: rulesOf(p), h: h,
		now: math.MinInt64, newest: math.MinInt64, evaluated: math.MinInt64, pruned: math.MinInt64,
		persons: map[int64]*person{}, grid: newGrid(p.Distance),
	}
}

// Time returns the detector's time (its watermark), zero before any report.
func (d *Detector) Time() time.Time {
	if d.now == math.MinInt64 {
		return time.Time{}
	}
	return instant(d.now)
}

// frontier is the time before which reports are no longer in memory alone.
func (d *Detector) frontier() int64 {
	if d.now == math.MinInt64 {
		return math.MinInt64
	}
	return d.now - d.rl.late
}

// Add takes reports in any order (a report whose ID was seen before is
// ignored) and moves the detector's time to min(now, the newest report time
// seen), never back. A report newer than now is placed, held from its time.
// A report older than Time() − Lateness is placed through History. On an
// error (a report out of range, or History failing), Add can be called again
// with the same reports.
func (d *Detector) Add(ctx context.Context, reports []Report, now time.Time) error {
	for _, r := range reports {
		if err := r.validate(); err != nil {
			return err
		}
	}
	// Any order gives the same meetings; reports by cell, then time, touch
	// the same pairs one after the other, while they are in the cache.
	type placed struct {
		cell int64
		r    Report
	}
	rs := make([]placed, len(reports))
	for i, r := range reports {
		rs[i] = placed{d.grid.cellOf(r.Lat, r.Lon), r}
	}
	slices.SortFunc(rs, func(x, y placed) int {
		return cmp.Or(cmp.Compare(x.cell, y.cell), x.r.Time.Compare(y.r.Time), cmp.Compare(x.r.ID, y.r.ID))
	})
	frontier := d.frontier()
	for _, p := range rs {
		t := p.r.Time.UnixNano()
		d.newest = max(d.newest, t)
		if t >= frontier {
			d.place(p.r.Person, newRep(p.r), math.MinInt64)
		}
	}
	var late []Report
	for _, p := range rs {
		if p.r.Time.UnixNano() < frontier {
			late = append(late, p.r)
		}
	}
	if err := d.late(ctx, late); err != nil {
		return err
	}
	if d.newest != math.MinInt64 {
		d.now = max(d.now, min(now.UnixNano(), d.newest))
	}
	return nil
}

// place adds a report to memory: it marks the pairs that may change, from
// its time (or from floor, if later) on.
func (d *Detector) place(id int64, r rep, floor int64) {
	p := d.person(id)
	i, added := p.add(r)
	if !added {
		return
	}
	d.grid.add(p, r.lat, r.lon)
	from, to := max(r.t, floor), p.reports.end(i, d.rl.hold)
	if from >= to { // another report of the same moment is held instead
		return
	}
	d.search++
	p.mark = d.search
	// The pairs that change are with those held near r, or near the report
	// it cut short (prev), from `from` to `to`.
	var prev *rep
	if i > 0 && p.reports.end(i-1, d.rl.hold) == r.t {
		prev = &p.reports[i-1]
	}
	touch := func(q *person) {
		now := d.meets(&r, q, from, to)
		if !now && (prev == nil || !d.meets(prev, q, from, to)) {
			return
		}
		pr := p.pairWith(q)
		if pr == nil {
			if !now {
				return
			}
			pr = d.newPair(p, q)
		}
		d.touch(pr, from)
	}
	d.grid.near(r.lat, r.lon, d.search, touch)
	if prev != nil && !d.grid.sameBlock(prev.lat, prev.lon, r.lat, r.lon) {
		d.grid.near(prev.lat, prev.lon, d.search, touch)
	}
}

// pairOf returns the pair of persons a and b, if there is one.
func (d *Detector) pairOf(a, b int64) *pair {
	p, q := d.persons[a], d.persons[b]
	if p == nil || q == nil {
		return nil
	}
	return p.pairWith(q)
}

// person returns the person id, in memory from now on.
func (d *Detector) person(id int64) *person {
	p := d.persons[id]
	if p == nil {
		p = &person{id: id, slot: uint32(len(d.persons))}
		if n := len(d.free); n > 0 {
			p.slot, d.free = d.free[n-1], d.free[:n-1]
		}
		d.persons[id] = p
	}
	return p
}

// meets tells whether q is held within Distance of r at some moment of [from,
// to).
func (d *Detector) meets(r *rep, q *person, from, to int64) bool {
	if l := &q.latest; l.t <= from { // held from before, if at all
		return from < l.t+d.rl.hold && r.distance(l) <= d.rl.distance
	}
	tl := q.reports
	for i := max(tl.last(from), 0); i < len(tl) && tl[i].t < to; i++ {
		if max(tl[i].t, from) < min(tl.end(i, d.rl.hold), to) && r.distance(&tl[i]) <= d.rl.distance {
			return true
		}
	}
	return false
}

// touched is a pair changed from t on.
type touched struct {
	pr *pair
	t  int64
}

// touch marks pr as changed from t on, to be evaluated at the next Changes.
// The mark waits in a list, without reading the pair: the pairs are read
// one after the other when filed, where their cache misses overlap.
func (d *Detector) touch(pr *pair, t int64) { d.touched = append(d.touched, touched{pr, t}) }

// file files the pairs touched among the dirty, each with the earliest time
// it changed from.
func (d *Detector) file() {
	for _, tc := range d.touched {
		if tc.pr.dirty == math.MaxInt64 {
			d.dirty = append(d.dirty, tc.pr)
		}
		tc.pr.dirty = min(tc.pr.dirty, tc.t)
	}
	clear(d.touched)
	d.touched = d.touched[:0]
}

// Changes returns, and forgets, what changed since the last call: one entry
// per meeting, with its latest values. It evaluates the pairs changed by
// reports, and, if time has passed, those that grow with it.
func (d *Detector) Changes() Changes {
	if d.now != d.evaluated {
		for _, pr := range d.growing {
			if pr.wake <= d.now {
				d.touch(pr, pr.marks[len(pr.marks)-1].t)
			}
		}
		d.evaluated = d.now
	}
	d.settle()
	if f := d.frontier(); f != math.MinInt64 && (d.pruned == math.MinInt64 || f-d.pruned >= d.rl.late/4) {
		d.prune(f)
		d.pruned = f
	}
	return d.pend.take()
}

// settle evaluates the pairs changed since they last were.
func (d *Detector) settle() {
	d.file()
	for _, pr := range d.dirty {
		d.evaluate(pr)
		pr.dirty = math.MaxInt64
	}
	clear(d.dirty)
	d.dirty = d.dirty[:0]
}

// evaluate sweeps pr from its latest checkpoint at or before the earliest
// change to the detector's time, and reports how its meetings changed.
func (d *Detector) evaluate(pr *pair) {
	c := pr.resume(pr.dirty)
	a, b := pr.a.reports, pr.b.reports
	latest := max(a.latest(), b.latest())
	r := c.run
	d.fresh = d.fresh[:0]
	done := func(m agg) { d.fresh = append(d.fresh, m) }
	// A checkpoint where the later of the two last reported (or now):
	// reports in time order resume from there.
	mark := max(c.t, min(d.now, latest))
	d.rl.sweep(a, b, c.t, mark, &r, done)
	pr.keep(checkpoint{t: mark, run: r}, d.rl.late)
	d.rl.sweep(a, b, mark, d.now, &r, done)
	pr.last = math.MinInt64
	if r.open {
		d.fresh = append(d.fresh, r.agg)
		pr.last = r.last
	}
	d.report(pr, c.cut(), d.fresh, a, b)
	// Time passing changes the pair next: at once if one of the two reported
	// at or after now (a meeting may begin there) or they are together now
	// (their meeting goes on), when its meeting ends if they are not.
	switch {
	case latest >= d.now || r.open && r.last == d.now:
		pr.wake = d.now
	case r.open && d.now < r.last+d.rl.gap:
		pr.wake = r.last + d.rl.gap
	default:
		pr.wake = math.MaxInt64
	}
	d.grow(pr, pr.wake != math.MaxInt64)
}

// grow files pr among the growing pairs, or takes it out.
func (d *Detector) grow(pr *pair, grows bool) {
	switch {
	case grows && pr.growing < 0:
		pr.growing = len(d.growing)
		d.growing = append(d.growing, pr)
	case !grows && pr.growing >= 0:
		last := d.growing[len(d.growing)-1]
		d.growing[pr.growing] = last
		last.growing = pr.growing
		d.growing[len(d.growing)-1] = nil
		d.growing = d.growing[:len(d.growing)-1]
		pr.growing = -1
	}
}

// report compares the meetings of pr from cut on with those sent before,
// and records the differences: new or changed meetings, meetings gone (into
// the one that took their moments, if any) and meetings that began.
func (d *Detector) report(pr *pair, cut int64, fresh []agg, a, b timeline) {
	i := 0
	for i < len(pr.sent) && pr.sent[i].start < cut {
		i++
	}
	d.old = append(d.old[:0], pr.sent[i:]...)
	pr.sent = pr.sent[:i]
	for _, f := range fresh {
		ended := d.now >= f.last+d.rl.gap
		j := slices.IndexFunc(d.old, func(o sent) bool { return o.start == f.start })
		if j >= 0 && d.old[j] == (sent{f, ended}) {
			pr.sent = append(pr.sent, d.old[j])
			continue
		}
		pr.sent = append(pr.sent, sent{f, ended})
		m := f.meeting(pr.a.id, pr.b.id, d.rl.gap, d.now)
		d.pend.upsert(m)
		if j < 0 && !slices.ContainsFunc(d.old, func(o sent) bool { return overlaps(o.agg, f) }) {
			d.pend.start(startOf(m, f.start, pr.a.id, pr.b.id, a, b))
		}
	}
	for _, o := range d.old {
		if slices.ContainsFunc(fresh, func(f agg) bool { return f.start == o.start }) {
			continue
		}
		var into *Key
		if j := slices.IndexFunc(fresh, func(f agg) bool { return overlaps(o.agg, f) }); j >= 0 {
			into = &Key{A: pr.a.id, B: pr.b.id, Started: instant(fresh[j].start)}
		}
		d.pend.remove(Key{A: pr.a.id, B: pr.b.id, Started: instant(o.start)}, into)
	}
}

// startOf is the start of meeting m of a and b at t: the report, of either,
// from which both were held together, the other's report held then, and
// their distance.
func startOf(m Meeting, t int64, a, b int64, ta, tb timeline) Start {
	ra, rb := ta[ta.last(t)], tb[tb.last(t)]
	s := Start{Meeting: m, Report: ra.report(a), Near: rb.report(b), Distance: ra.distance(&rb)}
	if compareRep(rb, ra) > 0 {
		s.Report, s.Near = s.Near, s.Report
	}
	return s
}

// prune forgets what can no longer change in memory: pairs whose last
// meeting has ended before the frontier, checkpoints and reports before
// those still needed, and people no longer held.
func (d *Detector) prune(frontier int64) {
	for _, p := range d.persons {
		p.keep = frontier
	}
	// Whether a pair goes depends on the pair alone: both its persons
	// unfile it.
	gone := func(pt partner) bool { return pt.pr.last <= frontier-d.rl.gap && pt.pr.growing < 0 }
	for _, p := range d.persons {
		for _, pt := range p.partners {
			if pr := pt.pr; pr.a == p {
				if gone(pt) {
					d.pairs--
					continue
				}
				pr.forget(frontier)
				if len(pr.marks) > 0 {
					pr.a.keep = min(pr.a.keep, pr.marks[0].t)
					pr.b.keep = min(pr.b.keep, pr.marks[0].t)
				}
			}
		}
	}
	for _, p := range d.persons {
		p.partners = slices.DeleteFunc(p.partners, gone)
	}
	for id, p := range d.persons {
		i := p.reports.last(p.keep)
		for _, r := range p.reports[:max(i, 0)] {
			d.grid.remove(p, r.lat, r.lon)
		}
		if i > 0 {
			p.reports = slices.Clone(p.reports[i:])
		}
		if len(p.partners) == 0 && p.reports.latest()+d.rl.hold <= frontier {
			for _, r := range p.reports {
				d.grid.remove(p, r.lat, r.lon)
			}
			delete(d.persons, id)
			d.free = append(d.free, p.slot)
		}
	}
}
