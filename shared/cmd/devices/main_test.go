package main

import (
	"reflect"
	"slices"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
)

// Two runs that end at different times send different reports: each has
// ids of its own, or the second run's would be refused (422, the ids used
// before with other times) and end in the dead letters. Moved to the same
// time they are the same reports, stored once.
func TestEndNowGivesNewReportsNewIDs(t *testing.T) {
	c := conference.Default
	c.Attendees, c.Days, c.Interval = 3, 1, time.Minute
	c.Start = time.Date(2026, 6, 16, 0, 0, 0, 0, time.UTC)
	var reports []udaconnect.Report
	for r := range c.Reports([]int64{1, 2, 3}) {
		if reports = append(reports, r); len(reports) == 30 {
			break
		}
	}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	first, again, later := slices.Clone(reports), slices.Clone(reports), slices.Clone(reports)
	endNow(first, now)
	endNow(again, now)
	endNow(later, now.Add(time.Minute))
	if !reflect.DeepEqual(first, again) {
		t.Error("the same reports moved to the same time differ")
	}
	ids := map[string]time.Time{}
	for _, rs := range [][]udaconnect.Report{first, later} {
		for _, r := range rs {
			if at, ok := ids[r.Source+" "+r.EventID]; ok {
				t.Fatalf("event %s sent at %v and again at %v: the second is refused", r.EventID, at, r.CreationTime)
			}
			ids[r.Source+" "+r.EventID] = r.CreationTime
		}
	}
	if last := later[len(later)-1].CreationTime; !last.Equal(now.Add(time.Minute)) {
		t.Errorf("the last report at %v, want %v", last, now.Add(time.Minute))
	}
}
