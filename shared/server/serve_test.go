package server_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap/zaptest"
)

// On shutdown the server stops taking requests, reports not ready, and lets
// the requests in flight finish before Serve returns.
func TestServeFinishesInFlightRequests(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s := &server.Server{
		Addr: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "done")
		}),
		Ready: func(context.Context) error { return nil },
		Log:   zaptest.NewLogger(t),
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	if resp, err := http.Get("http://" + s.Addr + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /readyz = %v, %v; want 200", resp, err)
	}
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr + "/slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(b)
	}()
	<-started
	cancel() // SIGTERM
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case got := <-answer:
		t.Fatalf("the request in flight was answered %q before it finished", got)
	default:
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Errorf("the request in flight got %q; want done", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v; want nil after a clean shutdown", err)
	}
	if _, err := http.Get("http://" + s.Addr + "/readyz"); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("GET after shutdown = %v; want the connection refused", err)
	}
}

// An answer streams through the server's write deadlines: what a handler
// flushes reaches the client while the handler goes on.
func TestServeStreams(t *testing.T) {
	next := make(chan struct{})
	s := &server.Server{
		Addr: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for i := range 3 {
				fmt.Fprintf(w, "data: %d\n\n", i)
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("flush: %v", err)
					return
				}
				<-next // the client read it
			}
		}),
		Log: zaptest.NewLogger(t),
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	resp, err := http.Get("http://" + s.Addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := r.ReadString('\n')
		r.ReadString('\n')
		if want := fmt.Sprintf("data: %d\n", i); line != want || err != nil {
			t.Fatalf("line %d = %q, %v; want %q", i, line, err, want)
		}
		next <- struct{}{}
	}
}

// Headers over MaxHeaderBytes are refused before any handler runs.
func TestServeRefusesHugeHeaders(t *testing.T) {
	s := &server.Server{Addr: "127.0.0.1:0", Handler: http.NotFoundHandler(), Log: zaptest.NewLogger(t)}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	serve(t, s)
	req, _ := http.NewRequest("GET", "http://"+s.Addr+"/", nil)
	req.Header.Set("X-Huge", strings.Repeat("h", 2*server.MaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a header of %d bytes = %d; want 431", 2*server.MaxHeaderBytes, resp.StatusCode)
	}
}

// serve serves s until the test ends, and waits for it to stop, so that
// nothing it logs comes after the test.
func serve(t *testing.T, s *server.Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
