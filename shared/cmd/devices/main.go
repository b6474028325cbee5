// Command devices simulates attendees' phones behind a venue's gateway: it
// walks N attendees between the booths and talks of a synthetic conference
// and posts their location reports to UdaConnect's /events as a reporter,
// one event per request or in batches, at a given rate, resending the
// reports answered with a retryable status as devices do; then it prints a
// summary. The organizer's token registers the attendees that are missing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/device"
)

type options struct {
	url         string
	attendees   int
	count       int
	rate        float64
	batch       int
	concurrency int
	start       string
	tokenFile   string
	reporter    string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://localhost:8080", "UdaConnect's public entry")
	flag.IntVar(&o.attendees, "attendees", 50, "number of attendees (registered when missing)")
	flag.IntVar(&o.count, "count", 1000, "reports to send in all")
	flag.Float64Var(&o.rate, "rate", 100, "reports per second; 0 sends as fast as the system takes them")
	flag.IntVar(&o.batch, "batch", 1, "reports per request; above 1 they go as a CloudEvents batch")
	flag.IntVar(&o.concurrency, "concurrency", 8, "requests under way at once")
	flag.StringVar(&o.start, "start", "", "the conference's day, YYYY-MM-DD; when absent the reports end now (a reporter's may be a day old at most)")
	flag.StringVar(&o.tokenFile, "token-file", ".run/organizer-token", "the file holding the organizer's token, which `make run` writes: it registers the attendees")
	flag.StringVar(&o.reporter, "reporter-token-file", ".run/reporter-token", "the file holding the reporter's token the reports are sent with, which `make run` writes")
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
	c.Start = time.Now().UTC().Truncate(24 * time.Hour)
	if o.start != "" {
		var err error
		if c.Start, err = time.Parse(time.DateOnly, o.start); err != nil {
			return nil, fmt.Errorf("-start: %w", err)
		}
	}
	// One kept-alive connection per request under way.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = o.concurrency
	var tokens [2]string
	for i, file := range []string{o.tokenFile, o.reporter} {
		token, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		tokens[i] = strings.TrimSpace(string(token))
	}
	organizer := &device.Client{URL: o.url, Token: tokens[0], HTTP: &http.Client{Transport: transport}}
	client := &device.Client{URL: o.url, Token: tokens[1], HTTP: organizer.HTTP}
	ids, err := organizer.Attendees(ctx, c.Persons())
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
	if o.start == "" {
		endNow(reports, time.Now())
	}
	fmt.Printf("sending %d reports of %d attendees to %s/events, %d per request\n", len(reports), len(ids), o.url, o.batch)

	s := &summary{statuses: map[int]int{}, began: time.Now()}
	requests := make(chan []udaconnect.Report)
	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Go(func() {
			for rs := range requests {
				s.add(client.Send(ctx, rs))
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

// endNow moves reports in time so that the last is at now. Moved, they are
// other reports than the conference's, with ids of their own: a second run
// sends its reports rather than the first run's ids with other times, which
// locations would refuse (422) into the dead letters.
func endNow(reports []udaconnect.Report, now time.Time) {
	shift := now.Sub(reports[len(reports)-1].CreationTime)
	for i := range reports {
		reports[i].CreationTime = reports[i].CreationTime.Add(shift)
		reports[i].EventID = fmt.Sprintf("%s+%d", reports[i].EventID, shift.Nanoseconds())
	}
}

type summary struct {
	mu        sync.Mutex
	statuses  map[int]int // reports by final status
	retries   int         // requests resent
	latencies []time.Duration
	began     time.Time
	elapsed   time.Duration
}

func (s *summary) add(r device.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[http.StatusAccepted] += r.Accepted
	for status, n := range r.Refused {
		s.statuses[status] += n
	}
	s.retries += r.Retries
	s.latencies = append(s.latencies, r.Latency)
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
