package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// startAsRole serves the function on a seeded database of its own,
// connected as the locations role, as it runs; owner reads what it stored.
func startAsRole(t *testing.T) (url string, owner *postgres.DB, dbURL string) {
	t.Helper()
	dbURL = pgtest.NewDatabase(t)
	owner, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	if err := owner.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	return serveAsRole(t, dbURL), owner, dbURL
}

func serveAsRole(t *testing.T, dbURL string) string {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.RoleURL(t, dbURL, postgres.RoleLocations))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f, err := New(server.Config{}, db, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return servertest.Start(t, f).URL
}

// group is a locations.reported event of reports from /senders/organizer/phone
// with the given ids, of person 8 unless persons says otherwise, each at a
// time of its id's own: the same id is the same report.
func group(t *testing.T, id string, ids []string, persons map[string]int64) event.Event {
	t.Helper()
	data := ev.LocationsReportedData{}
	for _, rid := range ids {
		person := int64(8)
		if p, ok := persons[rid]; ok {
			person = p
		}
		data.Reports = append(data.Reports, ev.ReportData{Source: "/senders/organizer/phone", ID: rid, PersonID: person,
			Latitude: 35.05, Longitude: -106.57, CreationTime: time.Date(2021, 1, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(crc32.ChecksumIEEE([]byte(rid))%36000) * time.Second)})
	}
	return servertest.NewEvent(t, ev.LocationsReported, id, data)
}

// countOf counts person 8's reports of 2021-01-01.
func countOf(t *testing.T, db *postgres.DB) int {
	t.Helper()
	locs, err := db.FindLocations(context.Background(), 8, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return len(locs)
}

// recorded sends a group and returns the locations its reply carries.
func recorded(t *testing.T, url string, e event.Event) []udaconnect.Location {
	t.Helper()
	r := servertest.Send(t, url, "binary", e)
	var data ev.LocationsRecordedData
	if r.Status != http.StatusOK || r.Header.Get("Ce-Type") != ev.LocationsRecorded {
		t.Fatalf("group %s = %d %s %s; want 200 with %s", e.ID(), r.Status, r.Header.Get("Ce-Type"), r.Body, ev.LocationsRecorded)
	}
	r.Decode(t, &data)
	return data.Locations
}

// A group is stored once per report: a duplicate inside it, the same report
// in another group, and the whole group sent again are each stored once and
// answered with the same location.
func TestGroupStoredOnce(t *testing.T) {
	url, owner, _ := startAsRole(t)
	first := recorded(t, url, group(t, "g1", []string{"a", "b", "a", "c"}, nil))
	if len(first) != 4 || first[0].ID != first[2].ID || first[0].ID == first[1].ID {
		t.Fatalf("group with a duplicate recorded %+v; want 4 locations, the duplicate's the same as the first", first)
	}
	second := recorded(t, url, group(t, "g2", []string{"c", "d"}, nil))
	again := recorded(t, url, group(t, "g1", []string{"a", "b", "a", "c"}, nil))
	for i := range first {
		if again[i] != first[i] {
			t.Errorf("group sent again: location %d = %+v; want %+v", i, again[i], first[i])
		}
	}
	if second[0].ID != first[3].ID {
		t.Errorf("report c in another group = %d; want the location stored first, %d", second[0].ID, first[3].ID)
	}
	if n := countOf(t, owner); n != 4 {
		t.Errorf("%d locations stored; want 4: a, b, c, d", n)
	}
}

// Each report stored is queued for detection in its zone, once: the
// group's reports in the hall's zone, another outside it in zone 0, and
// nothing for a group sent again.
func TestGroupQueuedForDetection(t *testing.T) {
	t.Setenv("DETECT_ZONES", "hall=35.04,-106.58,35.06,-106.56")
	url, owner, _ := startAsRole(t)
	ctx := context.Background()
	hall := group(t, "g1", []string{"a", "b"}, nil) // at (35.05, -106.57)
	elsewhere := servertest.NewEvent(t, ev.LocationsReported, "g2", ev.LocationsReportedData{Reports: []ev.ReportData{{
		Source: "/senders/organizer/phone", ID: "far", PersonID: 8, Latitude: 37.55, Longitude: -122.29,
		CreationTime: time.Date(2021, 1, 1, 10, 0, 0, 0, time.UTC)}}})
	inHall, far := recorded(t, url, hall), recorded(t, url, elsewhere)
	recorded(t, url, hall) // again: stored before, queued before
	// The group's two reports may be stored in two batches, in either order.
	first := min(inHall[0].ID, inHall[1].ID)
	for zone, want := range map[int][]int64{1: {first, max(inHall[0].ID, inHall[1].ID)}, 0: {far[0].ID}} {
		lease, err := owner.ClaimZone(ctx, zone)
		if err != nil || lease == nil {
			t.Fatalf("ClaimZone(%d) = %v, %v", zone, lease, err)
		}
		rows, err := lease.Backlog(ctx, nil, 1000)
		lease.Close()
		var got []int64
		for _, r := range rows {
			for _, id := range r.Locations {
				if id >= first { // not the seed's, queued before
					got = append(got, id)
				}
			}
		}
		slices.Sort(got)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("zone %d's backlog = %v, %v; want %v", zone, got, err, want)
		}
	}
}

// A report of an unknown person among good ones: the good ones are stored
// and recorded; the bad one is kept as a dead letter, a location.reported
// that names why, which the reply leaves out.
func TestGroupRefusedReport(t *testing.T) {
	url, owner, _ := startAsRole(t)
	e := group(t, "g", []string{"good-1", "stranger", "good-2"}, map[string]int64{"stranger": 999_999})
	locs := recorded(t, url, e)
	if len(locs) != 2 || locs[0].ID == 0 || locs[1].ID == 0 {
		t.Fatalf("recorded %+v; want the 2 good reports", locs)
	}
	letters, err := owner.FindDeadLetters(context.Background(), 0, 10, true)
	if err != nil || len(letters) != 1 {
		t.Fatalf("dead letters %+v (%v); want the stranger's report", letters, err)
	}
	d := letters[0]
	if d.EventID != "stranger" || d.Source != "/senders/organizer/phone" || d.Type != ev.LocationReported || d.Status == nil || *d.Status != http.StatusUnprocessableEntity {
		t.Errorf("dead letter %+v; want location.reported stranger from its sender, status 422", d)
	}
	var stored event.Event
	if err := json.Unmarshal(d.Event, &stored); err != nil {
		t.Fatal(err)
	}
	reason, _ := base64.StdEncoding.DecodeString(fmt.Sprint(stored.Extensions()["knativeerrordata"]))
	var data ev.LocationReportedData
	if err := stored.DataAs(&data); err != nil || data.PersonID == nil || *data.PersonID != 999_999 || string(reason) == "" {
		t.Errorf("the dead letter's event %s; want the report and why it was refused", d.Event)
	}
	// Sent again: the same dead letter, not another.
	recorded(t, url, e)
	if letters, err := owner.FindDeadLetters(context.Background(), 0, 10, false); err != nil || len(letters) != 1 {
		t.Errorf("dead letters after the group came again: %d (%v); want still 1", len(letters), err)
	}
}

// The database away while a group arrives: the whole group is answered 503,
// which the Broker retries; once it is back the same group is stored,
// every report once.
func TestGroupDatabaseDown(t *testing.T) {
	_, owner, dbURL := startAsRole(t)
	down, err := postgres.Open(context.Background(), pgtest.RoleURL(t, dbURL, postgres.RoleLocations))
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(server.Config{}, down, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	url := servertest.Start(t, f).URL
	down.Close()
	e := group(t, "g", []string{"r1", "r2", "r3"}, nil)
	if r := servertest.Send(t, url, "binary", e); r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("group with the database away = %d %s; want 503 with Retry-After", r.Status, r.Body)
	}
	if locs := recorded(t, serveAsRole(t, dbURL), e); len(locs) != 3 {
		t.Errorf("the group retried recorded %d locations; want 3", len(locs))
	}
	if n := countOf(t, owner); n != 3 {
		t.Errorf("%d locations stored; want 3", n)
	}
}

// A group that is not one is refused for good, with the field named.
func TestGroupRefused(t *testing.T) {
	url, _, _ := startAsRole(t)
	tooMany := make([]string, ev.MaxGroupReports+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(i)
	}
	for _, tt := range []struct {
		name string
		e    event.Event
	}{
		{"empty", servertest.NewEvent(t, ev.LocationsReported, "empty", ev.LocationsReportedData{})},
		{"too many", group(t, "many", tooMany, nil)},
		{"not reports", servertest.NewEvent(t, ev.LocationsReported, "odd", map[string]any{"reports": "none"})},
	} {
		if r := servertest.Send(t, url, "binary", tt.e); r.Status != http.StatusBadRequest {
			t.Errorf("%s group = %d %s; want 400", tt.name, r.Status, r.Body)
		}
	}
}
