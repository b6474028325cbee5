package postgres_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// Around (35° N, 106° W) a degree of latitude is 110,940 m of the WGS84
// spheroid's meridian.
const lat0, lon0, metresPerDegree = 35.0, -106.0, 110_940.0

func north(m float64) float64 { return lat0 + m/metresPerDegree }

// fixtureDay is the day of the fixtures; clock(h, m) is h:m on it (h past 23
// on the days after, below 0 on the days before).
var fixtureDay = time.Date(2020, 7, 7, 0, 0, 0, 0, time.UTC)

func clock(h, m int) time.Time {
	return fixtureDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

func TestFindConnections(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann := mustCreatePerson(t, db, "Ann", "Queried")
	bob := mustCreatePerson(t, db, "Bob", "Near")
	cat := mustCreatePerson(t, db, "Cat", "Later")
	dan := mustCreatePerson(t, db, "Dan", "Far")
	eve := mustCreatePerson(t, db, "Eve", "Alone")

	locs := mustStore(t, db,
		report("ann-1", ann.ID, lat0, lon0, clock(10, 0)),
		report("ann-2", ann.ID, north(1), lon0, clock(10, 5)),
		report("ann-next-day", ann.ID, lat0, lon0, clock(34, 0)),
		report("bob-1", bob.ID, north(4.9), lon0, clock(10, 10)),   // near ann-1 (4.9 m) and ann-2 (3.9 m), 5–10 min apart
		report("bob-next-day", bob.ID, lat0, lon0, clock(34, 1)),   // near ann-next-day only
		report("cat-1", cat.ID, lat0, lon0, clock(11, 0)),          // same place an hour later
		report("cat-late", cat.ID, lat0, lon0, clock(23, 59)),      // last minute of the day
		report("dan-1", dan.ID, north(-5.1), lon0, clock(10, 0)),   // 5.1 m from ann-1: out at 5 m
		report("dan-other-day", dan.ID, lat0, lon0, clock(-1, 0)),  // the day before
		report("ann-far", ann.ID, north(1000), lon0, clock(12, 0)), // nobody there
	)
	id := map[string]int64{}
	for i, name := range []string{"ann-1", "ann-2", "ann-next-day", "bob-1", "bob-next-day", "cat-1", "cat-late", "dan-1", "dan-other-day", "ann-far"} {
		id[name] = locs[i].ID
	}

	for _, tt := range []struct {
		name       string
		start, end string
		distance   float64
		window     time.Duration
		want       []string
	}{
		{"plain", "2020-07-07", "2020-07-07", 5, 0, []string{"bob-1", "cat-1", "cat-late"}},
		{"window 15m", "2020-07-07", "2020-07-07", 5, 15 * time.Minute, []string{"bob-1"}},
		{"window 4m", "2020-07-07", "2020-07-07", 5, 4 * time.Minute, nil},
		{"window 5m reaches ann-2", "2020-07-07", "2020-07-07", 5, 5 * time.Minute, []string{"bob-1"}},
		{"distance 5.2 m", "2020-07-07", "2020-07-07", 5.2, 0, []string{"dan-1", "bob-1", "cat-1", "cat-late"}},
		{"two days", "2020-07-07", "2020-07-08", 5, 0, []string{"bob-1", "cat-1", "cat-late", "bob-next-day"}},
		{"the day before", "2020-07-06", "2020-07-06", 5, 0, nil},
		{"the next day", "2020-07-08", "2020-07-08", 5, 0, []string{"bob-next-day"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := udaconnect.ConnectionQuery{PersonID: ann.ID, Distance: tt.distance, Window: tt.window}
			q.Start, _ = time.Parse(time.DateOnly, tt.start)
			q.End, _ = time.Parse(time.DateOnly, tt.end)
			q.End = q.End.AddDate(0, 0, 1)
			conns, err := db.FindConnections(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, c := range conns {
				got = append(got, c.Location.ID)
				if c.Person.ID != c.Location.PersonID || c.Person.FirstName == "" {
					t.Errorf("connection %+v: person does not match its location", c)
				}
				if c.Distance > tt.distance {
					t.Errorf("connection at %g m; want at most %g", c.Distance, tt.distance)
				}
			}
			var want []int64
			for _, name := range tt.want {
				want = append(want, id[name])
			}
			if !slices.Equal(got, want) {
				t.Errorf("FindConnections = %v; want %v (%v), oldest first", got, want, tt.want)
			}
		})
	}

	// bob-1 is 4.9 m from ann-1 and 3.9 m from ann-2: it appears once, at
	// 3.9 m, whether it is found near both at once (plain) or near each on
	// its own (window).
	for _, window := range []time.Duration{0, 15 * time.Minute} {
		t.Run(fmt.Sprintf("closest distance, window %v", window), func(t *testing.T) {
			q := udaconnect.ConnectionQuery{PersonID: ann.ID, Start: fixtureDay, End: fixtureDay.AddDate(0, 0, 1), Distance: 5, Window: window}
			conns, err := db.FindConnections(ctx, q)
			if err != nil || len(conns) == 0 {
				t.Fatalf("FindConnections = %v, %v", conns, err)
			}
			if c := conns[0]; c.Location.ID != id["bob-1"] || math.Abs(c.Distance-3.9) > 0.01 {
				t.Errorf("first connection = location %d at %g m; want bob-1 at 3.9 m", c.Location.ID, c.Distance)
			}
			if c := conns[0]; math.Abs(c.Location.Latitude-north(4.9)) > 1e-12 || c.Location.Longitude != lon0 {
				t.Errorf("bob-1 at (%g, %g); want (%g, %g)", c.Location.Latitude, c.Location.Longitude, north(4.9), lon0)
			}
			if c := conns[0]; c.Person != bob || !c.Location.CreationTime.Equal(clock(10, 10)) || c.Location.CreationTime.Location() != time.UTC {
				t.Errorf("bob-1 = %+v; want from %+v at %v UTC", c, bob, clock(10, 10))
			}
		})
	}

	t.Run("no reports", func(t *testing.T) {
		q := udaconnect.ConnectionQuery{PersonID: eve.ID, Start: fixtureDay, End: fixtureDay.AddDate(0, 0, 1), Distance: 5}
		conns, err := db.FindConnections(ctx, q)
		if err != nil || conns == nil || len(conns) != 0 {
			t.Errorf("FindConnections of a person with no reports = %#v, %v; want an empty list", conns, err)
		}
	})

	t.Run("unknown person", func(t *testing.T) {
		q := udaconnect.ConnectionQuery{PersonID: 4040, Start: fixtureDay, End: fixtureDay.AddDate(0, 0, 1), Distance: 5}
		if _, err := db.FindConnections(ctx, q); udaconnect.ErrorCode(err) != udaconnect.ENOTFOUND {
			t.Errorf("FindConnections of an unknown person: %v; want not found", err)
		}
	})
}

// With a window, a report is measured only to the queried person's reports
// within the window of it, even when they were made from one place one
// after the other and searched around together.
func TestFindConnectionsWindowPerReport(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann := mustCreatePerson(t, db, "Ann", "Stays")
	joe := mustCreatePerson(t, db, "Joe", "Passes")
	locs := mustStore(t, db,
		report("ann-1", ann.ID, lat0, lon0, clock(10, 0)),
		report("ann-2", ann.ID, north(2), lon0, clock(10, 30)),     // 2 m from ann-1: the same stay
		report("joe-mid", joe.ID, north(-1), lon0, clock(10, 15)),  // 1 m from ann-1, 3 m from ann-2, 15 minutes from both
		report("joe-late", joe.ID, north(-1), lon0, clock(10, 36)), // 6 minutes after ann-2, 36 after ann-1
	)
	mid, late := locs[2].ID, locs[3].ID
	type found struct {
		id       int64
		distance float64
	}
	for _, tt := range []struct {
		window time.Duration
		want   []found
	}{
		{0, []found{{mid, 1}, {late, 1}}},
		{15 * time.Minute, []found{{mid, 1}, {late, 3}}},
		{6 * time.Minute, []found{{late, 3}}},
		{5 * time.Minute, nil},
	} {
		t.Run(fmt.Sprintf("window %v", tt.window), func(t *testing.T) {
			q := udaconnect.ConnectionQuery{PersonID: ann.ID, Start: fixtureDay, End: fixtureDay.AddDate(0, 0, 1), Distance: 5, Window: tt.window}
			conns, err := db.FindConnections(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var got []found
			for _, c := range conns {
				got = append(got, found{c.Location.ID, math.Round(c.Distance*100) / 100})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FindConnections = %v; want %v (joe-mid %d, joe-late %d)", got, tt.want, mid, late)
			}
		})
	}
}
