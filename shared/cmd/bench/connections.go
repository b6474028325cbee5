package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/udaconnect/udaconnect/shared/conference"
)

// ConnectionResult is the connection query at one size of data.
type ConnectionResult struct {
	Reports   int     `json:"reports"`
	Attendees int     `json:"attendees"`
	Sampled   int     `json:"persons_sampled"`
	Plain     Latency `json:"plain"`
	Window    Latency `json:"window_15m"`
	// Connections per answer, on average.
	PlainAnswer  float64 `json:"plain_connections_per_answer"`
	WindowAnswer float64 `json:"window_connections_per_answer"`
	// The meetings route on the same day, for the same attendees.
	Meetings       Latency `json:"meetings"`
	MeetingsAnswer float64 `json:"meetings_per_answer"`
	// The proof of concept on the server's defaults, and with JIT off.
	PoC      PoCResult `json:"poc"`
	PoCNoJIT PoCResult `json:"poc_jit_off"`
	// The proof of concept's median time per person, on the server's
	// defaults, over UdaConnect's plain p50.
	Ratio       float64 `json:"poc_over_plain_p50"`
	LoadSeconds float64 `json:"load_seconds"`
	// Bytes per report of the location table and its indexes.
	StorageBytesPerReport float64 `json:"storage_bytes_per_report"`
}

// PoCResult is the proof of concept's algorithm on the same data.
type PoCResult struct {
	Persons     int       `json:"persons"`
	Seconds     []float64 `json:"seconds"` // per person
	Median      float64   `json:"median_seconds"`
	Queries     int       `json:"queries_per_person"`
	SameAnswers bool      `json:"same_answers"` // the same reports as UdaConnect's plain answer
}

// The day every query asks about: the conference's only one.
func queryDay(c conference.Config) string { return c.Start.Format(time.DateOnly) }

// measureConnections loads a conference, starts the system on it and asks
// for the connections of a sample of attendees through the door, one
// request at a time, without and with window=15m; then runs the proof of
// concept's algorithm for the first pocPersons of them.
func measureConnections(ctx context.Context, o *options, c conference.Config, pocPersons int, loaded *peaks) (ConnectionResult, error) {
	r := ConnectionResult{Reports: c.Attendees * c.ReportsPerAttendee(), Attendees: c.Attendees}
	name := fmt.Sprintf("bench_%d", r.Reports)
	dbURL, err := createDatabase(ctx, o.databaseURL, name)
	if err != nil {
		return r, err
	}
	began := time.Now()
	progress := every(2*time.Second, func(done, total int) {
		say("  stored %d/%d reports (%.0f%%)", done, total, 100*float64(done)/float64(total))
	})
	ids, err := loadConference(ctx, dbURL, c, progress)
	if err != nil {
		return r, err
	}
	if r.StorageBytesPerReport, err = storagePerReport(ctx, dbURL); err != nil {
		return r, err
	}
	say("  loading the proof of concept's tables with the same rows")
	if err := loadPoC(ctx, dbURL); err != nil {
		return r, err
	}
	r.LoadSeconds = time.Since(began).Seconds()
	say("  data ready in %s", time.Since(began).Round(time.Second))

	sys, err := startSystem(ctx, o, dbURL, loaded)
	if err != nil {
		return r, err
	}
	defer sys.stop()
	sample := spread(ids, o.size.queries)
	r.Sampled = len(sample)
	for _, window := range []string{"", "15m"} {
		lat, per, err := timeQueries(ctx, sample, func(person int64) string { return connectionURL(person, queryDay(c), window) })
		if err != nil {
			return r, err
		}
		if window == "" {
			r.Plain, r.PlainAnswer = lat, per
		} else {
			r.Window, r.WindowAnswer = lat, per
		}
		label := "plain"
		if window != "" {
			label = "window=" + window
		}
		say("  %-10s p50 %.1f ms, p99 %.1f ms, %.0f connections per answer", label, lat.P50, lat.P99, per)
	}
	r.Meetings, r.MeetingsAnswer, err = timeQueries(ctx, sample, func(person int64) string { return meetingsURL(person, queryDay(c)) })
	if err != nil {
		return r, err
	}
	say("  %-10s p50 %.1f ms, p99 %.1f ms, %.0f meetings per answer", "meetings", r.Meetings.P50, r.Meetings.P99, r.MeetingsAnswer)

	for _, run := range []struct {
		jit    bool
		result *PoCResult
	}{{true, &r.PoC}, {false, &r.PoCNoJIT}} {
		if err := runPoC(ctx, dbURL, c, sample[:min(pocPersons, len(sample))], run.jit, run.result); err != nil {
			return r, err
		}
	}
	if r.Plain.P50 > 0 {
		r.Ratio = r.PoC.Median * 1000 / r.Plain.P50
	}
	return r, nil
}

// runPoC runs the proof of concept's algorithm for persons, with the
// server's JIT setting or with JIT off, and compares each answer with
// UdaConnect's plain one.
func runPoC(ctx context.Context, dbURL string, c conference.Config, persons []int64, jit bool, r *PoCResult) error {
	conn, err := openPoC(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	setting := "the server's defaults"
	if !jit {
		setting = "JIT off"
		if _, err := conn.Exec(ctx, "SET jit = off"); err != nil {
			return err
		}
	}
	r.Persons, r.SameAnswers = len(persons), true
	for _, person := range persons {
		say("  the proof of concept's algorithm for person %d (%s)…", person, setting)
		t := time.Now()
		found, queries, err := pocFindContacts(ctx, conn, person, c.Start, c.Start.AddDate(0, 0, 1), 5)
		if err != nil {
			return err
		}
		sec := time.Since(t).Seconds()
		r.Seconds, r.Queries = append(r.Seconds, sec), queries
		ours, err := connectionIDs(ctx, person, queryDay(c))
		if err != nil {
			return err
		}
		slices.Sort(found)
		same := slices.Equal(found, ours)
		r.SameAnswers = r.SameAnswers && same
		say("    %.1f s, %d queries, %d reports found; UdaConnect found %d, the same: %v", sec, queries, len(found), len(ours), same)
	}
	r.Median = median(r.Seconds)
	return nil
}

// spread picks n of ids evenly spread over them.
func spread(ids []int64, n int) []int64 {
	n = min(n, len(ids))
	out := make([]int64, n)
	for i := range out {
		out[i] = ids[i*len(ids)/n]
	}
	return out
}

var api = &http.Client{Timeout: 5 * time.Minute}

// connectionURL is the door's connection route for person on day, within
// 5 m, and window apart in time when it is not empty.
func connectionURL(person int64, day, window string) string {
	u := fmt.Sprintf("%s/api/persons/%d/connection?start_date=%s&end_date=%s&distance=5", doorURL, person, day, day)
	if window != "" {
		u += "&window=" + window
	}
	return u
}

// meetingsURL is the door's meetings route for person on day: the first
// page, up to 100 meetings.
func meetingsURL(person int64, day string) string {
	return fmt.Sprintf("%s/api/persons/%d/meetings?start_date=%s&end_date=%s", doorURL, person, day, day)
}

// timeQueries asks the door for url(person) of each person in turn, after
// three unmeasured requests, and returns the time from sending each request
// to reading the last byte of its answer, and how many items (connections
// or meetings) an answer has on average.
func timeQueries(ctx context.Context, persons []int64, url func(person int64) string) (Latency, float64, error) {
	var ds []time.Duration
	var total int
	warm := persons[:min(3, len(persons))]
	progress := every(2*time.Second, func(done, n int) { say("    %d/%d requests", done, n) })
	for i, person := range slices.Concat(warm, persons) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url(person), nil)
		req.Header.Set("Authorization", "Bearer "+benchOrganizerToken)
		t := time.Now()
		resp, err := api.Do(req)
		if err != nil {
			return Latency{}, 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil || resp.StatusCode != http.StatusOK {
			return Latency{}, 0, fmt.Errorf("GET %s: %d %v %.200s", req.URL, resp.StatusCode, err, body)
		}
		if i < len(warm) {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil {
			return Latency{}, 0, fmt.Errorf("GET %s: %w", req.URL, err)
		}
		ds, total = append(ds, d), total+len(items)
		progress(len(ds), len(persons))
	}
	return summarise(ds), float64(total) / float64(max(len(ds), 1)), nil
}

// connectionIDs returns the ids of the reports the door answers as person's
// connections on day, within 5 m, sorted.
func connectionIDs(ctx context.Context, person int64, day string) ([]int64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, connectionURL(person, day, ""), nil)
	req.Header.Set("Authorization", "Bearer "+benchOrganizerToken)
	resp, err := api.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var conns []struct {
		Location struct {
			ID int64 `json:"id"`
		} `json:"location"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&conns); err != nil {
		return nil, fmt.Errorf("GET %s: %d: %w", req.URL, resp.StatusCode, err)
	}
	ids := make([]int64, len(conns))
	for i, c := range conns {
		ids[i] = c.Location.ID
	}
	slices.Sort(ids)
	return ids, nil
}
