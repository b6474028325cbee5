package postgres_test

import (
	"context"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

func TestMigrateTwice(t *testing.T) {
	db := pgtest.MustOpenDB(t) // migrated once already
	applied, err := db.Migrate(context.Background())
	if err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("Migrate again applied %v; want nothing", applied)
	}
}

// A seeded person the organizer deleted stays deleted, with their reports,
// when the demo data is loaded again (make run loads it at every start).
func TestSeedKeepsTheDeleted(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if err := db.Seed(ctx); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if err := db.DeletePerson(ctx, 9); err != nil {
		t.Fatalf("DeletePerson(9): %v", err)
	}
	if err := db.Seed(ctx); err != nil {
		t.Fatalf("Seed again: %v", err)
	}
	if p, err := db.FindPerson(ctx, 9); err == nil {
		t.Errorf("person 9 after seeding again = %+v; want deleted", p)
	}
	if locs, err := db.FindLocations(ctx, 9, zeroTime, zeroTime); len(locs) != 0 || udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
		t.Errorf("person 9's reports after seeding again = %d, %v; want none, the person not found", len(locs), err)
	}
}

func TestSeed(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	for range 2 {
		if err := db.Seed(ctx); err != nil {
			t.Fatalf("Seed: %v", err)
		}
	}
	persons, err := db.FindPersons(ctx, udaconnect.PersonQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(persons) != 5 {
		t.Fatalf("FindPersons after seeding twice = %d people; want 5", len(persons))
	}
	for _, p := range persons {
		locs, err := db.FindLocations(ctx, p.ID, zeroTime, zeroTime)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range locs {
			// Every point lies around San Mateo or Albuquerque, a degree at most
			// away, never with latitude and longitude swapped.
			sanMateo := near(l.Latitude, 37.55, 0.1) && near(l.Longitude, -122.29, 0.1)
			albuquerque := near(l.Latitude, 35.05, 1.1) && near(l.Longitude, -106.57, 1.1)
			if !sanMateo && !albuquerque {
				t.Errorf("seeded location %d at (%g, %g) is neither in San Mateo nor in Albuquerque", l.ID, l.Latitude, l.Longitude)
			}
		}
	}
	// Its reports are queued for detection once.
	lease, err := db.ClaimZone(ctx, 0)
	if err != nil || lease == nil {
		t.Fatalf("ClaimZone(0) = %v, %v", lease, err)
	}
	defer lease.Close()
	backlog, err := lease.Backlog(ctx, nil, 1000)
	if err != nil || len(backlog) != 1 || len(backlog[0].Locations) < 30 {
		t.Errorf("backlog after seeding twice = %+v, %v; want one row of the seed's locations", backlog, err)
	}

	// New rows get ids past the seeded ones.
	p, err := db.CreatePerson(ctx, person("New", "Person"), "test", "new-person", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID <= 9 {
		t.Errorf("new person id = %d; want past the seeded ids", p.ID)
	}
}

func near(v, want, tolerance float64) bool { return v >= want-tolerance && v <= want+tolerance }
