package detect

import (
	"cmp"
	"context"
	"fmt"
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
	pairs   map[pairKey]*pair
	grid    *grid

	dirty     []*pair // pairs changed since the last Changes
	growing   []*pair // pairs that change as time passes
	evaluated int64   // the time of the last evaluation
	pruned    int64   // the frontier of the last pruning
	search    uint64  // the mark of the last search of the grid
	pend      pending
	fresh     []agg // scratch: the meetings of the pair being evaluated
	old       []sent
}

// New returns a detector with no reports, that consults h for late reports.
func New(p Params, h History) *Detector {
	return &Detector{
		p: p, rl: rulesOf(p), h: h,
		now: math.MinInt64, newest: math.MinInt64, evaluated: math.MinInt64, pruned: math.MinInt64,
		persons: map[int64]*person{}, pairs: map[pairKey]*pair{}, grid: newGrid(p.Distance),
		pend: newPending(),
	}
}

// Time returns the detector's time (its watermark), zero before any report.
func (d *Detector) Time() time.Time {
	if d.now == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, d.now).UTC()
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
// A report older than Time() − Lateness is placed through History.
func (d *Detector) Add(ctx context.Context, reports []Report, now time.Time) error {
	rs := slices.Clone(reports)
	slices.SortFunc(rs, func(x, y Report) int {
		return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.ID, y.ID))
	})
	frontier := d.frontier()
	for _, r := range rs {
		t := r.Time.UnixNano()
		d.newest = max(d.newest, t)
		if t >= frontier {
			d.place(r.Person, newRep(r))
		}
	}
	for _, r := range rs {
		if r.Time.UnixNano() < frontier {
			if err := d.late(ctx, r); err != nil {
				return fmt.Errorf("place report %d of person %d: %w", r.ID, r.Person, err)
			}
		}
	}
	if d.newest != math.MinInt64 {
		d.now = max(d.now, min(now.UnixNano(), d.newest))
	}
	return nil
}

// place adds a report at or after the frontier: it marks the pairs that may
// change, from its time on.
func (d *Detector) place(id int64, r rep) {
	p := d.persons[id]
	if p == nil {
		p = &person{id: id}
		d.persons[id] = p
	}
	i, added := p.reports.insert(r)
	if !added {
		return
	}
	d.grid.add(p, r.lat, r.lon)
	from, to := r.t, p.reports.end(i, d.rl.hold)
	if from >= to { // another report of the same moment is held instead
		return
	}
	d.search++
	p.mark = d.search
	touch := func(q *person) {
		pr := d.pairs[key(p, q)]
		if pr == nil {
			if !d.meets(r, q, from, to) {
				return
			}
			pr = newPair(p, q)
			d.pairs[key(p, q)] = pr
		}
		d.touch(pr, from)
	}
	d.grid.near(r.lat, r.lon, d.search, touch)
	if i > 0 && p.reports.end(i-1, d.rl.hold) == from { // the report it cut short
		prev := p.reports[i-1]
		d.grid.near(prev.lat, prev.lon, d.search, touch)
	}
}

func key(p, q *person) pairKey {
	if p.id > q.id {
		p, q = q, p
	}
	return pairKey{p.id, q.id}
}

// meets tells whether q is held within Distance of r at some moment of [from,
// to).
func (d *Detector) meets(r rep, q *person, from, to int64) bool {
	tl := q.reports
	for i := max(tl.last(from), 0); i < len(tl) && tl[i].t < to; i++ {
		if max(tl[i].t, from) < min(tl.end(i, d.rl.hold), to) && r.distance(tl[i]) <= d.rl.distance {
			return true
		}
	}
	return false
}

// touch marks pr as changed from t on.
func (d *Detector) touch(pr *pair, t int64) {
	pr.dirty = min(pr.dirty, t)
	if pr.at < 0 {
		pr.at = len(d.dirty)
		d.dirty = append(d.dirty, pr)
	}
}

// Changes returns, and forgets, what changed since the last call: one entry
// per meeting, with its latest values. It evaluates the pairs changed by
// reports, and, if time has passed, those that grow with it.
func (d *Detector) Changes() Changes {
	if d.now != d.evaluated {
		for _, pr := range d.growing {
			if len(pr.marks) > 0 {
				d.touch(pr, pr.marks[len(pr.marks)-1].t)
			}
		}
		d.evaluated = d.now
	}
	for _, pr := range d.dirty {
		d.evaluate(pr)
		pr.at, pr.dirty = -1, math.MaxInt64
	}
	clear(d.dirty)
	d.dirty = d.dirty[:0]
	if f := d.frontier(); f != math.MinInt64 && (d.pruned == math.MinInt64 || f-d.pruned >= d.rl.late/4) {
		d.prune(f)
		d.pruned = f
	}
	return d.pend.take()
}

// evaluate sweeps pr from its latest checkpoint at or before the earliest
// change to the detector's time, and reports how its meetings changed.
func (d *Detector) evaluate(pr *pair) {
	c := pr.resume(pr.dirty)
	a, b := pr.a.reports, pr.b.reports
	latest := max(a[len(a)-1].t, b[len(b)-1].t)
	r := c.run
	d.fresh = d.fresh[:0]
	done := func(m agg) { d.fresh = append(d.fresh, m) }
	// A checkpoint where the later of the two last reported (or now):
	// reports in time order resume from there.
	mark := max(c.t, min(d.now, latest))
	d.rl.sweep(a, b, c.t, mark, &r, done)
	pr.keep(checkpoint{t: mark, run: r}, d.rl.late/4)
	d.rl.sweep(a, b, mark, d.now, &r, done)
	pr.last = math.MinInt64
	if r.open {
		d.fresh = append(d.fresh, r.agg)
		pr.last = r.last
	}
	d.report(pr, c.cut(), d.fresh, a, b)
	d.grow(pr, (r.open && d.now < r.last+d.rl.gap) || latest >= d.now)
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
		m := f.meeting(pr.a.id, pr.b.id, d.rl.gap, d.now)
		pr.sent = append(pr.sent, sent{f, m.Ended})
		j := slices.IndexFunc(d.old, func(o sent) bool { return o.start == f.start })
		if j >= 0 && d.old[j] == (sent{f, m.Ended}) {
			continue
		}
		d.pend.upsert(m)
		if j < 0 && !slices.ContainsFunc(d.old, func(o sent) bool { return overlaps(o.agg, f) }) {
			d.pend.start(d.started(pr, m, f.start, a, b))
		}
	}
	for _, o := range d.old {
		if slices.ContainsFunc(fresh, func(f agg) bool { return f.start == o.start }) {
			continue
		}
		var into *Key
		if j := slices.IndexFunc(fresh, func(f agg) bool { return overlaps(o.agg, f) }); j >= 0 {
			into = &Key{A: pr.a.id, B: pr.b.id, Started: time.Unix(0, fresh[j].start).UTC()}
		}
		d.pend.remove(Key{A: pr.a.id, B: pr.b.id, Started: time.Unix(0, o.start).UTC()}, into)
	}
}

// started is the start of meeting m at t: the report, of a or b, from which
// both were held together, the other's report held then, and their distance.
func (d *Detector) started(pr *pair, m Meeting, t int64, a, b timeline) Start {
	ra, rb := a[a.last(t)], b[b.last(t)]
	s := Start{Meeting: m, Report: ra.report(pr.a.id), Near: rb.report(pr.b.id), Distance: ra.distance(rb)}
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
	for k, pr := range d.pairs {
		if pr.last <= frontier-d.rl.gap && pr.growing < 0 {
			delete(d.pairs, k)
			pr.a.pairs--
			pr.b.pairs--
			continue
		}
		pr.forget(frontier)
		if len(pr.marks) > 0 {
			pr.a.keep = min(pr.a.keep, pr.marks[0].t)
			pr.b.keep = min(pr.b.keep, pr.marks[0].t)
		}
	}
	for id, p := range d.persons {
		i := p.reports.last(p.keep)
		for _, r := range p.reports[:max(i, 0)] {
			d.grid.remove(p, r.lat, r.lon)
		}
		if i > 0 {
			p.reports = slices.Clone(p.reports[i:])
		}
		if last := p.reports[len(p.reports)-1]; p.pairs == 0 && last.t+d.rl.hold <= frontier {
			d.grid.remove(p, last.lat, last.lon)
			delete(d.persons, id)
		}
	}
}
