package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

func mustClaim(t *testing.T, db *postgres.DB, zone int) *postgres.ZoneLease {
	t.Helper()
	lease, err := db.ClaimZone(context.Background(), zone)
	if err != nil || lease == nil {
		t.Fatalf("ClaimZone(%d) = %v, %v; want the zone", zone, lease, err)
	}
	t.Cleanup(lease.Close)
	return lease
}

// mustOpenAdmin opens a database of its own, and a connection to it as its
// owner, to look at or change what the code under test may not.
func mustOpenAdmin(t *testing.T) (*postgres.DB, *pgx.Conn) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	admin, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	return db, admin
}

func backlogIDs(rows []postgres.BacklogRow) (rowIDs, locations []int64) {
	for _, r := range rows {
		rowIDs = append(rowIDs, r.ID)
		locations = append(locations, r.Locations...)
	}
	return rowIDs, locations
}

// Each statement that stores reports queues those it stores, one row per
// zone; a report stored before is not queued again.
func TestBacklog(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann := mustCreatePerson(t, db, "Ann", "Queued").ID
	in := func(zone int, r udaconnect.Report) udaconnect.Report { r.Zone = zone; return r }
	first := mustStore(t, db,
		in(0, report("a", ann, lat0, lon0, clock(10, 0))),
		in(1, report("b", ann, lat0, lon0, clock(10, 1))),
		in(0, report("c", ann, lat0, lon0, clock(10, 2))),
	)
	again := mustStore(t, db, in(0, report("a", ann, lat0, lon0, clock(10, 0))), in(0, report("d", ann, lat0, lon0, clock(10, 3))))
	if again[0].ID != first[0].ID {
		t.Fatalf("a redelivered report got location %d; want %d", again[0].ID, first[0].ID)
	}

	zero, one := mustClaim(t, db, 0), mustClaim(t, db, 1)
	rows, err := zero.Backlog(ctx, nil, 100)
	rowIDs, locs := backlogIDs(rows)
	if want := []int64{first[0].ID, first[2].ID, again[1].ID}; err != nil || len(rows) != 2 || !slices.Equal(locs, want) {
		t.Fatalf("zone 0's backlog = %+v, %v; want two rows of %v", rows, err, want)
	}
	if rows, err := one.Backlog(ctx, nil, 100); err != nil || len(rows) != 1 || !slices.Equal(rows[0].Locations, []int64{first[1].ID}) {
		t.Errorf("zone 1's backlog = %+v, %v; want the one report there", rows, err)
	}

	// Rows applied are left out; a step takes at least one row, and no
	// more reports than asked beyond it.
	if rows, err := zero.Backlog(ctx, rowIDs[:1], 100); err != nil || len(rows) != 1 || rows[0].ID != rowIDs[1] {
		t.Errorf("backlog but the first row = %+v, %v; want the second row", rows, err)
	}
	if rows, err := zero.Backlog(ctx, nil, 1); err != nil || len(rows) != 1 || rows[0].ID != rowIDs[0] {
		t.Errorf("backlog of 1 report = %+v, %v; want the first row", rows, err)
	}
	reports, err := zero.Reports(ctx, locs)
	if err != nil || len(reports) != 3 || reports[0].Person != ann || !reports[0].Time.Equal(clock(10, 0)) || reports[0].Lat != lat0 {
		t.Errorf("Reports(%v) = %+v, %v; want Ann's three", locs, reports, err)
	}

	// Published, the backlog is what the detection route tells.
	if n, oldest, err := zero.Publish(ctx, clock(10, 3), rowIDs[:1]); err != nil || n != 1 || oldest.IsZero() {
		t.Errorf("Publish = %d, %v, %v; want the report of the row not applied", n, oldest, err)
	}
	d, err := db.Detection(ctx)
	if err != nil || d.BacklogReports != 1 || d.CurrentTo == nil || !d.CurrentTo.Equal(clock(10, 3)) || d.LagS < 0 {
		t.Errorf("Detection = %+v, %v; want 1 report behind, current to 10:03", d, err)
	}

	// A checkpoint keeps the state and deletes the rows applied.
	if err := zero.Checkpoint(ctx, postgres.MeetingChanges{}, []byte("state"), rowIDs); err != nil {
		t.Fatal(err)
	}
	if rows, err := zero.Backlog(ctx, nil, 100); err != nil || len(rows) != 0 {
		t.Errorf("backlog after the checkpoint = %+v, %v; want none", rows, err)
	}
	if state, err := zero.State(ctx); err != nil || string(state) != "state" {
		t.Errorf("State = %q, %v; want what was saved", state, err)
	}
	if state, err := one.State(ctx); err != nil || state != nil {
		t.Errorf("State of a zone never saved = %q, %v; want nil", state, err)
	}
}

// A zone has one owner at a time; when the owner's connection goes, the
// zone is free.
func TestClaimZone(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	lease := mustClaim(t, db, 3)
	if other, err := db.ClaimZone(ctx, 3); err != nil || other != nil {
		t.Fatalf("a second claim of zone 3 = %v, %v; want nil", other, err)
	}
	lease.Close()
	if err := lease.Checkpoint(ctx, postgres.MeetingChanges{}, []byte("late"), nil); err == nil {
		t.Error("a lease given up still writes")
	}
	mustClaim(t, db, 3)
}

// History finds the persons' reports and those near the points within the
// times asked, and the live meetings of a person.
func TestHistory(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann, bob, cat := mustCreatePerson(t, db, "Ann", "Past").ID, mustCreatePerson(t, db, "Bob", "Past").ID, mustCreatePerson(t, db, "Cat", "Past").ID
	locs := mustStore(t, db,
		report("ann-1", ann, lat0, lon0, clock(10, 0)),
		report("ann-2", ann, north(500), lon0, clock(11, 0)),
		report("bob-1", bob, north(3), lon0, clock(10, 5)),
		report("bob-2", bob, north(3), lon0, clock(12, 5)),  // too late
		report("cat-1", cat, north(20), lon0, clock(10, 5)), // too far
	)
	h := mustClaim(t, db, 0).History()
	got, err := h.Reports(ctx, clock(9, 0), clock(11, 0), []int64{ann}, []detect.Point{{Lat: lat0, Lon: lon0}}, 5)
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	if want := []int64{locs[0].ID, locs[1].ID, locs[2].ID}; err != nil || !slices.Equal(ids, want) {
		t.Errorf("Reports = %v, %v; want %v", ids, err, want)
	}

	mustWrite(t, db, []detect.Meeting{pair(ann, bob, clock(10, 5), clock(10, 20), true), pair(bob, cat, clock(13, 0), clock(13, 5), false)})
	ms, err := h.Meetings(ctx, bob, clock(10, 0), clock(10, 10))
	if err != nil || len(ms) != 1 || ms[0].A != ann || !ms[0].Started.Equal(clock(10, 5)) || ms[0].Together != 15*time.Minute || !ms[0].Ended {
		t.Errorf("Bob's meetings from 10:00 to 10:10 = %+v, %v; want the one with Ann", ms, err)
	}
}

// The owner's writes are refused while the database is away, and nothing
// of a failed write stays.
func TestWriteMeetingsDatabaseAway(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	ann, bob := mustCreatePerson(t, db, "Ann", "Away").ID, mustCreatePerson(t, db, "Bob", "Away").ID
	lease := mustClaim(t, db, 0)
	var pid int
	if err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Upserted: []detect.Meeting{pair(ann, bob, clock(10, 0), clock(10, 5), false)}})
	if udaconnect.ErrorCode(err) != udaconnect.EUNAVAILABLE {
		t.Errorf("WriteMeetings on a lost connection = %v; want EUNAVAILABLE", err)
	}
	if ms, _ := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: ann, Limit: 10}); len(ms) != 0 {
		t.Errorf("meetings after a failed write = %+v; want none", ms)
	}
}

// A meeting that only grew is written in place: its values change, its id
// and version do not; written again, its row is not even rewritten; one
// whose person was deleted meanwhile is gone and stays gone; and Undo puts
// a grown row back as it was at the checkpoint.
func TestWriteGrownMeetings(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	ann, bob, cyd := mustCreatePerson(t, db, "Ann", "Grows").ID, mustCreatePerson(t, db, "Bob", "Grows").ID, mustCreatePerson(t, db, "Cyd", "Goes").ID
	lease := mustClaim(t, db, 0)
	open, gone := pair(ann, bob, clock(10, 0), clock(10, 5), false), pair(ann, cyd, clock(10, 0), clock(10, 5), false)
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Upserted: []detect.Meeting{open, gone}}); err != nil {
		t.Fatal(err)
	}
	if err := lease.Checkpoint(ctx, postgres.MeetingChanges{}, []byte("state"), nil); err != nil {
		t.Fatal(err)
	}
	was, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: bob, Limit: 10})
	if err != nil || len(was) != 1 {
		t.Fatalf("Bob's meetings = %+v, %v; want one", was, err)
	}
	before := was[0]
	row := func(m detect.Meeting) (xmin string, found bool) {
		t.Helper()
		err := admin.QueryRow(ctx, `SELECT xmin::text FROM meeting WHERE (person_a, person_b, started) = ($1, $2, $3)`, m.A, m.B, m.Started).Scan(&xmin)
		if err != nil && err != pgx.ErrNoRows {
			t.Fatal(err)
		}
		return xmin, err == nil
	}

	grown := pair(ann, bob, clock(10, 0), clock(10, 20), false)
	grown.Together, grown.ClosestM, grown.Lat = 12*time.Minute, 0.5, north(1)
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Grown: []detect.Meeting{grown}}); err != nil {
		t.Fatal(err)
	}
	ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: bob, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].ID != before.ID || ms[0].Version != before.Version || ms[0].TogetherS != 720 ||
		ms[0].DurationS != 1200 || ms[0].ClosestM != 0.5 || ms[0].Latitude != north(1) || ms[0].Ended {
		t.Fatalf("Bob's meetings after it grew = %+v, %v; want it grown to 20 min, 12 min together, 0.5 m, same id and version %d", ms, err, before.Version)
	}
	if ms := changesOf(t, db, bob, before.Version); len(ms) != 0 {
		t.Errorf("changes after the meeting grew = %+v; want none", ms)
	}
	xmin, _ := row(grown)
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Grown: []detect.Meeting{grown}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := row(grown); again != xmin {
		t.Errorf("the row written the same again changed (xmin %s, then %s); want it left as it was", xmin, again)
	}

	// Cyd goes, and the meeting with her by cascade: its growth affects
	// nothing.
	if _, err := admin.Exec(ctx, `DELETE FROM person WHERE id = $1`, cyd); err != nil {
		t.Fatal(err)
	}
	late := pair(ann, cyd, clock(10, 0), clock(10, 9), false)
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Grown: []detect.Meeting{late}}); err != nil {
		t.Fatalf("growth of a meeting whose person was deleted = %v; want nothing done", err)
	}
	if _, found := row(late); found {
		t.Error("the meeting of a deleted person is back after it grew")
	}

	// Undo puts the grown row back as the checkpoint saw it.
	if err := lease.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err = db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: bob, Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].ID != before.ID || ms[0].TogetherS != 300 || ms[0].DurationS != 300 || ms[0].ClosestM != 1 || ms[0].Latitude != lat0 {
		t.Errorf("Bob's meetings after Undo = %+v, %v; want the meeting of 5 min as at the checkpoint", ms, err)
	}
}

// A snapshot, rewritten at every checkpoint and large in a crowded hall, is
// stored compressed with lz4, and read back as it was.
func TestSnapshotCompressed(t *testing.T) {
	ctx := context.Background()
	db, admin := mustOpenAdmin(t)
	lease := mustClaim(t, db, 0)
	state := slices.Repeat([]byte("a pair's checkpoints and its meeting "), 100_000) // 3.7 MB
	if err := lease.Checkpoint(ctx, postgres.MeetingChanges{}, state, nil); err != nil {
		t.Fatal(err)
	}
	if back, err := lease.State(ctx); err != nil || !slices.Equal(back, state) {
		t.Fatalf("State() = %d bytes, %v; want the %d saved", len(back), err, len(state))
	}
	var method string
	var stored int
	if err := admin.QueryRow(ctx, `SELECT pg_column_compression(state), pg_column_size(state) FROM detect_state WHERE zone = 0`).Scan(&method, &stored); err != nil {
		t.Fatal(err)
	}
	if method != "lz4" || stored >= len(state)/10 {
		t.Errorf("snapshot stored with %q in %d bytes; want lz4, in less than a tenth of %d", method, stored, len(state))
	}
}

// A checkpoint writes the changes given with it in its own transaction,
// keeping nothing to undo: Undo afterwards leaves them as written, as it
// does the rows written before that the checkpoint made final.
func TestCheckpointWritesWhatWaits(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	ann, bob := mustCreatePerson(t, db, "Ann", "Waits").ID, mustCreatePerson(t, db, "Bob", "Waits").ID
	lease := mustClaim(t, db, 0)
	undo := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM detect_undo WHERE zone = 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lastSeen := func() time.Time {
		t.Helper()
		ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: bob, Limit: 10})
		if err != nil || len(ms) != 1 {
			t.Fatalf("Bob's meetings = %+v, %v; want one", ms, err)
		}
		return ms[0].LastSeen
	}

	if err := lease.Checkpoint(ctx, postgres.MeetingChanges{Upserted: []detect.Meeting{pair(ann, bob, clock(10, 0), clock(10, 5), false)}}, []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(clock(10, 5)) || undo() != 0 {
		t.Fatalf("after the first checkpoint: last seen %s, %d rows kept to undo; want 10:05 and none", got, undo())
	}
	if err := lease.WriteMeetings(ctx, postgres.MeetingChanges{Grown: []detect.Meeting{pair(ann, bob, clock(10, 0), clock(10, 10), false)}}); err != nil {
		t.Fatal(err)
	}
	if undo() != 1 {
		t.Fatalf("%d rows kept to undo after a write between checkpoints; want 1", undo())
	}
	if err := lease.Checkpoint(ctx, postgres.MeetingChanges{Grown: []detect.Meeting{pair(ann, bob, clock(10, 0), clock(10, 15), false)}}, []byte("two"), nil); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(clock(10, 15)) || undo() != 0 {
		t.Fatalf("after the second checkpoint: last seen %s, %d rows kept to undo; want 10:15 and none", got, undo())
	}
	if err := lease.Undo(ctx); err != nil {
		t.Fatal(err)
	}
	if state, err := lease.State(ctx); err != nil || string(state) != "two" || !lastSeen().Equal(clock(10, 15)) {
		t.Errorf("after Undo: state %q, %v, last seen %s; want the second checkpoint's, 10:15", state, err, lastSeen())
	}
}
