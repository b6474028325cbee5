package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/device"
)

// A CrowdDoorResult is a hall sent through the door of a running system as
// fast as the door takes it (a burst of many times the hall's own rate),
// with fresh meetings made beside it: pairs far from the hall reporting side
// by side, each timed from its reports accepted to its meeting at the
// meetings route.
type CrowdDoorResult struct {
	Hall             string  `json:"hall"`
	Mode             string  `json:"mode"`
	Reports          int     `json:"reports"`
	Refused          int     `json:"refused"`
	TooMany          int     `json:"too_many"`
	StoredPerSecond  float64 `json:"stored_per_second"`
	ConnectionsCPUUS float64 `json:"connections_cpu_us"` // connections' CPU over the reports, while sending and until detected
	FreshLag         Latency `json:"fresh_lag"`          // ms
	FreshSeen        int     `json:"fresh_seen"`
	Pairs            int     `json:"pairs"`
	DrainSeconds     float64 `json:"drain_seconds"` // from the last report accepted to the backlog empty
}

const freshPairs = 20

// measureCrowdDoor sends hall h through the door, per reports a request
// from senders at once, with freshPairs pairs meeting beside it.
func measureCrowdDoor(ctx context.Context, o *options, h conference.Hall, mode string, per, senders int) (CrowdDoorResult, error) {
	r := CrowdDoorResult{Mode: mode, Pairs: freshPairs}
	dbURL, conn, ids, err := createAttendees(ctx, o.databaseURL, "bench_crowd_door", h.Attendees+2*freshPairs)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	hall, pairs := ids[:h.Attendees], ids[h.Attendees:]
	var reports []udaconnect.Report
	for batch := range h.Batches(hall) {
		for _, l := range batch {
			reports = append(reports, udaconnect.Report{Location: l, Source: "/bench/crowd", EventID: fmt.Sprint(l.ID)})
		}
	}
	sys, err := startSystem(ctx, o, dbURL, &peaks{})
	if err != nil {
		return r, err
	}
	defer sys.stop()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = senders + 2
	client := &device.Client{URL: doorURL, Token: benchOrganizerToken, HTTP: &http.Client{Transport: transport, Timeout: time.Minute}}

	cpu := sys.snapshot()
	began := time.Now()
	var newest atomic.Int64 // the latest report time sent, Unix ns
	var mu sync.Mutex
	requests := make(chan []udaconnect.Report)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for rs := range requests {
				res := client.Send(ctx, rs)
				mu.Lock()
				r.Refused += res.Reports - res.Accepted
				r.TooMany += res.TooMany
				mu.Unlock()
				newest.Store(max(newest.Load(), rs[len(rs)-1].CreationTime.UnixNano()))
			}
		})
	}
	// The fresh pairs, one every half second while the hall is sent: both
	// report side by side at the time the hall has reached, 1 km north of
	// it, and one again 10 s later (so that they were together for a
	// while, whatever comes after).
	lags := make(chan time.Duration, freshPairs)
	var fresh sync.WaitGroup
	fresh.Go(func() {
		for i := range freshPairs {
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
			at := time.Unix(0, newest.Load()).UTC()
			if at.Year() < 2000 {
				at = h.Start
			}
			a, b := pairs[2*i], pairs[2*i+1]
			lat := h.Latitude + 0.01 + float64(i)*0.001
			pair := []udaconnect.Report{
				{Location: udaconnect.Location{PersonID: a, Latitude: lat, Longitude: h.Longitude, CreationTime: at}, Source: "/bench/fresh", EventID: fmt.Sprint(a)},
				{Location: udaconnect.Location{PersonID: b, Latitude: lat, Longitude: h.Longitude, CreationTime: at}, Source: "/bench/fresh", EventID: fmt.Sprint(b)},
				{Location: udaconnect.Location{PersonID: a, Latitude: lat, Longitude: h.Longitude, CreationTime: at.Add(10 * time.Second)}, Source: "/bench/fresh", EventID: fmt.Sprint(a, "-2")},
			}
			if res := client.Send(ctx, pair); res.Accepted != len(pair) {
				continue
			}
			accepted := time.Now()
			fresh.Go(func() {
				for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(50 * time.Millisecond) {
					if met(ctx, a, b, at) {
						lags <- time.Since(accepted)
						return
					}
				}
			})
		}
	})
	for chunk := range slices.Chunk(reports, per) {
		requests <- chunk
	}
	close(requests)
	wg.Wait()
	sent := time.Now()
	r.Reports = len(reports)
	if r.StoredPerSecond, err = storedRate(ctx, conn, hall, r.Reports, began); err != nil {
		return r, err
	}
	// The last fresh meeting seen is as far as the backlog of the burst.
	fresh.Wait()
	r.DrainSeconds = time.Since(sent).Seconds()
	r.ConnectionsCPUUS = 1e6 * cpuSince(cpu, sys.snapshot())["connections"] / float64(r.Reports)
	close(lags)
	var ds []time.Duration
	for d := range lags {
		ds = append(ds, d)
	}
	r.FreshSeen, r.FreshLag = len(ds), summarise(ds)
	return r, nil
}

// storedRate waits until the reports of the hall's persons are stored and
// returns their rate since began.
func storedRate(ctx context.Context, conn *pgx.Conn, persons []int64, n int, began time.Time) (float64, error) {
	for {
		var stored int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM location WHERE person_id = ANY($1)`, persons).Scan(&stored); err != nil {
			return 0, err
		}
		if stored >= n || time.Since(began) > 10*time.Minute {
			return float64(stored) / time.Since(began).Seconds(), nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// met reports whether a's meetings, at the meetings route, include one
// with b from at.
func met(ctx context.Context, a, b int64, at time.Time) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, meetingsURL(a, at.Format(time.DateOnly)), nil)
	req.Header.Set("Authorization", "Bearer "+benchOrganizerToken)
	resp, err := api.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var ms []udaconnect.Meeting
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&ms) != nil {
		return false
	}
	return slices.ContainsFunc(ms, func(m udaconnect.Meeting) bool { return m.Person.ID == b })
}
