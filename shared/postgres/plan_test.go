package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// The connection query must find neighbours through the spatial index, not
// by reading location in full, on a realistic amount of data.
func TestConnectionPlanUsesSpatialIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 105,600 reports")
	}
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	c := conference.Default
	c.Attendees, c.Days = 1100, 1 // 96 reports each
	ids, err := conference.Load(ctx, db, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	for _, window := range []time.Duration{0, 15 * time.Minute} {
		q := udaconnect.ConnectionQuery{PersonID: ids[len(ids)/2], Start: c.Start, End: c.Start.AddDate(0, 0, 1), Distance: 5, Window: window}
		plan, err := db.ExplainConnections(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plan, "Seq Scan on location") || !strings.Contains(plan, "location_coordinate_time_idx") {
			t.Errorf("window %v: the plan does not find neighbours through location_coordinate_time_idx:\n%s", window, plan)
		}
		conns, err := db.FindConnections(ctx, q)
		if err != nil || len(conns) == 0 {
			t.Errorf("window %v: FindConnections = %d, %v; want the attendee to have met people", window, len(conns), err)
		}
		t.Logf("window %v: %d connections; plan:\n%s", window, len(conns), plan)
	}
}

// A search of 10,000 people reads a common word's people in name order,
// only as far as the page, and finds a rare word's through its trigrams,
// not by reading everyone; a later page starts at its cursor in the index.
func TestPersonSearchPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 10,000 people")
	}
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	c := conference.Default
	c.Attendees = 10_000
	for i, p := range c.Persons() {
		if _, err := db.CreatePerson(ctx, p, "plan", fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		q     udaconnect.PersonQuery
		want  int // people found
		index string
	}{
		{"everyone", udaconnect.PersonQuery{Limit: 100}, 100, "Index Scan using person_name_idx"},
		{"a common word", udaconnect.PersonQuery{Words: []string{"A"}, Limit: 100}, 100, "Index Scan using person_name_idx"},
		{"a later page", udaconnect.PersonQuery{Words: []string{"a"}, Limit: 100, After: udaconnect.PersonCursor{LastName: "Hopper 4000", FirstName: "Ada", ID: 1}}, 100, "Index Cond: (ROW(last_name, first_name, id) > ROW("},
		{"rare words", udaconnect.PersonQuery{Words: []string{"99", "zUSe"}, Limit: 100}, 8, "Bitmap Index Scan on person_search_idx"},
		{"no one", udaconnect.PersonQuery{Words: []string{"lovelace"}, Limit: 100}, 0, "Bitmap Index Scan on person_search_idx"},
	} {
		plan, err := db.ExplainPersons(ctx, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, tt.index) || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the plan is not through %q:\n%s", tt.name, tt.index, plan)
		}
		persons, err := db.FindPersons(ctx, tt.q)
		if err != nil || len(persons) != tt.want {
			t.Errorf("%s: FindPersons = %d people, %v; want %d", tt.name, len(persons), err, tt.want)
		}
	}
}

// Deleting a person deletes their announcements through the indexes of the
// outbox's two persons, not by reading it whole: a sink away for a while
// leaves many waiting.
func TestDeleteAnnouncementsPlan(t *testing.T) {
	db, admin := mustOpenAdmin(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, `
		INSERT INTO announcement (location_id, other_id, person_id, near_id, started, distance)
		SELECT g, 1 + g % 5000, 1 + (g * 7) % 5000, g + 1, now(), 1 FROM generate_series(1, 100000) g`); err != nil {
		t.Fatal(err)
	}
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := db.ExplainDeleteAnnouncements(ctx, 42)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "announcement_person_idx") || !strings.Contains(plan, "announcement_other_idx") {
		t.Errorf("the plan does not find the person's announcements through their indexes:\n%s", plan)
	}
}
