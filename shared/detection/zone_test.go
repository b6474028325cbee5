package detection_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// A crowd reporting as it goes, its zone's owner writing the changes as
// connections does (those that may not wait at once, growth every other
// time), checkpointing now and then and losing its lease between
// checkpoints (in the first half): the meetings stored are the
// definition's. Meetings written open grow in place, and some of those are
// undone and written again.
func TestZoneWritesTheDefinition(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	h := conference.Hall2000
	h.Attendees, h.Size, h.Duration = 40, 20, 12*time.Minute
	ids := attendees(t, db, h.Attendees)
	lease, zone := open(t, db)
	defer func() { lease.Close() }()
	var reports []detect.Report
	batch := 0
	for locs := range h.Batches(ids) {
		batch++
		stored, _, err := db.StoreReports(ctx, reportsOf(locs))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range stored {
			reports = append(reports, detect.Report{ID: l.ID, Person: l.PersonID, Time: l.CreationTime, Lat: l.Latitude, Lon: l.Longitude})
		}
		if _, err := zone.Step(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if growth := batch%2 == 0; growth || zone.Prompt() {
			if _, err := zone.Flush(ctx, growth); err != nil {
				t.Fatal(err)
			}
		}
		switch {
		case batch%7 == 0: // with growth waiting (odd batches) or not
			if _, err := zone.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		case batch%11 == 0 && batch < h.ReportsPerAttendee()/2: // the owner is lost: the next undoes what it wrote since its checkpoint, and writes it again
			lease.Close()
			lease, zone = open(t, db)
		}
	}
	if err := zone.Drain(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	last := slices.MaxFunc(reports, func(a, b detect.Report) int { return a.Time.Compare(b.Time) }).Time
	want := detect.Reference(detection.Params(), reports, last)
	if len(want) == 0 {
		t.Fatal("the crowd has no meetings")
	}
	var got []detect.Meeting
	for _, p := range ids {
		ms, err := lease.History().Meetings(ctx, p, h.Start, last)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, slices.DeleteFunc(ms, func(m detect.Meeting) bool { return m.A != p })...)
	}
	slices.SortFunc(got, func(a, b detect.Meeting) int {
		return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B), a.Started.Compare(b.Started))
	})
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9 } // a centroid moves by less than a millionth of a degree
	if len(got) != len(want) {
		t.Fatalf("%d meetings stored; want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.Key || !g.LastSeen.Equal(w.LastSeen) || g.Ended != w.Ended || !near(g.Together.Seconds(), w.Together.Seconds()) ||
			!near(g.ClosestM, w.ClosestM) || !near(g.Lat, w.Lat) || !near(g.Lon, w.Lon) {
			t.Errorf("meeting %d = %+v; want %+v", i, g, w)
		}
	}
}

// open claims zone 0 and opens its detector.
func open(t testing.TB, db *postgres.DB) (*postgres.ZoneLease, *detection.Zone) {
	t.Helper()
	ctx := context.Background()
	// The lock of a lease closed goes with its backend, a moment later.
	var lease *postgres.ZoneLease
	for deadline := time.Now().Add(10 * time.Second); lease == nil; time.Sleep(10 * time.Millisecond) {
		var err error
		if lease, err = db.ClaimZone(ctx, 0); err != nil || lease == nil && time.Now().After(deadline) {
			t.Fatalf("ClaimZone = %v, %v; want the zone", lease, err)
		}
	}
	zone, err := detection.Open(ctx, lease, detection.Params())
	if err != nil {
		t.Fatal(err)
	}
	return lease, zone
}

// attendees registers n people of a crowd and returns their ids.
func attendees(t testing.TB, db *postgres.DB, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		p, err := db.CreatePerson(context.Background(), udaconnect.Person{FirstName: "In", LastName: "Crowd", CompanyName: "Hall"}, "test", fmt.Sprint(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ID
	}
	return ids
}

// A zone taken over says at once how far behind it is, not what its last
// owner published before the reports that wait since: the new owner's
// first step may take long (reports placed through the history), and
// GET /api/detection would tell a backlog long gone until it ends.
func TestOpenPublishesTheBacklog(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	lease, zone := open(t, db)
	if _, _, err := zone.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	lease.Close() // the owner is lost
	p, err := db.CreatePerson(ctx, udaconnect.Person{FirstName: "Late", LastName: "Comer", CompanyName: "Hall"}, "test", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	var reports []udaconnect.Report
	for i := range 3 {
		at := time.Date(2026, 6, 16, 9, i, 0, 0, time.UTC)
		reports = append(reports, udaconnect.Report{Location: udaconnect.Location{PersonID: p.ID, Latitude: 35, Longitude: -106, CreationTime: at}, Source: "test", EventID: fmt.Sprint(i)})
	}
	if _, _, err := db.StoreReports(ctx, reports); err != nil {
		t.Fatal(err)
	}
	lease, _ = open(t, db)
	defer lease.Close()
	d, err := db.Detection(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.BacklogReports != 3 {
		t.Errorf("backlog told once the zone is taken over: %d reports; want 3", d.BacklogReports)
	}
}

func reportsOf(locs []udaconnect.Location) []udaconnect.Report {
	reports := make([]udaconnect.Report, len(locs))
	for i, l := range locs {
		reports[i] = udaconnect.Report{Location: l, Source: "test", EventID: fmt.Sprint(l.ID)}
	}
	return reports
}
