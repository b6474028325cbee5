package detection_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// BenchmarkLateReports is a zone detecting reports that arrive late
// together, as after a network outage: 300 people in a 60 m hall
// reporting every 5 s for 8 minutes, where a third of the attendees' reports of minutes 2 to 6
// are held back until the rest of the 8 minutes is detected. Measured: the
// detection of those held back (most older than the frontier, so placed
// through the history), stored in groups of 1,000 as locations stores
// them, to the zone's checkpoint. late-reports/s is their rate.
func BenchmarkLateReports(b *testing.B) {
	ctx := context.Background()
	h := conference.Hall2000
	h.Attendees, h.Duration = 300, 8*time.Minute
	outage := [2]time.Time{h.Start.Add(2 * time.Minute), h.Start.Add(6 * time.Minute)}
	var late int
	var took time.Duration
	for range b.N {
		b.StopTimer()
		db := pgtest.MustOpenDB(b)
		ids := attendees(b, db, h.Attendees)
		away := map[int64]bool{}
		for i, id := range ids {
			away[id] = i%3 == 0
		}
		var live, held []udaconnect.Report
		for batch := range h.Batches(ids) {
			for _, l := range batch {
				r := udaconnect.Report{Location: l, Source: "/bench/late", EventID: fmt.Sprint(l.ID)}
				if away[l.PersonID] && !l.CreationTime.Before(outage[0]) && l.CreationTime.Before(outage[1]) {
					held = append(held, r)
				} else {
					live = append(live, r)
				}
			}
		}
		lease, zone := open(b, db)
		store(b, db, live)
		if err := zone.Drain(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
		store(b, db, held)
		b.StartTimer()
		began := time.Now()
		if err := zone.Drain(ctx, time.Now()); err != nil {
			b.Fatal(err)
		}
		took += time.Since(began)
		late += len(held)
		b.StopTimer()
		lease.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(late)/took.Seconds(), "late-reports/s")
}

// store stores reports as locations does, in groups of 1,000.
func store(b *testing.B, db *postgres.DB, reports []udaconnect.Report) {
	for group := range slices.Chunk(reports, 1000) {
		if _, _, err := db.StoreReports(context.Background(), group); err != nil {
			b.Fatal(err)
		}
	}
}
