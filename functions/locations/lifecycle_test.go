package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detection"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// The seed's reports are from 2020: a retention of 30 days deletes them all
// when the event comes, and a report of now stays; without a retention
// nothing is deleted.
func TestRetention(t *testing.T) {
	for _, retention := range []string{"", "30d"} {
		t.Run("RETENTION="+retention, func(t *testing.T) {
			t.Setenv("RETENTION", retention)
			url, db := start(t)
			now := time.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
			servertest.Send(t, url, "binary", servertest.NewEvent(t, ev.LocationReported, "recent", reportData(1, 37.55, -122.29, now)))
			if r := servertest.Send(t, url, "binary", servertest.NewEvent(t, ev.RetentionDue, "due", struct{}{})); r.Status != http.StatusAccepted {
				t.Fatalf("POST retention.due = %d %s; want 202", r.Status, r.Body)
			}
			locs, err := db.FindLocations(context.Background(), 1, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if retention == "" && len(locs) < 2 {
				t.Errorf("without retention %d reports of person 1 left; want the seed's and the recent one", len(locs))
			}
			if retention != "" && (len(locs) != 1 || locs[0].CreationTime.Format(time.RFC3339) != now) {
				t.Errorf("after retention person 1 has %+v; want the recent report alone", locs)
			}
		})
	}
}

func TestExport(t *testing.T) {
	url, db := start(t)
	// The seed's meetings, as connections would detect them.
	if _, err := detection.DrainZone(context.Background(), db, 0, detection.Params()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Person    udaconnect.Person     `json:"person"`
		Meetings  []udaconnect.Meeting  `json:"meetings"`
		Locations []udaconnect.Location `json:"locations"`
	}
	r := servertest.Request(t, "GET", url+"/api/persons/1/export", nil)
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &doc) != nil {
		t.Fatalf("GET export = %d %s; want 200 with a JSON document", r.Status, r.Body)
	}
	want, err := db.FindLocations(context.Background(), 1, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Person.ID != 1 || doc.Person.FirstName == "" || len(doc.Locations) != len(want) || len(want) == 0 {
		t.Fatalf("export = %+v; want person 1 and their %d reports", doc, len(want))
	}
	for i := range want {
		if doc.Locations[i] != want[i] {
			t.Errorf("export location %d = %+v; want %+v", i, doc.Locations[i], want[i])
		}
	}
	// All of Pam's meetings are in her export.
	met, err := db.FindMeetings(context.Background(), udaconnect.MeetingQuery{PersonID: 1, Limit: udaconnect.MaxMeetingLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(met) == 0 || len(doc.Meetings) != len(met) {
		t.Errorf("export has %d meetings; want Pam's %d", len(doc.Meetings), len(met))
	}
	for path, status := range map[string]int{"/api/persons/999999/export": 404, "/api/persons/x/export": 400} {
		if r := servertest.Request(t, "GET", url+path, nil); r.Status != status {
			t.Errorf("GET %s = %d; want %d", path, r.Status, status)
		}
	}
}
