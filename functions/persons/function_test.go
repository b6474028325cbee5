package main

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap/zaptest"
)

func start(t *testing.T) string {
	t.Helper()
	f, err := New(server.Config{}, pgtest.MustOpenDB(t), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return servertest.Start(t, f).URL
}

// Every route answers only the door and the broker.
func TestCallers(t *testing.T) {
	servertest.RefusesStrangers(t, start(t), "POST /", "GET /api/persons", "POST /api/persons", "GET /api/persons/1",
		"DELETE /api/persons/999999", "POST /api/persons/999999/token", "GET /token-generations", "GET /no-such-route")
}

var pam = ev.PersonCreateData{FirstName: "Pam", LastName: "Trexler", CompanyName: "Hampton, Hampton and McQuill"}

func TestCreatePerson(t *testing.T) {
	url := start(t)
	for _, mode := range servertest.Modes {
		t.Run(mode, func(t *testing.T) {
			e := servertest.NewEvent(t, ev.PersonCreate, "create-"+mode, pam)
			first := servertest.Send(t, url, mode, e)
			if first.Status != http.StatusOK || first.Event == nil || first.Event.Type() != ev.PersonCreated {
				t.Fatalf("POST person.create = %d %s; want 200 with %s", first.Status, first.Body, ev.PersonCreated)
			}
			var p udaconnect.Person
			if err := first.Event.DataAs(&p); err != nil {
				t.Fatal(err)
			}
			if p.ID <= 0 || p.FirstName != pam.FirstName || p.LastName != pam.LastName || p.CompanyName != pam.CompanyName {
				t.Errorf("person.created data = %+v; want Pam with an id", p)
			}
			// Delivered again: acknowledged with the same person, stored once.
			again := servertest.Send(t, url, mode, e)
			var p2 udaconnect.Person
			if again.Status != http.StatusOK || again.Event.DataAs(&p2) != nil || p2 != p {
				t.Errorf("redelivery = %d %+v; want 200 with %+v", again.Status, p2, p)
			}
		})
	}
	var persons []udaconnect.Person
	servertest.Request(t, "GET", url+"/api/persons", nil).Decode(t, &persons)
	if len(persons) != 2 {
		t.Errorf("GET /api/persons = %d people after 2 events sent twice; want 2", len(persons))
	}
}

func TestCreatePersonRefused(t *testing.T) {
	url := start(t)
	for _, tt := range []struct {
		name   string
		typ    string
		data   any
		status int
		field  string
	}{
		{"no first name", ev.PersonCreate, ev.PersonCreateData{LastName: "T", CompanyName: "C"}, 400, "first_name"},
		{"blank last name", ev.PersonCreate, ev.PersonCreateData{FirstName: "P", LastName: " ", CompanyName: "C"}, 400, "last_name"},
		{"number as name", ev.PersonCreate, []byte(`{"first_name": 5, "last_name": "T", "company_name": "C"}`), 400, "first_name"},
		{"not JSON", ev.PersonCreate, []byte(`{"first_name": `), 400, "data"},
		{"too long", ev.PersonCreate, ev.PersonCreateData{FirstName: strings.Repeat("a", 201), LastName: "T", CompanyName: "C"}, 400, "first_name"},
		{"wrong type", ev.LocationReported, pam, 400, "type"},
	} {
		for _, mode := range servertest.Modes {
			if tt.name == "not JSON" && mode == "structured" {
				continue // a structured event cannot carry it
			}
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				r := servertest.Send(t, url, mode, servertest.NewEvent(t, tt.typ, tt.name, tt.data))
				if r.Status != tt.status || r.ErrorField(t) != tt.field {
					t.Errorf("POST %s = %d %s; want %d naming %s", tt.name, r.Status, r.Body, tt.status, tt.field)
				}
			})
		}
	}
}

func TestMalformedEvents(t *testing.T) {
	url := start(t)
	for _, tt := range []struct {
		name    string
		header  map[string]string
		body    string
		status  int
		message string
	}{
		{"no id", map[string]string{"Ce-Specversion": "1.0", "Ce-Type": ev.PersonCreate, "Ce-Source": "test", "Content-Type": "application/json"}, `{}`, 400, "id"},
		{"no spec version", map[string]string{"Ce-Id": "1", "Ce-Type": ev.PersonCreate, "Content-Type": "application/json"}, `{}`, 400, "CloudEvent"},
		{"structured garbage", map[string]string{"Content-Type": "application/cloudevents+json"}, `{"specversion":`, 400, "CloudEvent"},
		{"batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, `[]`, 400, "batch"},
		{"xml data", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": ev.PersonCreate, "Ce-Source": "test", "Content-Type": "application/xml"}, `<p/>`, 400, "datacontenttype"},
		{"oversized", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": ev.PersonCreate, "Ce-Source": "test", "Content-Type": "application/json"},
			`{"first_name": "` + strings.Repeat("a", server.MaxEventSize) + `"}`, 413, "larger"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(tt.body)))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			r := servertest.Do(t, req)
			var e server.ErrorBody
			r.Decode(t, &e)
			if r.Status != tt.status || !strings.Contains(e.Error, tt.message) {
				t.Errorf("POST %s = %d %q; want %d mentioning %q", tt.name, r.Status, e.Error, tt.status, tt.message)
			}
		})
	}
}

func TestRoutes(t *testing.T) {
	url := start(t)
	created := servertest.Request(t, "POST", url+"/api/persons", pam)
	var p udaconnect.Person
	created.Decode(t, &p)
	if created.Status != http.StatusCreated || p.ID <= 0 || p.LastName != "Trexler" {
		t.Fatalf("POST /api/persons = %d %s; want 201 with the person", created.Status, created.Body)
	}
	var got udaconnect.Person
	if r := servertest.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d", url, p.ID), nil); r.Status != 200 {
		t.Errorf("GET /api/persons/%d = %d", p.ID, r.Status)
	} else if r.Decode(t, &got); got != p {
		t.Errorf("GET /api/persons/%d = %+v; want %+v", p.ID, got, p)
	}
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		field        string
	}{
		{"GET", "/api/persons/999", nil, 404, ""},
		{"GET", "/api/persons/abc", nil, 400, "id"},
		{"GET", "/api/persons/-1", nil, 400, "id"},
		{"POST", "/api/persons", map[string]string{"first_name": "A"}, 400, "last_name"},
		{"POST", "/api/persons", []byte("not json"), 400, "body"},
		{"GET", "/api/persons?limit=0", nil, 400, "limit"},
		{"GET", "/api/persons?limit=1001", nil, 400, "limit"},
		{"GET", "/api/persons?q=%00", nil, 400, "q"},
		{"GET", "/api/persons?after=7", nil, 400, "after"},
		{"POST", "/api/persons", []byte(`{"first_name": "` + strings.Repeat("a", server.MaxRequestSize) + `"}`), 413, ""},
	} {
		r := servertest.Request(t, tt.method, url+tt.path, tt.body)
		if r.Status != tt.status || r.ErrorField(t) != tt.field {
			t.Errorf("%s %s = %d %s; want %d naming %q", tt.method, tt.path, r.Status, r.Body, tt.status, tt.field)
		}
	}
	// A client retrying with the same Idempotency-Key registers one person.
	for range 2 {
		req, _ := http.NewRequest("POST", url+"/api/persons", strings.NewReader(`{"first_name":"Otto","last_name":"Spring","company_name":"Chicken Sisters"}`))
		req.Header.Set("Idempotency-Key", "otto-1")
		if r := servertest.Do(t, req); r.Status != http.StatusCreated {
			t.Fatalf("POST with Idempotency-Key = %d %s", r.Status, r.Body)
		}
	}
	var persons []udaconnect.Person
	servertest.Request(t, "GET", url+"/api/persons", nil).Decode(t, &persons)
	if len(persons) != 2 {
		t.Errorf("GET /api/persons = %d people; want 2 (Pam and one Otto)", len(persons))
	}
}

// The people are searched and paged: each page names the next in a Link
// header, the search kept, until the last.
func TestPersonsPaged(t *testing.T) {
	url := start(t)
	for i := range 5 {
		p := ev.PersonCreateData{FirstName: fmt.Sprint("Ada", i), LastName: "Lovelace", CompanyName: "Engines"}
		if i == 4 {
			p.LastName = "Hopper"
		}
		if r := servertest.Request(t, "POST", url+"/api/persons", p); r.Status != http.StatusCreated {
			t.Fatalf("POST /api/persons = %d %s", r.Status, r.Body)
		}
	}
	link := regexp.MustCompile(`^<(/api/persons\?[^>]+)>; rel="next"$`)
	var names []string
	next := "/api/persons?q=love+ENGINES&limit=2"
	for pages := 0; next != ""; pages++ {
		if pages == 3 {
			t.Fatalf("more than 3 pages of 2 for 4 people: %q", names)
		}
		r := servertest.Request(t, "GET", url+next, nil)
		var page []udaconnect.Person
		if r.Decode(t, &page); r.Status != 200 || len(page) > 2 {
			t.Fatalf("GET %s = %d, %d people", next, r.Status, len(page))
		}
		for _, p := range page {
			names = append(names, p.FirstName)
		}
		next = ""
		if m := link.FindStringSubmatch(r.Header.Get("Link")); m != nil {
			next = m[1]
		} else if h := r.Header.Get("Link"); h != "" {
			t.Fatalf("Link = %q; want a same-site rel=next", h)
		}
	}
	if want := []string{"Ada0", "Ada1", "Ada2", "Ada3"}; !slices.Equal(names, want) {
		t.Errorf("the pages of love engines = %q; want %q", names, want)
	}
}

// A new token for a person raises their token generation, which the door
// reads to revoke the earlier ones.
func TestTokenGenerations(t *testing.T) {
	url := start(t)
	var p udaconnect.Person
	servertest.Request(t, "POST", url+"/api/persons", pam).Decode(t, &p)
	var gens map[string]int64
	if servertest.Request(t, "GET", url+"/token-generations", nil).Decode(t, &gens); len(gens) != 0 {
		t.Errorf("generations before any reissue = %v; want none", gens)
	}
	for want := int64(2); want <= 3; want++ {
		var got TokenGeneration
		r := servertest.Request(t, "POST", fmt.Sprintf("%s/api/persons/%d/token", url, p.ID), nil)
		if r.Decode(t, &got); r.Status != http.StatusCreated || got != (TokenGeneration{PersonID: p.ID, Generation: want}) {
			t.Errorf("new token = %d %s; want 201 with generation %d", r.Status, r.Body, want)
		}
	}
	if servertest.Request(t, "GET", url+"/token-generations", nil).Decode(t, &gens); gens[fmt.Sprint("person-", p.ID)] != 3 || len(gens) != 1 {
		t.Errorf("generations = %v; want {%d: 3}", gens, p.ID)
	}
	for path, want := range map[string]int{"/api/persons/4040/token": 404, "/api/persons/x/token": 400} {
		if r := servertest.Request(t, "POST", url+path, nil); r.Status != want {
			t.Errorf("POST %s = %d %s; want %d", path, r.Status, r.Body, want)
		}
	}
}

func TestDeletePerson(t *testing.T) {
	url := start(t)
	var p udaconnect.Person
	servertest.Request(t, "POST", url+"/api/persons", pam).Decode(t, &p)
	if r := servertest.Request(t, "DELETE", fmt.Sprintf("%s/api/persons/%d", url, p.ID), nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE person = %d %s; want 204", r.Status, r.Body)
	}
	for method, want := range map[string]int{"GET": 404, "DELETE": 404} {
		if r := servertest.Request(t, method, fmt.Sprintf("%s/api/persons/%d", url, p.ID), nil); r.Status != want {
			t.Errorf("%s deleted person = %d; want %d", method, r.Status, want)
		}
	}
	var gens map[string]int64
	servertest.Request(t, "GET", url+"/token-generations", nil).Decode(t, &gens)
	if gens[fmt.Sprint("person-", p.ID)] != postgres.Deleted {
		t.Errorf("token generations after a deletion = %v; want person-%d at %d", gens, p.ID, int64(postgres.Deleted))
	}
	if r := servertest.Request(t, "DELETE", url+"/api/persons/x", nil); r.Status != http.StatusBadRequest {
		t.Errorf("DELETE /api/persons/x = %d; want 400", r.Status)
	}
}

// Reporters are registered, listed without their tokens (the door adds a
// token to the registration alone) and revoked, which the door learns from
// the token generations.
func TestReporters(t *testing.T) {
	url := start(t)
	var r udaconnect.Reporter
	if resp := servertest.Request(t, "POST", url+"/api/reporters", map[string]string{"name": "  Hall A gateway "}); resp.Status != http.StatusCreated {
		t.Fatalf("POST /api/reporters = %d %s; want 201", resp.Status, resp.Body)
	} else if resp.Decode(t, &r); r.ID <= 0 || r.Name != "Hall A gateway" {
		t.Fatalf("POST /api/reporters = %s; want an id and the trimmed name", resp.Body)
	}
	for _, body := range []any{map[string]string{"name": ""}, map[string]string{"name": "a\nb"}, "not an object", map[string]any{"name": 5}} {
		if resp := servertest.Request(t, "POST", url+"/api/reporters", body); resp.Status != http.StatusBadRequest || resp.ErrorField(t) == "" {
			t.Errorf("POST /api/reporters %v = %d %s; want 400 naming the field", body, resp.Status, resp.Body)
		}
	}
	var listed []udaconnect.Reporter
	if servertest.Request(t, "GET", url+"/api/reporters", nil).Decode(t, &listed); len(listed) != 1 || listed[0].ID != r.ID {
		t.Errorf("GET /api/reporters = %+v; want the reporter", listed)
	}
	if resp := servertest.Request(t, "DELETE", fmt.Sprintf("%s/api/reporters/%d", url, r.ID), nil); resp.Status != http.StatusNoContent {
		t.Fatalf("DELETE reporter = %d %s; want 204", resp.Status, resp.Body)
	}
	if resp := servertest.Request(t, "DELETE", fmt.Sprintf("%s/api/reporters/%d", url, r.ID), nil); resp.Status != http.StatusNotFound {
		t.Errorf("DELETE a revoked reporter = %d; want 404", resp.Status)
	}
	if resp := servertest.Request(t, "GET", url+"/api/reporters", nil); string(resp.Body) != "[]\n" {
		t.Errorf("GET /api/reporters after the revocation = %s; want []", resp.Body)
	}
	var gens map[string]int64
	if servertest.Request(t, "GET", url+"/token-generations", nil).Decode(t, &gens); gens[fmt.Sprint("reporter-", r.ID)] != postgres.Deleted {
		t.Errorf("token generations = %v; want reporter-%d revoked", gens, r.ID)
	}
}
