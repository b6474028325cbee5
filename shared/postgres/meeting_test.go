package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// pair is a meeting of a and b (a < b) from start to end, o'clock on the
// fixture day, together all along.
func pair(a, b int64, start, end time.Time, ended bool) detect.Meeting {
	return detect.Meeting{
		Key: detect.Key{A: a, B: b, Started: start}, LastSeen: end, Together: end.Sub(start),
		ClosestM: 1, Lat: lat0, Lon: lon0, Ended: ended,
	}
}

func mustWrite(t *testing.T, db *postgres.DB, upserted []detect.Meeting, removed ...detect.Removed) {
	t.Helper()
	if err := db.WriteMeetings(context.Background(), upserted, removed); err != nil {
		t.Fatalf("WriteMeetings: %v", err)
	}
}

func changesOf(t *testing.T, db *postgres.DB, person, after int64) []udaconnect.Meeting {
	t.Helper()
	ms, err := db.FindMeetingChanges(context.Background(), person, after, 100)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// Meetings are written by key: one that grows keeps its id and version, one
// that starts, ends, is merged or moves its start is a change to stream;
// writing the same twice changes nothing.
func TestWriteMeetings(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann, bob := mustCreatePerson(t, db, "Ann", "Writes").ID, mustCreatePerson(t, db, "Bob", "Writes").ID

	if v, err := db.MeetingVersion(ctx, ann); err != nil || v != 0 {
		t.Errorf("MeetingVersion before any meeting = %d, %v; want 0", v, err)
	}
	mustWrite(t, db, []detect.Meeting{pair(ann, bob, clock(10, 0), clock(10, 5), false)})
	first := changesOf(t, db, ann, 0)
	if len(first) != 1 || first[0].Person.ID != bob || first[0].TogetherS != 300 || first[0].DurationS != 300 || first[0].Ended {
		t.Fatalf("changes after the meeting started = %+v; want one open meeting of 300 s with Bob", first)
	}

	// It grows: no change to stream; written twice, nothing either.
	grown := pair(ann, bob, clock(10, 0), clock(10, 20), false)
	grown.Together = 12 * time.Minute
	mustWrite(t, db, []detect.Meeting{grown})
	mustWrite(t, db, []detect.Meeting{grown})
	if ms := changesOf(t, db, ann, first[0].Version); len(ms) != 0 {
		t.Errorf("changes after the meeting grew = %+v; want none", ms)
	}
	ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: bob, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].ID != first[0].ID || ms[0].TogetherS != 720 || ms[0].DurationS != 1200 || ms[0].Person.ID != ann {
		t.Fatalf("Bob's meetings = %+v, %v; want the first, grown to 20 min, 12 min together", ms, err)
	}

	// It ends: a change.
	ended := grown
	ended.Ended = true
	mustWrite(t, db, []detect.Meeting{ended})
	second := changesOf(t, db, ann, first[0].Version)
	if len(second) != 1 || second[0].ID != first[0].ID || !second[0].Ended {
		t.Fatalf("changes after the meeting ended = %+v; want it ended", second)
	}

	// A late report joins a later meeting to it: the later one points to it.
	later := pair(ann, bob, clock(10, 30), clock(10, 40), false)
	mustWrite(t, db, []detect.Meeting{later})
	joined := pair(ann, bob, clock(10, 0), clock(10, 40), false)
	mustWrite(t, db, []detect.Meeting{joined}, detect.Removed{Key: later.Key, Into: &joined.Key})
	third := changesOf(t, db, ann, second[0].Version)
	if len(third) != 2 || third[0].ID != first[0].ID || third[0].Ended || third[1].MergedInto != first[0].ID {
		t.Fatalf("changes after the join = %+v; want the first reopened, then the later one merged into it", third)
	}

	// One moves its start: the old key points to the new.
	moved := pair(ann, bob, clock(9, 55), clock(10, 40), false)
	mustWrite(t, db, []detect.Meeting{moved}, detect.Removed{Key: joined.Key})
	ms, err = db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: ann, Limit: 10})
	if err != nil || len(ms) != 1 || !ms[0].Started.Equal(clock(9, 55)) {
		t.Fatalf("meetings after the start moved = %+v, %v; want one from 9:55", ms, err)
	}
	fourth := changesOf(t, db, ann, third[1].Version)
	if len(fourth) != 2 || fourth[0].ID != ms[0].ID || fourth[1].ID != first[0].ID || fourth[1].MergedInto != ms[0].ID {
		t.Errorf("changes after the start moved = %+v; want the new one, then the old pointing to it", fourth)
	}

	// One that goes with nothing in its place is deleted.
	mustWrite(t, db, nil, detect.Removed{Key: moved.Key})
	if ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: ann, Limit: 10}); err != nil || len(ms) != 0 {
		t.Errorf("meetings after the last went = %+v, %v; want none", ms, err)
	}
	// Removing what is not there is nothing.
	mustWrite(t, db, nil, detect.Removed{Key: moved.Key})
	// A meeting of a person deleted since is not written.
	mustWrite(t, db, []detect.Meeting{pair(ann, 4040, clock(11, 0), clock(11, 5), false)})
	if ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: ann, Limit: 10}); err != nil || len(ms) != 0 {
		t.Errorf("meetings after one with a deleted person = %+v, %v; want none", ms, err)
	}
}

// A person's meetings page by page, newest first, within a date range.
func TestFindMeetingsPages(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann, bob, cat := mustCreatePerson(t, db, "Ann", "Pages").ID, mustCreatePerson(t, db, "Bob", "Pages").ID, mustCreatePerson(t, db, "Cat", "Pages").ID
	var meetings []detect.Meeting
	for i := range 5 { // Ann meets Bob five times, an hour apart, and Cat on the next day
		meetings = append(meetings, pair(ann, bob, clock(10+i, 0), clock(10+i, 10), true))
	}
	meetings = append(meetings, pair(ann, cat, clock(34, 0), clock(34, 10), false))
	mustWrite(t, db, meetings)

	var starts []string
	q := udaconnect.MeetingQuery{PersonID: ann, Limit: 2}
	for page := 0; ; page++ {
		ms, err := db.FindMeetings(ctx, q)
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

	day := udaconnect.MeetingQuery{PersonID: bob, Start: fixtureDay.Add(11 * time.Hour), End: fixtureDay.Add(13 * time.Hour), Limit: 10}
	if ms, err := db.FindMeetings(ctx, day); err != nil || len(ms) != 2 || ms[0].Person.ID != ann {
		t.Errorf("Bob's meetings from 11:00 to 13:00 = %+v, %v; want two with Ann", ms, err)
	}
	if _, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: 4040, Limit: 10}); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("meetings of an unknown person: %v; want ENOTFOUND", err)
	}
}
