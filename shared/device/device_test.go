package device_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// A 429 is retried after its Retry-After, and counted.
func TestSendRetriesTooManyRequests(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := &device.Client{URL: srv.URL}
	res := c.Send(context.Background(), []udaconnect.Report{report(1), report(2)})
	want := device.Result{Reports: 2, Status: http.StatusAccepted, Retries: 1, TooMany: 1}
	if res.Latency < time.Second {
		t.Errorf("latency %v; want at least the Retry-After of 1s", res.Latency)
	}
	res.Latency = 0
	if res != want {
		t.Errorf("Send = %+v; want %+v", res, want)
	}
}
