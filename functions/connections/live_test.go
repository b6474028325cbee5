package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// booth is where the meetings of these tests happen, away from the seed's
// people; north moves a report that many metres from it.
const boothLat, boothLon = 48.8566, 2.3522

func north(m float64) float64 { return boothLat + m/111_200 }

// reporter stores reports on the day of these tests and delivers their
// location.recorded to the function, as the Broker does.
type reporter struct {
	t   *testing.T
	url string
	db  *postgres.DB
	n   int
}

func (r *reporter) report(personID int64, metres float64, hour, min int) {
	r.t.Helper()
	r.n++
	at := time.Date(2021, 5, 5, hour, min, 0, 0, time.UTC)
	locs, errs, err := r.db.StoreReports(context.Background(), []udaconnect.Report{{
		Location: udaconnect.Location{PersonID: personID, Latitude: north(metres), Longitude: boothLon, CreationTime: at},
		Source:   "test", EventID: fmt.Sprint("live-", r.n),
	}})
	if err != nil || errs[0] != nil {
		r.t.Fatal(err, errs)
	}
	e := servertest.NewEvent(r.t, ev.LocationRecorded, fmt.Sprint("location-", locs[0].ID), locs[0])
	if res := servertest.Send(r.t, r.url, "binary", e); res.Status != http.StatusAccepted {
		r.t.Fatalf("location.recorded = %d %s; want 202", res.Status, res.Body)
	}
}

func newPerson(t *testing.T, db *postgres.DB, name string) int64 {
	t.Helper()
	p, err := db.CreatePerson(context.Background(), udaconnect.Person{FirstName: name, LastName: "Live", CompanyName: "Booth"}, "test", name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func meetingOf(t *testing.T, e servertest.SSE) udaconnect.Meeting {
	t.Helper()
	var m udaconnect.Meeting
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil || e.Event != "meeting" || e.ID != strconv.FormatInt(m.Version, 10) {
		t.Fatalf("event %+v: want event: meeting, its version as id, a meeting as data (%v)", e, err)
	}
	return m
}

func TestLiveMeetings(t *testing.T) {
	url, db, _, f := startFunction(t)
	ann, bob, cat := newPerson(t, db, "Ann"), newPerson(t, db, "Bob"), newPerson(t, db, "Cat")
	r := &reporter{t: t, url: url, db: db}
	live := fmt.Sprintf("%s/api/persons/%d/meetings/live", url, ann)

	r.report(ann, 0, 10, 0)
	stream := servertest.Internal.Subscribe(t, live, "")
	if cc := stream.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q; want no-store", cc)
	}
	// Together from Bob's report on, as far as the time of the last report.
	r.report(bob, 1, 10, 5)
	r.report(ann, 0, 10, 10)
	first := stream.Next(t)
	m := meetingOf(t, first)
	if m.Person.ID != bob || m.Person.FirstName != "Bob" || m.Ended || !m.Started.Equal(time.Date(2021, 5, 5, 10, 5, 0, 0, time.UTC)) || m.DurationS != 300 || m.TogetherS != 300 {
		t.Errorf("first event = %+v; want an open meeting with Bob from 10:05, 300 s together", m)
	}
	var listed []udaconnect.Meeting
	servertest.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/meetings", url, ann), nil).Decode(t, &listed)
	if len(listed) != 1 || listed[0] != m {
		t.Errorf("GET meetings = %+v; want the streamed meeting %+v", listed, m)
	}

	// Away from the stream: Bob's hold ends at 10:20, the meeting with it;
	// they meet again from 10:40.
	stream.Close()
	r.report(ann, 0, 10, 40)
	r.report(bob, 1, 10, 40)
	r.report(ann, 0, 10, 45)
	again := servertest.Internal.Subscribe(t, live, first.ID)
	missed := map[int64]udaconnect.Meeting{}
	for range 2 {
		m := meetingOf(t, again.Next(t))
		missed[m.ID] = m
	}
	if ended := missed[m.ID]; len(missed) != 2 || !ended.Ended || ended.Person.ID != bob || !ended.LastSeen.Equal(time.Date(2021, 5, 5, 10, 20, 0, 0, time.UTC)) {
		t.Errorf("missed events = %+v; want the first meeting ended at 10:20 and another", missed)
	}
	// Then the next change, and nothing twice before it.
	r.report(cat, -1, 10, 46)
	r.report(bob, 1, 10, 47)
	if next := meetingOf(t, again.Next(t)); next.Person.ID != cat {
		t.Errorf("event after the missed ones = %+v; want the meeting with Cat", next)
	}

	// Shutting down ends the streams.
	f.Drain()
	if !again.Ended(t) {
		t.Error("the stream went on after Drain")
	}

	// Pages of two: the newest first, then the rest, linked.
	page := fmt.Sprintf("%s/api/persons/%d/meetings?start_date=2021-05-05&limit=2", url, ann)
	var starts []string
	for range 3 {
		res := servertest.Request(t, "GET", page, nil)
		var ms []udaconnect.Meeting
		res.Decode(t, &ms)
		for _, m := range ms {
			starts = append(starts, m.Person.FirstName+" "+m.Started.Format("15:04"))
		}
		link := regexp.MustCompile(`^<(/api/[^>]+)>; rel="next"$`).FindStringSubmatch(res.Header.Get("Link"))
		if link == nil {
			break
		}
		page = url + link[1]
	}
	if want := []string{"Cat 10:46", "Bob 10:40", "Bob 10:05"}; fmt.Sprint(starts) != fmt.Sprint(want) {
		t.Errorf("pages of meetings = %q; want %q", starts, want)
	}
}

func TestMeetingRoutesRefused(t *testing.T) {
	url, db, _ := start(t)
	ann := newPerson(t, db, "Ann")
	base := fmt.Sprintf("%s/api/persons/%d/meetings", url, ann)
	for _, tt := range []struct {
		url, lastEventID string
		status           int
		field            string
	}{
		{base + "?limit=0", "", 400, "limit"},
		{base + "?limit=1001", "", 400, "limit"},
		{base + "?after=yesterday", "", 400, "after"},
		{base + "?start_date=2021-13-01", "", 400, "start_date"},
		{base + "?start_date=2021-05-06&end_date=2021-05-05", "", 400, "end_date"},
		{url + "/api/persons/x/meetings", "", 400, "id"},
		{url + "/api/persons/4040/meetings", "", 404, ""},
		{base + "/live", "twelve", 400, "Last-Event-ID"},
		{base + "/live", "-1", 400, "Last-Event-ID"},
		{url + "/api/persons/4040/meetings/live", "", 404, ""},
	} {
		req, _ := http.NewRequest("GET", tt.url, nil)
		if tt.lastEventID != "" {
			req.Header.Set("Last-Event-ID", tt.lastEventID)
		}
		res := servertest.Do(t, req)
		if res.Status != tt.status || (tt.field != "" && res.ErrorField(t) != tt.field) {
			t.Errorf("GET %s (Last-Event-ID %q) = %d %s; want %d naming %q", tt.url, tt.lastEventID, res.Status, res.Body, tt.status, tt.field)
		}
	}
	if res := servertest.Request(t, "GET", base, nil); res.Status != 200 || string(res.Body) != "[]\n" || res.Header.Get("Link") != "" {
		t.Errorf("GET meetings of a person who met nobody = %d %q, Link %q; want 200 [] without a Link", res.Status, res.Body, res.Header.Get("Link"))
	}
}
