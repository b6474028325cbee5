package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
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

// CrowdResults are the crowd scenarios: detection alone in each hall, and
// the 2,000 hall through the door of a running system.
type CrowdResults struct {
	Detection []CrowdResult   `json:"detection"`
	Door      CrowdDoorResult `json:"door"`
	Seconds   float64         `json:"seconds"` // both
}

// crowdSizes are how long the crowd scenarios run.
type crowdSizes struct {
	hall, bigHall time.Duration // hall time of detection alone: 2,000 and 10,000 attendees
	real          time.Duration // the 2,000 hall through the door at its own rate
	fast          time.Duration // each load as fast as the door takes it
	recovery      time.Duration // the longest wait after a load for fresh meetings within 2 s
}

// crowdFor are the crowd sizes of `-crowd d`: each hall reporting for d of
// its time alone, the door's phases as long as d and half of it.
func crowdFor(d time.Duration) crowdSizes {
	return crowdSizes{hall: d, bigHall: d / 2, real: d, fast: d / 2, recovery: 2 * d}
}

// measureCrowds runs the crowd scenarios.
func measureCrowds(ctx context.Context, o *options, s crowdSizes, loaded *peaks) (*CrowdResults, error) {
	results, began := &CrowdResults{}, time.Now()
	for _, h := range []struct {
		name string
		hall conference.Hall
		d    time.Duration
	}{{hall2000, conference.Hall2000, s.hall}, {"10,000 in a 100 m hall", conference.Hall10000, s.bigHall}} {
		h.hall.Duration = h.d
		say("crowd, detection alone: %s, every %s, for %s", h.name, h.hall.Interval, h.d)
		r, err := measureCrowd(ctx, o, h.hall)
		if err != nil {
			return nil, err
		}
		r.Hall = h.name
		say("  %d reports: %.0f stored/s; detected at %.0f reports/s, %.1f µs of CPU a report (PostgreSQL %.1f µs); %d meetings",
			r.Reports, r.StoredPerSecond, r.DetectedPerSecond, r.DetectorCPUUS, r.PostgresCPUUS, r.Meetings)
		results.Detection = append(results.Detection, r)
	}
	say("crowd through the door: %s, with a fresh pair beside it every %s", hall2000, freshEvery)
	door, err := measureCrowdDoor(ctx, o, conference.Hall2000, s, loaded)
	if err != nil {
		return nil, err
	}
	door.Hall = hall2000
	say("  %d reports, %d answers 429, %d refused, %d lost, %d stored twice; deliveries %d retried, %d failed, %d dead letters; fresh pairs %d of %d seen, %d not met once, %d meeting keys twice",
		door.Reports, door.TooMany, door.Refused, door.Lost, door.Duplicated, door.Retried, door.Failed, door.DeadLetters, door.Seen, door.Pairs, door.NotOnce, door.DuplicateKeys)
	for _, p := range door.Phases {
		after := ""
		if p.Kind == kindSingle || p.Kind == kindBatch {
			after = fmt.Sprintf("; back under %s after the load: %s", millis(targetLagMS), recovery(p))
		}
		say("  %s: %d reports in %.0f s, %.0f stored/s; fresh lag p50 %s, p99 %s (%d of %d seen)%s",
			p.Mode, p.Reports, p.Seconds, p.StoredPerSecond, millis(p.FreshLag.P50), millis(p.FreshLag.P99), p.FreshSeen, p.FreshPairs, after)
	}
	results.Door, results.Seconds = door, time.Since(began).Seconds()
	say("  the crowds took %s", time.Since(began).Round(time.Second))
	return results, nil
}

// hall2000 is the design point's hall.
const hall2000 = "2,000 in a 60 m hall"

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

// runCrowds runs only the crowd scenarios, each hall reporting for d of its
// time alone, and prints them.
func runCrowds(ctx context.Context, o *options, d time.Duration) error {
	if o.databaseURL == "" {
		return fmt.Errorf("-database-url or DATABASE_URL is required")
	}
	dbURL, err := createDatabase(ctx, o.databaseURL, "bench_footprint")
	if err != nil {
		return err
	}
	r := &Results{Date: time.Now().UTC(), Machine: machine()}
	if r.Server, err = serverInfo(ctx, dbURL); err != nil {
		return err
	}
	o.pgPID = postmasterPID(r.Server.dataDir)
	say("building the functions, the door and the local broker")
	if err := build(ctx, o.binDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(o.logDir(), 0o755); err != nil {
		return err
	}
	if r.Crowds, err = measureCrowds(ctx, o, crowdFor(d), &peaks{}); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(targetsHeader)
	r.crowdTargets(&b)
	b.WriteString("\n")
	r.crowds(&b)
	fmt.Print("\n" + b.String())
	return nil
}
