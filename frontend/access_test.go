package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

// The credentials of the access matrix, in its columns' order: a request
// without one, with a token signed by another key, expired, revoked, an
// attendee A on A's own data, A on B's data, a reporter and the organizer
// (on B's).
var columns = []string{"none", "forged", "expired", "revoked", "own", "other", "reporter", "organizer"}

// A cell's target person is A's, except for the other, reporter and
// organizer columns.
func target(column string, a, b int64) int64 {
	if column == "other" || column == "reporter" || column == "organizer" {
		return b
	}
	return a
}

func TestAccess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	register := func(first string) PersonWithToken { return s.register(t, first, "Tester", "Access") }
	// Live reports, as an attendee may send: minute m of the last few.
	base := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	day, next := base.Format(time.DateOnly), base.AddDate(0, 0, 1).Format(time.DateOnly)
	report := func(personID int64, m int) map[string]any {
		return map[string]any{"person_id": personID, "latitude": 35.0585136, "longitude": -106.5719566,
			"creation_time": base.Add(time.Duration(m) * time.Minute).Format(time.RFC3339)}
	}
	locate := func(personID int64) int64 {
		t.Helper()
		var loc udaconnect.Location
		r := s.org.Request(t, "POST", s.door+"/api/locations", report(personID, 0))
		if r.Status != http.StatusCreated {
			t.Fatalf("report for %d = %d %s; want 201", personID, r.Status, r.Body)
		}
		r.Decode(t, &loc)
		return loc.ID
	}

	t.Run("matrix", func(t *testing.T) {
		a, b := register("Ada"), register("Bob")
		locs := map[int64]int64{a.ID: locate(a.ID), b.ID: locate(b.ID)}
		var reissued Reissue
		if r := s.org.Request(t, "POST", fmt.Sprintf("%s/api/persons/%d/token", s.door, a.ID), nil); r.Status != http.StatusCreated {
			t.Fatalf("new token for A = %d %s; want 201", r.Status, r.Body)
		} else if r.Decode(t, &reissued); reissued.PersonID != a.ID || reissued.Token == "" || reissued.Token == a.Token {
			t.Fatalf("new token for A = %s; want another token of A", r.Body)
		}
		other, err := auth.NewTokens("c20e202d364d0b6250b51285a9666d13c470de601ebe5e9fe503512e5027b251", testOrganizerToken, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		forged, _ := other.Issue(a.ID, 2)
		past, _ := auth.NewTokens(testAuthKey, testOrganizerToken, time.Hour)
		past.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
		expired, _ := past.Issue(a.ID, 2)
		tokens := map[string]string{"forged": forged, "expired": expired, "revoked": a.Token,
			"own": reissued.Token, "other": reissued.Token, "reporter": s.reporter(t, "Matrix gateway").Token, "organizer": testOrganizerToken}

		const u, f, o = http.StatusUnauthorized, http.StatusForbidden, http.StatusOK
		event := func(typ string, data any) func(column string, id int64) (string, string) {
			return func(column string, id int64) (string, string) {
				if typ == ev.LocationReported {
					data = report(id, 1)
				}
				b, _ := json.Marshal(servertest.NewEvent(t, typ, "matrix-"+column, data))
				return "application/cloudevents+json", string(b)
			}
		}
		body := func(v func(id int64) any) func(string, int64) (string, string) {
			return func(_ string, id int64) (string, string) {
				b, _ := json.Marshal(v(id))
				return "application/json", string(b)
			}
		}
		for _, tt := range []struct {
			method, path string
			body         func(column string, id int64) (contentType, body string)
			want         [8]int // by column
		}{
			{"GET", "/api/persons", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"POST", "/api/persons", body(func(int64) any { return ev.PersonCreateData{FirstName: "New", LastName: "Person", CompanyName: "X"} }), [8]int{u, u, u, u, f, f, f, 201}},
			{"GET", "/api/persons/{id}", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"POST", "/api/persons/{id}/token", nil, [8]int{u, u, u, u, f, f, f, 201}},
			{"POST", "/api/locations", body(func(id int64) any { return report(id, 2) }), [8]int{u, u, u, u, 201, f, 201, 201}},
			{"GET", "/api/locations/{location}", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"HEAD", "/api/locations/{location}", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/locations/999999999", nil, [8]int{u, u, u, u, f, f, f, 404}}, // fails closed: no location is not yours
			{"HEAD", "/api/locations/999999999", nil, [8]int{u, u, u, u, f, f, f, 404}},
			{"HEAD", "/api/persons/{id}", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/persons/{id}/locations", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&window=15m", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&distance=5&window=10m", nil, [8]int{u, u, u, u, o, f, f, o}},
			// No raw trails: only the organizer reads wider.
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&distance=6&window=15m", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&window=16m", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&distance=1000&window=24h", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"GET", "/api/persons/{id}/connection?start_date={day}&end_date={next}&distance=x&window=15m", nil, [8]int{u, u, u, u, 400, f, f, 400}},
			{"GET", "/api/persons/{id}/meetings", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/persons/{id}/meetings/live", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/session", nil, [8]int{u, u, u, u, o, o, f, o}},
			{"POST", "/events", event(ev.LocationReported, nil), [8]int{u, u, u, u, 202, f, 202, 202}},
			{"POST", "/events", event(ev.PersonCreate, ev.PersonCreateData{FirstName: "Via", LastName: "Event", CompanyName: "X"}), [8]int{u, u, u, u, f, f, f, 202}},
			{"POST", "/events", func(column string, id int64) (string, string) {
				b, _ := json.Marshal([]any{servertest.NewEvent(t, ev.LocationReported, "matrix-batch-"+column, report(id, 3))})
				return batchType, string(b)
			}, [8]int{u, u, u, u, 202, f, 202, 202}},
			{"GET", "/api/elsewhere", nil, [8]int{u, u, u, u, 404, 404, 404, 404}},
			{"GET", "/events", nil, [8]int{u, u, u, u, 405, 405, 405, 405}},
			{"GET", "/", nil, [8]int{o, o, o, o, o, o, o, o}},
			{"GET", "/healthz", nil, [8]int{o, o, o, o, o, o, o, o}},
			{"GET", "/readyz", nil, [8]int{o, o, o, o, o, o, o, o}},
			{"GET", "/api/openapi.yaml", nil, [8]int{o, o, o, o, o, o, o, o}},
			{"GET", "/api/docs", nil, [8]int{o, o, o, o, o, o, o, o}},
			{"GET", "/api/persons/{id}/export", nil, [8]int{u, u, u, u, o, f, f, o}},
			{"GET", "/api/dead-letters", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"POST", "/api/dead-letters/999999/replay", body(func(int64) any { return struct{}{} }), [8]int{u, u, u, u, f, f, f, 404}},
			{"POST", "/api/dead-letters/replay", body(func(int64) any { return struct{}{} }), [8]int{u, u, u, u, f, f, f, o}},
			{"GET", "/api/reporters", nil, [8]int{u, u, u, u, f, f, f, o}},
			{"POST", "/api/reporters", body(func(int64) any { return map[string]string{"name": "Gateway"} }), [8]int{u, u, u, u, f, f, f, 201}},
			{"DELETE", "/api/reporters/999999", nil, [8]int{u, u, u, u, f, f, f, 404}},
			{"POST", "/api/session", body(func(int64) any { return struct{}{} }), [8]int{u, 401, 401, 401, o, o, f, o}},
			// Last: A deletes themself, which revokes A's token at once (401
			// in the next column), and the organizer deletes B.
			{"DELETE", "/api/persons/{id}", nil, [8]int{u, u, u, u, 204, u, f, 204}},
		} {
			for i, column := range columns {
				id := target(column, a.ID, b.ID)
				path := strings.ReplaceAll(tt.path, "{id}", fmt.Sprint(id))
				path = strings.ReplaceAll(path, "{location}", fmt.Sprint(locs[id]))
				path = strings.NewReplacer("{day}", day, "{next}", next).Replace(path)
				req, _ := http.NewRequest(tt.method, s.door+path, nil)
				if tt.body != nil {
					contentType, body := tt.body(column, id)
					req, _ = http.NewRequest(tt.method, s.door+path, strings.NewReader(body))
					req.Header.Set("Content-Type", contentType)
				}
				client := servertest.Client{Token: tokens[column]}
				var r servertest.Response
				if strings.HasSuffix(tt.path, "/live") {
					r = client.Open(t, req) // a stream, not to be read to its end
				} else {
					r = client.Do(t, req)
				}
				if r.Status != tt.want[i] {
					t.Errorf("%s %s as %s = %d %s; want %d", tt.method, tt.path, column, r.Status, r.Body, tt.want[i])
				}
				if r.Status == u && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s as %s = 401 without WWW-Authenticate: Bearer", tt.method, tt.path, column)
				}
			}
		}
	})

	t.Run("no raw trails", func(t *testing.T) {
		a := register("Tia")
		asA := servertest.Client{Token: a.Token}
		for query, field := range map[string]string{
			"distance=6&window=15m":    "distance",
			"distance=1000&window=24h": "distance",
			"window=16m":               "window",
			"distance=5":               "window", // no window: the whole range
		} {
			r := asA.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/connection?start_date=%s&end_date=%s&%s", s.door, a.ID, day, next, query), nil)
			if r.Status != http.StatusForbidden || r.ErrorField(t) != field {
				t.Errorf("an attendee's connection query with %s = %d %s; want 403 naming %s", query, r.Status, r.Body, field)
			}
		}
	})

	t.Run("session cookie", func(t *testing.T) {
		a, b := register("Cy"), register("Di")
		req, _ := http.NewRequest("POST", s.door+"/api/session", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		r := servertest.Client{Token: a.Token}.Do(t, req)
		var p auth.Principal
		if r.Decode(t, &p); r.Status != http.StatusOK || p.Role != auth.Attendee || p.PersonID != a.ID {
			t.Fatalf("sign in = %d %s; want 200 as attendee %d", r.Status, r.Body, a.ID)
		}
		cookie := r.Header.Get("Set-Cookie")
		for _, want := range []string{SessionCookieOnHTTP + "=", "HttpOnly", "SameSite=Strict", "Path=/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("Set-Cookie %q; want %s", cookie, want)
			}
		}
		withCookie := func(cookie, method, path, contentType, body string, header ...string) int {
			req, _ := http.NewRequest(method, s.door+path, strings.NewReader(body))
			req.Header.Set("Cookie", strings.Split(cookie, ";")[0])
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			for i := 0; i < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			return servertest.Client{}.Do(t, req).Status
		}
		own := fmt.Sprintf(`{"person_id": %d, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": %q}`, a.ID, time.Now().UTC().Format(time.RFC3339))
		sameSite, app := []string{"Sec-Fetch-Site", "same-origin"}, []string{AppHeader, "udaconnect"}
		for _, tt := range []struct {
			method, path, contentType, body string
			header                          []string
			want                            int
		}{
			{"GET", fmt.Sprintf("/api/persons/%d", a.ID), "", "", nil, 200},
			{"GET", fmt.Sprintf("/api/persons/%d", b.ID), "", "", nil, 403},
			{"POST", "/api/locations", "text/plain", own, nil, 403}, // as a cross-site form would
			{"POST", "/api/locations", "application/json", own, []string{"Sec-Fetch-Site", "same-site"}, 403},
			{"POST", "/api/locations", "application/json", own, []string{"Sec-Fetch-Site", "cross-site"}, 403},
			{"POST", "/api/locations", "text/plain", own, app, 415},
			{"POST", "/api/locations", "application/json", own, sameSite, 201},
			{"POST", "/api/locations", "application/json", own, app, 201},
			{"POST", "/events", "", "", nil, 403}, // no body, no type: fetch(…, {mode: "no-cors"})
			{"DELETE", fmt.Sprintf("/api/persons/%d", a.ID), "", "", nil, 403},
			{"GET", fmt.Sprintf("/api/persons/%d", a.ID), "", "", nil, 200}, // not deleted
		} {
			if got := withCookie(cookie, tt.method, tt.path, tt.contentType, tt.body, tt.header...); got != tt.want {
				t.Errorf("%s %s (%s, %v) with the session cookie = %d; want %d", tt.method, tt.path, tt.contentType, tt.header, got, tt.want)
			}
		}
		// The organizer's cookie cannot issue a token from another site
		// either; a bearer token needs no proof.
		req, _ = http.NewRequest("POST", s.door+"/api/session", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		orgCookie := s.org.Do(t, req).Header.Get("Set-Cookie")
		token := fmt.Sprintf("/api/persons/%d/token", b.ID)
		if got := withCookie(orgCookie, "POST", token, "", ""); got != http.StatusForbidden {
			t.Errorf("POST %s with the organizer's cookie and no proof of origin = %d; want 403", token, got)
		}
		if got := withCookie(orgCookie, "POST", token, "", "", app...); got != http.StatusCreated {
			t.Errorf("POST %s with the organizer's cookie and %s = %d; want 201", token, AppHeader, got)
		}
		if r := s.org.Request(t, "POST", s.door+token, nil); r.Status != http.StatusCreated {
			t.Errorf("POST %s with the organizer's bearer token = %d; want 201", token, r.Status)
		}
		out := servertest.Client{}.Request(t, "DELETE", s.door+"/api/session", nil)
		if out.Status != http.StatusNoContent || !strings.Contains(out.Header.Get("Set-Cookie"), "Max-Age=0") {
			t.Errorf("sign out = %d, Set-Cookie %q; want 204 clearing the cookie", out.Status, out.Header.Get("Set-Cookie"))
		}
	})

	t.Run("forged key", func(t *testing.T) {
		a, b := register("Eve"), register("Fay")
		asA, asB := servertest.Client{Token: a.Token}, servertest.Client{Token: b.Token}
		// A sends, first, the source and id that B's badge is about to send.
		for _, sender := range []struct {
			client servertest.Client
			id     int64
		}{{asA, a.ID}, {asB, b.ID}} {
			e := servertest.NewEvent(t, ev.LocationReported, "badge-7-0001", report(sender.id, 4))
			e.SetSource("/devices/badge-7")
			if r := sender.client.Send(t, s.door+"/events", "binary", e); r.Status != http.StatusAccepted {
				t.Fatalf("report of %d = %d %s; want 202", sender.id, r.Status, r.Body)
			}
		}
		// And the same Idempotency-Key on the REST route.
		for _, sender := range []struct {
			client servertest.Client
			id     int64
		}{{asA, a.ID}, {asB, b.ID}} {
			req, _ := http.NewRequest("POST", s.door+"/api/locations", strings.NewReader(fmt.Sprintf(
				`{"person_id": %d, "latitude": 35.0585136, "longitude": -106.5719566, "creation_time": %q}`, sender.id, base.Add(5*time.Minute).Format(time.RFC3339))))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "key-1")
			r := sender.client.Do(t, req)
			var loc udaconnect.Location
			if r.Decode(t, &loc); r.Status != http.StatusCreated || loc.PersonID != sender.id {
				t.Errorf("POST /api/locations with a key another sender used = %d %s; want 201 with person %d", r.Status, r.Body, sender.id)
			}
		}
		for _, p := range []PersonWithToken{a, b} {
			eventually(t, fmt.Sprintf("%s's two reports stored", p.FirstName), func() bool {
				var locs []udaconnect.Location
				servertest.Client{Token: p.Token}.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/locations?start_date=%s&end_date=%s", s.door, p.ID, day, next), nil).Decode(t, &locs)
				return len(locs) == 2
			})
		}
	})
}

// The session tells the web app how old an attendee's report may be and how
// long reports are kept, as the door was started with.
func TestSessionReportSettings(t *testing.T) {
	for _, tt := range []struct {
		settings []string
		want     ReportSettings
	}{
		{nil, ReportSettings{MaxAgeS: 600}},
		{[]string{"ATTENDEE_REPORT_AGE=90s", "RETENTION=30d"}, ReportSettings{MaxAgeS: 90, Retention: "30d"}},
	} {
		door := startDoor(t, &broker{}, tt.settings...)
		r := asOrganizer.Request(t, "GET", door+"/api/session", nil)
		var got Session
		if r.Decode(t, &got); r.Status != http.StatusOK || got.ReportSettings != tt.want || got.Role != auth.Organizer {
			t.Errorf("GET /api/session with %q = %d %s; want 200 as organizer with %+v", tt.settings, r.Status, r.Body, tt.want)
		}
	}
	_, err := newHandler("http://127.0.0.1:1", func(k string) string {
		return map[string]string{"AUTH_KEY": testAuthKey, "ORGANIZER_TOKEN": testOrganizerToken, "ATTENDEE_REPORT_AGE": "soon"}[k]
	}, zaptest.NewLogger(t))
	if err == nil || !strings.Contains(err.Error(), "ATTENDEE_REPORT_AGE") {
		t.Errorf("newHandler with ATTENDEE_REPORT_AGE=soon = %v; want an error naming it", err)
	}
}

// A reporter sends reports for any registered person, alone or in a batch,
// reads nothing, and is refused as soon as the organizer revokes it.
func TestReporter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	a, b := s.register(t, "Gia", "Gateway", "Hall A"), s.register(t, "Hal", "Gateway", "Hall A")
	r := s.reporter(t, "Hall A gateway")
	asReporter := servertest.Client{Token: r.Token}
	at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second) // an offline batch
	var batch []any
	for i, p := range []PersonWithToken{a, b} {
		batch = append(batch, servertest.NewEvent(t, ev.LocationReported, fmt.Sprint("gateway-", i), map[string]any{
			"person_id": p.ID, "latitude": 35.05, "longitude": -106.57, "creation_time": at.Format(time.RFC3339)}))
	}
	body, _ := json.Marshal(batch)
	req, _ := http.NewRequest("POST", s.door+"/events", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", batchType)
	if resp := asReporter.Do(t, req); resp.Status != http.StatusAccepted {
		t.Fatalf("a reporter's batch = %d %s; want 202", resp.Status, resp.Body)
	}
	if resp := asReporter.Request(t, "POST", s.door+"/api/locations", map[string]any{
		"person_id": a.ID, "latitude": 35.05, "longitude": -106.57, "creation_time": at.Add(time.Minute).Format(time.RFC3339)}); resp.Status != http.StatusCreated {
		t.Fatalf("a reporter's POST /api/locations = %d %s; want 201", resp.Status, resp.Body)
	}
	day := at.Format(time.DateOnly)
	for p, want := range map[int64]int{a.ID: 2, b.ID: 1} {
		eventually(t, fmt.Sprintf("the reports of person %d stored", p), func() bool {
			var locs []udaconnect.Location
			s.org.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/locations?start_date=%s&end_date=%s", s.door, p, day, day), nil).Decode(t, &locs)
			return len(locs) == want
		})
	}
	var listed []map[string]any
	s.org.Request(t, "GET", s.door+"/api/reporters", nil).Decode(t, &listed)
	if len(listed) != 1 || listed[0]["name"] != "Hall A gateway" || listed[0]["token"] != nil {
		t.Errorf("GET /api/reporters = %v; want the reporter, without its token", listed)
	}
	if resp := s.org.Request(t, "DELETE", fmt.Sprintf("%s/api/reporters/%d", s.door, r.ID), nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE the reporter = %d %s; want 204", resp.Status, resp.Body)
	}
	e := servertest.NewEvent(t, ev.LocationReported, "gateway-revoked", map[string]any{
		"person_id": a.ID, "latitude": 35.05, "longitude": -106.57, "creation_time": at.Format(time.RFC3339)})
	if resp := asReporter.Send(t, s.door+"/events", "binary", e); resp.Status != http.StatusUnauthorized {
		t.Errorf("a revoked reporter's report = %d %s; want 401 at once", resp.Status, resp.Body)
	}
}
