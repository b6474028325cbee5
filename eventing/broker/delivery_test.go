package broker

import (
	"context"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// answering serves status to every request and counts them.
func answering(t testing.TB, status int, header ...string) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestSendStatuses(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{404, true}, {408, true}, {409, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
		{200, false}, {202, false}, {302, false}, {400, false}, {401, false}, {403, false}, {410, false}, {413, false}, {422, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, calls := answering(t, tt.status)
			s := Sender{Client: srv.Client()}
			r := s.Send(context.Background(), srv.URL, testEvent(), 0)
			if calls.Load() != 1 || r.Status != tt.status || ev.Retryable(r.Status) != tt.retryable {
				t.Errorf("status %d: %d calls, result %d, retryable %v; want 1 call, retryable %v", tt.status, calls.Load(), r.Status, ev.Retryable(r.Status), tt.retryable)
			}
		})
	}
}

// The sender's token goes with every delivery; without one, none.
func TestSendToken(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	for token, want := range map[string]string{"the-shared-secret": "Bearer the-shared-secret", "": ""} {
		s := Sender{Client: srv.Client(), Token: token}
		if r := s.Send(context.Background(), srv.URL, testEvent(), 0); !r.OK() {
			t.Fatalf("Send = %d", r.Status)
		}
		if h := <-got; h != want {
			t.Errorf("token %q: Authorization = %q; want %q", token, h, want)
		}
	}
}

func TestSendConnectionError(t *testing.T) {
	srv, _ := answering(t, 200)
	srv.Close()
	s := Sender{Client: http.DefaultClient}
	if r := s.Send(context.Background(), srv.URL, testEvent(), 0); r.Status != 500 || r.Err == nil || !ev.Retryable(r.Status) {
		t.Errorf("Send to closed server = status %d, err %v; want 500 (retryable) and an error", r.Status, r.Err)
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		name     string
		delivery Delivery
		header   []string
		want     []time.Duration
	}{
		{"exponential", Delivery{BackoffPolicy: "exponential", BackoffDelay: "PT0.2S"}, nil,
			[]time.Duration{400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}},
		{"linear", Delivery{BackoffPolicy: "linear", BackoffDelay: "PT1S"}, nil,
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"retry-after", Delivery{BackoffPolicy: "linear", BackoffDelay: "PT1S"}, []string{"Retry-After", "2"},
			[]time.Duration{2 * time.Second, 2 * time.Second, 3 * time.Second}},
		{"retry-after capped", Delivery{BackoffDelay: "PT1S"}, []string{"Retry-After", "3600"},
			[]time.Duration{time.Minute, time.Minute, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := answering(t, http.StatusServiceUnavailable, tt.header...)
			p, err := NewPolicy(&tt.delivery, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := Sender{Client: srv.Client()}
			r := s.Send(context.Background(), srv.URL, testEvent(), 0)
			var got []time.Duration
			for attempt := 1; attempt <= 3; attempt++ {
				got = append(got, p.RetryDelay(attempt, r))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestNewPolicyInvalid(t *testing.T) {
	for _, d := range []Delivery{{BackoffPolicy: "constant"}, {BackoffDelay: "0.2s"}, {Timeout: "P1M"}} {
		if _, err := NewPolicy(&d, nil); err == nil {
			t.Errorf("NewPolicy(%+v) = nil error; want one", d)
		}
	}
}
