package detect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The snapshot format: a version, the rules, the times, then each person's
// reports, each pair's checkpoints and meetings sent, and the changes not yet
// taken. Integers are varints, floats their 8 bytes; times in memory are
// differences from the detector's time (or from the time before them), so
// that they take a few bytes, not nine; a checkpoint with no meeting open
// carries none.
const snapshotVersion = 6

// MarshalBinary encodes the detector's whole state (for scale to zero and
// failover); UnmarshalBinary restores it into a detector made by New with the
// same Params.
func (d *Detector) MarshalBinary() ([]byte, error) {
	d.file()
	// About what a snapshot of the halls measures: a pair is most of it.
	w := writer{b: make([]byte, 0, 64*len(d.persons)+200*d.pairs), now: d.now}
	w.int(snapshotVersion)
	w.float(d.rl.distance)
	w.int(d.rl.hold)
	w.int(d.rl.gap)
	w.int(d.rl.late)
	w.int(d.now)
	w.int(d.newest)
	w.int(d.evaluated)
	w.int(d.pruned)
	w.int(int64(len(d.persons)))
	for _, p := range d.persons {
		w.int(p.id)
		w.int(int64(len(p.reports)))
		id, t := int64(0), d.now
		for _, r := range p.reports {
			w.int(r.id - id)
			w.int(r.t - t)
			w.float(r.lat)
			w.float(r.lon)
			id, t = r.id, r.t
		}
	}
	w.int(int64(d.pairs))
	d.eachPair(func(pr *pair) {
		w.int(pr.a.id)
		w.int(pr.b.id)
		w.bool(pr.dirty != math.MaxInt64)
		if pr.dirty != math.MaxInt64 {
			w.at(pr.dirty)
		}
		w.bool(pr.growing >= 0)
		w.at(pr.wake)
		w.at(pr.last)
		w.int(int64(len(pr.marks)))
		for _, c := range pr.marks {
			w.at(c.t)
			w.bool(c.open)
			w.bool(c.agg != agg{})
			if c.agg != (agg{}) {
				w.agg(c.agg)
			}
		}
		w.int(int64(len(pr.sent)))
		for _, s := range pr.sent {
			w.agg(s.agg)
			w.bool(s.ended)
		}
	})
	w.int(int64(len(d.pend.changes)))
	for _, c := range d.pend.changes {
		w.meeting(c.m)
		w.bool(c.removed)
		w.bool(c.into != nil)
		if c.into != nil {
			w.key(*c.into)
		}
	}
	w.int(int64(len(d.pend.started)))
	for _, s := range d.pend.started {
		w.meeting(s.Meeting)
		w.report(s.Report)
		w.report(s.Near)
		w.float(s.Distance)
	}
	return w.b, nil
}

// UnmarshalBinary restores a state encoded by MarshalBinary, replacing d's.
func (d *Detector) UnmarshalBinary(data []byte) error {
	r := reader{b: data}
	if v := r.int(); v != snapshotVersion {
		return fmt.Errorf("snapshot version %d, want %d", v, snapshotVersion)
	}
	if rl := (rules{distance: r.float(), hold: r.int(), gap: r.int(), late: r.int()}); r.err == nil && rl != d.rl {
		return fmt.Errorf("snapshot made with %+v, detector has %+v", rl, d.rl)
	}
	fresh := New(d.p, d.h)
	fresh.now, fresh.newest, fresh.evaluated, fresh.pruned = r.int(), r.int(), r.int(), r.int()
	r.now = fresh.now
	for n := r.count(); n > 0 && r.err == nil; n-- {
		p := fresh.person(r.int())
		id, t := int64(0), fresh.now
		for m := r.count(); m > 0 && r.err == nil; m-- {
			id, t = id+r.int(), t+r.int()
			lat, lon := r.float(), r.float()
			if _, added := p.add(rep{id: id, t: t, lat: lat, lon: lon, s: scaleAt(lat)}); added {
				fresh.grid.add(p, lat, lon)
			}
		}
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		a, b := fresh.persons[r.int()], fresh.persons[r.int()]
		if a == nil || b == nil || a.id >= b.id {
			return errors.New("snapshot: a pair of unknown persons")
		}
		// Filed in the order read, sorted at the end.
		pr := unfiled(a, b)
		a.partners = append(a.partners, partner{b.slot, pr})
		b.partners = append(b.partners, partner{a.slot, pr})
		fresh.pairs++
		dirty := int64(math.MaxInt64)
		if r.bool() {
			dirty = r.at()
		}
		fresh.grow(pr, r.bool())
		pr.wake, pr.last = r.at(), r.at()
		for m := r.count(); m > 0 && r.err == nil; m-- {
			c := checkpoint{t: r.at(), run: run{open: r.bool()}}
			if r.bool() {
				c.agg = r.agg()
			}
			pr.marks = append(pr.marks, c)
		}
		for m := r.count(); m > 0 && r.err == nil; m-- {
			pr.sent = append(pr.sent, sent{agg: r.agg(), ended: r.bool()})
		}
		if len(pr.marks) == 0 && r.err == nil {
			return errors.New("snapshot: a pair without checkpoints")
		}
		if dirty != math.MaxInt64 {
			fresh.touch(pr, dirty)
		}
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		c := change{m: r.meeting(), removed: r.bool()}
		if r.bool() {
			into := r.key()
			c.into = &into
		}
		fresh.pend.changes = append(fresh.pend.changes, c)
	}
	for n := r.count(); n > 0 && r.err == nil; n-- {
		fresh.pend.start(Start{Meeting: r.meeting(), Report: r.report(), Near: r.report(), Distance: r.float()})
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = errors.New("trailing bytes")
	}
	for _, p := range fresh.persons {
		if r.err == nil && !p.sortPartners() {
			r.err = errors.New("a pair twice")
		}
	}
	if r.err != nil {
		return fmt.Errorf("snapshot: %w", r.err)
	}
	*d = *fresh
	return nil
}

type writer struct {
	b   []byte
	now int64 // the detector's time
}

func (w *writer) int(v int64) { w.b = binary.AppendVarint(w.b, v) }

// at writes a time in memory as its difference from the detector's time
// (wrapping around for the sentinels math.MinInt64 and math.MaxInt64).
func (w *writer) at(t int64)      { w.int(t - w.now) }
func (w *writer) float(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *writer) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *writer) time(t time.Time) { w.int(t.UnixNano()) }

func (w *writer) agg(m agg) {
	w.at(m.start)
	w.int(m.last - m.start)
	w.int(m.together)
	w.float(m.closest)
	w.float(m.sumLat)
	w.float(m.sumLon)
}

func (w *writer) key(k Key) {
	w.int(k.A)
	w.int(k.B)
	w.time(k.Started)
}

func (w *writer) meeting(m Meeting) {
	w.key(m.Key)
	w.time(m.LastSeen)
	w.int(int64(m.Together))
	w.float(m.ClosestM)
	w.float(m.Lat)
	w.float(m.Lon)
	w.bool(m.Ended)
}

func (w *writer) report(r Report) {
	w.int(r.ID)
	w.int(r.Person)
	w.time(r.Time)
	w.float(r.Lat)
	w.float(r.Lon)
}

// reader reads what writer wrote; the first error sticks, and reads after it
// return zeros.
type reader struct {
	b   []byte
	now int64 // the detector's time, once read
	err error
}

func (r *reader) int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, which cannot exceed the bytes left.
func (r *reader) count() int {
	n := r.int()
	if r.err == nil && (n < 0 || n > int64(len(r.b))) {
		r.err = errors.New("bad length")
	}
	if r.err != nil {
		return 0
	}
	return int(n)
}

func (r *reader) float() float64 {
	if r.err == nil && len(r.b) < 8 {
		r.err = errors.New("truncated")
	}
	if r.err != nil {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

func (r *reader) bool() bool {
	if r.err == nil && len(r.b) < 1 {
		r.err = errors.New("truncated")
	}
	if r.err != nil {
		return false
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v == 1
}

func (r *reader) at() int64 { return r.int() + r.now }

func (r *reader) time() time.Time { return time.Unix(0, r.int()).UTC() }

func (r *reader) agg() agg {
	var m agg
	m.start = r.at()
	m.last = m.start + r.int()
	m.together = r.int()
	m.closest, m.sumLat, m.sumLon = r.float(), r.float(), r.float()
	return m
}

func (r *reader) key() Key { return Key{A: r.int(), B: r.int(), Started: r.time()} }

func (r *reader) meeting() Meeting {
	m := Meeting{Key: r.key(), LastSeen: r.time(), Together: time.Duration(r.int())}
	m.ClosestM, m.Lat, m.Lon = r.float(), r.float(), r.float()
	m.Ended = r.bool()
	return m
}

func (r *reader) report() Report {
	return Report{ID: r.int(), Person: r.int(), Time: r.time(), Lat: r.float(), Lon: r.float()}
}
