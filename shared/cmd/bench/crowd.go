package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// A CrowdResult is detection alone at the design point's density: a hall's
// reports stored and queued as locations stores them, then the zone's
// backlog drained by the detector as connections runs it (steps of 5,000,
// meetings written in batches, checkpoints), in the bench's own process.
type CrowdResult struct {
	Hall              string  `json:"hall"`
	Attendees         int     `json:"attendees"`
	Reports           int     `json:"reports"`
	StoredPerSecond   float64 `json:"stored_per_second"` // StoreReports in groups of 1,000, without the door
	DetectedPerSecond float64 `json:"detected_per_second"`
	DetectorCPUUS     float64 `json:"detector_cpu_us"` // CPU of the detecting process per report
	PostgresCPUUS     float64 `json:"postgres_cpu_us"` // PostgreSQL's CPU per report while detecting
	Meetings          int     `json:"meetings"`
}

// measureCrowds runs the crowd scenarios, each hall reporting for d of its
// time.
func measureCrowds(ctx context.Context, o *options, d time.Duration) ([]CrowdResult, error) {
	var results []CrowdResult
	for _, h := range []struct {
		name string
		hall conference.Hall
	}{{"2,000 in a 60 m hall", conference.Hall2000}, {"10,000 in a 100 m hall", conference.Hall10000}} {
		h.hall.Duration = d
		say("crowd: %s, every %s, for %s", h.name, h.hall.Interval, d)
		r, err := measureCrowd(ctx, o, h.hall)
		if err != nil {
			return nil, err
		}
		r.Hall = h.name
		say("  %d reports: %.0f stored/s; detected at %.0f reports/s, %.1f µs of CPU a report (PostgreSQL %.1f µs); %d meetings",
			r.Reports, r.StoredPerSecond, r.DetectedPerSecond, r.DetectorCPUUS, r.PostgresCPUUS, r.Meetings)
		results = append(results, r)
	}
	return results, nil
}

func measureCrowd(ctx context.Context, o *options, h conference.Hall) (CrowdResult, error) {
	r := CrowdResult{Attendees: h.Attendees}
	dbURL, conn, ids, err := createAttendees(ctx, o.databaseURL, fmt.Sprintf("bench_crowd_%d", h.Attendees), h.Attendees)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return r, err
	}
	defer db.Close()

	began := time.Now()
	for batch := range h.Batches(ids) {
		for group := range slices.Chunk(batch, 1000) {
			reports := make([]udaconnect.Report, len(group))
			for i, l := range group {
				reports[i] = udaconnect.Report{Location: l, Source: "/bench/crowd", EventID: fmt.Sprint(l.ID)}
			}
			if _, _, err := db.StoreReports(ctx, reports); err != nil {
				return r, err
			}
			r.Reports += len(reports)
		}
	}
	r.StoredPerSecond = float64(r.Reports) / time.Since(began).Seconds()

	self, pg := cpuTime(os.Getpid()), postgresCPU(o.pgPID)
	began = time.Now()
	if _, err := detection.DrainZone(ctx, db, 0, detection.Params()); err != nil {
		return r, err
	}
	took := time.Since(began).Seconds()
	r.DetectedPerSecond = float64(r.Reports) / took
	r.DetectorCPUUS = 1e6 * (cpuTime(os.Getpid()) - self).Seconds() / float64(r.Reports)
	r.PostgresCPUUS = 1e6 * (postgresCPU(o.pgPID) - pg).Seconds() / float64(r.Reports)
	err = conn.QueryRow(ctx, `SELECT count(*) FROM meeting WHERE merged_into IS NULL`).Scan(&r.Meetings)
	return r, err
}

// postgresCPU is the CPU time of the PostgreSQL server and its backends.
func postgresCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	cpu := cpuTime(pid)
	for _, kid := range children(pid) {
		cpu += cpuTime(kid)
	}
	return cpu
}

// runCrowds runs only the crowd scenarios, detection alone and a hall
// through the door of a running system, and prints them as JSON.
func runCrowds(ctx context.Context, o *options, d time.Duration) error {
	if o.databaseURL == "" {
		return fmt.Errorf("-database-url or DATABASE_URL is required")
	}
	dbURL, err := createDatabase(ctx, o.databaseURL, "bench_footprint")
	if err != nil {
		return err
	}
	info, err := serverInfo(ctx, dbURL)
	if err != nil {
		return err
	}
	o.pgPID = postmasterPID(info.dataDir)
	results, err := measureCrowds(ctx, o, d)
	if err != nil {
		return err
	}
	say("building the functions, the door and the local broker")
	if err := build(ctx, o.binDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(o.logDir(), 0o755); err != nil {
		return err
	}
	// Three times as long through the door: sending lasts long enough for
	// the fresh pairs to be made during it.
	h := conference.Hall2000
	h.Duration = 3 * d
	say("crowd through the door: 2,000 in a 60 m hall, %s of it in batches of 500 from 8 senders, %d fresh pairs beside", h.Duration, freshPairs)
	door, err := measureCrowdDoor(ctx, o, h, "batches of 500", 500, 8)
	if err != nil {
		return err
	}
	door.Hall = "2,000 in a 60 m hall"
	say("  %d reports, %d refused, %d answers 429; %.0f stored/s; the last fresh meeting seen %.0f s after the last report; connections %.1f µs of CPU a report; fresh meetings seen %d of %d, lag p50 %.0f ms, p99 %.0f ms",
		door.Reports, door.Refused, door.TooMany, door.StoredPerSecond, door.DrainSeconds, door.ConnectionsCPUUS, door.FreshSeen, door.Pairs, door.FreshLag.P50, door.FreshLag.P99)
	out, err := json.MarshalIndent(struct {
		Detection []CrowdResult
		Door      CrowdDoorResult
	}{results, door}, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
