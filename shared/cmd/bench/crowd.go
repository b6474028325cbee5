package main

import (
	"context"
	"encoding/json"
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
// From 0 that is the crowd forming, when most pairs meet for the first
// time; from later, the hall's reports before are stored and drained first,
// unmeasured, and the hall has stood that long.
type CrowdResult struct {
	Hall              string  `json:"hall"`
	Attendees         int     `json:"attendees"`
	FromSeconds       float64 `json:"from_seconds,omitempty"` // the hall time the reports measured start at
	Reports           int     `json:"reports"`
	StoredPerSecond   float64 `json:"stored_per_second"` // StoreReports in groups of 1,000, without the door
	DetectedPerSecond float64 `json:"detected_per_second"`
	DetectorCPUUS     float64 `json:"detector_cpu_us"` // CPU of the detecting process per report
	PostgresCPUUS     float64 `json:"postgres_cpu_us"` // PostgreSQL's CPU per report while detecting
	Meetings          int     `json:"meetings"`        // those that started in the reports measured
}

// CrowdResults are the crowd scenarios: detection alone in each hall, and
// each hall through the door of a running system.
type CrowdResults struct {
	Detection []CrowdResult     `json:"detection"`
	Doors     []CrowdDoorResult `json:"doors"`
	Seconds   float64           `json:"seconds"` // all
}

// UnmarshalJSON reads older runs too, whose "door" was the 2,000 hall's
// alone.
func (c *CrowdResults) UnmarshalJSON(b []byte) error {
	type fields CrowdResults // without this method
	var r struct {
		fields
		Door *CrowdDoorResult `json:"door"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*c = CrowdResults(r.fields)
	if r.Door != nil {
		c.Doors = append(c.Doors, *r.Door)
	}
	return nil
}

// door is the hall's scenario through the door, nil without (or without
// any crowd).
func (c *CrowdResults) door(hall string) *CrowdDoorResult {
	if c == nil {
		return nil
	}
	for i := range c.Doors {
		if c.Doors[i].Hall == hall {
			return &c.Doors[i]
		}
	}
	return nil
}

// crowdSizes are how long the crowd scenarios run.
type crowdSizes struct {
	hall, bigHall time.Duration // hall time of detection alone: 2,000 and 10,000 attendees
	formed        time.Duration // detection alone again, after the hall stood this long
	real, bigReal time.Duration // through the door at their own rate: 2,000 and 10,000 attendees
	fast          time.Duration // each load as fast as the door takes it
	recovery      time.Duration // the longest wait after a load for fresh meetings within 2 s
}

// crowdFor are the crowd sizes of `-crowd d`: the 2,000 hall for d (of its
// time alone, and at its own rate through the door), the 10,000 hall and
// each load for half of it.
func crowdFor(d time.Duration) crowdSizes {
	return crowdSizes{hall: d, bigHall: d / 2, formed: 2 * d, real: d, bigReal: d / 2, fast: d / 2, recovery: 2 * d}
}

// measureCrowds runs the crowd scenarios: each hall's detection alone, as it
// forms and once it has stood a while, then each through the door. The 2,000 hall, one zone at the design point, goes
// through every phase; the 10,000 hall only at its own rate, as a hall that
// one zone's detector does not keep up with.
func measureCrowds(ctx context.Context, o *options, s crowdSizes, loaded *peaks) (*CrowdResults, error) {
	results, began := &CrowdResults{}, time.Now()
	halls := []struct {
		name        string
		hall        conference.Hall
		alone, real time.Duration
		phases      []string // through the door
	}{
		{hall2000, conference.Hall2000, s.hall, s.real, []string{kindIdle, kindReal, kindSingle, kindBatch}},
		{hall10000, conference.Hall10000, s.bigHall, s.bigReal, []string{kindReal}},
	}
	for _, h := range halls {
		for _, from := range []time.Duration{0, s.formed} {
			say("crowd, detection alone: %s, every %s, for %s from %s of its time", h.name, h.hall.Interval, h.alone, from)
			r, err := measureCrowd(ctx, o, h.hall, from, h.alone)
			if err != nil {
				return nil, err
			}
			r.Hall = h.name
			say("  %d reports: %.0f stored/s; detected at %.0f reports/s, %.1f µs of CPU a report (PostgreSQL %.1f µs); %d meetings",
				r.Reports, r.StoredPerSecond, r.DetectedPerSecond, r.DetectorCPUUS, r.PostgresCPUUS, r.Meetings)
			results.Detection = append(results.Detection, r)
		}
	}
	for _, h := range halls {
		say("crowd through the door: %s, with a fresh pair beside it every %s", h.name, freshEvery)
		door, err := measureCrowdDoor(ctx, o, h.hall, h.phases, h.real, s, loaded)
		if err != nil {
			return nil, err
		}
		door.Hall = h.name
		say("  %d reports, %d answers 429, %d refused, %d lost, %d stored twice; deliveries %d retried, %d failed, %d dead letters; fresh pairs %d of %d seen, %d not met once, %d meeting keys twice",
			door.Reports, door.TooMany, door.Refused, door.Lost, door.Duplicated, door.Retried, door.Failed, door.DeadLetters, door.Seen, door.Pairs, door.NotOnce, door.DuplicateKeys)
		for _, p := range door.Phases {
			after := ""
			if p.Kind == kindSingle || p.Kind == kindBatch {
				after = fmt.Sprintf("; back under %s after the load: %s", millis(targetLagMS), recovery(p))
			}
			say("  %s: %d reports in %.0f s, %.0f stored/s; fresh lag p50 %s, p99 %s (%d of %d seen)%s",
				p.Mode, p.Reports, p.Seconds, p.StoredPerSecond, millis(p.FreshLag.P50), millis(p.FreshLag.P99), p.FreshSeen, p.FreshPairs, after)
			if len(p.CPU) > 0 {
				say("    CPU a report of the hall: %s", cpuPerReport(p))
			}
		}
		results.Doors = append(results.Doors, door)
	}
	results.Seconds = time.Since(began).Seconds()
	say("  the crowds took %s", time.Since(began).Round(time.Second))
	return results, nil
}

// The halls: the design point's, and one of five times as many people.
const (
	hall2000  = "2,000 in a 60 m hall"
	hall10000 = "10,000 in a 100 m hall"
)

// measureCrowd measures detection alone in the hall over d of its time from
// from, after its reports before from were stored and detected by the same
// owner of the zone, as a running one would have.
func measureCrowd(ctx context.Context, o *options, h conference.Hall, from, d time.Duration) (CrowdResult, error) {
	r := CrowdResult{Attendees: h.Attendees, FromSeconds: from.Seconds()}
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
	lease, err := db.ClaimZone(ctx, 0)
	if err != nil {
		return r, err
	}
	if lease == nil {
		return r, fmt.Errorf("zone 0 of %s is held by another process", dbURL)
	}
	defer lease.Close()
	zone, err := detection.Open(ctx, lease, detection.Params())
	if err != nil {
		return r, err
	}

	// Each batch is an interval of the hall's time, in order.
	h.Duration = from + d
	var before, measured [][]udaconnect.Location
	for batch := range h.Batches(ids) {
		if batch[0].CreationTime.Before(h.Start.Add(from)) {
			before = append(before, batch)
		} else {
			measured = append(measured, batch)
		}
	}
	if _, err := storeCrowd(ctx, db, before); err != nil {
		return r, err
	}
	if err := zone.Drain(ctx, time.Now()); err != nil {
		return r, err
	}

	began := time.Now()
	if r.Reports, err = storeCrowd(ctx, db, measured); err != nil {
		return r, err
	}
	r.StoredPerSecond = float64(r.Reports) / time.Since(began).Seconds()

	self, pg := cpuTime(os.Getpid()), postgresCPU(o.pgPID)
	began = time.Now()
	if err := zone.Drain(ctx, time.Now()); err != nil {
		return r, err
	}
	took := time.Since(began).Seconds()
	r.DetectedPerSecond = float64(r.Reports) / took
	r.DetectorCPUUS = 1e6 * (cpuTime(os.Getpid()) - self).Seconds() / float64(r.Reports)
	r.PostgresCPUUS = 1e6 * (postgresCPU(o.pgPID) - pg).Seconds() / float64(r.Reports)
	err = conn.QueryRow(ctx, `SELECT count(*) FROM meeting WHERE merged_into IS NULL AND started >= $1`, h.Start.Add(from)).Scan(&r.Meetings)
	return r, err
}

// storeCrowd stores the batches of a hall as locations does, in groups of
// 1,000, and returns how many reports it stored.
func storeCrowd(ctx context.Context, db *postgres.DB, batches [][]udaconnect.Location) (int, error) {
	n := 0
	for _, batch := range batches {
		for group := range slices.Chunk(batch, 1000) {
			reports := make([]udaconnect.Report, len(group))
			for i, l := range group {
				reports[i] = udaconnect.Report{Location: l, Source: "/bench/crowd", EventID: fmt.Sprint(l.ID)}
			}
			if _, _, err := db.StoreReports(ctx, reports); err != nil {
				return n, err
			}
			n += len(reports)
		}
	}
	return n, nil
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

// runCrowds runs only the crowd scenarios, sized by crowdFor(d), and prints
// them.
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
