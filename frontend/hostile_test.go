package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// hostileCase is a request an adversary sends, and the status it must get.
type hostileCase struct {
	name        string
	method, url string
	header      map[string]string
	body        string
	status      int
}

// Each hostile request gets a true status, at once and every time: nothing
// it sends is stored or forwarded, and nothing it sends poisons what others
// send.
func TestHostileRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	events, persons := s.door+"/events", s.door+"/api/persons"
	report := `{"person_id":8,"latitude":35.05,"longitude":-106.57,"creation_time":"2021-05-05T10:00:00Z"}`
	binary := func(id, source string) map[string]string {
		return map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0", "Ce-Id": id,
			"Ce-Source": source, "Ce-Type": ev.LocationReported}
	}
	structured := func(id, extra string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"test","type":%q,"datacontenttype":"application/json"%s,"data":%s}`,
			id, ev.LocationReported, extra, report)
	}
	ce := map[string]string{"Content-Type": "application/cloudevents+json"}
	json := map[string]string{"Content-Type": "application/json"}
	long := strings.Repeat("x", 3000)
	for _, tt := range []hostileCase{
		{"ce-id of 3 KB", "POST", events, binary(long, "test"), report, 400},
		{"ce-source of 3 KB", "POST", events, binary("long-source", "/"+long), report, 400},
		{"ce-id one byte over", "POST", events, binary(strings.Repeat("i", ev.MaxSenderBytes+1), "test"), report, 400},
		{"ce-id at the limit", "POST", events, binary(strings.Repeat("i", ev.MaxSenderBytes), "test"), report, 202},
		{"ce-id not UTF-8", "POST", events, binary("bad-\xff\xfe", "test"), report, 400},
		{"structured id not UTF-8", "POST", events, ce, structured("bad-\xff", ""), 400},
		{"line break in the id", "POST", events, ce, structured("line\nbreak", ""), 400},
		{"line break in an extension", "POST", events, ce, structured("ext-newline", `,"traceparent":"a\nb"`), 400},
		{"NUL in an extension", "POST", events, ce, structured("ext-nul", `,"note":"a\u0000b"`), 400},
		{"data not UTF-8", "POST", events, binary("data-bad", "test"), `{"person_id":8,"latitude":35,"longitude":-106,"x":"` + "\xff" + `"}`, 400},
		{"NUL in a name", "POST", persons, json, `{"first_name":"A\u0000","last_name":"B","company_name":"C"}`, 400},
		{"line break in a name", "POST", persons, json, `{"first_name":"A\nB","last_name":"B","company_name":"C"}`, 400},
		{"name not UTF-8", "POST", persons, json, "{\"first_name\":\"P\xffm\",\"last_name\":\"B\",\"company_name\":\"C\"}", 400},
		{"name of 1 MiB", "POST", persons, json, `{"first_name":"` + strings.Repeat("a", 1<<20) + `","last_name":"B","company_name":"C"}`, 413},
		{"Idempotency-Key of 3,000 characters", "POST", persons, map[string]string{"Content-Type": "application/json", "Idempotency-Key": long},
			`{"first_name":"A","last_name":"B","company_name":"C"}`, 400},
		{"window of 744h at 10 km", "GET", s.door + "/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-31&distance=10000&window=744h", nil, "", 400},
		{"distance of 10 km", "GET", s.door + "/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-31&distance=10000", nil, "", 400},
		{"the widest query taken", "GET", s.door + "/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-31&distance=1000&window=24h", nil, "", 200},
		{"GET /events", "GET", events, nil, "", 405},
		{"GET /events/", "GET", events + "/", nil, "", 404},
		{"DELETE a location", "DELETE", s.door + "/api/locations/1", nil, "", 405},
		{"PUT /api/persons", "PUT", persons, json, `{}`, 405},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for try := range 2 { // the same answer again: nothing is left behind
				req, _ := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
				for k, v := range tt.header {
					req.Header[k] = []string{v}
				}
				r := s.org.Do(t, req)
				if r.Status != tt.status {
					t.Fatalf("try %d: %s = %d %.300s; want %d", try, tt.name, r.Status, r.Body, tt.status)
				}
			}
		})
	}

	// An Idempotency-Key sent again with another body is refused.
	key := map[string]string{"Content-Type": "application/json", "Idempotency-Key": "hostile-key"}
	for i, tt := range []struct {
		body   string
		status int
	}{
		{`{"first_name":"Ada","last_name":"Lovelace","company_name":"Engines"}`, 201},
		{`{"first_name":"Ada","last_name":"Lovelace","company_name":"Engines"}`, 201},
		{`{"first_name":"Bob","last_name":"Other","company_name":"Engines"}`, 422},
	} {
		req, _ := http.NewRequest("POST", persons, strings.NewReader(tt.body))
		for k, v := range key {
			req.Header.Set(k, v)
		}
		if r := s.org.Do(t, req); r.Status != tt.status {
			t.Errorf("request %d with the same Idempotency-Key = %d %s; want %d", i, r.Status, r.Body, tt.status)
		}
	}

	// A batch holding poison: the honest events are accepted and stored,
	// the poison refused each with its reason.
	var batch []string
	for i := range 6 {
		id := fmt.Sprintf("mixed-%d", i)
		if i%3 == 1 {
			id = fmt.Sprintf("poison\n%d", i)
		}
		e := servertest.NewEvent(t, ev.LocationReported, id, map[string]any{
			"person_id": 8, "latitude": 35.05, "longitude": -106.57, "creation_time": fmt.Sprintf("2021-05-05T11:%02d:00Z", i)})
		b, _ := e.MarshalJSON()
		batch = append(batch, string(b))
	}
	r := s.post(t, events, batchType, "["+strings.Join(batch, ",")+"]")
	var answer BatchAnswer
	r.Decode(t, &answer)
	if r.Status != http.StatusBadRequest || len(answer.Results) != 6 {
		t.Fatalf("batch with poison = %d %s; want 400 with a result per event", r.Status, r.Body)
	}
	for i, res := range answer.Results {
		if want := map[bool]int{true: 400, false: 202}[i%3 == 1]; res.Status != want {
			t.Errorf("event %d of the batch = %+v; want %d", i, res, want)
		}
	}
	eventually(t, "the honest events of the batch stored", func() bool { return len(s.locations(t, 8)) >= 4 })
	s.flaky.mu.Lock()
	for i := range 6 {
		if n := s.flaky.attempts[fmt.Sprintf("mixed-%d", i)]; i%3 != 1 && n != 1 {
			t.Errorf("event mixed-%d delivered %d times; want once", i, n)
		}
	}
	s.flaky.mu.Unlock()
}

// The widest connection queries, run over and over beside ingest, are
// answered within their bounds (200, or 400 when they would find too
// much), and every report sent meanwhile is stored.
func TestHostileReadBesideIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system")
	}
	s := startStack(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make(chan int, 1000)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := s.org.Request(t, "GET", s.door+"/api/persons/1/connection?start_date=2020-01-01&end_date=2020-12-31&distance=1000&window=24h", nil)
				select {
				case statuses <- r.Status:
				default:
				}
			}
		})
	}
	const n = 200
	for i := range n / 20 {
		var batch []string
		for j := range 20 {
			m := i*20 + j
			e := servertest.NewEvent(t, ev.LocationReported, fmt.Sprintf("ingest-%d", m), map[string]any{
				"person_id": 8, "latitude": 35.05, "longitude": -106.57,
				"creation_time": fmt.Sprintf("2021-05-05T%02d:%02d:00Z", m/60, m%60)})
			b, _ := e.MarshalJSON()
			batch = append(batch, string(b))
		}
		for {
			r := s.post(t, s.door+"/events", batchType, "["+strings.Join(batch, ",")+"]")
			if r.Status == http.StatusAccepted {
				break
			}
			if !ev.Retryable(r.Status) {
				t.Fatalf("batch %d = %d %s; want 202", i, r.Status, r.Body)
			}
		}
	}
	eventually(t, "every report stored beside the hostile reads", func() bool { return len(s.locations(t, 8)) == n })
	close(stop)
	wg.Wait()
	close(statuses)
	reads := 0
	for status := range statuses {
		reads++
		if status != http.StatusOK && status != http.StatusBadRequest {
			t.Errorf("a hostile read = %d; want 200, or 400 beyond its bounds", status)
		}
	}
	if reads == 0 {
		t.Error("no hostile read finished")
	}
}
