package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// start is the start of m: a's report at its start, b's held 2 m away,
// both stored.
func start(t *testing.T, db *postgres.DB, m detect.Meeting) detect.Start {
	t.Helper()
	tag := fmt.Sprint(m.A, "-", m.B, "-", m.Started.Unix())
	locs := mustStore(t, db, report("a-"+tag, m.A, lat0, lon0, m.Started), report("b-"+tag, m.B, lat0, lon0+0.00003, m.Started.Add(-time.Minute)))
	at := func(l udaconnect.Location) detect.Report {
		return detect.Report{ID: l.ID, Person: l.PersonID, Time: l.CreationTime, Lat: l.Latitude, Lon: l.Longitude}
	}
	return detect.Start{Meeting: m, Report: at(locs[0]), Near: at(locs[1]), Distance: 2}
}

// accept is a sink that accepts everything and records it.
type accept struct {
	mu   sync.Mutex
	sent map[string]int
	last []postgres.Announcement
}

func (s *accept) send(_ context.Context, batch []postgres.Announcement) ([]bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := make([]bool, len(batch))
	for i, a := range batch {
		s.sent[a.ID]++
		ok[i] = true
	}
	s.last = batch
	return ok, 0
}

func refuse(wait time.Duration) func(context.Context, []postgres.Announcement) ([]bool, time.Duration) {
	return func(_ context.Context, batch []postgres.Announcement) ([]bool, time.Duration) {
		return make([]bool, len(batch)), wait
	}
}

func mustAnnounce(t *testing.T, db *postgres.DB, send func(context.Context, []postgres.Announcement) ([]bool, time.Duration)) postgres.Announced {
	t.Helper()
	did, err := db.Announce(context.Background(), 100, send)
	if err != nil {
		t.Fatal(err)
	}
	return did
}

func waiting(t *testing.T, db *postgres.DB) int64 {
	t.Helper()
	n, _, err := db.AnnouncementBacklog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A start is queued with its meeting, once while it waits; refused, it
// waits longer, at least what the sink asked; accepted, it goes; one whose
// meeting went before it was sent is dropped; found again once sent, it is
// queued again under the same id.
func TestAnnounce(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	ann, bob, cyd := mustCreatePerson(t, db, "Ann", "Announced"), mustCreatePerson(t, db, "Bob", "Announced"), mustCreatePerson(t, db, "Cyd", "Dropped")
	lease := mustClaim(t, db, 0)
	kept, dropped := pair(ann.ID, bob.ID, clock(10, 0), clock(10, 5), false), pair(ann.ID, cyd.ID, clock(10, 2), clock(10, 5), false)
	starts := []detect.Start{start(t, db, kept), start(t, db, dropped)}
	for range 2 {
		if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Upserted: []detect.Meeting{kept, dropped}, Starts: starts}); err != nil {
			t.Fatal(err)
		}
	}
	if n := waiting(t, db); n != 2 {
		t.Fatalf("%d announcements waiting after the same starts written twice; want 2", n)
	}

	if did := mustAnnounce(t, db, refuse(30*time.Second)); did.Refused != 2 || did.Sent != 0 {
		t.Fatalf("refused: %+v; want 2 refused", did)
	}
	if did := mustAnnounce(t, db, refuse(0)); did.Taken != 0 {
		t.Errorf("taken again at once after a refusal: %+v; want nothing due", did)
	}
	var early int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM announcement WHERE attempts <> 1 OR due < now() + interval '29 s'`).Scan(&early); err != nil || early != 0 {
		t.Errorf("%d announcements due before the sink's Retry-After (%v); want 0", early, err)
	}
	if _, err := admin.Exec(ctx, `UPDATE announcement SET due = now()`); err != nil {
		t.Fatal(err)
	}

	// Cyd's meeting goes (merged into an earlier one of the pair, say)
	// before its start is sent.
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Removed: []detect.Removed{{Key: dropped.Key}}}); err != nil {
		t.Fatal(err)
	}
	sink := &accept{sent: map[string]int{}}
	if did := mustAnnounce(t, db, sink.send); did.Sent != 1 || did.Dropped != 1 {
		t.Fatalf("announced: %+v; want 1 sent and 1 dropped", did)
	}
	s := starts[0]
	want := postgres.Announcement{
		ID: fmt.Sprintf("connection-%d-%d", s.Report.ID, bob.ID),
		Start: udaconnect.MeetingStart{
			Person: ann, Other: bob, Distance: 2,
			Location: udaconnect.Location{ID: s.Report.ID, PersonID: ann.ID, Latitude: lat0, Longitude: lon0, CreationTime: clock(10, 0)},
			Near:     udaconnect.Location{ID: s.Near.ID, PersonID: bob.ID, Latitude: lat0, Longitude: lon0 + 0.00003, CreationTime: clock(9, 59)},
		},
	}
	if len(sink.last) != 1 || fmt.Sprint(sink.last[0]) != fmt.Sprint(want) {
		t.Errorf("sent %+v; want %+v", sink.last, want)
	}
	if n := waiting(t, db); n != 0 {
		t.Errorf("%d announcements waiting once sent; want 0", n)
	}

	// Found again by an owner that restarted from an earlier checkpoint:
	// the same event once more.
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Upserted: []detect.Meeting{kept}, Starts: starts[:1]}); err != nil {
		t.Fatal(err)
	}
	if did := mustAnnounce(t, db, sink.send); did.Sent != 1 || sink.sent[want.ID] != 2 {
		t.Errorf("announced again: %+v, %v; want %s a second time", did, sink.sent, want.ID)
	}
}

// Two announcers take the outbox at once: each announcement is sent once.
func TestAnnouncersShareTheOutbox(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	var persons []int64
	for i := range 30 {
		persons = append(persons, mustCreatePerson(t, db, fmt.Sprint("P", i), "Shared").ID)
	}
	var meetings []detect.Meeting
	var starts []detect.Start
	for i, a := range persons {
		for _, b := range persons[i+1:] {
			m := pair(a, b, clock(10, 0), clock(10, 5), false)
			meetings, starts = append(meetings, m), append(starts, start(t, db, m))
		}
	}
	if err := mustClaim(t, db, 0).WriteMeetings(ctx, postgres.MeetingChanges{Upserted: meetings, Starts: starts}); err != nil {
		t.Fatal(err)
	}
	sink := &accept{sent: map[string]int{}}
	slow := func(ctx context.Context, batch []postgres.Announcement) ([]bool, time.Duration) {
		time.Sleep(20 * time.Millisecond) // the rows stay taken meanwhile
		return sink.send(ctx, batch)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				did, err := db.Announce(ctx, 50, slow)
				if err != nil {
					t.Error(err)
				}
				if err != nil || did.Taken == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(sink.sent) != len(starts) {
		t.Errorf("%d announcements sent; want %d", len(sink.sent), len(starts))
	}
	for id, n := range sink.sent {
		if n != 1 {
			t.Errorf("%s sent %d times; want once", id, n)
		}
	}
}

// The start of a meeting with a person deleted before it was sent goes
// with the person: nothing is sent, and nothing of theirs waits. One whose
// person's row vanished otherwise is dropped at the next round.
func TestAnnounceAfterPersonDeleted(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	ann, dan, eve := mustCreatePerson(t, db, "Ann", "Stays"), mustCreatePerson(t, db, "Dan", "Deleted"), mustCreatePerson(t, db, "Eve", "Vanished")
	withDan, withEve := pair(ann.ID, dan.ID, clock(10, 0), clock(10, 5), false), pair(ann.ID, eve.ID, clock(10, 1), clock(10, 5), false)
	c := postgres.MeetingChanges{Upserted: []detect.Meeting{withDan, withEve}, Starts: []detect.Start{start(t, db, withDan), start(t, db, withEve)}}
	if err := mustClaim(t, db, 0).WriteMeetings(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePerson(ctx, dan.ID); err != nil {
		t.Fatal(err)
	}
	if n := waiting(t, db); n != 1 {
		t.Fatalf("%d announcements waiting after Dan was deleted; want Eve's alone", n)
	}
	if _, err := admin.Exec(ctx, `DELETE FROM person WHERE id = $1`, eve.ID); err != nil {
		t.Fatal(err)
	}
	sink := &accept{sent: map[string]int{}}
	if did := mustAnnounce(t, db, sink.send); did.Sent != 0 || did.Dropped != 1 || len(sink.sent) != 0 {
		t.Errorf("announced: %+v, sent %v; want Eve's dropped, nothing sent", did, sink.sent)
	}
	if n := waiting(t, db); n != 0 {
		t.Errorf("%d announcements waiting after the round; want none", n)
	}
}
