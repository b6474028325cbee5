package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// An attendee's reports are live and plausible: dated within 10 minutes,
// not ahead, not faster than 10 m/s from the previous one, inside the
// venue when it is set; a door that has not seen the attendee yet reads
// their latest stored report. A reporter's may be a day old, no older.
func TestLiveReports(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	a := s.register(t, "Liv", "Live", "Booth")
	asA := servertest.Client{Token: a.Token}
	now := time.Now().UTC()
	n := 0
	report := func(metresNorth float64, at time.Time) event.Event {
		n++
		return servertest.NewEvent(t, ev.LocationReported, fmt.Sprint("live-", n), map[string]any{
			"person_id": a.ID, "latitude": 35.0585136 + metresNorth/111_195, "longitude": -106.5719566, "creation_time": at.Format(time.RFC3339)})
	}
	refused := func(what string, r servertest.Response, field string) {
		t.Helper()
		if r.Status != http.StatusUnprocessableEntity || r.ErrorField(t) != field {
			t.Errorf("%s = %d %s; want 422 naming %s", what, r.Status, r.Body, field)
		}
	}
	refused("a report of three days ago", asA.Send(t, s.door+"/events", "binary", report(0, now.Add(-72*time.Hour))), "creation_time")
	refused("a report of 11 minutes ago", asA.Send(t, s.door+"/events", "structured", report(0, now.Add(-11*time.Minute))), "creation_time")
	refused("a report 5 minutes ahead", asA.Send(t, s.door+"/events", "binary", report(0, now.Add(5*time.Minute))), "creation_time")
	refused("a REST report of three days ago", asA.Request(t, "POST", s.door+"/api/locations", map[string]any{
		"person_id": a.ID, "latitude": 35.05, "longitude": -106.57, "creation_time": now.Add(-72 * time.Hour).Format(time.RFC3339)}), "creation_time")
	for body, want := range map[string]int{`"a string"`: 400, `{"latitude": 35.05}`: 400, `{"person_id": 1, "x": "` + strings.Repeat("x", 70_000) + `"}`: 413} {
		req, _ := http.NewRequest("POST", s.door+"/api/locations", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if r := asA.Do(t, req); r.Status != want {
			t.Errorf("POST /api/locations %.40s… = %d %s; want %d", body, r.Status, r.Body, want)
		}
	}
	if r := asA.Send(t, s.door+"/events", "binary", report(0, now.Add(-time.Minute))); r.Status != http.StatusAccepted {
		t.Fatalf("a live report = %d %s; want 202", r.Status, r.Body)
	}
	refused("1 km away 10 s later", asA.Send(t, s.door+"/events", "binary", report(1000, now.Add(-50*time.Second))), "latitude")
	refused("the same by REST", asA.Request(t, "POST", s.door+"/api/locations", map[string]any{
		"person_id": a.ID, "latitude": 35.0585136 + 1000/111_195.0, "longitude": -106.5719566, "creation_time": now.Add(-50 * time.Second).Format(time.RFC3339)}), "latitude")

	// A batch is checked event by event, each against the one before.
	var batch []any
	for _, e := range []event.Event{report(100, now.Add(-40*time.Second)), report(5000, now.Add(-30*time.Second)), report(150, now.Add(-20*time.Second))} {
		batch = append(batch, e)
	}
	body, _ := json.Marshal(batch)
	req, _ := http.NewRequest("POST", s.door+"/events", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", batchType)
	var answer BatchAnswer
	r := asA.Do(t, req)
	if r.Decode(t, &answer); r.Status != http.StatusUnprocessableEntity || len(answer.Results) != 3 ||
		answer.Results[0].Status != 202 || answer.Results[1].Status != 422 || answer.Results[2].Status != 202 {
		t.Errorf("a batch with a jump of 5 km = %d %s; want 422 for the jump alone", r.Status, r.Body)
	}
	eventually(t, "the attendee's 3 reports stored", func() bool {
		var locs []udaconnect.Location
		s.org.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/locations", s.door, a.ID), nil).Decode(t, &locs)
		return len(locs) == 3
	})

	// Another door, which has not seen the attendee, reads their latest
	// stored report; and it has a venue.
	door2 := s.anotherDoor(t, "VENUE_BOUNDS=35.05,-106.58,35.07,-106.56")
	refused("at another door, 1 km from the stored report 10 s later", asA.Send(t, door2+"/events", "binary", report(1150, now.Add(-10*time.Second))), "latitude")
	refused("at another door, outside the venue", asA.Send(t, door2+"/events", "binary", report(-1e6, now)), "latitude")
	if r := asA.Send(t, door2+"/events", "binary", report(160, now.Add(-10*time.Second))); r.Status != http.StatusAccepted {
		t.Errorf("at another door, a step from the stored report = %d %s; want 202", r.Status, r.Body)
	}

	// A reporter's offline batch may be a day old, no older.
	asR := servertest.Client{Token: s.reporter(t, "Gateway").Token}
	refused("a reporter's report of two days ago", asR.Send(t, s.door+"/events", "binary", report(0, now.Add(-48*time.Hour))), "creation_time")
	if r := asR.Send(t, s.door+"/events", "binary", report(9000, now.Add(-20*time.Hour))); r.Status != http.StatusAccepted {
		t.Errorf("a reporter's report of 20 hours ago, anywhere = %d %s; want 202", r.Status, r.Body)
	}
}
