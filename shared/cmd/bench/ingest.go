package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/device"
)

// IngestResult is one way of sending reports, or the raw COPY beside them.
type IngestResult struct {
	Kind       string `json:"kind"` // single, batch or copy
	Mode       string `json:"mode"`
	Reports    int    `json:"reports"`
	PerRequest int    `json:"reports_per_request"`
	Senders    int    `json:"senders"`
	Stored     int    `json:"stored"`
	// Reports is how many were sent; Stored how many of them are in PostGIS.
	// Seconds: from the first request to the last report stored.
	Seconds         float64 `json:"seconds"`
	StoredPerSecond float64 `json:"stored_per_second"`
	// Reports the door answered 202 (the broker took them), per second
	// until the last answer.
	AckedPerSecond float64 `json:"acknowledged_per_second"`
	// Per request: from sending it to the door's final answer, retries
	// after 429 or 503 included.
	Ack         Latency `json:"ack"`
	TooMany     int     `json:"answers_429"`
	Retries     int     `json:"retried_requests"`
	Refused     int     `json:"reports_refused"` // finally answered other than 202
	DeadLetters int     `json:"dead_letters"`
	// Acknowledged reports not stored, and reports stored more than once.
	Lost       int `json:"reports_lost"`
	Duplicated int `json:"reports_duplicated"`
	// From a location queued to the meetings it started or ended written, by
	// connections' udaconnect_detection_lag_seconds, in milliseconds.
	LagP50 float64 `json:"detection_lag_p50_ms"`
	LagP99 float64 `json:"detection_lag_p99_ms"`
	// Reports per group the door sent to the Broker, on average.
	ReportsPerGroup float64 `json:"reports_per_group"`
	// CPU seconds of each process from the first request to the last report
	// stored (within 500 ms).
	CPU map[string]float64 `json:"cpu_seconds,omitempty"`
}

// Kinds of IngestResult.
const (
	kindSingle = "single"
	kindBatch  = "batch"
	kindCopy   = "copy"
)

// ingestConference is where the ingested reports come from: 1,000
// attendees reporting every 5 minutes for eight days, in time order: a third
// for each mode and the raw COPY, 768,000 each.
func ingestConference() conference.Config {
	c := conference.Default
	c.Attendees, c.Days, c.Seed = 1000, 8, 2
	return c
}

// measureIngest sends reports through the door of a running system on a
// database holding only the attendees, first one event per request, then in
// batches, each for at most o.size.sending, and measures the reports stored
// per second; then the raw COPY of other reports into an empty location
// table, the ceiling.
func measureIngest(ctx context.Context, o *options, loaded *peaks) ([]IngestResult, error) {
	c := ingestConference()
	dbURL, conn, ids, err := createAttendees(ctx, o.databaseURL, "bench_ingest", c.Attendees)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	reports := slices.Collect(c.Reports(ids))
	third := len(reports) / 3

	sys, err := startSystem(ctx, o, dbURL, loaded)
	if err != nil {
		return nil, err
	}
	defer sys.stop()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = max(o.size.singleSenders, o.size.batchSenders)
	client := &device.Client{URL: doorURL, Token: benchOrganizerToken, HTTP: &http.Client{Transport: transport, Timeout: time.Minute}}
	var results []IngestResult
	for i, m := range []struct {
		kind, mode   string
		per, senders int
	}{
		{kindSingle, "single events", 1, o.size.singleSenders},
		{kindBatch, fmt.Sprintf("batches of %d", o.size.batch), o.size.batch, o.size.batchSenders},
	} {
		say("  %s from %d senders, for up to %s", m.mode, m.senders, o.size.sending)
		r, err := sendReports(ctx, sys, conn, client, reports[i*third:(i+1)*third], m.per, m.senders, o.size.sending)
		if err != nil {
			return nil, err
		}
		r.Kind, r.Mode = m.kind, m.mode
		say("    %.0f stored/s; door acks p50 %.1f ms, p99 %.1f ms; %d answers 429, %d reports refused, %d dead letters; %d lost, %d stored twice; detection lag p50 %.0f ms, p99 %.0f ms; %.0f reports per group",
			r.StoredPerSecond, r.Ack.P50, r.Ack.P99, r.TooMany, r.Refused, r.DeadLetters, r.Lost, r.Duplicated, r.LagP50, r.LagP99, r.ReportsPerGroup)
		// The next mode starts on an idle system: connections may still be
		// detecting who met whom.
		say("    idle %s later", sys.settle(ctx).Round(time.Second))
		results = append(results, r)
	}
	sys.stop()

	say("  raw COPY of %d reports", third)
	cp, err := measureCopy(ctx, o, reports[2*third:3*third], ids)
	if err != nil {
		return nil, err
	}
	say("    %.0f rows/s", cp.StoredPerSecond)
	return append(results, cp), nil
}

// insertPersons registers n attendees straight in the database, in one
// statement, and returns their ids.
func insertPersons(ctx context.Context, conn *pgx.Conn, n int) ([]int64, error) {
	rows, _ := conn.Query(ctx, `INSERT INTO person (first_name, last_name, company_name, event_source, event_id)
		SELECT 'Attendee', 'Number ' || i, 'Bench', '/bench', 'person-' || i FROM generate_series(1, $1) AS i
		RETURNING id`, n)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("insert persons: %w", err)
	}
	return ids, nil
}

// sendReports sends reports to the door, per in each request, from senders
// at once, until they are all sent or limit has passed, and waits until
// every report sent is stored, or nothing more is stored for 20 s.
func sendReports(ctx context.Context, sys *system, conn *pgx.Conn, client *device.Client, reports []udaconnect.Report, per, senders int, limit time.Duration) (IngestResult, error) {
	r := IngestResult{PerRequest: per, Senders: senders}
	before, err := countLocations(ctx, conn)
	if err != nil {
		return r, err
	}
	deadBefore := deadLetters(ctx)
	countersBefore, err := readCounters(ctx)
	if err != nil {
		return r, err
	}
	cpu := sys.snapshot()
	cpuAt := cpu // when the last report was stored, give or take 500 ms
	began := time.Now()

	var mu sync.Mutex
	var acks []time.Duration
	var acked, sent int
	answered := make(chan time.Time, 1)
	go func() {
		requests := make(chan []udaconnect.Report)
		var wg sync.WaitGroup
		for range senders {
			wg.Go(func() {
				for rs := range requests {
					res := client.Send(ctx, rs)
					mu.Lock()
					acks = append(acks, res.Latency)
					r.TooMany, r.Retries = r.TooMany+res.TooMany, r.Retries+min(res.Retries, 1)
					acked += res.Accepted
					r.Refused += res.Reports - res.Accepted
					mu.Unlock()
				}
			})
		}
		for i := 0; i < len(reports) && time.Since(began) < limit && ctx.Err() == nil; i += per {
			rs := reports[i:min(i+per, len(reports))]
			mu.Lock()
			sent += len(rs)
			mu.Unlock()
			requests <- rs
		}
		close(requests)
		wg.Wait()
		answered <- time.Now()
	}()

	// Stored is what counts: poll the table until every report sent is
	// there, or nothing more arrives for 20 s after the last answer.
	var lastAnswer time.Time
	storedAt := began
	progress := every(2*time.Second, func(stored, _ int) {
		mu.Lock()
		defer mu.Unlock()
		say("    %d sent, %d acknowledged, %d stored", sent, acked, stored)
	})
	for {
		if lastAnswer.IsZero() {
			select {
			case lastAnswer = <-answered:
			default:
			}
		}
		if !lastAnswer.IsZero() && (r.Stored >= sent || (time.Since(storedAt) > 20*time.Second && time.Since(lastAnswer) > 20*time.Second)) {
			break
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		n, err := countLocations(ctx, conn)
		if err != nil {
			return r, err
		}
		if n-before > r.Stored {
			r.Stored, storedAt = n-before, time.Now()
			if storedAt.Sub(cpuAt.at) > 500*time.Millisecond {
				cpuAt = sys.snapshot()
			}
		}
		progress(r.Stored, 0)
	}
	r.CPU = cpuSince(cpu, cpuAt)
	r.Reports = sent
	r.Seconds = storedAt.Sub(began).Seconds()
	r.StoredPerSecond = float64(r.Stored) / r.Seconds
	r.AckedPerSecond = float64(acked) / lastAnswer.Sub(began).Seconds()
	r.Ack = summarise(acks)
	r.DeadLetters = deadLetters(ctx) - deadBefore
	r.Lost = max(0, acked-r.Stored)
	if r.Duplicated, err = duplicated(ctx, conn); err != nil {
		return r, err
	}
	// Detection goes on after the last report is stored: its lag is read
	// once it is done.
	sys.settle(ctx)
	after, err := readCounters(ctx)
	if err != nil {
		return r, err
	}
	lag := after.lag.since(countersBefore.lag)
	r.LagP50, r.LagP99 = 1000*lag.quantile(0.5), 1000*lag.quantile(0.99)
	if groups := after.groups - countersBefore.groups; groups > 0 {
		r.ReportsPerGroup = (after.grouped - countersBefore.grouped) / groups
	}
	return r, nil
}

// duplicated counts the reports stored more than once: the conference has
// one report per person and time.
func duplicated(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) - count(DISTINCT (person_id, creation_time)) FROM location`).Scan(&n)
	return n, err
}

// scrape reads the metrics of the process on port (its metrics on port
// plus 5).
func scrape(ctx context.Context, port int) (map[string]*dto.MetricFamily, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, addr(port+5)+"/metrics", nil)
	resp, err := api.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics of :%d: %w", port, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("metrics of :%d: %w", port, err)
	}
	return families, nil
}

// The counters the bench reads from the processes' metrics: connections'
// udaconnect_detection_lag_seconds, and how many groups and reports in them
// the door sent (udaconnect_batch_size of its door-groups).
type counters struct {
	lag             histogram
	groups, grouped float64
}

func readCounters(ctx context.Context) (counters, error) {
	c := counters{lag: histogram{}}
	families, err := scrape(ctx, connectionsPort)
	if err != nil {
		return c, err
	}
	if f := families["udaconnect_detection_lag_seconds"]; f != nil && len(f.GetMetric()) == 1 {
		h := f.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			c.lag[b.GetUpperBound()] = float64(b.GetCumulativeCount())
		}
		c.lag[math.Inf(1)] = float64(h.GetSampleCount())
	}
	if families, err = scrape(ctx, doorPort); err != nil {
		return c, err
	}
	for _, m := range families["udaconnect_batch_size"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "batcher" && l.GetValue() == "door-groups" {
				c.groups, c.grouped = float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return c, nil
}

func countLocations(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM location`).Scan(&n)
	return n, err
}

// deadLetters returns how many events the local broker's dead-letter store
// holds (it keeps the last 1,000).
func deadLetters(ctx context.Context) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, brokerURL+"/dead-letters", nil)
	resp, err := api.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var events []json.RawMessage
	json.NewDecoder(resp.Body).Decode(&events)
	return len(events)
}

// measureCopy copies reports with pgx's CopyFrom into the location table of
// an empty database, indexes and constraints as they are, with the persons
// of ids: the rate nothing in front of PostGIS can beat.
func measureCopy(ctx context.Context, o *options, reports []udaconnect.Report, ids []int64) (IngestResult, error) {
	r := IngestResult{Kind: kindCopy, Mode: "raw COPY (pgx CopyFrom), the ceiling", Reports: len(reports), PerRequest: len(reports), Senders: 1}
	dbURL, err := createDatabase(ctx, o.databaseURL, "bench_copy")
	if err != nil {
		return r, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO person (id, first_name, last_name, company_name, event_source, event_id)
		SELECT id, 'First', 'Last', 'Company', '/bench', id::text FROM unnest($1::bigint[]) AS id`, ids); err != nil {
		return r, fmt.Errorf("persons: %w", err)
	}
	rows := make([][]any, len(reports))
	for i, rep := range reports {
		rows[i] = []any{rep.PersonID, pointWKB(rep.Longitude, rep.Latitude), rep.CreationTime, rep.Source, rep.EventID}
	}
	began := time.Now()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"location"},
		[]string{"person_id", "coordinate", "creation_time", "event_source", "event_id"}, pgx.CopyFromRows(rows))
	if err != nil {
		return r, fmt.Errorf("copy: %w", err)
	}
	r.Seconds = time.Since(began).Seconds()
	r.Stored = int(n)
	r.StoredPerSecond = float64(n) / r.Seconds
	return r, nil
}

// pointWKB is a point as well-known binary, which PostGIS takes for a
// geography in binary COPY.
func pointWKB(lon, lat float64) []byte {
	b := make([]byte, 21)
	b[0] = 1 // little endian
	binary.LittleEndian.PutUint32(b[1:], 1)
	binary.LittleEndian.PutUint64(b[5:], math.Float64bits(lon))
	binary.LittleEndian.PutUint64(b[13:], math.Float64bits(lat))
	return b
}
