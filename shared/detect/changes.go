package detect

import (
	"cmp"
	"slices"
)

// pending are the changes not yet returned by Changes, by meeting: the
// latest of each wins.
type pending struct {
	upserted map[Key]Meeting
	removed  map[Key]*Key
	started  map[Key]Start
}

func newPending() pending {
	return pending{upserted: map[Key]Meeting{}, removed: map[Key]*Key{}, started: map[Key]Start{}}
}

func (p *pending) upsert(m Meeting) {
	delete(p.removed, m.Key)
	p.upserted[m.Key] = m
}

func (p *pending) remove(k Key, into *Key) {
	delete(p.upserted, k)
	p.removed[k] = into
}

func (p *pending) start(s Start) { p.started[s.Key] = s }

// take returns the changes, sorted by key, and forgets them. A start whose
// meeting went again is left out; the others carry the meeting's latest
// values.
func (p *pending) take() Changes {
	var c Changes
	for _, m := range p.upserted {
		c.Upserted = append(c.Upserted, m)
	}
	for k, into := range p.removed {
		c.Removed = append(c.Removed, Removed{Key: k, Into: into})
	}
	for k, s := range p.started {
		if m, ok := p.upserted[k]; ok {
			s.Meeting = m
			c.Started = append(c.Started, s)
		}
	}
	slices.SortFunc(c.Upserted, func(x, y Meeting) int { return compareKey(x.Key, y.Key) })
	slices.SortFunc(c.Removed, func(x, y Removed) int { return compareKey(x.Key, y.Key) })
	slices.SortFunc(c.Started, func(x, y Start) int { return compareKey(x.Key, y.Key) })
	clear(p.upserted)
	clear(p.removed)
	clear(p.started)
	return c
}

func compareKey(x, y Key) int {
	return cmp.Or(cmp.Compare(x.A, y.A), cmp.Compare(x.B, y.B), x.Started.Compare(y.Started))
}
