package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// start serves the function on a seeded database of its own.
func start(t *testing.T) (string, *postgres.DB) {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	if err := db.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	f, err := New(server.Config{}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return servertest.Start(t, f).URL, db
}

// Every route answers only the door and the broker.
func TestCallers(t *testing.T) {
	url, _ := start(t)
	servertest.RefusesStrangers(t, url, "POST /", "POST /api/locations", "GET /api/locations/1",
		"GET /api/persons/1/locations?start_date=2020-01-01", "GET /api/persons/1/export")
}

func reportData(personID int64, lat, lon float64, at string) map[string]any {
	return map[string]any{"person_id": personID, "latitude": lat, "longitude": lon, "creation_time": at}
}

func TestReportLocation(t *testing.T) {
	url, db := start(t)
	for _, mode := range servertest.Modes {
		t.Run(mode, func(t *testing.T) {
			e := servertest.NewEvent(t, ev.LocationReported, "report-"+mode, reportData(1, 37.5536, -122.2909, "2020-07-07T10:40:00Z"))
			first := servertest.Send(t, url, mode, e)
			if first.Status != http.StatusOK || first.Event == nil || first.Event.Type() != ev.LocationRecorded {
				t.Fatalf("POST location.reported = %d %s; want 200 with %s", first.Status, first.Body, ev.LocationRecorded)
			}
			var l udaconnect.Location
			if err := first.Event.DataAs(&l); err != nil {
				t.Fatal(err)
			}
			want := udaconnect.Location{ID: l.ID, PersonID: 1, Latitude: 37.5536, Longitude: -122.2909, CreationTime: time.Date(2020, 7, 7, 10, 40, 0, 0, time.UTC)}
			if l.ID <= 68 || l != want {
				t.Errorf("location.recorded data = %+v; want %+v with a new id", l, want)
			}
			if key := first.Event.Extensions()["partitionkey"]; key != "1" {
				t.Errorf("location.recorded partitionkey = %v; want the person's id, 1", key)
			}
			// Delivered again: acknowledged with the same location and reply.
			again := servertest.Send(t, url, mode, e)
			var l2 udaconnect.Location
			if again.Status != http.StatusOK || again.Event.DataAs(&l2) != nil || l2 != l || again.Event.ID() != first.Event.ID() {
				t.Errorf("redelivery = %d %+v; want 200 with %+v", again.Status, l2, l)
			}
		})
	}
	locs, err := db.FindLocations(context.Background(), 1, time.Date(2020, 7, 7, 10, 38, 0, 0, time.UTC), time.Time{})
	if err != nil || len(locs) != 5 { // 2020-08-15, -18, -19 of the seed, and the two sent
		t.Errorf("Pam's reports after 10:38 = %d, %v; want 5", len(locs), err)
	}
}

func TestReportWithoutCreationTime(t *testing.T) {
	url, _ := start(t)
	e := servertest.NewEvent(t, ev.LocationReported, "no-time", map[string]any{"person_id": 5, "latitude": 35.05, "longitude": -106.57})
	at := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	e.SetTime(at)
	r := servertest.Send(t, url, "binary", e)
	var l udaconnect.Location
	if r.Status != 200 || r.Event.DataAs(&l) != nil || !l.CreationTime.Equal(at) {
		t.Errorf("report without creation_time = %d %+v; want the event's time %v", r.Status, l, at)
	}
}

func TestReportRefused(t *testing.T) {
	url, _ := start(t)
	const at = "2020-07-07T10:40:00Z"
	for _, tt := range []struct {
		name   string
		data   any
		status int
		field  string
	}{
		{"unknown person", reportData(4040, 35, -106, at), 422, "person_id"},
		{"no person", map[string]any{"latitude": 1, "longitude": 1, "creation_time": at}, 400, "person_id"},
		{"no latitude", map[string]any{"person_id": 1, "longitude": 1, "creation_time": at}, 400, "latitude"},
		{"latitude out of range", reportData(1, -122.29, 37.55, at), 400, "latitude"},
		{"longitude out of range", reportData(1, 37.55, 190, at), 400, "longitude"},
		{"latitude as text", []byte(`{"person_id": 1, "latitude": "north", "longitude": 1}`), 400, "latitude"},
		{"person as text", []byte(`{"person_id": "pam", "latitude": 1, "longitude": 1}`), 400, "person_id"},
		{"bad time", reportData(1, 35, -106, "yesterday"), 400, "creation_time"},
		{"time in the future", reportData(1, 35, -106, "2999-01-01T00:00:00Z"), 400, "creation_time"},
	} {
		for _, mode := range servertest.Modes {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				r := servertest.Send(t, url, mode, servertest.NewEvent(t, ev.LocationReported, tt.name, tt.data))
				if r.Status != tt.status || r.ErrorField(t) != tt.field {
					t.Errorf("POST %s = %d %s; want %d naming %s", tt.name, r.Status, r.Body, tt.status, tt.field)
				}
			})
		}
	}
}

func TestDatabaseDown(t *testing.T) {
	url, db := start(t)
	db.Close()
	r := servertest.Send(t, url, "binary", servertest.NewEvent(t, ev.LocationReported, "down", reportData(1, 35, -106, "2020-07-07T10:40:00Z")))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("report with the database down = %d %s; want 503 with Retry-After", r.Status, r.Body)
	}
}

func TestRoutes(t *testing.T) {
	url, _ := start(t)
	body := `{"person_id": 6, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": "2020-07-08T09:00:00Z"}`
	var ids []int64
	for range 2 {
		req, _ := http.NewRequest("POST", url+"/api/locations", strings.NewReader(body))
		req.Header.Set("Idempotency-Key", "frank-1")
		r := servertest.Do(t, req)
		var l udaconnect.Location
		if r.Status != http.StatusCreated {
			t.Fatalf("POST /api/locations = %d %s; want 201", r.Status, r.Body)
		}
		r.Decode(t, &l)
		ids = append(ids, l.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("POST twice with one Idempotency-Key stored %v; want one location", ids)
	}
	var l udaconnect.Location
	servertest.Request(t, "GET", fmt.Sprintf("%s/api/locations/%d", url, ids[0]), nil).Decode(t, &l)
	if l.PersonID != 6 || l.Latitude != 35.0585136 || l.Longitude != -106.5719566 {
		t.Errorf("GET /api/locations/%d = %+v", ids[0], l)
	}
	var locs []udaconnect.Location
	servertest.Request(t, "GET", url+"/api/persons/6/locations?start_date=2020-07-07&end_date=2020-07-08", nil).Decode(t, &locs)
	if len(locs) != 5 || locs[len(locs)-1].ID != ids[0] {
		t.Errorf("Frank's reports of 2020-07-07 and -08 = %+v; want 5, the new one last", locs)
	}
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"GET", "/api/locations/999999", nil, 404, ""},
		{"GET", "/api/locations/x", nil, 400, "id"},
		{"GET", "/api/persons/4040/locations", nil, 404, ""},
		{"GET", "/api/persons/1/locations?start_date=07/07/2020", nil, 400, "start_date"},
		{"POST", "/api/locations", reportData(4040, 35, -106, "2020-07-07T10:40:00Z"), 422, "person_id"},
		{"POST", "/api/locations", reportData(1, 91, -106, "2020-07-07T10:40:00Z"), 400, "latitude"},
		{"POST", "/api/locations", []byte(`[1, 2]`), 400, "data"},
	} {
		r := servertest.Request(t, tt.method, url+tt.path, tt.body)
		if r.Status != tt.status || r.ErrorField(t) != tt.field {
			t.Errorf("%s %s = %d %s; want %d naming %q", tt.method, tt.path, r.Status, r.Body, tt.status, tt.field)
		}
	}
	var empty []udaconnect.Location
	if r := servertest.Request(t, "GET", url+"/api/persons/1/locations?start_date=2030-01-01", nil); r.Status != 200 || string(r.Body) != "[]\n" {
		t.Errorf("Pam's reports from 2030 = %d %s; want 200 []", r.Status, r.Body)
	} else {
		r.Decode(t, &empty)
	}
}
