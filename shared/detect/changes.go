package detect

import (
	"cmp"
	"slices"
)

// pending are the changes not yet returned by Changes, in the order they
// were made: the latest for a meeting wins.
type pending struct {
	changes []change
	started []Start
}

// change is a meeting upserted, or removed (into another one, if merged).
type change struct {
	m       Meeting
	removed bool
	into    *Key
}

func (p *pending) upsert(m Meeting) { p.changes = append(p.changes, change{m: m}) }
func (p *pending) remove(k Key, into *Key) {
	p.changes = append(p.changes, change{m: Meeting{Key: k}, removed: true, into: into})
}
func (p *pending) start(s Start)        { p.started = append(p.started, s) }
func byKey(x, y change) int             { return compareKey(x.m.Key, y.m.Key) }
func startByKey(x, y Start) int         { return compareKey(x.Key, y.Key) }
func meetingByKey(x Meeting, k Key) int { return compareKey(x.Key, k) }

// ordered is the key of a change, and its index in the order made.
type ordered struct {
	a, b, started int64
	i             int
}

func (o ordered) key() [3]int64 { return [3]int64{o.a, o.b, o.started} }

func compareOrdered(x, y ordered) int {
	switch {
	case x.a != y.a:
		return cmp.Compare(x.a, y.a)
	case x.b != y.b:
		return cmp.Compare(x.b, y.b)
	case x.started != y.started:
		return cmp.Compare(x.started, y.started)
	}
	return cmp.Compare(x.i, y.i)
}

// take returns the changes, one per meeting, sorted by key, and forgets
// them. A start whose meeting went again is left out; the others carry the
// meeting's latest values.
func (p *pending) take() Changes {
	c := Changes{Upserted: make([]Meeting, 0, len(p.changes))}
	// By key, then in the order made; the changes themselves are large, so
	// their indexes are sorted.
	order := make([]ordered, len(p.changes))
	for i, ch := range p.changes {
		order[i] = ordered{ch.m.A, ch.m.B, ch.m.Started.UnixNano(), i}
	}
	slices.SortFunc(order, compareOrdered)
	for j, o := range order {
		if j+1 < len(order) && order[j+1].key() == o.key() {
			continue // a later change of the same meeting wins
		}
		ch := p.changes[o.i]
		if ch.removed {
			c.Removed = append(c.Removed, Removed{Key: ch.m.Key, Into: ch.into})
		} else {
			c.Upserted = append(c.Upserted, ch.m)
		}
	}
	order = order[:0]
	for i, s := range p.started {
		order = append(order, ordered{s.A, s.B, s.Started.UnixNano(), i})
	}
	slices.SortFunc(order, compareOrdered)
	for j, o := range order {
		if j+1 < len(order) && order[j+1].key() == o.key() {
			continue // the same start, seen again
		}
		s := p.started[o.i]
		if j, ok := slices.BinarySearchFunc(c.Upserted, s.Key, meetingByKey); ok {
			s.Meeting = c.Upserted[j]
			c.Started = append(c.Started, s)
		}
	}
	clear(p.changes)
	p.changes = p.changes[:0]
	clear(p.started)
	p.started = p.started[:0]
	return c
}

func compareKey(x, y Key) int {
	return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B), x.Started.Compare(y.Started))
}
