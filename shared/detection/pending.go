package detection

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/udaconnect/udaconnect/shared/detect"
)

// pending are the changes of meetings found but not yet written, each
// meeting's latest only: a meeting that grows at every step is written once
// per flush.
type pending struct {
	upserted map[detect.Key]detect.Meeting
	removed  map[detect.Key]*detect.Key
	prompt   bool // a meeting started, ended or went
}

func newPending() pending {
	return pending{upserted: map[detect.Key]detect.Meeting{}, removed: map[detect.Key]*detect.Key{}}
}

// add applies c over what waits: its removals, then its upserts.
func (p *pending) add(c detect.Changes) {
	for _, r := range c.Removed {
		delete(p.upserted, r.Key)
		p.removed[r.Key] = r.Into
		p.prompt = true
	}
	for _, m := range c.Upserted {
		delete(p.removed, m.Key)
		p.upserted[m.Key] = m
		p.prompt = p.prompt || m.Ended
	}
	p.prompt = p.prompt || len(c.Started) > 0
}

func (p *pending) empty() bool { return len(p.upserted) == 0 && len(p.removed) == 0 }

// changes returns what waits, in a fixed order (by key).
func (p *pending) changes() ([]detect.Meeting, []detect.Removed) {
	upserted := make([]detect.Meeting, 0, len(p.upserted))
	for _, m := range p.upserted {
		upserted = append(upserted, m)
	}
	slices.SortFunc(upserted, func(a, b detect.Meeting) int { return compareKeys(a.Key, b.Key) })
	removed := make([]detect.Removed, 0, len(p.removed))
	for k, into := range p.removed {
		removed = append(removed, detect.Removed{Key: k, Into: into})
	}
	slices.SortFunc(removed, func(a, b detect.Removed) int { return compareKeys(a.Key, b.Key) })
	return upserted, removed
}

func compareKeys(a, b detect.Key) int {
	return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B), a.Started.Compare(b.Started))
}

// overlay is the stored history seen through the changes not yet written:
// the detector asks it for meetings as if every change were stored.
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
	for _, m := range o.p.upserted {
		if (m.A == person || m.B == person) && !m.Started.After(to) && !m.LastSeen.Before(from) {
			meetings = append(meetings, m)
		}
	}
	return meetings, nil
}
