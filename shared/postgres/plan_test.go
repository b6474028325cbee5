package postgres_test

import (
	"context"
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
