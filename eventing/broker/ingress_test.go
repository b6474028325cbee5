package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

var binaryHeaders = map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Source": "/devices/42",
	"Ce-Type": "io.udaconnect.location.reported", "Content-Type": "application/json"}

func post(t *testing.T, url string, headers map[string]string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestIngress(t *testing.T) {
	tb := newTestBroker(t, Config{}, nil)
	tb.start(t)
	structured := map[string]string{"Content-Type": "application/cloudevents+json"}
	tests := []struct {
		name, path string
		headers    map[string]string
		body       string
		want       int
	}{
		{"binary", "/udaconnect/default", binaryHeaders, `{"person_id":1}`, 202},
		{"structured", "/udaconnect/default", structured,
			`{"specversion":"1.0","id":"2","source":"/d","type":"t","data":{"person_id":1}}`, 202},
		{"not a cloudevent", "/udaconnect/default", map[string]string{"Content-Type": "application/json"}, `{}`, 400},
		{"missing id", "/udaconnect/default", with(binaryHeaders, "Ce-Id", ""), `{}`, 400},
		{"malformed structured", "/udaconnect/default", structured, `{"specversion":`, 400},
		{"ttl exhausted", "/udaconnect/default", with(binaryHeaders, "Ce-Knativebrokerttl", "1"), `{}`, 400},
		{"batch", "/udaconnect/default", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, `[]`, 415},
		{"oversized", "/udaconnect/default", binaryHeaders, `"` + strings.Repeat("x", maxBodyBytes) + `"`, 413},
		{"unknown broker", "/udaconnect/other", binaryHeaders, `{}`, 404},
		{"unknown path", "/udaconnect", binaryHeaders, `{}`, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, tb.srv.URL+tt.path, tt.headers, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("POST %s = %d; want %d", tt.path, resp.StatusCode, tt.want)
			}
			var body struct{ Error string }
			if tt.want != 202 && (json.NewDecoder(resp.Body).Decode(&body) != nil || body.Error == "") {
				t.Errorf("POST %s: body has no JSON error message", tt.path)
			}
		})
	}
	resp, err := http.Get(tb.srv.URL + "/udaconnect/default")
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET ingress = %v, %v; want 405", resp, err)
	}
}

// With the secret it shares with the door and the functions, the ingress
// takes events only from those who hold it, and the broker delivers with it.
func TestIngressSecret(t *testing.T) {
	got := make(chan string, 1)
	locations := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(locations.Close)
	tb := newTestBroker(t, Config{Token: "the-shared-secret"}, Services{"locations": locations.URL},
		triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	tb.start(t)
	for _, tt := range []struct {
		authorization string
		want          int
	}{
		{"", 401},
		{"Bearer another-secret", 401},
		{"Bearer the-shared-secret", 202},
	} {
		resp := post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Authorization", tt.authorization), `{"person_id":1}`)
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != tt.want || tt.want == 401 && !strings.Contains(body.Error, "credential") {
			t.Errorf("POST with Authorization %q = %d %q; want %d", tt.authorization, resp.StatusCode, body.Error, tt.want)
		}
	}
	if h := <-got; h != "Bearer the-shared-secret" {
		t.Errorf("the delivery's Authorization = %q; want the shared secret", h)
	}
	if resp, err := http.Get(tb.srv.URL + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz without the secret = %v, %v; want 200", resp, err)
	}
}

func TestIngressQueueFull(t *testing.T) {
	// Not started: the queue stays full.
	tb := newTestBroker(t, Config{QueueSize: 1}, Services{"locations": "http://127.0.0.1:1"},
		triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	post(t, tb.srv.URL+"/udaconnect/default", binaryHeaders, `{}`)
	resp := post(t, tb.srv.URL+"/udaconnect/default", binaryHeaders, `{}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("POST to a full queue = %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// An event no Trigger wants is accepted and dropped, even now.
	resp = post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Type", "io.udaconnect.connection.detected"), `{}`)
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("POST of an event no Trigger wants to a full queue = %d; want 202", resp.StatusCode)
	}
}

// External events leave a place in the queue for each worker's reply.
func TestIngressKeepsRoomForReplies(t *testing.T) {
	// Not started: the queue only fills.
	tb := newTestBroker(t, Config{QueueSize: 4, Workers: 2}, Services{"locations": "http://127.0.0.1:1"},
		triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	var statuses []int
	for i := range 3 {
		resp := post(t, tb.srv.URL+"/udaconnect/default", with(binaryHeaders, "Ce-Id", fmt.Sprint(i)), `{}`)
		statuses = append(statuses, resp.StatusCode)
	}
	if want := []int{202, 202, 429}; !slices.Equal(statuses, want) {
		t.Errorf("three events into a queue of 4 with 2 workers = %v; want %v", statuses, want)
	}
	reply := event.New()
	reply.SetID("reply")
	reply.SetSource("test")
	reply.SetType("io.udaconnect.location.reported")
	for i := range 2 {
		if err := tb.publish(context.Background(), reply, true); err != nil {
			t.Errorf("reply %d into the kept places: %v", i, err)
		}
	}
}

// BenchmarkIngress measures events stored and answered 202 per second, with
// the deliveries running beside them.
func BenchmarkIngress(b *testing.B) {
	srv, _ := answering(b, http.StatusAccepted)
	tb := newTestBroker(b, Config{QueueSize: 1 << 20, Workers: 64}, Services{"locations": srv.URL},
		triggerYAML("location-reported", "io.udaconnect.location.reported", "locations"))
	if os.Getenv("BENCH_DELIVER") != "" {
		if err := tb.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer tb.Close(context.Background())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, tb.srv.URL+"/udaconnect/default", strings.NewReader(`{"person_id":1,"latitude":1,"longitude":2}`))
			for k, v := range binaryHeaders {
				req.Header.Set(k, v)
			}
			req.Header.Set("Ce-Id", fmt.Sprint(n.Add(1)))
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Fatalf("POST = %d; want 202", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
