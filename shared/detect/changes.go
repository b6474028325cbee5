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

// take returns the changes, one per meeting, sorted by key, and forgets
// them. A start whose meeting went again is left out; the others carry the
// meeting's latest values.
func (p *pending) take() Changes {
	var c Changes
	slices.SortStableFunc(p.changes, byKey)
	for i, ch := range p.changes {
		if i+1 < len(p.changes) && p.changes[i+1].m.Key == ch.m.Key {
			continue // a later change of the same meeting wins
		}
		if ch.removed {
			c.Removed = append(c.Removed, Removed{Key: ch.m.Key, Into: ch.into})
		} else {
			c.Upserted = append(c.Upserted, ch.m)
		}
	}
	slices.SortStableFunc(p.started, startByKey)
	for i, s := range p.started {
		if i+1 < len(p.started) && p.started[i+1].Key == s.Key {
			continue
		}
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
