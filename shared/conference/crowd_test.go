package conference_test

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
)

func TestHall(t *testing.T) {
	h := conference.Hall2000
	h.Attendees, h.Size, h.Duration = 200, 20, 5*time.Minute
	ids := make([]int64, h.Attendees)
	for i := range ids {
		ids[i] = int64(100 + i)
	}
	var reports []udaconnect.Location
	batches := 0
	for batch := range h.Batches(ids) {
		batches++
		if !slices.IsSortedFunc(batch, func(x, y udaconnect.Location) int { return x.CreationTime.Compare(y.CreationTime) }) {
			t.Fatalf("batch %d is not in time order", batches)
		}
		if len(reports) > 0 && batch[0].CreationTime.Before(reports[len(reports)-1].CreationTime) {
			t.Fatalf("batch %d starts before the one before it ends", batches)
		}
		reports = append(reports, batch...)
	}
	if want := h.ReportsPerAttendee(); batches != want {
		t.Errorf("%d batches; want %d", batches, want)
	}
	if want := h.Attendees * h.ReportsPerAttendee(); len(reports) != want {
		t.Fatalf("%d reports; want %d", len(reports), want)
	}
	var again []udaconnect.Location
	for batch := range h.Batches(ids) {
		again = append(again, batch...)
	}
	if !reflect.DeepEqual(again, reports) {
		t.Error("the same hall generated other reports")
	}

	// Every report valid, in the hall; each attendee every Interval, never
	// faster than a walk (plus the jitter of standing).
	const metresPerDegree = 111_320.0
	last := map[int64]udaconnect.Location{}
	numbered := map[int64]bool{}
	for i, r := range reports {
		if err := r.Validate(); err != nil {
			t.Fatalf("report %d is invalid: %v", i, err)
		}
		if r.ID < 1 || r.ID > int64(len(reports)) || numbered[r.ID] {
			t.Fatalf("report %d numbered %d again, or out of 1 to %d", i, r.ID, len(reports))
		}
		numbered[r.ID] = true
		north := (r.Latitude - h.Latitude) * metresPerDegree
		east := (r.Longitude - h.Longitude) * metresPerDegree * math.Cos(h.Latitude*math.Pi/180)
		if math.Abs(north) > h.Size/2+3 || math.Abs(east) > h.Size/2+3 {
			t.Fatalf("report %d at %.1f m north, %.1f m east: out of a %v m hall", i, north, east, h.Size)
		}
		if p, ok := last[r.PersonID]; ok {
			if gap := r.CreationTime.Sub(p.CreationTime); gap != h.Interval {
				t.Fatalf("person %d reported %v after their last report; want %v", r.PersonID, gap, h.Interval)
			}
			dn := (r.Latitude - p.Latitude) * metresPerDegree
			de := (r.Longitude - p.Longitude) * metresPerDegree * math.Cos(h.Latitude*math.Pi/180)
			if d := math.Hypot(dn, de); d > 1.2*h.Interval.Seconds()+5 {
				t.Fatalf("person %d moved %.1f m in %v", r.PersonID, d, h.Interval)
			}
		}
		last[r.PersonID] = r
	}
}

// At the design point most people are standing close to others: about 2 a
// square metre at a spot.
func TestHallCrowd(t *testing.T) {
	h := conference.Hall2000
	h.Duration = h.Interval
	ids := make([]int64, h.Attendees)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	var first []udaconnect.Location
	for batch := range h.Batches(ids) {
		first = batch
	}
	const metresPerDegree = 111_320.0
	near := 0
	for _, a := range first[:200] {
		for _, b := range first {
			dn := (a.Latitude - b.Latitude) * metresPerDegree
			de := (a.Longitude - b.Longitude) * metresPerDegree * math.Cos(h.Latitude*math.Pi/180)
			if a.PersonID != b.PersonID && math.Hypot(dn, de) <= 5 {
				near++
			}
		}
	}
	perReport := float64(near) / 200
	t.Logf("%.1f people within 5 m of a report", perReport)
	if perReport < 20 || perReport > 120 {
		t.Errorf("%.1f people within 5 m of a report; want a crowd of 20 to 120", perReport)
	}
}
