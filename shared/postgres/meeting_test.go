package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// at is a report of a scene: who, minutes after 10:00, metres north of the
// booth at (lat0, lon0).
type at struct {
	who   string
	min   int
	north float64
}

// every is who's reports at metres north, every step minutes from first to
// last.
func every(who string, first, last, step int, north float64) []at {
	var rs []at
	for m := first; m <= last; m += step {
		rs = append(rs, at{who, m, north})
	}
	return rs
}

var people = []string{"ann", "bob", "cat", "dan"}

// scene is people and their reports on the day of the fixtures, in the
// database of one test.
type scene struct {
	db  *postgres.DB
	ids map[string]int64 // person by name
}

func newScene(t *testing.T) *scene {
	s := &scene{db: pgtest.MustOpenDB(t), ids: map[string]int64{}}
	for _, name := range people {
		s.ids[name] = mustCreatePerson(t, s.db, name, "Scene").ID
	}
	return s
}

// deliver stores the reports and updates the meetings with them, as
// connections does with a batch of recorded locations.
func (s *scene) deliver(t *testing.T, rs []at) []int64 {
	t.Helper()
	reports := make([]udaconnect.Report, len(rs))
	for i, r := range rs {
		reports[i] = report(fmt.Sprintf("%s-%d-%g", r.who, r.min, r.north), s.ids[r.who], north(r.north), lon0, clock(10, r.min))
	}
	var ids []int64
	for _, l := range mustStore(t, s.db, reports...) {
		ids = append(ids, l.ID)
	}
	if _, err := s.db.UpdateMeetings(context.Background(), ids); err != nil {
		t.Fatalf("UpdateMeetings: %v", err)
	}
	return ids
}

// meetings renders every meeting once, as "ann+bob 10:00-10:30", then
// " ended" when it is, sorted.
func (s *scene) meetings(t *testing.T) []string {
	t.Helper()
	var got []string
	for _, name := range people {
		ms, err := s.db.FindMeetings(context.Background(), udaconnect.MeetingQuery{PersonID: s.ids[name], Limit: udaconnect.MaxMeetingLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Person.ID < s.ids[name] {
				continue // rendered from the other side
			}
			r := fmt.Sprintf("%s+%s %s-%s", name, m.Person.FirstName, m.Started.Format("15:04"), m.LastSeen.Format("15:04"))
			if m.Ended {
				r += " ended"
			}
			got = append(got, r)
		}
	}
	slices.Sort(got)
	return got
}

// changes are every change of every meeting so far, by person.
func (s *scene) changes(t *testing.T) map[string][]udaconnect.Meeting {
	t.Helper()
	all := map[string][]udaconnect.Meeting{}
	for _, name := range people {
		ms, err := s.db.FindMeetingChanges(context.Background(), s.ids[name], 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all[name] = ms
	}
	return all
}

// pairsByOracle are the pairs that the compatible connection route, with a
// window of 15 minutes, finds near each other on the day.
func (s *scene) pairsByOracle(t *testing.T) []string {
	t.Helper()
	var pairs []string
	for _, name := range people {
		conns, err := s.db.FindConnections(context.Background(), udaconnect.ConnectionQuery{
			PersonID: s.ids[name], Start: fixtureDay, End: fixtureDay.AddDate(0, 0, 1),
			Distance: udaconnect.DetectDistance, Window: udaconnect.DetectWindow,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			if c.Person.ID > s.ids[name] {
				pairs = append(pairs, name+"+"+c.Person.FirstName)
			}
		}
	}
	slices.Sort(pairs)
	return slices.Compact(pairs)
}

func pairsOf(meetings []string) []string {
	var pairs []string
	for _, m := range meetings {
		pairs = append(pairs, strings.Fields(m)[0])
	}
	slices.Sort(pairs)
	return slices.Compact(pairs)
}

func TestMeetings(t *testing.T) {
	for _, tt := range []struct {
		name    string
		batches [][]at // delivered one after the other
		want    []string
	}{
		{
			name: "join, stay, leave",
			batches: [][]at{
				every("ann", 0, 30, 5, 0),
				{{"bob", 5, 2}, {"bob", 10, 2}, {"bob", 15, 2}},
				{{"bob", 20, 100}, {"bob", 25, 100}, {"bob", 50, 100}}, // gone, and reporting past 10:45
			},
			// Bob's 10:15 is within 15 minutes of Ann's 10:00 to 10:30.
			want: []string{"ann+bob 10:00-10:30 ended"},
		},
		{
			name: "still together",
			batches: [][]at{
				every("ann", 0, 30, 5, 0),
				every("bob", 0, 30, 10, 1),
			},
			want: []string{"ann+bob 10:00-10:30"},
		},
		{
			name: "rejoin after the window",
			batches: [][]at{
				every("ann", 0, 90, 10, 0),
				{{"bob", 0, 1}, {"bob", 10, 1}},
				every("bob", 20, 50, 10, 200),
				{{"bob", 80, 1}, {"bob", 90, 1}},
			},
			want: []string{"ann+bob 10:00-10:20 ended", "ann+bob 11:10-11:30"},
		},
		{
			name: "three people at one booth",
			batches: [][]at{
				every("ann", 0, 10, 5, 0),
				every("bob", 0, 10, 5, 1),
				every("cat", 0, 10, 5, -2),
			},
			want: []string{"ann+bob 10:00-10:10", "ann+cat 10:00-10:10", "bob+cat 10:00-10:10"},
		},
		{
			name: "the edge of the distance",
			batches: [][]at{
				{{"ann", 0, 0}, {"cat", 0, 5.1}, {"dan", 0, -4.9}},
			},
			want: []string{"ann+dan 10:00-10:00"},
		},
		{
			name: "a late batch fills the gap between two meetings",
			batches: [][]at{
				every("ann", 0, 70, 5, 0),
				{{"bob", 0, 1}, {"bob", 5, 1}, {"bob", 55, 1}, {"bob", 60, 1}},
				{{"bob", 15, 200}, {"bob", 20, 200}, {"bob", 35, 200}, {"bob", 40, 200}},
				{{"bob", 25, 1}, {"bob", 30, 1}}, // the device was offline
			},
			want: []string{"ann+bob 10:00-11:10"},
		},
		{
			name: "one person, several devices",
			batches: [][]at{
				every("ann", 0, 10, 5, 0),
				every("ann", 0, 10, 5, 1),
			},
			want: nil,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newScene(t)
			var all []at
			var ids []int64
			for _, b := range tt.batches {
				ids = append(ids, s.deliver(t, b)...)
				all = append(all, b...)
			}
			got := s.meetings(t)
			if !slices.Equal(got, tt.want) {
				t.Errorf("meetings = %q; want %q", got, tt.want)
			}
			if oracle := s.pairsByOracle(t); !slices.Equal(pairsOf(got), oracle) {
				t.Errorf("pairs met = %q; the connection route with window=15m finds %q", pairsOf(got), oracle)
			}

			// Redelivered, the same locations change nothing.
			before := s.changes(t)
			changed, err := s.db.UpdateMeetings(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			if after := s.changes(t); len(changed) != 0 || !maps.EqualFunc(before, after, slices.Equal) {
				t.Errorf("redelivery changed the meetings of %v: %v; then %v", changed, before, after)
			}

			// In any order, one at a time, the same meetings.
			for seed := range uint64(2) {
				shuffled := slices.Clone(all)
				rand.New(rand.NewPCG(seed, 13)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				s := newScene(t)
				for _, r := range shuffled {
					s.deliver(t, []at{r})
				}
				if got := s.meetings(t); !slices.Equal(got, tt.want) {
					t.Errorf("meetings in shuffled order %d = %q; want %q", seed, got, tt.want)
				}
			}
		})
	}
}

// A meeting keeps its id as it grows; one that a late report joins to an
// older one is a change pointing to it; each change is seen once, in order.
func TestMeetingChanges(t *testing.T) {
	s := newScene(t)
	ctx := context.Background()
	ann, bob := s.ids["ann"], s.ids["bob"]
	changesOf := func(after int64) []udaconnect.Meeting {
		t.Helper()
		ms, err := s.db.FindMeetingChanges(ctx, ann, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}

	s.deliver(t, []at{{"ann", 0, 0}})
	if v, err := s.db.MeetingVersion(ctx, ann); err != nil || v != 0 {
		t.Errorf("MeetingVersion before any meeting = %d, %v; want 0", v, err)
	}
	s.deliver(t, []at{{"bob", 0, 1}})
	first := changesOf(0)
	if len(first) != 1 || first[0].Person.ID != bob || first[0].Ended || first[0].DurationS != 0 || first[0].ClosestM < 0.99 || first[0].ClosestM > 1.01 {
		t.Fatalf("changes after Bob came = %+v; want one open meeting with Bob, 1 m apart", first)
	}
	if v, err := s.db.MeetingVersion(ctx, ann); err != nil || v != first[0].Version {
		t.Errorf("MeetingVersion = %d, %v; want %d", v, err, first[0].Version)
	}
	if changed, _ := s.db.UpdateMeetings(ctx, nil); len(changed) != 0 {
		t.Errorf("UpdateMeetings of nothing changed %v", changed)
	}

	// They stay together: the meeting grows, which is no change to stream.
	s.deliver(t, []at{{"ann", 5, 0}, {"bob", 5, 2}})
	if v, err := s.db.MeetingVersion(ctx, ann); err != nil || v != first[0].Version {
		t.Errorf("MeetingVersion after the meeting grew = %d, %v; want %d", v, err, first[0].Version)
	}
	if ms := changesOf(first[0].Version); len(ms) != 0 {
		t.Errorf("changes after the meeting grew = %+v; want none", ms)
	}
	if got := s.meetings(t); !slices.Equal(got, []string{"ann+bob 10:00-10:05"}) {
		t.Errorf("meetings after they stayed = %q; want the first one grown", got)
	}

	s.deliver(t, []at{{"ann", 50, 0}, {"bob", 50, 1}})
	second := changesOf(first[0].Version) // the new one first, then the first one ended
	if len(second) != 2 || second[0].ID == first[0].ID || second[0].Ended || second[1].ID != first[0].ID || !second[1].Ended {
		t.Fatalf("changes after both came back = %+v; want a second meeting, then the first one ended", second)
	}
	if ms := changesOf(second[1].Version); len(ms) != 0 {
		t.Errorf("changes after the last = %+v; want none", ms)
	}

	// Reports in between join the two: the first grows, the second points to it.
	s.deliver(t, []at{{"ann", 15, 0}, {"bob", 25, 1}, {"ann", 35, 0}})
	third := changesOf(second[1].Version)
	var kept, merged udaconnect.Meeting
	for _, m := range third {
		if m.MergedInto != 0 {
			merged = m
		} else {
			kept = m
		}
	}
	if len(third) != 2 || kept.ID != first[0].ID || kept.Ended || merged.ID != second[0].ID || merged.MergedInto != kept.ID {
		t.Errorf("changes after the gap was filled = %+v; want meeting %d grown and %d merged into it", third, first[0].ID, second[0].ID)
	}
	if !kept.Started.Equal(clock(10, 0)) || !kept.LastSeen.Equal(clock(10, 50)) || kept.DurationS != 50*60 {
		t.Errorf("the joined meeting = %+v; want 10:00 to 10:50, 3000 s", kept)
	}
	if got := s.meetings(t); !slices.Equal(got, []string{"ann+bob 10:00-10:50"}) {
		t.Errorf("meetings = %q; want the joined one only", got)
	}
}

// A person's meetings page by page, newest first, within a date range.
func TestFindMeetingsPages(t *testing.T) {
	s := newScene(t)
	ctx := context.Background()
	var rs []at
	for i := range 5 { // Ann meets Bob five times, an hour apart, and on the next day
		rs = append(rs, at{"ann", 60 * i, 0}, at{"bob", 60 * i, 1})
	}
	rs = append(rs, at{"ann", 24 * 60, 0}, at{"cat", 24 * 60, 1})
	s.deliver(t, rs)

	var starts []string
	q := udaconnect.MeetingQuery{PersonID: s.ids["ann"], Limit: 2}
	for page := 0; ; page++ {
		ms, err := s.db.FindMeetings(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			starts = append(starts, m.Started.Format("02 15:04"))
		}
		if len(ms) < q.Limit || page > 5 {
			break
		}
		q.After = udaconnect.MeetingCursor{Started: ms[len(ms)-1].Started, ID: ms[len(ms)-1].ID}
	}
	want := []string{"08 10:00", "07 14:00", "07 13:00", "07 12:00", "07 11:00", "07 10:00"}
	if !slices.Equal(starts, want) {
		t.Errorf("pages of Ann's meetings = %q; want %q", starts, want)
	}

	day := udaconnect.MeetingQuery{PersonID: s.ids["bob"], Start: fixtureDay.Add(11 * time.Hour), End: fixtureDay.Add(13 * time.Hour), Limit: 10}
	if ms, err := s.db.FindMeetings(ctx, day); err != nil || len(ms) != 2 || ms[0].Person.ID != s.ids["ann"] {
		t.Errorf("Bob's meetings from 11:00 to 13:00 = %+v, %v; want two with Ann", ms, err)
	}
	if _, err := s.db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: 4040, Limit: 10}); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("meetings of an unknown person: %v; want ENOTFOUND", err)
	}
}

// Replicas updating the meetings of the same people at once, each with one
// location, take turns and agree with one that updates them all in order.
func TestMeetingsConcurrently(t *testing.T) {
	s := newScene(t)
	rs := append(every("ann", 0, 70, 5, 0), at{"bob", 0, 1}, at{"bob", 25, 1}, at{"bob", 30, 1}, at{"bob", 60, 1}, at{"cat", 30, -1}, at{"cat", 35, -1})
	reports := make([]udaconnect.Report, len(rs))
	for i, r := range rs {
		reports[i] = report(fmt.Sprintf("%s-%d", r.who, r.min), s.ids[r.who], north(r.north), lon0, clock(10, r.min))
	}
	locs := mustStore(t, s.db, reports...)
	errs := make(chan error, len(locs))
	for _, l := range locs {
		go func() {
			_, err := s.db.UpdateMeetings(context.Background(), []int64{l.ID})
			errs <- err
		}()
	}
	for range locs {
		if err := <-errs; err != nil {
			t.Fatalf("UpdateMeetings: %v", err)
		}
	}
	want := []string{"ann+bob 10:00-11:10", "ann+cat 10:15-10:50 ended", "bob+cat 10:25-10:35 ended"}
	if got := s.meetings(t); !slices.Equal(got, want) {
		t.Errorf("meetings updated at once = %q; want %q", got, want)
	}
}
