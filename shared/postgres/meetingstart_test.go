package postgres_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

func TestFindMeetingStarts(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	ann := mustCreatePerson(t, db, "Ann", "Stays")
	bob := mustCreatePerson(t, db, "Bob", "Joins")
	cat := mustCreatePerson(t, db, "Cat", "Edge")
	dan := mustCreatePerson(t, db, "Dan", "Waits")
	eve := mustCreatePerson(t, db, "Eve", "Wanders")

	names := []string{"ann-1", "ann-2", "ann-3", "ann-back", "bob-1", "bob-2", "bob-back", "cat-1", "cat-2", "dan-1", "dan-2", "eve-1", "eve-away", "eve-3"}
	locs := mustStore(t, db,
		report("ann-1", ann.ID, lat0, lon0, clock(10, 0)),
		report("ann-2", ann.ID, lat0, lon0, clock(10, 5)),
		report("ann-3", ann.ID, lat0, lon0, clock(10, 10)),
		report("ann-back", ann.ID, lat0, lon0, clock(10, 40)), // 30 minutes after ann-3
		report("bob-1", bob.ID, north(2), lon0, clock(10, 5)),
		report("bob-2", bob.ID, north(2), lon0, clock(10, 10)),
		report("bob-back", bob.ID, north(2), lon0, clock(10, 40)),
		report("cat-1", cat.ID, north(-5.1), lon0, clock(10, 0)),  // 5.1 m from Ann: out
		report("cat-2", cat.ID, north(-4.9), lon0, clock(10, 20)), // 4.9 m from Ann, 10 minutes after ann-3
		report("dan-1", dan.ID, north(500), lon0, clock(9, 0)),    // elsewhere, before the others
		report("dan-2", dan.ID, north(500), lon0, clock(9, 10)),
		report("eve-1", eve.ID, north(500), lon0, clock(9, 0)),
		report("eve-away", eve.ID, north(600), lon0, clock(9, 5)),
		report("eve-3", eve.ID, north(500), lon0, clock(9, 10)),
	)
	id, name := map[string]int64{}, map[int64]string{}
	for i, n := range names {
		id[n], name[locs[i].ID] = locs[i].ID, n
	}

	for _, tt := range []struct {
		of   []string
		want []string // location → near report of the other person
	}{
		{[]string{"ann-1"}, []string{"ann-1→bob-1"}},                                  // Bob 5 minutes later: both his reports are 2 m away, the first counts
		{[]string{"ann-2"}, []string{"ann-2→cat-2"}},                                  // Bob was already near ann-1; Cat comes within 4.9 m, 15 minutes later
		{[]string{"ann-3"}, nil},                                                      // both were already near ann-2
		{[]string{"ann-back"}, []string{"ann-back→bob-back"}},                         // after 30 minutes apart, a new meeting
		{[]string{"bob-1"}, []string{"bob-1→ann-1"}},                                  // the other way round
		{[]string{"bob-2"}, nil},                                                      // already near Ann; 6.9 m from Cat
		{[]string{"cat-1", "cat-2"}, []string{"cat-2→ann-2"}},                         // cat-1 is 5.1 m from Ann; cat-2 4.9 m from ann-2 and ann-3 (the first counts), 6.9 m from Bob
		{[]string{"eve-3"}, []string{"eve-3→dan-1"}},                                  // away at her previous report: the meeting starts again (dan-1 and dan-2 both at 0 m, the first counts)
		{[]string{"bob-back", "ann-1"}, []string{"ann-1→bob-1", "bob-back→ann-back"}}, // ordered by location
	} {
		t.Run(fmt.Sprint(tt.of), func(t *testing.T) {
			var ids []int64
			for _, n := range tt.of {
				ids = append(ids, id[n])
			}
			meetings, err := db.FindMeetingStarts(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range meetings {
				got = append(got, name[m.Location.ID]+"→"+name[m.Near.ID])
				if m.Person.ID != m.Location.PersonID || m.Other.ID != m.Near.PersonID || m.Person.FirstName == "" || m.Other.FirstName == "" {
					t.Errorf("meeting %+v: persons do not match their reports", m)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("FindMeetingStarts(%v) = %v; want %v", tt.of, got, tt.want)
			}
		})
	}

	t.Run("distance and place", func(t *testing.T) {
		meetings, err := db.FindMeetingStarts(ctx, []int64{id["cat-2"]})
		if err != nil || len(meetings) != 1 {
			t.Fatalf("FindMeetingStarts(cat-2) = %v, %v; want one meeting", meetings, err)
		}
		m := meetings[0]
		if math.Abs(m.Distance-4.9) > 0.01 || math.Abs(m.Location.Latitude-north(-4.9)) > 1e-12 || m.Location.Longitude != lon0 || !m.Near.CreationTime.Equal(clock(10, 5)) {
			t.Errorf("meeting of cat-2 = %+v; want at (%g, %g), 4.9 m from ann-2 at 10:05", m, north(-4.9), lon0)
		}
	})

	t.Run("unknown location", func(t *testing.T) {
		meetings, err := db.FindMeetingStarts(ctx, []int64{4040})
		if err != nil || len(meetings) != 0 {
			t.Errorf("FindMeetingStarts of an unknown location = %v, %v; want none", meetings, err)
		}
	})
}
