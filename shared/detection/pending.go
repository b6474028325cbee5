package detection

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/udaconnect/udaconnect/shared/detect"
)

// pending are the changes of meetings found but not yet written, each
// meeting's latest only, told apart by how soon they must be written: a
// meeting that starts, ends or goes at once; one that only grows, once
// written open, may wait, and is then written once however often it grew,
// in place. A meeting grows at nearly every report near it, so a growth of
// a meeting already waiting costs one look-up.
type pending struct {
	upserted map[detect.Key]*upsert
	prompts  int // upserted that may not wait
	removed  map[detect.Key]*detect.Key
	open     map[detect.Key]bool // written, and open when written
	// The keys of upserted by each of their two persons, so that a
	// person's are found without going through all.
	byPerson map[int64]map[detect.Key]bool
}

// upsert is a meeting's latest values waiting, and whether it may wait.
type upsert struct {
	m      detect.Meeting
	prompt bool
}

func newPending() pending {
	return pending{upserted: map[detect.Key]*upsert{}, removed: map[detect.Key]*detect.Key{},
		open: map[detect.Key]bool{}, byPerson: map[int64]map[detect.Key]bool{}}
}

// add applies c over what waits: its removals, then its upserts.
func (p *pending) add(c detect.Changes) {
	for _, r := range c.Removed {
		p.drop(r.Key)
		p.removed[r.Key] = r.Into
	}
	for _, m := range c.Upserted {
		u := p.upserted[m.Key]
		fresh := u == nil
		if fresh {
			if len(p.removed) > 0 {
				delete(p.removed, m.Key)
			}
			u = &upsert{}
			p.upserted[m.Key] = u
			for _, person := range [2]int64{m.A, m.B} {
				if p.byPerson[person] == nil {
					p.byPerson[person] = map[detect.Key]bool{}
				}
				p.byPerson[person][m.Key] = true
			}
		}
		u.m = m
		// Whether the meeting was written open does not change while its
		// upsert waits (written takes it out of what waits).
		if !u.prompt && (m.Ended || fresh && !p.open[m.Key]) {
			u.prompt = true
			p.prompts++
		}
	}
}

// drop takes the upsert of k, if one waits, out of what waits.
func (p *pending) drop(k detect.Key) {
	u := p.upserted[k]
	if u == nil {
		return
	}
	if u.prompt {
		p.prompts--
	}
	delete(p.upserted, k)
	for _, person := range [2]int64{k.A, k.B} {
		delete(p.byPerson[person], k)
		if len(p.byPerson[person]) == 0 {
			delete(p.byPerson, person)
		}
	}
}

func (p *pending) empty() bool { return len(p.upserted) == 0 && len(p.removed) == 0 }

// waiting reports whether changes wait that may not.
func (p *pending) waiting() bool { return p.prompts > 0 || len(p.removed) > 0 }

// changes returns what waits, in a fixed order (by key): the meetings to
// upsert, those that only grew since they were written open (with growth
// only: written in place), and the removals. Without growth, only the
// changes that may not wait.
func (p *pending) changes(growth bool) (upserted, grown []detect.Meeting, removed []detect.Removed) {
	for _, u := range p.upserted {
		switch {
		case u.prompt:
			upserted = append(upserted, u.m)
		case growth:
			grown = append(grown, u.m)
		}
	}
	byKey := func(a, b detect.Meeting) int { return compareKeys(a.Key, b.Key) }
	slices.SortFunc(upserted, byKey)
	slices.SortFunc(grown, byKey)
	for k, into := range p.removed {
		removed = append(removed, detect.Removed{Key: k, Into: into})
	}
	slices.SortFunc(removed, func(a, b detect.Removed) int { return compareKeys(a.Key, b.Key) })
	return upserted, grown, removed
}

// written takes the changes that were written out of what waits.
func (p *pending) written(upserted, grown []detect.Meeting, removed []detect.Removed) {
	for _, m := range slices.Concat(upserted, grown) {
		p.drop(m.Key)
		if m.Ended {
			delete(p.open, m.Key)
		} else {
			p.open[m.Key] = true
		}
	}
	for _, r := range removed {
		delete(p.removed, r.Key)
		delete(p.open, r.Key)
	}
}

func compareKeys(a, b detect.Key) int {
	return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B), a.Started.Compare(b.Started))
}

// overlay is the stored history seen through the changes not yet written:
// the detector asks it for meetings as if every change were stored. A
// person's waiting upserts are read through their index, so that a late
// report costs what its persons' meetings do, however many wait.
type overlay struct {
	detect.History
	p *pending
}

func (o overlay) Meetings(ctx context.Context, person int64, from, to time.Time) ([]detect.Meeting, error) {
	stored, err := o.History.Meetings(ctx, person, from, to)
	if err != nil {
		return nil, err
	}
	meetings := slices.DeleteFunc(stored, func(m detect.Meeting) bool {
		_, gone := o.p.removed[m.Key]
		_, newer := o.p.upserted[m.Key]
		return gone || newer
	})
	for k := range o.p.byPerson[person] {
		if m := o.p.upserted[k].m; !m.Started.After(to) && !m.LastSeen.Before(from) {
			meetings = append(meetings, m)
		}
	}
	return meetings, nil
}
