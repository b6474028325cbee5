package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

func mustCreatePerson(t *testing.T, db *postgres.DB, first, last string) udaconnect.Person {
	t.Helper()
	p, err := db.CreatePerson(context.Background(), person(first, last), "test", first+" "+last, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func report(id string, personID int64, lat, lon float64, at time.Time) udaconnect.Report {
	return udaconnect.Report{
		Location: udaconnect.Location{PersonID: personID, Latitude: lat, Longitude: lon, CreationTime: at},
		Source:   "test", EventID: id,
	}
}

func mustStore(t *testing.T, db *postgres.DB, reports ...udaconnect.Report) []udaconnect.Location {
	t.Helper()
	locs, errs, err := db.StoreReports(context.Background(), reports)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	return locs
}

func TestStoreReports(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	at := time.Date(2020, 7, 7, 10, 37, 6, 0, time.UTC)

	locs, errs, err := db.StoreReports(ctx, []udaconnect.Report{
		report("a", pam.ID, 37.55363, -122.290883, at),
		report("b", 999, 35.05, -106.57, at), // unknown person
		report("a", pam.ID, 1, 1, at),        // the same event again in the batch
		report("c", pam.ID, -33.9, 151.2, at.Add(time.Hour)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[2] != nil || errs[3] != nil {
		t.Fatalf("StoreReports errs = %v; want only the unknown person refused", errs)
	}
	if code := udaconnect.ErrorCode(errs[1]); code != udaconnect.EUNKNOWN {
		t.Errorf("report of an unknown person: code %q; want %q", code, udaconnect.EUNKNOWN)
	}
	want := udaconnect.Location{ID: locs[0].ID, PersonID: pam.ID, Latitude: 37.55363, Longitude: -122.290883, CreationTime: at}
	if locs[0] != want {
		t.Errorf("stored %+v; want %+v", locs[0], want)
	}
	if locs[2] != locs[0] {
		t.Errorf("the same event twice in a batch stored %+v and %+v; want one location", locs[0], locs[2])
	}

	// Delivered again later: acknowledged with the location stored first.
	again := mustStore(t, db, report("a", pam.ID, 37.55363, -122.290883, at))
	if again[0] != locs[0] {
		t.Errorf("redelivered report = %+v; want %+v", again[0], locs[0])
	}
	got, err := db.FindLocation(ctx, locs[0].ID)
	if err != nil || got != want {
		t.Errorf("FindLocation = %+v, %v; want %+v", got, err, want)
	}
	all, err := db.FindLocations(ctx, pam.ID, zeroTime, zeroTime)
	if err != nil || len(all) != 2 || !all[0].CreationTime.Before(all[1].CreationTime) {
		t.Errorf("FindLocations = %+v, %v; want Pam's 2 reports, oldest first", all, err)
	}
	if all[1].Latitude != -33.9 || all[1].Longitude != 151.2 {
		t.Errorf("latitude, longitude = %g, %g; want -33.9, 151.2", all[1].Latitude, all[1].Longitude)
	}
}

func TestFindLocationsRange(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	day := time.Date(2020, 7, 7, 0, 0, 0, 0, time.UTC)
	mustStore(t, db,
		report("before", pam.ID, 1, 1, day.Add(-time.Second)),
		report("first", pam.ID, 1, 1, day),
		report("last", pam.ID, 1, 1, day.Add(24*time.Hour-time.Second)),
		report("after", pam.ID, 1, 1, day.Add(24*time.Hour)),
	)
	for _, tt := range []struct {
		name       string
		start, end time.Time
		want       int
	}{
		{"open", zeroTime, zeroTime, 4},
		{"from the day", day, zeroTime, 3},
		{"until the day", zeroTime, day.Add(24 * time.Hour), 3},
		{"the day", day, day.Add(24 * time.Hour), 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			locs, err := db.FindLocations(ctx, pam.ID, tt.start, tt.end)
			if err != nil || len(locs) != tt.want {
				t.Errorf("FindLocations(%v, %v) = %d, %v; want %d", tt.start, tt.end, len(locs), err, tt.want)
			}
		})
	}
	if _, err := db.FindLocations(ctx, 404, zeroTime, zeroTime); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("FindLocations of an unknown person: %v; want not found", err)
	}
	if _, err := db.FindLocation(ctx, 404); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("FindLocation(404): %v; want not found", err)
	}
}

func TestStoreReportsDatabaseDown(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	db.Close()
	_, _, err := db.StoreReports(context.Background(), []udaconnect.Report{report("x", 1, 1, 1, time.Now())})
	if code := udaconnect.ErrorCode(err); code != udaconnect.EUNAVAILABLE {
		t.Errorf("StoreReports on a closed pool: code %q (%v); want %q", code, err, udaconnect.EUNAVAILABLE)
	}
}

// Concurrent batches of the same events, in opposite orders, store each
// event once and wait on each other without deadlocking.
func TestStoreReportsConcurrently(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	pam := mustCreatePerson(t, db, "Pam", "Trexler")
	at := time.Date(2020, 7, 7, 10, 37, 6, 0, time.UTC)
	var forward, backward []udaconnect.Report
	for i := range 3000 {
		forward = append(forward, report(fmt.Sprintf("e%03d", i), pam.ID, 35, -106, at.Add(time.Duration(i)*time.Second)))
	}
	for i := range forward {
		backward = append(backward, forward[len(forward)-1-i])
	}
	for round := range 3 {
		var wg sync.WaitGroup
		results := make([][]udaconnect.Location, 4)
		for i, batch := range [][]udaconnect.Report{forward, backward, forward, backward} {
			wg.Go(func() {
				locs, _, err := db.StoreReports(context.Background(), batch)
				if err != nil {
					t.Errorf("round %d, batch %d: %v", round, i, err)
				}
				results[i] = locs
			})
		}
		wg.Wait()
		for i, locs := range results {
			for j, l := range locs {
				k := j
				if i%2 == 1 {
					k = len(locs) - 1 - j
				}
				if l != results[0][k] {
					t.Fatalf("round %d: batch %d stored %+v for %s; batch 0 %+v", round, i, l, forward[k].EventID, results[0][k])
				}
			}
		}
	}
	all, err := db.FindLocations(context.Background(), pam.ID, zeroTime, zeroTime)
	if err != nil || len(all) != len(forward) {
		t.Errorf("stored %d locations, %v; want %d", len(all), err, len(forward))
	}
}
