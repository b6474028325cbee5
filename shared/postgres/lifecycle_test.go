package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// openAs opens the database at url as a function's role.
func openAs(t *testing.T, url, role string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.RoleURL(t, url, role))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func countReports(t *testing.T, db *postgres.DB, personID int64) int {
	t.Helper()
	n := 0
	if err := db.EachLocation(context.Background(), personID, func(udaconnect.Location) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Deleting a person, as the persons role, takes their reports with them,
// leaves the others', and revokes their tokens.
func TestDeletePerson(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	locations := openAs(t, url, postgres.RoleLocations)
	persons := openAs(t, url, postgres.RolePersons)
	pam, ann := mustCreatePerson(t, persons, "Pam", "Trexler"), mustCreatePerson(t, persons, "Ann", "Other")
	at := time.Date(2021, 5, 5, 10, 0, 0, 0, time.UTC)
	mustStore(t, locations, report("p1", pam.ID, 35, -106, at), report("p2", pam.ID, 35, -106, at.Add(time.Minute)),
		report("a1", ann.ID, 35, -106, at))

	if err := persons.DeletePerson(ctx, pam.ID); err != nil {
		t.Fatalf("DeletePerson(pam) = %v", err)
	}
	if _, err := persons.FindPerson(ctx, pam.ID); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("FindPerson(deleted) = %v; want not found", err)
	}
	if n := countReports(t, locations, pam.ID); n != 0 {
		t.Errorf("%d reports of the deleted person left; want 0", n)
	}
	if n := countReports(t, locations, ann.ID); n != 1 {
		t.Errorf("%d reports of another person; want 1", n)
	}
	gens, err := persons.TokenGenerations(ctx)
	if err != nil || gens[fmt.Sprint("person-", pam.ID)] != postgres.Deleted || gens[fmt.Sprint("person-", ann.ID)] != 0 || len(gens) != 1 {
		t.Errorf("TokenGenerations = %v, %v; want %d for the deleted person alone", gens, err, int64(postgres.Deleted))
	}
	if err := persons.DeletePerson(ctx, pam.ID); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("DeletePerson twice = %v; want not found", err)
	}
}

// Retention deletes the reports older than the cutoff, in several batches,
// and keeps the rest.
func TestDeleteReportsBefore(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	locations := openAs(t, url, postgres.RoleLocations)
	owner, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	pam := mustCreatePerson(t, owner, "Pam", "Trexler")
	cutoff := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	old := 2*postgres.RetentionBatch + 7
	var reports []udaconnect.Report
	for i := range old + 3 {
		at := cutoff.Add(-time.Duration(i+1) * time.Minute) // the first old ones
		if i >= old {
			at = cutoff.Add(time.Duration(i) * time.Minute) // then 3 recent
		}
		reports = append(reports, report(fmt.Sprint("r", i), pam.ID, 35, -106, at))
	}
	for i := 0; i < len(reports); i += 1000 {
		mustStore(t, owner, reports[i:min(i+1000, len(reports))]...)
	}
	deleted, err := locations.DeleteReportsBefore(ctx, cutoff)
	if err != nil || deleted != int64(old) {
		t.Fatalf("DeleteReportsBefore = %d, %v; want %d", deleted, err, old)
	}
	if n := countReports(t, locations, pam.ID); n != 3 {
		t.Errorf("%d reports left; want the 3 recent ones", n)
	}
}
