package servertest

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An SSE is one Server-Sent Event.
type SSE struct {
	Event, ID, Data string
}

// A Stream reads the Server-Sent Events of one response as they come.
type Stream struct {
	Header http.Header
	events chan SSE
	cancel context.CancelFunc
}

// Subscribe opens a stream of Server-Sent Events at url, resuming after
// lastEventID when it is not empty; it fails the test unless the answer is
// 200 text/event-stream. The stream is closed when the test ends.
func (c Client) Subscribe(tb testing.TB, url, lastEventID string) *Stream {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		cancel()
		tb.Fatalf("GET %s = %d %s; want 200 text/event-stream", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &Stream{Header: resp.Header, events: make(chan SSE, 100), cancel: cancel}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		lines := bufio.NewScanner(resp.Body)
		var e SSE
		for lines.Scan() {
			field, value, _ := strings.Cut(lines.Text(), ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				e.Event = value
			case "id":
				e.ID = value
			case "data":
				e.Data += value
			case "": // a blank line ends an event; a comment is skipped
				if lines.Text() == "" && e.Data != "" {
					s.events <- e
				}
				if lines.Text() == "" {
					e = SSE{}
				}
			}
		}
	}()
	tb.Cleanup(s.Close)
	return s
}

// Next returns the next event, failing the test if none comes within a
// generous while or the stream ends.
func (s *Stream) Next(tb testing.TB) SSE {
	tb.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			tb.Fatal("the event stream ended")
		}
		return e
	case <-time.After(30 * time.Second):
		tb.Fatal("no event came")
	}
	return SSE{}
}

// Ended reports whether the server ended the stream, once the events it
// sent before are read.
func (s *Stream) Ended(tb testing.TB) bool {
	tb.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return true
			}
		case <-time.After(30 * time.Second):
			return false
		}
	}
}

// Close ends the stream from the client's side.
func (s *Stream) Close() { s.cancel() }
