// Command devices simulates attendees' phones: it walks N attendees between
// the booths and talks of a synthetic conference and posts their location
// reports to UdaConnect's /events, one event per request or in batches, at a
// given rate, retrying 429 and 503 as devices do; then it prints a summary.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	ev "github.com/udaconnect/udaconnect/shared/event"
)

type options struct {
	url         string
	attendees   int
	count       int
	rate        float64
	batch       int
	concurrency int
	start       string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://localhost:8080", "UdaConnect's public entry")
	flag.IntVar(&o.attendees, "attendees", 50, "number of attendees (registered when missing)")
	flag.IntVar(&o.count, "count", 1000, "reports to send in all")
	flag.Float64Var(&o.rate, "rate", 100, "reports per second; 0 sends as fast as the system takes them")
	flag.IntVar(&o.batch, "batch", 1, "reports per request; above 1 they go as a CloudEvents batch")
	flag.IntVar(&o.concurrency, "concurrency", 8, "requests under way at once")
	flag.StringVar(&o.start, "start", time.Now().UTC().Format(time.DateOnly), "the conference's day, YYYY-MM-DD")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devices:", err)
		os.Exit(1)
	}
	s.print(os.Stdout)
}

func run(ctx context.Context, o options) (*summary, error) {
	if o.attendees < 1 || o.count < 1 || o.batch < 1 || o.batch > 1000 || o.concurrency < 1 || o.rate < 0 {
		return nil, errors.New("-attendees, -count, -concurrency must be at least 1, -batch between 1 and 1000, -rate not negative")
	}
	c := conference.Default
	c.Attendees, c.Interval = o.attendees, time.Minute
	c.Days = max(1, (o.count/o.attendees)/c.ReportsPerAttendee()+1)
	var err error
	if c.Start, err = time.Parse(time.DateOnly, o.start); err != nil {
		return nil, fmt.Errorf("-start: %w", err)
	}
	ids, err := attendees(ctx, o.url, c)
	if err != nil {
		return nil, err
	}
	// Every request carries o.batch reports, in time order across attendees.
	var reports []udaconnect.Report
	for r := range c.Reports(ids) {
		if reports = append(reports, r); len(reports) == o.count {
			break
		}
	}
	fmt.Printf("sending %d reports of %d attendees to %s/events, %d per request\n", len(reports), len(ids), o.url, o.batch)

	s := &summary{statuses: map[int]int{}, began: time.Now()}
	requests := make(chan []udaconnect.Report)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for rs := range requests {
				s.add(send(ctx, o.url+"/events", rs))
			}
		})
	}
	var tick <-chan time.Time
	if o.rate > 0 {
		ticker := time.NewTicker(time.Duration(float64(time.Second) * float64(o.batch) / o.rate))
		defer ticker.Stop()
		tick = ticker.C
	}
	progress := time.Now()
	for i := 0; i < len(reports) && ctx.Err() == nil; i += o.batch {
		if tick != nil {
			<-tick
		}
		requests <- reports[i:min(i+o.batch, len(reports))]
		if time.Since(progress) > 2*time.Second {
			fmt.Printf("  %d/%d sent\n", i, len(reports))
			progress = time.Now()
		}
	}
	close(requests)
	wg.Wait()
	s.elapsed = time.Since(s.began)
	return s, nil
}

// attendees returns the ids of the first c.Attendees people, registering
// those missing under the conference's names.
func attendees(ctx context.Context, base string, c conference.Config) ([]int64, error) {
	var persons []udaconnect.Person
	if err := getJSON(ctx, base+"/api/persons", &persons); err != nil {
		return nil, err
	}
	var ids []int64
	for _, p := range persons {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	for i, p := range c.Persons()[min(len(ids), c.Attendees):] {
		body, _ := json.Marshal(p)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/persons", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("devices-attendee-%d", i))
		var created udaconnect.Person
		if err := doJSON(req, &created); err != nil {
			return nil, fmt.Errorf("register attendee: %w", err)
		}
		ids = append(ids, created.ID)
	}
	return ids[:c.Attendees], nil
}

// send posts reports, retrying 429 and 503 after their Retry-After, and
// returns the final status and how long the acknowledgement took.
func send(ctx context.Context, url string, rs []udaconnect.Report) result {
	events := make([]event.Event, len(rs))
	for i, r := range rs {
		e := event.New()
		e.SetID(r.Source + "/" + r.EventID)
		e.SetSource("/devices/simulator")
		e.SetType(ev.LocationReported)
		e.SetTime(r.CreationTime)
		_ = e.SetData(event.ApplicationJSON, map[string]any{"person_id": r.PersonID, "latitude": r.Latitude, "longitude": r.Longitude, "creation_time": r.CreationTime})
		events[i] = e
	}
	var body []byte
	contentType := "application/cloudevents-batch+json"
	if len(events) == 1 {
		body, contentType = mustJSON(events[0]), "application/cloudevents+json"
	} else {
		body = mustJSON(events)
	}
	began := time.Now()
	res := result{reports: len(rs)}
	for attempt := 0; attempt < 10; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res.status = -1
			break
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		res.status = resp.StatusCode
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		res.retries++
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
	res.latency = time.Since(began)
	return res
}

type result struct {
	reports, status, retries int
	latency                  time.Duration
}

type summary struct {
	mu        sync.Mutex
	statuses  map[int]int // reports by final status
	retries   int
	latencies []time.Duration
	began     time.Time
	elapsed   time.Duration
}

func (s *summary) add(r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[r.status] += r.reports
	s.retries += r.retries
	s.latencies = append(s.latencies, r.latency)
}

func (s *summary) print(w io.Writer) {
	slices.Sort(s.latencies)
	total := 0
	for _, n := range s.statuses {
		total += n
	}
	fmt.Fprintf(w, "sent %d reports in %s: %.0f reports/s\n", total, s.elapsed.Round(time.Millisecond), float64(total)/s.elapsed.Seconds())
	fmt.Fprintf(w, "accepted %d; retried requests %d\n", s.statuses[http.StatusAccepted], s.retries)
	for status, n := range s.statuses {
		if status != http.StatusAccepted {
			fmt.Fprintf(w, "refused with %d: %d reports\n", status, n)
		}
	}
	if n := len(s.latencies); n > 0 {
		fmt.Fprintf(w, "acknowledgement latency per request: p50 %s, p99 %s\n",
			s.latencies[n/2].Round(time.Microsecond), s.latencies[(n*99)/100].Round(time.Microsecond))
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	return doJSON(req, v)
}

func doJSON(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
