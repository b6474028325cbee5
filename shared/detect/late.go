package detect

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
)

// late places reports older than the frontier. Memory no longer holds what
// they change, so History does: a report changes its person's held position
// from its time t until their next report or the hold's end (e), so the
// pairs it can change are with the people who reported near it, or near the
// report it cuts short, from t − Hold to e. For each, the meetings that can
// change are those within Gap of [t, e); the sweep starts Gap before the
// first of them (where, before and after the report alike, the two were not
// together), runs to the frontier over History's reports and memory's, and
// its meetings replace the stored ones. The meeting open at the frontier, if
// any, goes on in memory from a checkpoint there. History holds all the
// reports already, so a pair that several of them change is swept once,
// from the earliest start any of them needs: late reports come in crowds
// (a network that was down), and a crowd's reports change the same pairs.
func (d *Detector) late(ctx context.Context, reports []Report) error {
	if len(reports) == 0 {
		return nil
	}
	if d.h == nil {
		return fmt.Errorf("a report older than %v needs a history", d.Time().Add(-d.p.Lateness))
	}
	d.settle() // what memory knows, among the meetings
	frontier := d.frontier()
	from := map[[2]int64]int64{} // the pairs to sweep again, from when
	for _, r := range reports {
		if err := d.lateReport(ctx, r, frontier, from); err != nil {
			return fmt.Errorf("place report %d of person %d: %w", r.ID, r.Person, err)
		}
	}
	pairs := slices.SortedFunc(maps.Keys(from), func(x, y [2]int64) int {
		return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1]))
	})
	if len(pairs) == 0 {
		return nil
	}
	// What the sweeps read of History, read once for them all: each
	// person's reports and stored meetings from the earliest sweep of their
	// pairs on.
	earliest := map[int64]int64{}
	for _, k := range pairs {
		for _, p := range k {
			if t, ok := earliest[p]; !ok || from[k] < t {
				earliest[p] = from[k]
			}
		}
	}
	first := slices.Min(slices.Collect(maps.Values(earliest))) - d.rl.gap
	history, err := d.h.Reports(ctx, instant(first-d.rl.hold), instant(frontier), slices.Sorted(maps.Keys(earliest)), nil, 0)
	if err != nil {
		return fmt.Errorf("read the reports of %d persons: %w", len(earliest), err)
	}
	byPerson := map[int64][]Report{}
	for _, r := range history {
		byPerson[r.Person] = append(byPerson[r.Person], r)
	}
	stored := map[int64][]Meeting{} // of each pair's first person
	for _, k := range pairs {
		if _, ok := stored[k[0]]; !ok {
			if stored[k[0]], err = d.h.Meetings(ctx, k[0], instant(earliest[k[0]]-d.rl.gap), instant(math.MaxInt64)); err != nil {
				return fmt.Errorf("read the meetings of person %d: %w", k[0], err)
			}
		}
	}
	for _, k := range pairs {
		d.redo(k[0], k[1], from[k]-d.rl.gap, frontier, byPerson, stored[k[0]])
	}
	return nil
}

// lateReport places report, older than the frontier, in memory if it is
// held into memory's time, and notes in from the pairs it changes, each
// from the start of the first meeting it can change (or the report's time).
func (d *Detector) lateReport(ctx context.Context, report Report, frontier int64, from map[[2]int64]int64) error {
	r := newRep(report)
	id := report.Person
	around, err := d.h.Reports(ctx, instant(r.t-d.rl.hold), instant(r.t+d.rl.hold), []int64{id}, nil, 0)
	if err != nil {
		return err
	}
	mine := d.merged(id, around, frontier)
	i, _ := mine.insert(r)
	t, e := r.t, mine.end(i, d.rl.hold)
	points := []Point{{r.lat, r.lon}}
	if i > 0 && mine.end(i-1, d.rl.hold) == t {
		points = append(points, Point{mine[i-1].lat, mine[i-1].lon})
	}
	if e > frontier { // it is held into memory's time
		d.place(id, r, frontier)
	}
	near, err := d.h.Reports(ctx, instant(t-d.rl.hold), instant(e), nil, points, d.rl.distance)
	if err != nil {
		return err
	}
	stored, err := d.meetings(ctx, id, t-d.rl.gap, e+d.rl.gap)
	if err != nil {
		return err
	}
	note := func(other, at int64) { // the pair of id and other changes from at
		k := [2]int64{min(id, other), max(id, other)}
		if lo, ok := from[k]; other != id && (!ok || at < lo) {
			from[k] = at
		}
	}
	for _, q := range near {
		note(q.Person, t)
	}
	for _, m := range stored {
		other := m.A
		if other == id {
			other = m.B
		}
		note(other, min(t, m.Started.UnixNano()))
	}
	return nil
}

// merged is the timeline of a person: History's reports before the
// frontier, and memory's.
func (d *Detector) merged(id int64, history []Report, frontier int64) timeline {
	var tl timeline
	if p := d.persons[id]; p != nil {
		tl = slices.Clone(p.reports)
	}
	for _, h := range history {
		if h.Person == id && h.Time.UnixNano() < frontier {
			tl.insert(newRep(h))
		}
	}
	return tl
}

// redo sweeps the pair of persons a < b from lo (where they were not
// together) to the frontier, replaces the stored meetings that started
// from lo on with the sweep's, and hands the meeting open at the frontier to
// memory. History's reports of each person from lo − Hold on are in
// reports, and its meetings of a from lo on in stored.
func (d *Detector) redo(a, b int64, lo, frontier int64, reports map[int64][]Report, stored []Meeting) {
	ta, tb := d.merged(a, reports[a], frontier), d.merged(b, reports[b], frontier)
	var closed []agg
	var r run
	d.rl.sweep(ta, tb, lo, frontier, &r, func(m agg) { closed = append(closed, m) })
	if r.open && r.last+d.rl.gap <= frontier { // it cannot grow from memory
		closed, r = append(closed, r.agg), run{}
	}
	cut := checkpoint{t: frontier, run: r}.cut()

	old := slices.DeleteFunc(d.pending(stored, a, lo, math.MaxInt64), func(m Meeting) bool {
		return m.B != b || m.Started.UnixNano() < lo
	})
	var before, after []Meeting
	for _, m := range old {
		if m.Started.UnixNano() < cut {
			before = append(before, m)
		} else {
			after = append(after, m)
		}
	}
	// The meetings closed before the frontier, against those stored.
	fresh := slices.Clone(closed)
	if r.open {
		fresh = append(fresh, r.agg)
	}
	for _, f := range closed {
		m := f.meeting(a, b, d.rl.gap, d.now)
		j := slices.IndexFunc(before, func(o Meeting) bool { return o.Started.Equal(m.Started) })
		if j >= 0 && sameMeeting(before[j], m) {
			continue
		}
		d.pend.upsert(m)
		if j < 0 && !slices.ContainsFunc(before, func(o Meeting) bool { return overlaps(aggOf(o), f) }) {
			d.pend.start(startOf(m, f.start, a, b, ta, tb))
		}
	}
	for _, o := range before {
		if slices.ContainsFunc(closed, func(f agg) bool { return f.start == o.Started.UnixNano() }) {
			continue
		}
		var into *Key
		if j := slices.IndexFunc(fresh, func(f agg) bool { return overlaps(aggOf(o), f) }); j >= 0 {
			into = &Key{A: a, B: b, Started: instant(fresh[j].start)}
		}
		d.pend.remove(o.Key, into)
	}

	// The rest is memory's: from a checkpoint at the frontier, against the
	// meetings stored from its open meeting on.
	pr := d.pairOf(a, b)
	if pr == nil {
		if !r.open {
			for _, o := range after { // they were memory's, and are no more
				d.pend.remove(o.Key, nil)
			}
			return
		}
		pr = d.newPair(d.person(a), d.person(b))
	}
	pr.marks = append(pr.marks[:0], checkpoint{t: frontier, run: r})
	pr.sent = pr.sent[:0]
	for _, o := range after {
		pr.sent = append(pr.sent, sent{aggOf(o), o.Ended})
	}
	// The open meeting, if new, starts here, where its first reports are at
	// hand.
	if f := r.agg; r.open && !slices.ContainsFunc(after, func(o Meeting) bool { return o.Started.UnixNano() == f.start }) {
		m := f.meeting(a, b, d.rl.gap, frontier)
		d.pend.upsert(m)
		if !slices.ContainsFunc(old, func(o Meeting) bool { return overlaps(aggOf(o), f) }) {
			d.pend.start(startOf(m, f.start, a, b, ta, tb))
		}
		pr.sent = append(pr.sent, sent{f, m.Ended})
		slices.SortFunc(pr.sent, func(x, y sent) int { return cmp.Compare(x.start, y.start) })
	}
	d.touch(pr, frontier)
}

// meetings returns the stored meetings of person that overlap [from, to],
// with the changes not yet taken applied, by start.
func (d *Detector) meetings(ctx context.Context, person int64, from, to int64) ([]Meeting, error) {
	all, err := d.h.Meetings(ctx, person, instant(from), instant(to))
	return d.pending(all, person, from, to), err
}

// pending returns all, History's meetings of person that overlap [from,
// to], with the changes not yet taken applied, by start.
func (d *Detector) pending(all []Meeting, person int64, from, to int64) []Meeting {
	byKey := map[Key]Meeting{}
	for _, m := range all {
		byKey[m.Key] = m
	}
	for _, c := range d.pend.changes {
		m := c.m
		switch {
		case c.removed:
			delete(byKey, m.Key)
		case (m.A == person || m.B == person) && m.Started.UnixNano() <= to && m.LastSeen.UnixNano() >= from:
			byKey[m.Key] = m
		}
	}
	ms := make([]Meeting, 0, len(byKey))
	for _, m := range byKey {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(x, y Meeting) int { return x.Started.Compare(y.Started) })
	return ms
}

// sameMeeting tells whether x and y are the same meeting with the same
// values, floats within 1e-9.
func sameMeeting(x, y Meeting) bool {
	return x.A == y.A && x.B == y.B && x.Started.Equal(y.Started) && x.LastSeen.Equal(y.LastSeen) &&
		x.Together == y.Together && x.Ended == y.Ended &&
		math.Abs(x.ClosestM-y.ClosestM) <= 1e-9 && math.Abs(x.Lat-y.Lat) <= 1e-9 && math.Abs(x.Lon-y.Lon) <= 1e-9
}

// aggOf is a stored meeting as a sweep's.
func aggOf(m Meeting) agg {
	together := int64(m.Together)
	return agg{
		start: m.Started.UnixNano(), last: m.LastSeen.UnixNano(), together: together,
		closest: m.ClosestM, sumLat: m.Lat * float64(together), sumLon: m.Lon * float64(together),
	}
}
