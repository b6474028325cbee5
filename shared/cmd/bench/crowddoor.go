package main

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/device"
)

// A CrowdDoorResult is a hall sent through the door of a running system,
// phase after phase on one timeline of the hall, with fresh meetings made
// beside it all along: every half second a pair of people 1 km and more
// north of the hall report side by side, each pair timed from its reports
// accepted to its meeting in the meeting table.
type CrowdDoorResult struct {
	Hall    string       `json:"hall"`
	Phases  []CrowdPhase `json:"phases"`
	Reports int          `json:"reports"` // the hall's, all phases
	TooMany int          `json:"answers_429"`
	Refused int          `json:"reports_refused"` // finally answered other than 202, after retrying 429s
	// The hall's acknowledged reports not stored, and reports stored more
	// than once.
	Lost       int `json:"reports_lost"`
	Duplicated int `json:"reports_duplicated"`
	// The local broker's deliveries retried (an attempt timed out or
	// failed) and those failed after every retry, by its metrics.
	Retried     int `json:"deliveries_retried"`
	Failed      int `json:"deliveries_failed"`
	DeadLetters int `json:"dead_letters"`
	Pairs       int `json:"fresh_pairs"`
	Seen        int `json:"fresh_seen"`
	// Pairs seen with other than one meeting, or meetings of fresh people
	// who were no pair; keys (pair and start) held by two meetings.
	NotOnce       int     `json:"fresh_not_once"`
	DuplicateKeys int     `json:"duplicate_meeting_keys"`
	Seconds       float64 `json:"seconds"`
}

// A CrowdPhase is a stretch of the hall's timeline: the hall silent (the
// fresh pairs alone), at its own rate (hall time runs as wall time), or as fast as the door takes it, in
// single events or in batches; after a fast phase, the hall at its own rate
// again until fresh meetings are seen within 2 s.
type CrowdPhase struct {
	Kind            string  `json:"kind"` // idle, real, single or batch
	Mode            string  `json:"mode"`
	Senders         int     `json:"senders"`
	Seconds         float64 `json:"seconds"` // sending
	Reports         int     `json:"reports"`
	StoredPerSecond float64 `json:"stored_per_second"` // from the first report sent to the last stored
	// Of the pairs made while sending, in ms; a pair never seen counts
	// with the time it was waited for.
	FreshLag   Latency `json:"fresh_lag"`
	FreshPairs int     `json:"fresh_pairs"`
	FreshSeen  int     `json:"fresh_seen"`
	// After a fast phase: from its end to the first pair from which on
	// fresh meetings are seen within 2 s, or the whole wait when they were
	// not (Recovered false).
	RecoverySeconds float64 `json:"recovery_seconds,omitempty"`
	Recovered       bool    `json:"recovered,omitempty"`
	// At the hall's own rate: CPU seconds of each process from the phase's
	// start until its last fresh meeting is seen.
	CPU        map[string]float64 `json:"cpu_seconds,omitempty"`
	CPUSeconds float64            `json:"cpu_window_seconds,omitempty"`

	from, until time.Time // sending
}

// Kinds of CrowdPhase, beside kindSingle and kindBatch.
const (
	kindIdle = "idle"
	kindReal = "real"
)

// freshEvery is how often a fresh pair is made; recoveredPairs how many in
// a row seen within the lag target make the lag back under it.
const (
	idleFor        = 10 * time.Second
	freshEvery     = 500 * time.Millisecond
	recoveredPairs = 10
	maxFreshPairs  = 1000
)

// A crowdRun is the hall sent through the door: where its timeline is, and
// what the door answered.
type crowdRun struct {
	hall      conference.Hall
	conn      *pgx.Conn // the bench's
	watch     *pgx.Conn // watchMeetings'
	client    *device.Client
	next      func() ([]udaconnect.Location, bool)
	pending   []udaconnect.Location // of the current tick, not yet sent
	offset    time.Duration         // wall time − hall time, when paced
	firstPair int64                 // the fresh people's ids are this and above

	mu                     sync.Mutex
	newest                 time.Time // the latest hall time sent
	sent, acked, refused   int
	tooMany, freshAccepted int
	pairs                  []freshPair
}

type freshPair struct {
	a, b           int64
	accepted, seen time.Time
}

// measureCrowdDoor sends hall h through the door, phase after phase in the
// order given (kinds idle, real, single and batch): nothing for idleFor; at
// its own rate for own; as fast as the door takes single events or batches
// of 500, each for s.fast and followed by the hall at its own rate until
// fresh meetings are seen within 2 s again (at most s.recovery).
func measureCrowdDoor(ctx context.Context, o *options, h conference.Hall, phases []string, own time.Duration, s crowdSizes, loaded *peaks) (CrowdDoorResult, error) {
	r := CrowdDoorResult{}
	dbURL, conn, ids, err := createAttendees(ctx, o.databaseURL, "bench_crowd_door", h.Attendees+2*maxFreshPairs)
	if err != nil {
		return r, err
	}
	defer conn.Close(ctx)
	hall, fresh := ids[:h.Attendees], ids[h.Attendees:]
	if slices.Max(hall) >= slices.Min(fresh) {
		return r, fmt.Errorf("the fresh people's ids are not above the hall's")
	}
	h.Duration = 3 * time.Hour // more than any phase takes: the timeline is read as it goes
	next, stop := iter.Pull(h.Batches(hall))
	defer stop()
	watch, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return r, err
	}
	defer watch.Close(ctx)
	sys, err := startSystem(ctx, o, dbURL, loaded)
	if err != nil {
		return r, err
	}
	defer sys.stop()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = o.size.singleSenders + 2
	c := &crowdRun{hall: h, conn: conn, watch: watch, next: next, newest: h.Start, firstPair: slices.Min(fresh),
		client: &device.Client{URL: doorURL, Token: benchOrganizerToken, HTTP: &http.Client{Transport: transport, Timeout: time.Minute}}}
	brokerBefore, err := brokerCounters(ctx)
	if err != nil {
		return r, err
	}
	deadBefore := deadLetters(ctx)
	began := time.Now()

	// Pairs are made until paired is closed and watched until watched is;
	// each closed once, at the end or on the way out.
	paired, watched := make(chan struct{}), make(chan struct{})
	var pairing, watching sync.WaitGroup
	pairing.Go(func() { c.makePairs(ctx, fresh, paired) })
	watching.Go(func() { c.watchMeetings(ctx, watched) })
	halt := func(ch chan struct{}, wg *sync.WaitGroup) {
		select {
		case <-ch:
		default:
			close(ch)
		}
		wg.Wait()
	}
	defer func() {
		halt(paired, &pairing)
		halt(watched, &watching)
	}()

	for _, kind := range phases {
		var p CrowdPhase
		switch kind {
		case kindIdle:
			p, err = c.silent(ctx)
		case kindReal:
			p, err = c.ownRate(ctx, o, sys, own)
		default:
			p, err = c.fast(ctx, o, kind, s)
		}
		if err != nil {
			return r, err
		}
		r.Phases = append(r.Phases, p)
	}

	// Everything sent stored, and detection given the time to drain what
	// the loads left, so that every pair is seen and counted.
	if _, _, err := c.waitStored(ctx); err != nil {
		return r, err
	}
	halt(paired, &pairing) // no pair after the one waited for
	c.waitSeen(ctx, began, time.Now(), drainWait)
	halt(watched, &watching)
	finished := time.Now()
	r.Seconds = finished.Sub(began).Seconds()

	r.Reports, r.TooMany, r.Refused = c.sent, c.tooMany, c.refused
	for i := range r.Phases {
		c.lags(&r.Phases[i], finished)
	}
	var stored int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM location WHERE person_id < $1`, c.firstPair).Scan(&stored); err != nil {
		return r, err
	}
	r.Lost = max(0, c.acked-stored)
	if r.Duplicated, err = duplicated(ctx, conn); err != nil {
		return r, err
	}
	if r.NotOnce, r.DuplicateKeys, err = c.checkMeetings(ctx); err != nil {
		return r, err
	}
	r.Pairs = len(c.pairs)
	for _, p := range c.pairs {
		if !p.seen.IsZero() {
			r.Seen++
		}
	}
	brokerAfter, err := brokerCounters(ctx)
	if err != nil {
		return r, err
	}
	r.Retried, r.Failed = brokerAfter.retried-brokerBefore.retried, brokerAfter.failed-brokerBefore.failed
	r.DeadLetters = deadLetters(ctx) - deadBefore
	return r, nil
}

// phase is the first phase of kind, nil without.
func (r CrowdDoorResult) phase(kind string) *CrowdPhase {
	for i := range r.Phases {
		if r.Phases[i].Kind == kind {
			return &r.Phases[i]
		}
	}
	return nil
}

// silent is the hall silent, the fresh pairs alone: the lag of a fresh
// meeting on an idle system.
func (c *crowdRun) silent(ctx context.Context) (CrowdPhase, error) {
	say("  fresh pairs alone, the hall silent, for %s", idleFor)
	p := CrowdPhase{Kind: kindIdle, Mode: "silent: fresh pairs alone", from: time.Now()}
	select {
	case <-ctx.Done():
		return p, ctx.Err()
	case <-time.After(idleFor):
	}
	p.until = time.Now()
	p.Seconds = p.until.Sub(p.from).Seconds()
	c.waitSeen(ctx, p.from, p.until, 30*time.Second)
	return p, nil
}

// ownRate is the hall at its own rate for d, what an attendee sees in its
// zone, with each process's CPU until the last fresh meeting made while it
// sent is seen (the hall's backlog detected).
func (c *crowdRun) ownRate(ctx context.Context, o *options, sys *system, d time.Duration) (CrowdPhase, error) {
	say("  the hall at its own rate (%s reports/s) for %s", thousands(float64(c.hall.Attendees)/c.hall.Interval.Seconds()), d)
	p := CrowdPhase{Kind: kindReal, Mode: "at its own rate, single events", Senders: o.size.singleSenders}
	cpu := sys.snapshot()
	if err := c.send(ctx, &p, 1, true, d); err != nil {
		return p, err
	}
	c.waitSeen(ctx, p.from, p.until, drainWait)
	after := sys.snapshot()
	p.CPU, p.CPUSeconds = cpuSince(cpu, after), after.at.Sub(cpu.at).Seconds()
	return p, nil
}

// fast is the hall as fast as the door takes it, in single events (kind
// single) or batches of 500, for s.fast; then at its own rate until fresh
// meetings are seen within 2 s again, at most s.recovery.
func (c *crowdRun) fast(ctx context.Context, o *options, kind string, s crowdSizes) (CrowdPhase, error) {
	p := CrowdPhase{Kind: kind, Mode: "single events", Senders: o.size.singleSenders}
	per := 1
	if kind == kindBatch {
		p.Mode, p.Senders, per = "batches of 500", o.size.batchSenders, 500
	}
	say("  the hall as fast as the door takes it, %s, for %s", p.Mode, s.fast)
	if err := c.send(ctx, &p, per, false, s.fast); err != nil {
		return p, err
	}
	say("    %d reports sent, %.0f stored/s; the hall at its own rate until fresh meetings are seen within %s (at most %s)", p.Reports, p.StoredPerSecond, millis(targetLagMS), s.recovery)
	var from time.Time
	c.load(ctx, 1, o.size.singleSenders, true, func() bool {
		from = c.recovered(p.until)
		return from.IsZero() && time.Since(p.until) < s.recovery
	})
	if p.Recovered = !from.IsZero(); p.Recovered {
		p.RecoverySeconds = from.Sub(p.until).Seconds()
	} else {
		p.RecoverySeconds = time.Since(p.until).Seconds()
	}
	return p, nil
}

// send sends the hall for d, per reports a request from p.Senders at once
// (paced or not, as load), and notes in p what was sent, when, and how fast
// it was stored.
func (c *crowdRun) send(ctx context.Context, p *CrowdPhase, per int, paced bool, d time.Duration) error {
	before, err := c.stored(ctx)
	if err != nil {
		return err
	}
	p.from = time.Now()
	p.Reports = c.load(ctx, per, p.Senders, paced, func() bool { return time.Since(p.from) < d })
	p.until = time.Now()
	p.Seconds = p.until.Sub(p.from).Seconds()
	stored, storedAt, err := c.waitStored(ctx)
	if err != nil {
		return err
	}
	p.StoredPerSecond = float64(stored-before) / storedAt.Sub(p.from).Seconds()
	return nil
}

// perReport is process's CPU seconds a report of the hall.
func (p CrowdPhase) perReport(process string) float64 {
	if p.Reports == 0 {
		return 0
	}
	return p.CPU[process] / float64(p.Reports)
}

// report is the hall's next report, and whether the timeline has one.
func (c *crowdRun) report() (udaconnect.Report, bool) {
	if len(c.pending) == 0 {
		batch, ok := c.next()
		if !ok {
			return udaconnect.Report{}, false
		}
		c.pending = batch
	}
	l := c.pending[0]
	c.pending = c.pending[1:]
	return udaconnect.Report{Location: l, Source: "/bench/crowd", EventID: fmt.Sprint(l.ID)}, true
}

// load sends the hall's next reports, per in a request from senders at
// once, while more says so; paced, each report when the wall clock reaches
// its hall time (hall time running as wall time from now). It returns how
// many reports were sent.
func (c *crowdRun) load(ctx context.Context, per, senders int, paced bool, more func() bool) int {
	requests := make(chan []udaconnect.Report)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for rs := range requests {
				res := c.client.Send(ctx, rs)
				c.mu.Lock()
				c.acked += res.Accepted
				c.refused += res.Reports - res.Accepted
				c.tooMany += res.TooMany
				if last := rs[len(rs)-1].CreationTime; last.After(c.newest) {
					c.newest = last
				}
				c.mu.Unlock()
			}
		})
	}
	anchored, sent := false, 0
	for more() && ctx.Err() == nil {
		rs := make([]udaconnect.Report, 0, per)
		for len(rs) < per {
			rep, ok := c.report()
			if !ok {
				break
			}
			rs = append(rs, rep)
		}
		if len(rs) == 0 {
			break
		}
		if paced {
			if !anchored {
				c.offset, anchored = time.Since(rs[0].CreationTime), true
			}
			time.Sleep(time.Until(rs[0].CreationTime.Add(c.offset)))
		}
		requests <- rs
		sent += len(rs)
	}
	close(requests)
	wg.Wait()
	c.mu.Lock()
	c.sent += sent
	c.mu.Unlock()
	return sent
}

// makePairs makes a fresh pair every freshEvery until done: both report
// side by side at the hall time the hall has reached, 1 km and more north
// of it, and one again 10 s later (so that they were together for a while,
// whatever comes after).
func (c *crowdRun) makePairs(ctx context.Context, people []int64, done <-chan struct{}) {
	t := time.NewTicker(freshEvery)
	defer t.Stop()
	for i := 0; 2*i+1 < len(people); i++ {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		c.mu.Lock()
		at := c.newest
		c.mu.Unlock()
		a, b := people[2*i], people[2*i+1]
		lat := c.hall.Latitude + 0.01 + float64(i)*0.001
		pair := []udaconnect.Report{
			{Location: udaconnect.Location{PersonID: a, Latitude: lat, Longitude: c.hall.Longitude, CreationTime: at}, Source: "/bench/fresh", EventID: fmt.Sprint(a)},
			{Location: udaconnect.Location{PersonID: b, Latitude: lat, Longitude: c.hall.Longitude, CreationTime: at}, Source: "/bench/fresh", EventID: fmt.Sprint(b)},
			{Location: udaconnect.Location{PersonID: a, Latitude: lat, Longitude: c.hall.Longitude, CreationTime: at.Add(10 * time.Second)}, Source: "/bench/fresh", EventID: fmt.Sprint(a, "-2")},
		}
		res := c.client.Send(ctx, pair)
		c.mu.Lock()
		c.refused += res.Reports - res.Accepted
		c.tooMany += res.TooMany
		c.freshAccepted += res.Accepted
		if res.Accepted == len(pair) {
			c.pairs = append(c.pairs, freshPair{a: a, b: b, accepted: time.Now()})
		}
		c.mu.Unlock()
	}
}

// watchMeetings reads the fresh people's meetings every 100 ms until done,
// and notes when each pair's is first there.
func (c *crowdRun) watchMeetings(ctx context.Context, done <-chan struct{}) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-t.C:
		}
		rows, _ := c.watch.Query(ctx, `SELECT DISTINCT least(person_a, person_b), greatest(person_a, person_b) FROM meeting
			WHERE merged_into IS NULL AND person_a >= $1 AND person_b >= $1`, c.firstPair)
		met := map[[2]int64]bool{}
		var a, b int64
		_, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error { met[[2]int64{a, b}] = true; return nil })
		if err != nil {
			continue
		}
		now := time.Now()
		c.mu.Lock()
		for i := range c.pairs {
			p := &c.pairs[i]
			if p.seen.IsZero() && met[[2]int64{min(p.a, p.b), max(p.a, p.b)}] {
				p.seen = now
			}
		}
		c.mu.Unlock()
	}
}

// drainWait bounds the waits for the fresh pairs not yet seen, after the
// hall at its own rate and after the last phase: a backlog draining.
const drainWait = 10 * time.Minute

// waitSeen waits until every pair accepted from from to until is seen, at
// most limit.
func (c *crowdRun) waitSeen(ctx context.Context, from, until time.Time, limit time.Duration) {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(100 * time.Millisecond) {
		c.mu.Lock()
		unseen := slices.ContainsFunc(c.pairs, func(p freshPair) bool {
			return !p.accepted.Before(from) && !p.accepted.After(until) && p.seen.IsZero()
		})
		c.mu.Unlock()
		if !unseen {
			return
		}
	}
}

// recovered returns, when fresh meetings are seen within the lag target
// again since end, the time the first of recoveredPairs pairs in a row so
// seen was accepted; the zero time while they are not.
func (c *crowdRun) recovered(end time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var from time.Time
	good := 0
	for _, p := range c.pairs {
		if p.accepted.Before(end) {
			continue
		}
		lag := p.seen.Sub(p.accepted)
		if p.seen.IsZero() {
			if time.Since(p.accepted) <= targetLagMS*time.Millisecond {
				break // not yet known
			}
		} else if lag <= targetLagMS*time.Millisecond {
			if good == 0 {
				from = p.accepted
			}
			good++
			continue
		}
		good = 0
	}
	if good < recoveredPairs {
		return time.Time{}
	}
	return from
}

// lags sums up the fresh pairs accepted while p was sent; those not seen
// by finished count as seen then.
func (c *crowdRun) lags(p *CrowdPhase, finished time.Time) {
	var ds []time.Duration
	for _, pair := range c.pairs {
		if pair.accepted.Before(p.from) || pair.accepted.After(p.until) {
			continue
		}
		seen := pair.seen
		if seen.IsZero() {
			seen = finished
		} else {
			p.FreshSeen++
		}
		ds = append(ds, seen.Sub(pair.accepted))
	}
	p.FreshPairs, p.FreshLag = len(ds), summarise(ds)
}

// stored is how many of the hall's reports are in the location table: all
// of the table but the fresh reports accepted (those not yet stored make it
// a little less).
func (c *crowdRun) stored(ctx context.Context) (int, error) {
	c.mu.Lock()
	fresh := c.freshAccepted
	c.mu.Unlock()
	n, err := countLocations(ctx, c.conn)
	return n - fresh, err
}

// waitStored waits until every report of the hall acknowledged is stored,
// or nothing more is stored for 20 s, and returns how many are and when the
// last was.
func (c *crowdRun) waitStored(ctx context.Context) (int, time.Time, error) {
	last, at := -1, time.Now()
	for {
		n, err := c.stored(ctx)
		if err != nil {
			return 0, at, err
		}
		if n > last {
			last, at = n, time.Now()
		}
		c.mu.Lock()
		acked := c.acked
		c.mu.Unlock()
		if n >= acked || time.Since(at) > 20*time.Second {
			return n, at, nil
		}
		select {
		case <-ctx.Done():
			return 0, at, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkMeetings counts the pairs seen whose meetings are not exactly one,
// with the meetings of fresh people who were no pair, and the meeting keys
// held twice.
func (c *crowdRun) checkMeetings(ctx context.Context) (notOnce, twice int, err error) {
	rows, _ := c.conn.Query(ctx, `SELECT least(person_a, person_b), greatest(person_a, person_b), count(*) FROM meeting
		WHERE merged_into IS NULL AND (person_a >= $1 OR person_b >= $1) GROUP BY 1, 2`, c.firstPair)
	meetings := map[[2]int64]int{}
	var a, b int64
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&a, &b, &n}, func() error { meetings[[2]int64{a, b}] = n; return nil }); err != nil {
		return 0, 0, err
	}
	for _, p := range c.pairs {
		key := [2]int64{min(p.a, p.b), max(p.a, p.b)}
		if !p.seen.IsZero() && meetings[key] != 1 {
			notOnce++
		}
		delete(meetings, key)
	}
	notOnce += len(meetings)
	err = c.conn.QueryRow(ctx, `SELECT count(*) - count(DISTINCT (person_a, person_b, started)) FROM meeting WHERE merged_into IS NULL`).Scan(&twice)
	return notOnce, twice, err
}

// brokerTotals are the local broker's deliveries retried and failed so far.
type brokerTotals struct{ retried, failed int }

func brokerCounters(ctx context.Context) (brokerTotals, error) {
	var t brokerTotals
	families, err := scrape(ctx, brokerPort)
	if err != nil {
		return t, err
	}
	for _, m := range families["udaconnect_broker_retries_total"].GetMetric() {
		t.retried += int(m.GetCounter().GetValue())
	}
	for _, m := range families["udaconnect_broker_deliveries_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "outcome" && l.GetValue() == "failed" {
				t.failed += int(m.GetCounter().GetValue())
			}
		}
	}
	return t, nil
}
