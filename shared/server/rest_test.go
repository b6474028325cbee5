package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap/zaptest"
)

// A POST whose Idempotency-Key is still being handled is a 409 with
// Retry-After, as the IETF Idempotency-Key draft asks; once the first is
// answered the key is free again. A key that could not be an event's id, or
// a body that is not UTF-8, is a 400.
func TestPostEventIdempotencyKey(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	h := func(ctx context.Context, e event.Event) (*event.Event, error) {
		started <- struct{}{}
		<-release
		return &e, nil
	}
	srv := httptest.NewServer(server.PostEvent(h, "/test", "io.udaconnect.test", zaptest.NewLogger(t)))
	defer srv.Close()
	post := func(key, body string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := make(chan int)
	go func() { first <- post("k", `{"a":1}`).StatusCode }()
	<-started
	if r := post("k", `{"a":1}`); r.StatusCode != http.StatusConflict || r.Header.Get("Retry-After") == "" {
		t.Errorf("the same key in flight = %d, Retry-After %q; want 409 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
	}
	close(release)
	if status := <-first; status != http.StatusCreated {
		t.Errorf("the first request = %d; want 201", status)
	}
	if r := post("k", `{"a":1}`); r.StatusCode != http.StatusCreated {
		t.Errorf("the key once its first request was answered = %d; want 201", r.StatusCode)
	}
	for _, tt := range []struct{ name, key, body string }{
		{"key of 3,000 bytes", strings.Repeat("k", 3000), `{}`},
		{"key not UTF-8", "k\xff", `{}`},
		{"body not UTF-8", "k2", "{\"a\":\"\xff\"}"},
	} {
		if r := post(tt.key, tt.body); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s = %d; want 400", tt.name, r.StatusCode)
		}
	}
}
