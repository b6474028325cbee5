package conference_test

import (
	"math"
	"reflect"
	"slices"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
)

func TestReports(t *testing.T) {
	c := conference.Default
	c.Attendees, c.Days = 30, 2
	ids := []int64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}
	collect := func() []udaconnect.Report { return slices.Collect(c.Reports(ids)) }
	reports := collect()
	if want := c.Attendees * c.ReportsPerAttendee(); len(reports) != want {
		t.Fatalf("%d reports; want %d", len(reports), want)
	}
	if again := collect(); !reflect.DeepEqual(again, reports) {
		t.Error("the same config generated other reports")
	}
	perPerson := map[int64]int{}
	events := map[string]bool{}
	for i, r := range reports {
		if err := r.Validate(); err != nil {
			t.Fatalf("report %d is invalid: %v", i, err)
		}
		if i > 0 && r.CreationTime.Sub(reports[i-1].CreationTime) < -c.Interval {
			t.Fatalf("report %d at %v is out of time order after %v", i, r.CreationTime, reports[i-1].CreationTime)
		}
		// Everything happens within a few hundred metres of the venue.
		if math.Abs(r.Latitude-c.Latitude) > 0.005 || math.Abs(r.Longitude-c.Longitude) > 0.005 {
			t.Fatalf("report %d at (%g, %g) is far from the venue", i, r.Latitude, r.Longitude)
		}
		perPerson[r.PersonID]++
		events[r.Source+r.EventID] = true
	}
	for _, id := range ids {
		if perPerson[id] != c.ReportsPerAttendee() {
			t.Errorf("attendee %d sent %d reports; want %d", id, perPerson[id], c.ReportsPerAttendee())
		}
	}
	if len(events) != len(reports) {
		t.Errorf("%d distinct event ids for %d reports; want one each", len(events), len(reports))
	}
	if persons := c.Persons(); len(persons) != c.Attendees || persons[0].Validate() != nil {
		t.Errorf("Persons() = %d, first %+v; want %d valid people", len(persons), persons[0], c.Attendees)
	}
}
