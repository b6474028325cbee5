package device_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/device"
)

func report(n int64) udaconnect.Report {
	return udaconnect.Report{
		Location: udaconnect.Location{PersonID: n, Latitude: 35.08, Longitude: -106.65, CreationTime: time.Date(2026, 6, 16, 9, 0, 0, 0, time.UTC)},
		Source:   "/test", EventID: fmt.Sprintf("r%d", n),
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name        string
		reports     []udaconnect.Report
		contentType string
		events      int
	}{
		{"one report, one structured event", []udaconnect.Report{report(1)}, "application/cloudevents+json", 1},
		{"several, a batch", []udaconnect.Report{report(1), report(2), report(3)}, "application/cloudevents-batch+json", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, contentType := device.Encode(tt.reports)
			if contentType != tt.contentType {
				t.Errorf("content type %q; want %q", contentType, tt.contentType)
			}
			var events []map[string]any
			if tt.events == 1 {
				var e map[string]any
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatal(err)
				}
				events = append(events, e)
			} else if err := json.Unmarshal(body, &events); err != nil {
				t.Fatal(err)
			}
			if len(events) != tt.events {
				t.Fatalf("%d events; want %d", len(events), tt.events)
			}
			if got, want := events[0]["id"], "/test/r1"; got != want {
				t.Errorf("id %v; want %v", got, want)
			}
			if got := events[0]["data"].(map[string]any)["person_id"]; got != 1.0 {
				t.Errorf("data.person_id %v; want 1", got)
			}
		})
	}
}

// door is a stand-in for UdaConnect's door. It answers each event by the
// statuses listed for its id, one per time the event is sent (202 once they
// run out), as the door answers: a batch with a result per event when not
// all were accepted. The first len(whole) requests are instead answered as
// a whole, as a proxy in front of the door may, without results. It records
// the ids of every request.
type door struct {
	retryAfter string
	answers    map[string][]int
	whole      []int

	mu       sync.Mutex
	requests [][]string
}

func (d *door) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var events []struct{ ID string }
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("Content-Type") == "application/cloudevents-batch+json" {
		json.Unmarshal(body, &events)
	} else {
		events = make([]struct{ ID string }, 1)
		json.Unmarshal(body, &events[0])
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	d.requests = append(d.requests, ids)
	w.Header().Set("Retry-After", d.retryAfter)
	if len(d.requests) <= len(d.whole) {
		w.WriteHeader(d.whole[len(d.requests)-1])
		fmt.Fprint(w, `{"error": "answered as a whole"}`)
		return
	}
	type result struct {
		ID     string `json:"id"`
		Status int    `json:"status"`
	}
	var results []result
	status := http.StatusAccepted
	for _, id := range ids {
		res := result{id, http.StatusAccepted}
		if len(d.answers[id]) > 0 {
			res.Status, d.answers[id] = d.answers[id][0], d.answers[id][1:]
			status = max(status, res.Status)
		}
		results = append(results, res)
	}
	if status == http.StatusAccepted {
		w.WriteHeader(status)
		return
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": "some events were not accepted", "results": results})
}

func reports(n int) []udaconnect.Report {
	var rs []udaconnect.Report
	for i := range n {
		rs = append(rs, report(int64(i+1)))
	}
	return rs
}

func repeat[T any](n int, v T) []T {
	var vs []T
	for range n {
		vs = append(vs, v)
	}
	return vs
}

// Send resends after Retry-After only the reports answered with a retryable
// status, up to MaxAttempts times, and counts each report once: accepted, or
// refused with its last status.
func TestSend(t *testing.T) {
	tests := []struct {
		name     string
		reports  int
		answers  map[string][]int
		whole    []int
		requests [][]string
		want     device.Result
	}{
		{
			name: "all accepted", reports: 3,
			requests: [][]string{{"/test/r1", "/test/r2", "/test/r3"}},
			want:     device.Result{Reports: 3, Accepted: 3, Refused: map[int]int{}},
		},
		{
			name: "only the events answered 429 are resent", reports: 4,
			answers:  map[string][]int{"/test/r2": {429}, "/test/r4": {429, 503}},
			requests: [][]string{{"/test/r1", "/test/r2", "/test/r3", "/test/r4"}, {"/test/r2", "/test/r4"}, {"/test/r4"}},
			want:     device.Result{Reports: 4, Accepted: 4, Refused: map[int]int{}, Retries: 2, TooMany: 1},
		},
		{
			name: "final answers are not resent", reports: 4,
			answers:  map[string][]int{"/test/r1": {400}, "/test/r2": {503}, "/test/r3": {422}},
			requests: [][]string{{"/test/r1", "/test/r2", "/test/r3", "/test/r4"}, {"/test/r2"}},
			want:     device.Result{Reports: 4, Accepted: 2, Refused: map[int]int{400: 1, 422: 1}, Retries: 1},
		},
		{
			name: "404, 408 and 409 are retried as Knative does", reports: 3,
			answers:  map[string][]int{"/test/r1": {404}, "/test/r2": {408}, "/test/r3": {409}},
			requests: [][]string{{"/test/r1", "/test/r2", "/test/r3"}, {"/test/r1", "/test/r2", "/test/r3"}},
			want:     device.Result{Reports: 3, Accepted: 3, Refused: map[int]int{}, Retries: 1},
		},
		{
			name: "given up after MaxAttempts", reports: 2,
			answers:  map[string][]int{"/test/r2": repeat(device.MaxAttempts, 429)},
			requests: append([][]string{{"/test/r1", "/test/r2"}}, repeat(device.MaxAttempts-1, []string{"/test/r2"})...),
			want:     device.Result{Reports: 2, Accepted: 1, Refused: map[int]int{429: 1}, Retries: device.MaxAttempts - 1, TooMany: device.MaxAttempts},
		},
		{
			name: "an answer without results applies to every event", reports: 2,
			whole:    []int{503},
			requests: [][]string{{"/test/r1", "/test/r2"}, {"/test/r1", "/test/r2"}},
			want:     device.Result{Reports: 2, Accepted: 2, Refused: map[int]int{}, Retries: 1},
		},
		{
			name: "a batch refused as a whole", reports: 2,
			whole:    []int{413},
			requests: [][]string{{"/test/r1", "/test/r2"}},
			want:     device.Result{Reports: 2, Accepted: 0, Refused: map[int]int{413: 2}},
		},
		{
			name: "one event, retried", reports: 1,
			whole:    []int{429, 429},
			requests: [][]string{{"/test/r1"}, {"/test/r1"}, {"/test/r1"}},
			want:     device.Result{Reports: 1, Accepted: 1, Refused: map[int]int{}, Retries: 2, TooMany: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &door{retryAfter: "0", answers: tt.answers, whole: tt.whole}
			srv := httptest.NewServer(d)
			defer srv.Close()
			c := &device.Client{URL: srv.URL}
			got := c.Send(context.Background(), reports(tt.reports))
			got.Latency = 0
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Send = %+v; want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(d.requests, tt.requests) {
				t.Errorf("requests carried %v; want %v", d.requests, tt.requests)
			}
		})
	}
}

// A retry waits for the answer's Retry-After.
func TestSendWaitsRetryAfter(t *testing.T) {
	d := &door{retryAfter: "1", answers: map[string][]int{"/test/r2": {429}}}
	srv := httptest.NewServer(d)
	defer srv.Close()
	c := &device.Client{URL: srv.URL}
	if res := c.Send(context.Background(), reports(2)); res.Latency < time.Second || res.Accepted != 2 {
		t.Errorf("Send = %+v; want 2 accepted after the Retry-After of 1s", res)
	}
}

// Reports that cannot reach the door are sent again up to MaxAttempts
// times, then refused with -1 (here without waiting: the context is done).
func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c := &device.Client{URL: srv.URL}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	want := device.Result{Reports: 3, Refused: map[int]int{-1: 3}, Retries: device.MaxAttempts - 1}
	got := c.Send(ctx, reports(3))
	got.Latency = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Send = %+v; want %+v", got, want)
	}
}

// A connection broken before the answer is a network error: the reports are
// sent again, and accepted.
func TestSendRetriesNetworkErrors(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := &device.Client{URL: srv.URL}
	if res := c.Send(context.Background(), reports(2)); res.Accepted != 2 || res.Retries != 1 || requests.Load() != 2 {
		t.Errorf("Send = %+v after %d requests; want 2 accepted on the second", res, requests.Load())
	}
}

// Attendees reads every page of the people registered, following the
// Link rel=next of each, and registers only those missing.
func TestAttendeesFollowsPages(t *testing.T) {
	var registered []int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/persons", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			w.Header().Set("Link", `</api/persons?limit=1000&after=x>; rel="next"`)
			json.NewEncoder(w).Encode([]udaconnect.Person{{ID: 3}, {ID: 1}})
			return
		}
		json.NewEncoder(w).Encode([]udaconnect.Person{{ID: 2}})
	})
	mux.HandleFunc("POST /api/persons", func(w http.ResponseWriter, r *http.Request) {
		registered = append(registered, int64(4+len(registered)))
		json.NewEncoder(w).Encode(udaconnect.Person{ID: registered[len(registered)-1]})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ids, err := (&device.Client{URL: srv.URL}).Attendees(context.Background(), make([]udaconnect.Person, 5))
	if want := []int64{1, 2, 3, 4, 5}; err != nil || !reflect.DeepEqual(ids, want) || len(registered) != 2 {
		t.Errorf("Attendees of 5 with 3 on two pages = %v, %v, %d registered; want %v, 2 registered", ids, err, len(registered), want)
	}
}
