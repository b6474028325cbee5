package broker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recordingClock records every wait and ends it at once.
type recordingClock struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (c *recordingClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

func (c *recordingClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// answering serves status to every request and counts them.
func answering(t *testing.T, status int, header ...string) (*httptest.Server, *atomic.Int32) {
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

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		status    int
		wantCalls int32
	}{
		{404, 4}, {408, 4}, {409, 4}, {429, 4}, {500, 4}, {502, 4}, {503, 4}, {504, 4},
		{200, 1}, {202, 1}, {302, 1}, {400, 1}, {401, 1}, {403, 1}, {410, 1}, {413, 1}, {422, 1},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, calls := answering(t, tt.status)
			s := Sender{Client: srv.Client(), Clock: &recordingClock{}}
			r, attempts := s.Retry(context.Background(), Policy{Retry: 3}, func(ctx context.Context) Result {
				return s.Send(ctx, srv.URL, testEvent(), 0)
			})
			if calls.Load() != tt.wantCalls || int32(attempts) != tt.wantCalls || r.Status != tt.status {
				t.Errorf("status %d: %d calls, %d attempts, result %d; want %d calls", tt.status, calls.Load(), attempts, r.Status, tt.wantCalls)
			}
		})
	}
}

func TestRetryConnectionError(t *testing.T) {
	srv, _ := answering(t, 200)
	srv.Close()
	s := Sender{Client: http.DefaultClient, Clock: &recordingClock{}}
	r, attempts := s.Retry(context.Background(), Policy{Retry: 2}, func(ctx context.Context) Result {
		return s.Send(ctx, srv.URL, testEvent(), 0)
	})
	if attempts != 3 || r.Status != 500 || r.Err == nil {
		t.Errorf("Retry to closed server = %d attempts, status %d, err %v; want 3, 500, an error", attempts, r.Status, r.Err)
	}
}

func TestBackoff(t *testing.T) {
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
			retry := int32(3)
			tt.delivery.Retry = &retry
			p, err := NewPolicy(&tt.delivery, nil)
			if err != nil {
				t.Fatal(err)
			}
			clock := &recordingClock{}
			s := Sender{Client: srv.Client(), Clock: clock}
			s.Retry(context.Background(), p, func(ctx context.Context) Result { return s.Send(ctx, srv.URL, testEvent(), 0) })
			if got := clock.Waits(); !slices.Equal(got, tt.want) {
				t.Errorf("waits = %v; want %v", got, tt.want)
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
