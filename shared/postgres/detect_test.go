package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// crowd is a small conference, crowded: 16 attendees at 2 booths and a talk
// room for a day, reporting every 10 minutes: 768 reports.
var crowd = conference.Config{
	Attendees: 16, Booths: 2, Talks: 1, Days: 1,
	Start: conference.Default.Start, Interval: 10 * time.Minute,
	Latitude: conference.Default.Latitude, Longitude: conference.Default.Longitude, Seed: 7,
}

// loadCrowd stores c without meetings in a database of its own and returns
// it with the ids of the reports, in time order, and of the attendees.
func loadCrowd(tb testing.TB, c conference.Config) (db *postgres.DB, locations, persons []int64) {
	tb.Helper()
	db = pgtest.MustOpenDB(tb)
	ctx := context.Background()
	persons, err := conference.Load(ctx, db, c, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.Analyze(ctx); err != nil {
		tb.Fatal(err)
	}
	if locations, err = db.LocationIDs(ctx); err != nil {
		tb.Fatal(err)
	}
	return db, locations, persons
}

// detected detects the meetings of locations in batches of size, in the
// order given, and returns every meeting of persons once, as "a+b started
// last_seen closest_m latitude longitude ended", sorted, and the meetings
// that started, as "location→near distance", sorted.
func detected(t *testing.T, db *postgres.DB, locations, persons []int64, size int) (meetings, starts []string) {
	t.Helper()
	ctx := context.Background()
	for batch := range slices.Chunk(locations, size) {
		_, found, err := db.DetectMeetings(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range found {
			starts = append(starts, fmt.Sprintf("%d→%d %v", s.Location.ID, s.Near.ID, s.Distance))
		}
	}
	for _, p := range persons {
		ms, err := db.FindMeetings(ctx, udaconnect.MeetingQuery{PersonID: p, Limit: udaconnect.MaxMeetingLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Person.ID > p {
				meetings = append(meetings, fmt.Sprintf("%d+%d %s %s %v %v %v %v", p, m.Person.ID,
					m.Started.Format(time.RFC3339), m.LastSeen.Format(time.RFC3339), m.ClosestM, m.Latitude, m.Longitude, m.Ended))
			}
		}
	}
	slices.Sort(meetings)
	slices.Sort(starts)
	return meetings, starts
}

// Detection over a batch finds exactly the meetings, to the last bit of
// their closest distance and centroid, and the starts that detection one
// report at a time finds, and so do batches in any order.
func TestDetectBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("detects 768 reports one by one")
	}
	db, locations, persons := loadCrowd(t, crowd)
	want, wantStarts := detected(t, db, locations, persons, 1)
	if len(want) < 100 || len(wantStarts) < 100 {
		t.Fatalf("one report at a time: %d meetings, %d starts; want a crowd's", len(want), len(wantStarts))
	}
	shuffled := slices.Clone(locations)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, tt := range []struct {
		name      string
		locations []int64
		size      int
	}{
		{"all at once", locations, len(locations)},
		{"batches of 100 in time order", locations, 100},
		{"shuffled batches of 100", shuffled, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, _, _ := loadCrowd(t, crowd)
			got, gotStarts := detected(t, db, tt.locations, persons, tt.size)
			if !slices.Equal(got, want) {
				t.Errorf("%d meetings, %d one report at a time; first difference: %s", len(got), len(want), firstDifference(got, want))
			}
			if !slices.Equal(gotStarts, wantStarts) {
				t.Errorf("%d starts, %d one report at a time; first difference: %s", len(gotStarts), len(wantStarts), firstDifference(gotStarts, wantStarts))
			}
		})
	}
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("%q; want %q", got[i], want[i])
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// BenchmarkDetect detects the meetings of a conference's reports of the
// afternoon, in time order, in batches of 1, 100 and 1,000, as connections
// does once the morning's are kept: 100 attendees at 10 booths and a talk
// room, 9,600 reports. It reports the time per report.
func BenchmarkDetect(b *testing.B) {
	c := conference.Default
	c.Attendees, c.Booths, c.Days = 100, 10, 1
	ctx := context.Background()
	for _, size := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db, locations, _ := loadCrowd(b, c)
			noon := len(locations) / 2
			for batch := range slices.Chunk(locations[:noon], 1000) {
				if _, err := db.UpdateMeetings(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			next := noon
			for b.Loop() {
				if next+size > len(locations) {
					b.Fatalf("the afternoon's reports ran out after %d batches: ask for fewer", (next-noon)/size)
				}
				if _, _, err := db.DetectMeetings(ctx, locations[next:next+size]); err != nil {
					b.Fatal(err)
				}
				next += size
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(next-noon), "µs/report")
		})
	}
}
