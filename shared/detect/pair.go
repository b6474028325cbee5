package detect

import (
	"math"
	"slices"
)

// A pair is two people who have been together within the detector's memory.
// Its meetings follow from the two timelines: a sweep from a checkpoint (the
// sweep's state at a time) to the detector's time gives every meeting from
// that checkpoint's open meeting on. A report at t changes the pair only
// from t on, so the sweep resumes from the latest checkpoint at or before t:
// for reports in time order that is the last one, and the work is that of
// the few reports since.
type pair struct {
	// What filing it among the dirty looks at comes first.
	//
	// dirty is the earliest time changed since the last evaluation
	// (math.MaxInt64: none, else the pair is in Detector.dirty).
	dirty int64
	wake  int64 // when time passing changes it next
	// growing is the pair's index in Detector.growing, or -1: it is there
	// while time passing can change it (its last meeting has not ended, or
	// one of the two has reported at or after the detector's time).
	growing int
	last    int64 // the end of the last together-moment; math.MinInt64 if none

	a, b *person // a.id < b.id
	// marks are checkpoints by time, the first at or before the frontier (or
	// the first moment the pair could be together).
	marks []checkpoint
	// sent are the meetings last reported from the open meeting of marks[0]
	// on, by start.
	sent []sent
	// The usual few checkpoints and meetings sent live in the pair itself,
	// where evaluating it finds them without another cache miss.
	markBuf [3]checkpoint
	sentBuf [1]sent
}

type checkpoint struct {
	t int64
	run
}

type sent struct {
	agg
	ended bool
}

// newPair makes the pair of a and b, filed with both.
func (d *Detector) newPair(a, b *person) *pair {
	pr := unfiled(a, b)
	pr.a.file(pr.b, pr)
	pr.b.file(pr.a, pr)
	d.pairs++
	return pr
}

// unfiled returns a pair of a and b, not yet filed with them.
func unfiled(a, b *person) *pair {
	if a.id > b.id {
		a, b = b, a
	}
	pr := &pair{a: a, b: b, dirty: math.MaxInt64, growing: -1, last: math.MinInt64}
	pr.marks, pr.sent = pr.markBuf[:0], pr.sentBuf[:0]
	return pr
}

// eachPair calls f with each pair, once.
func (d *Detector) eachPair(f func(*pair)) {
	for _, p := range d.persons {
		for _, pt := range p.partners {
			if pt.pr.a == p {
				f(pt.pr)
			}
		}
	}
}

// resume returns the latest checkpoint at or before t, and forgets those
// after it. With none, the pair was not together before t (they were not
// before the first checkpoint, and nothing changed before t): the first
// checkpoint is then an empty sweep at t.
func (pr *pair) resume(t int64) checkpoint {
	i := len(pr.marks) - 1
	for i >= 0 && pr.marks[i].t > t {
		i--
	}
	pr.marks = pr.marks[:i+1]
	if i < 0 {
		pr.marks = append(pr.marks, checkpoint{t: t})
		return pr.marks[0]
	}
	return pr.marks[i]
}

// keep adds a checkpoint. The last one moves forward until it is spacing
// after the one before it, so that checkpoints stay spacing apart.
func (pr *pair) keep(c checkpoint, spacing int64) {
	n := len(pr.marks)
	switch {
	case n > 0 && pr.marks[n-1].t == c.t:
		pr.marks[n-1] = c
	case n > 1 && c.t-pr.marks[n-2].t < spacing:
		pr.marks[n-1] = c
	default:
		pr.marks = append(pr.marks, c)
	}
}

// cut is the start of the first meeting that a sweep from c reports.
func (c checkpoint) cut() int64 {
	if c.open {
		return c.start
	}
	return c.t
}

// forget drops the checkpoints before the last one at or before frontier,
// and the meetings sent before it: they can no longer change in memory.
func (pr *pair) forget(frontier int64) {
	i := len(pr.marks) - 1
	for i > 0 && pr.marks[i].t > frontier {
		i--
	}
	pr.marks = shift(pr.marks, max(i, 0), pr.markBuf[:])
	if len(pr.marks) == 0 {
		return
	}
	cut := pr.marks[0].cut()
	i = 0
	for i < len(pr.sent) && pr.sent[i].start < cut {
		i++
	}
	pr.sent = shift(pr.sent, i, pr.sentBuf[:])
}

// shift drops the first i elements of s, and moves the rest into buf (a
// pair's own) if they fit.
func shift[T any](s []T, i int, buf []T) []T {
	if len(s)-i <= len(buf) {
		return append(buf[:0], s[i:]...)
	}
	return slices.Delete(s, 0, i)
}

// overlaps tells whether two meetings share a moment (their closed spans).
func overlaps(x, y agg) bool { return x.start <= y.last && y.start <= x.last }
