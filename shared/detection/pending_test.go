package detection

import (
	"context"
	"testing"
	"time"

	"github.com/udaconnect/udaconnect/shared/detect"
)

func meeting(a, b int64, start, last int, ended bool) detect.Meeting {
	at := func(m int) time.Time { return time.Date(2021, 5, 5, 10, m, 0, 0, time.UTC) }
	return detect.Meeting{Key: detect.Key{A: a, B: b, Started: at(start)}, LastSeen: at(last), Ended: ended}
}

// Changes pile up as the last of each meeting. A meeting not yet written
// open may not wait; once written open, its growth waits for a flush with
// growth and is written once, in place; a removal that a later upsert undoes is gone;
// an end and a removal may not wait.
func TestPending(t *testing.T) {
	p := newPending()
	m := meeting(1, 2, 0, 5, false)
	p.add(detect.Changes{Upserted: []detect.Meeting{m}})
	if !p.waiting() {
		t.Error("a meeting not yet written waits")
	}
	up, grown, removed := p.changes(true)
	if len(up) != 1 || up[0] != m || len(grown) != 0 || len(removed) != 0 {
		t.Fatalf("changes = %v, %v, %v; want the new meeting upserted", up, grown, removed)
	}
	p.written(up, grown, removed)

	p.add(detect.Changes{Upserted: []detect.Meeting{meeting(1, 2, 0, 7, false)}})
	bigger := meeting(1, 2, 0, 9, false)
	p.add(detect.Changes{Upserted: []detect.Meeting{bigger}})
	if p.waiting() {
		t.Error("a meeting written open that only grows is written at once")
	}
	if up, grown, removed = p.changes(false); len(up) != 0 || len(grown) != 0 || len(removed) != 0 {
		t.Errorf("changes without growth = %v, %v, %v; want none", up, grown, removed)
	}
	up, grown, removed = p.changes(true)
	if len(up) != 0 || len(grown) != 1 || grown[0] != bigger || len(removed) != 0 {
		t.Errorf("changes with growth = %v, %v, %v; want the meeting grown, once", up, grown, removed)
	}

	moved := meeting(1, 2, -3, 9, false)
	p.add(detect.Changes{Removed: []detect.Removed{{Key: bigger.Key}}, Upserted: []detect.Meeting{moved}})
	if !p.waiting() {
		t.Error("a meeting that moved its start waits")
	}
	if by := p.byPerson[1]; len(by) != 1 || !by[moved.Key] || len(p.byPerson[2]) != 1 {
		t.Errorf("person 1's waiting upserts = %v; want the moved meeting's alone", by)
	}
	up, grown, removed = p.changes(false)
	if len(up) != 1 || up[0] != moved || len(grown) != 0 || len(removed) != 1 || removed[0].Key != bigger.Key {
		t.Errorf("changes = %v, %v, %v; want the moved meeting written and the old one removed", up, grown, removed)
	}
	p.add(detect.Changes{Upserted: []detect.Meeting{bigger}}) // back again, still written open
	if _, grown, removed = p.changes(true); len(grown) != 1 || grown[0] != bigger || len(removed) != 0 {
		t.Errorf("changes with growth = %v, %v; want it grown, and no removal once upserted again", grown, removed)
	}
	p.written(p.changes(true))
	if !p.empty() || len(p.byPerson) != 0 {
		t.Errorf("pending = %+v after everything was written; want empty", p)
	}

	p.add(detect.Changes{Upserted: []detect.Meeting{meeting(1, 2, 0, 10, false)}})
	ended := meeting(1, 2, 0, 11, true)
	p.add(detect.Changes{Upserted: []detect.Meeting{ended}})
	if !p.waiting() {
		t.Error("a meeting that ended waits")
	}
	if up, grown, _ = p.changes(true); len(up) != 1 || up[0] != ended || len(grown) != 0 {
		t.Errorf("changes = %v, %v; want the meeting that grew, then ended, upserted", up, grown)
	}
	p.written(p.changes(false))
	if p.open[ended.Key] {
		t.Error("a meeting written ended is still open")
	}
}

// stored is a History whose meetings are those given.
type stored []detect.Meeting

func (s stored) Reports(context.Context, time.Time, time.Time, []int64, []detect.Point, float64) ([]detect.Report, error) {
	return nil, nil
}

func (s stored) Meetings(_ context.Context, person int64, from, to time.Time) ([]detect.Meeting, error) {
	return append([]detect.Meeting(nil), s...), nil
}

// The detector sees the stored meetings through the changes not yet
// written.
func TestOverlay(t *testing.T) {
	gone, kept, stale := meeting(1, 2, 0, 5, true), meeting(1, 3, 0, 5, true), meeting(1, 4, 0, 5, false)
	fresh := meeting(1, 4, 0, 8, false)
	other := meeting(5, 6, 0, 8, false)  // not person 1's
	late := meeting(1, 7, 30, 35, false) // after the times asked
	p := newPending()
	p.add(detect.Changes{Removed: []detect.Removed{{Key: gone.Key}}, Upserted: []detect.Meeting{fresh, other, late}})
	o := overlay{stored{gone, kept, stale}, &p}
	got, err := o.Meetings(context.Background(), 1, gone.Started, gone.Started.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := map[detect.Key]detect.Meeting{kept.Key: kept, fresh.Key: fresh}
	if len(got) != len(want) {
		t.Fatalf("Meetings = %v; want %v", got, want)
	}
	for _, m := range got {
		if want[m.Key] != m {
			t.Errorf("Meetings has %v; want %v", m, want)
		}
	}
}
