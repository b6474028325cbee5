package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Results is everything a run measured; docs/bench.json holds it.
type Results struct {
	Date        time.Time          `json:"date"`
	Quick       bool               `json:"quick"`
	Seconds     float64            `json:"seconds"` // the whole run
	Machine     Machine            `json:"machine"`
	Server      Server             `json:"database"`
	Connections []ConnectionResult `json:"connections"`
	Ingest      []IngestResult     `json:"ingest"`
	Processes   []Process          `json:"processes"`
	Web         *WebResult         `json:"web,omitempty"`
	Crowds      *CrowdResults      `json:"crowds,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs        int    `json:"cpus"`
	Go          string `json:"go"`
	LoadAverage string `json:"load_average_at_start"`
	LoadAtEnd   string `json:"load_average_at_end"`
}

// Server is the database server.
type Server struct {
	PostgreSQL        string `json:"postgresql"`
	PostGIS           string `json:"postgis"`
	SharedBuffers     string `json:"shared_buffers"`
	Fsync             string `json:"fsync"`
	SynchronousCommit string `json:"synchronous_commit"`
	dataDir           string
}

// The targets: of issue 6, and of issues 13 (meetings) and 14 (ingest).
const (
	targetPlainMS      = 80.0
	targetWindowMS     = 15.0
	targetMeetingsMS   = 5.0
	targetRatio        = 1000.0
	targetBatchPerSec  = 15_000.0
	targetSinglePerSec = 5_000.0
	targetBatchCopy    = 0.30 // of the raw COPY rate, aimed at
	targetSingleCopy   = 0.10
	targetLagMS        = 2000.0 // p99
	targetColdStartMS  = 50.0
	targetRSSMB        = 20.0
	targetBinaryMB     = 20.0
	targetDetectorUS   = 20.0 // CPU of detection a report at the design point
)

// Markdown renders the results as the tables of docs/bench.md and README.md.
func (r *Results) Markdown() string {
	var b strings.Builder
	kind := "Full run"
	if r.Quick {
		kind = "Quick run (-quick)"
	}
	fmt.Fprintf(&b, "%s of `make bench` on %s: %d CPUs, load average %s at the start and %s at the end (1, 5, 15 minutes); PostgreSQL %s, PostGIS %s (shared_buffers %s, fsync %s); %s; %s in all.\n\n",
		kind, r.Date.Format(time.DateOnly), r.Machine.CPUs, r.Machine.LoadAverage, r.Machine.LoadAtEnd, r.Server.PostgreSQL, r.Server.PostGIS,
		r.Server.SharedBuffers, r.Server.Fsync, r.Machine.Go, (time.Duration(r.Seconds) * time.Second).String())
	r.targets(&b)
	r.connections(&b)
	r.web(&b)
	r.ingest(&b)
	r.crowds(&b)
	r.processes(&b)
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

const targetsHeader = "| Target | Measured | |\n|---|---|---|\n"

func (r *Results) targets(b *strings.Builder) {
	b.WriteString(targetsHeader)
	if len(r.Connections) > 0 && !r.Quick {
		c := r.Connections[len(r.Connections)-1]
		fmt.Fprintf(b, "| Connections at %s reports, plain, p50 ≤ %.0f ms over HTTP | %.1f ms | %s |\n", thousands(c.Reports), targetPlainMS, c.Plain.P50, verdict(c.Plain.P50 <= targetPlainMS))
		fmt.Fprintf(b, "| Connections at %s reports, `window=15m`, p50 ≤ %.0f ms | %.1f ms | %s |\n", thousands(c.Reports), targetWindowMS, c.Window.P50, verdict(c.Window.P50 <= targetWindowMS))
		fmt.Fprintf(b, "| Meetings at %s reports, p50 ≤ %.0f ms over HTTP | %.1f ms | %s |\n", thousands(c.Reports), targetMeetingsMS, c.Meetings.P50, verdict(c.Meetings.P50 <= targetMeetingsMS))
		fmt.Fprintf(b, "| ≥ %s× faster than the proof of concept's algorithm | %s× | %s |\n", thousands(int(targetRatio)), thousands(int(c.Ratio)), verdict(c.Ratio >= targetRatio))
	}
	copyRate := r.copyRate()
	for _, in := range r.Ingest {
		target, aim := targetSinglePerSec, targetSingleCopy
		switch in.Kind {
		case kindBatch:
			target, aim = targetBatchPerSec, targetBatchCopy
		case kindCopy:
			continue
		}
		fmt.Fprintf(b, "| Ingest end to end, %s, ≥ %s reports/s stored (aim ≥ %.0f%% of raw COPY) | %s/s (%.0f%% of COPY) | %s |\n",
			in.Mode, thousands(target), 100*aim, thousands(in.StoredPerSecond), 100*in.StoredPerSecond/copyRate, verdict(in.StoredPerSecond >= target))
		fmt.Fprintf(b, "| Detection lag at that rate, p99 ≤ %s (%s) | p50 %s, p99 %s | %s |\n",
			millis(targetLagMS), in.Mode, millis(in.LagP50), millis(in.LagP99), verdict(in.LagP99 <= targetLagMS && in.LagP50 > 0))
		fmt.Fprintf(b, "| Nothing lost, nothing stored twice (%s) | %d lost, %d twice | %s |\n", in.Mode, in.Lost, in.Duplicated, verdict(in.Lost == 0 && in.Duplicated == 0))
	}
	r.crowdTargets(b)
	worst := func(value func(Process) float64) (Process, float64) {
		var w Process
		for _, p := range r.Processes {
			if p.Deployed && value(p) >= value(w) {
				w = p
			}
		}
		return w, value(w)
	}
	if len(r.Processes) > 0 {
		p, v := worst(func(p Process) float64 { return p.ColdStart })
		fmt.Fprintf(b, "| Cold start ≤ %.0f ms (slowest of the functions and the door) | %.1f ms (%s) | %s |\n", targetColdStartMS, v, p.Name, verdict(v <= targetColdStartMS))
		p, v = worst(func(p Process) float64 { return kibToMB(p.IdleRSSKB) })
		fmt.Fprintf(b, "| Idle RSS ≤ %.0f MB (largest) | %.1f MB (%s) | %s |\n", targetRSSMB, v, p.Name, verdict(v <= targetRSSMB))
		p, v = worst(func(p Process) float64 { return float64(p.BinaryBytes) / 1e6 })
		fmt.Fprintf(b, "| Binary ≤ %.0f MB (largest) | %.1f MB (%s) | %s |\n", targetBinaryMB, v, p.Name, verdict(v <= targetBinaryMB))
	}
	b.WriteString("\n")
}

func (r *Results) connections(b *strings.Builder) {
	if len(r.Connections) == 0 {
		return
	}
	fmt.Fprintf(b, "**Connection query**, over HTTP through the door (`GET /api/persons/{id}/connection`, one day, distance 5 m), one request at a time for %d attendees spread over the conference, after 3 unmeasured; time to the last byte of the answer. The same for their meetings (`GET /api/persons/{id}/meetings`, the day's first page), which connections kept as the conference was loaded (the loading time includes them). The proof of concept's algorithm runs as SQL on its own schema filled with the same rows (no HTTP), for the first few of those attendees; its answers are compared with UdaConnect's.\n\n", r.Connections[0].Sampled)
	b.WriteString("| Reports (attendees) | Plain p50 / p99 | `window=15m` p50 / p99 | Meetings p50 / p99 | Connections per answer, plain / window; meetings | Proof of concept per person, median: server defaults / JIT off | Same answers | PoC ÷ plain p50 |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range r.Connections {
		fmt.Fprintf(b, "| %s (%s) | %s / %s | %s / %s | %s / %s | %s / %s; %s | %.1f s / %.1f s (%d %s, %d queries each) | %s | %s× |\n",
			thousands(c.Reports), thousands(c.Attendees), millis(c.Plain.P50), millis(c.Plain.P99), millis(c.Window.P50), millis(c.Window.P99),
			millis(c.Meetings.P50), millis(c.Meetings.P99),
			thousands(c.PlainAnswer), thousands(c.WindowAnswer), thousands(c.MeetingsAnswer), c.PoC.Median, c.PoCNoJIT.Median,
			c.PoC.Persons, plural(c.PoC.Persons, "person", "persons"), c.PoC.Queries,
			yesNo(c.PoC.SameAnswers && c.PoCNoJIT.SameAnswers), thousands(int(c.Ratio)))
	}
	b.WriteString("\n")
}

func (r *Results) ingest(b *strings.Builder) {
	if len(r.Ingest) == 0 {
		return
	}
	b.WriteString("**Ingest** through the whole local path: device → door `/events` (which gathers reports into groups of up to 1,000) → local broker → locations (one statement per group) → PostGIS, with each report queued for detection in the same statement; connections detects from that backlog, apart from the deliveries. " +
		"*Stored/s* counts reports in the table (polled every 50 ms) from the first request to the last report stored; " +
		"*acknowledged* is the door's 202, given once the broker queued the group that carries the report, so before it is stored; ack latency is per request, retries after 429 included. " +
		"*Detection lag* is connections' `udaconnect_detection_lag_seconds`: from a location queued for detection to the meetings it started, ended or removed written (with their announcements queued; growth follows within `DETECT_FLUSH`).\n\n")
	b.WriteString("| Mode | Reports sent | Senders | Stored/s | Of raw COPY | Door acks/s | Ack p50 / p99 | Detection lag p50 / p99 | 429 answers | Refused | Lost | Stored twice | Dead letters |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	copyRate := r.copyRate()
	for _, in := range r.Ingest {
		if in.Kind == kindCopy {
			fmt.Fprintf(b, "| %s | %s | %d | %s | 100%% | — | — | — | — | — | — | — | — |\n", in.Mode, thousands(in.Reports), in.Senders, thousands(in.StoredPerSecond))
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %.0f%% | %s | %s / %s | %s / %s | %s | %s | %s | %s | %s |\n",
			in.Mode, thousands(in.Reports), in.Senders, thousands(in.StoredPerSecond), 100*in.StoredPerSecond/copyRate, thousands(in.AckedPerSecond),
			millis(in.Ack.P50), millis(in.Ack.P99), millis(in.LagP50), millis(in.LagP99), thousands(in.TooMany), thousands(in.Refused),
			thousands(in.Lost), thousands(in.Duplicated), thousands(in.DeadLetters))
	}
	b.WriteString("\n")
	for _, in := range r.Ingest {
		if len(in.CPU) > 0 {
			fmt.Fprintf(b, "- CPU while ingesting %s (share of %d cores): %s.\n", in.Mode, r.Machine.CPUs, cpuShares(in.CPU, in.Seconds, r.Machine.CPUs))
		}
	}
	b.WriteString("\n")
}

// crowdTargets writes the targets' rows of the crowd scenarios.
func (r *Results) crowdTargets(b *strings.Builder) {
	c := r.Crowds
	if c == nil {
		return
	}
	for _, d := range c.Detection {
		if d.Hall == hall2000 {
			fmt.Fprintf(b, "| Detection at the design point (%s, %s), ≤ %.0f µs of CPU a report in the detector | %s (PostgreSQL %s) | %s |\n",
				d.Hall, d.when(), targetDetectorUS, micros(d.DetectorCPUUS), micros(d.PostgresCPUUS), verdict(d.DetectorCPUUS <= targetDetectorUS))
		}
	}
	lag := func(p CrowdPhase) (string, bool) {
		return fmt.Sprintf("p50 %s, p99 %s (%d of %d seen)", millis(p.FreshLag.P50), millis(p.FreshLag.P99), p.FreshSeen, p.FreshPairs),
			p.FreshPairs > 0 && p.FreshSeen == p.FreshPairs && p.FreshLag.P99 <= targetLagMS
	}
	for _, door := range c.Doors {
		for _, p := range door.Phases {
			switch p.Kind {
			case kindIdle:
				continue
			case kindReal:
				measured, ok := lag(p)
				fmt.Fprintf(b, "| Fresh meetings beside the crowd (%s) at its own rate, %s reports/s, p99 ≤ %s | %s | %s |\n",
					door.Hall, thousands(float64(p.Reports)/p.Seconds), millis(targetLagMS), measured, verdict(ok))
				continue
			}
			target := targetSinglePerSec
			if p.Kind == kindBatch {
				target = targetBatchPerSec
			}
			fmt.Fprintf(b, "| Crowd through the door (%s), %s, ≥ %s reports/s stored | %s/s | %s |\n", door.Hall, p.Mode, thousands(target), thousands(p.StoredPerSecond), verdict(p.StoredPerSecond >= target))
			measured, ok := lag(p)
			fmt.Fprintf(b, "| Fresh meetings during that load, p99 ≤ %s (%s) | %s | %s |\n", millis(targetLagMS), p.Mode, measured, verdict(ok))
			fmt.Fprintf(b, "| After that load (%s for %.0f s), fresh meetings back under %s within its length | %s | %s |\n",
				p.Mode, p.Seconds, millis(targetLagMS), recovery(p), verdict(p.Recovered && p.RecoverySeconds <= p.Seconds))
		}
		fmt.Fprintf(b, "| Crowd through the door (%s): nothing refused, no delivery timed out | %d refused (%d answers 429, retried); %d deliveries retried, %d failed | %s |\n",
			door.Hall, door.Refused, door.TooMany, door.Retried, door.Failed, verdict(door.Refused == 0 && door.Retried == 0 && door.Failed == 0))
		fmt.Fprintf(b, "| Crowd (%s): nothing lost, nothing stored twice, every meeting stored once | %d lost, %d twice; %d of %d fresh pairs met, %d not once; %d meeting keys twice | %s |\n",
			door.Hall, door.Lost, door.Duplicated, door.Seen, door.Pairs, door.NotOnce, door.DuplicateKeys,
			verdict(door.Lost == 0 && door.Duplicated == 0 && door.Pairs > 0 && door.Seen == door.Pairs && door.NotOnce == 0 && door.DuplicateKeys == 0))
	}
}

// when says from what time of the hall its reports were measured.
func (d CrowdResult) when() string {
	if d.FromSeconds == 0 {
		return "from its start, forming"
	}
	return fmt.Sprintf("after %s, formed", time.Duration(d.FromSeconds*float64(time.Second)))
}

// recovery is how long after a load fresh meetings took to be seen within
// the lag target again.
func recovery(p CrowdPhase) string {
	if !p.Recovered {
		return fmt.Sprintf("not within %.0f s", p.RecoverySeconds)
	}
	return fmt.Sprintf("%.0f s", p.RecoverySeconds)
}

func (r *Results) crowds(b *strings.Builder) {
	c := r.Crowds
	if c == nil {
		return
	}
	fmt.Fprintf(b, "**Crowds** at the design point's density (`shared/conference/crowd.go`: attendees standing at spots, about 2 a square metre with a metre of jitter, some walking between spots, each reporting every 5 s), %s of the run. "+
		"*Detection alone*: a hall's reports stored as locations stores them (groups of 1,000, each queued for detection in the same statement), then zone 0's backlog drained by the detector as connections runs it (`detection.Zone`'s `Drain`), in the bench's own process; "+
		"*CPU a report* is that process's CPU time over the reports, *PostgreSQL* the server's and its backends' over the same time. "+
		"From the hall's start it is the crowd forming, when most pairs meet for the first time; from later, the hall's reports before were stored and detected first, unmeasured.\n\n", time.Duration(c.Seconds*float64(time.Second)).Round(time.Second))
	b.WriteString("| Hall | Hall time | Reports | Stored/s | Detected/s | CPU a report, detector | CPU a report, PostgreSQL | Meetings started |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, d := range c.Detection {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", d.Hall, d.when(), thousands(d.Reports), thousands(d.StoredPerSecond),
			thousands(d.DetectedPerSecond), micros(d.DetectorCPUUS), micros(d.PostgresCPUUS), thousands(d.Meetings))
	}
	if len(c.Doors) == 0 {
		b.WriteString("\n")
		return
	}
	fmt.Fprintf(b, "\n*Through the door*: each hall sent through the door of a running system of its own, phase after phase on one timeline of the hall, the phases the table gives it among these: silent for a few seconds (the fresh pairs alone: the lag on an idle system); at its own rate (each report when the wall clock reaches its hall time, one a request, as phones send them); "+
		"as fast as the door takes them, in single events or in batches of 500, each load followed by the hall at its own rate until fresh meetings are seen within %s again (%d pairs in a row), or for at most a while. "+
		"Every %.1f s a fresh pair of people 1 km and more north of the hall report side by side at the hall's latest time, and one of them again 10 s later; "+
		"*fresh lag* is from their reports accepted to their meeting in the meeting table (read every 100 ms), over the pairs made while the phase sent; after the hall at its own rate, and after the last phase, the bench waits for every pair, at most %s (a backlog draining), and a pair never seen counts with the time it was waited for. "+
		"*Stored/s* counts the hall's reports in the table from the first sent to the last stored. "+
		"*CPU a report*, at the hall's own rate, is each process's CPU time from the phase's start until its last fresh meeting was seen, over the hall's reports sent in the phase.\n\n",
		millis(targetLagMS), recoveredPairs, freshEvery.Seconds(), drainWait)
	b.WriteString("| Hall | Phase | Senders | Sending | Reports | Stored/s | Fresh meetings seen | Fresh lag p50 / p99 | Back under 2 s after the load |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, door := range c.Doors {
		for _, p := range door.Phases {
			stored, after := thousands(p.StoredPerSecond), recovery(p)
			if p.Kind == kindIdle || p.StoredPerSecond == 0 { // older runs did not measure it at the hall's own rate
				stored = "—"
			}
			if p.Kind == kindIdle || p.Kind == kindReal {
				after = "—"
			}
			fmt.Fprintf(b, "| %s | %s | %d | %.0f s | %s | %s | %d of %d | %s / %s | %s |\n", door.Hall, p.Mode, p.Senders, p.Seconds, thousands(p.Reports), stored,
				p.FreshSeen, p.FreshPairs, millis(p.FreshLag.P50), millis(p.FreshLag.P99), after)
		}
	}
	b.WriteString("\n")
	for _, door := range c.Doors {
		fmt.Fprintf(b, "- The %s, over its whole scenario (%.0f s): %s reports of the hall, %s answers 429 (retried), %s refused, %s lost, %s stored twice; the local broker's deliveries %s retried (an attempt timed out or failed), %s failed, %s dead letters; %d of %d fresh pairs met, %d not exactly once; %d meeting keys held twice.\n",
			door.Hall, door.Seconds, thousands(door.Reports), thousands(door.TooMany), thousands(door.Refused), thousands(door.Lost), thousands(door.Duplicated),
			thousands(door.Retried), thousands(door.Failed), thousands(door.DeadLetters), door.Seen, door.Pairs, door.NotOnce, door.DuplicateKeys)
		if p := door.phase(kindReal); p != nil && len(p.CPU) > 0 {
			fmt.Fprintf(b, "- CPU with the %s at its own rate, until its last fresh meeting was seen (share of %d cores): %s; a report of the hall: %s.\n",
				door.Hall, r.Machine.CPUs, cpuShares(p.CPU, p.CPUSeconds, r.Machine.CPUs), cpuPerReport(*p))
		}
	}
	b.WriteString("\n")
}

// cpuPerReport lists each process's CPU a report of the hall at p, the
// costliest first.
func cpuPerReport(p CrowdPhase) string {
	names := slices.Collect(maps.Keys(p.CPU))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(p.CPU[b], p.CPU[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = name + " " + micros(1e6*p.perReport(name))
	}
	return strings.Join(parts, ", ")
}

// copyRate is the raw COPY's rows per second in the run (NaN without).
func (r *Results) copyRate() float64 {
	for _, in := range r.Ingest {
		if in.Kind == kindCopy {
			return in.StoredPerSecond
		}
	}
	return math.NaN()
}

func (r *Results) processes(b *strings.Builder) {
	if len(r.Processes) == 0 {
		return
	}
	b.WriteString("**Processes**: binaries built as ko builds them (`CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w\"`). Cold start: from starting the process to its first 200 of `/healthz` (serving) and of `/readyz` (ready: it pings PostgreSQL, through a first connection; the local broker has `/healthz` only), medians of " +
		fmt.Sprint(len(r.Processes[0].ColdStarts)) + " starts. RSS is VmRSS: idle a second after ready, loaded the highest sampled every 100 ms under the queries and the ingest. MB = 10⁶ bytes.\n\n")
	b.WriteString("| Process | Binary | Serving after | Ready after (cold start) | Idle RSS | Loaded RSS |\n|---|---|---|---|---|---|\n")
	for _, p := range r.Processes {
		name := p.Name
		if !p.Deployed {
			name += " (local only)"
		}
		fmt.Fprintf(b, "| %s | %.1f MB | %.1f ms | %.1f ms | %.1f MB | %.1f MB |\n", name, float64(p.BinaryBytes)/1e6, p.Listening, p.ColdStart, kibToMB(p.IdleRSSKB), kibToMB(p.LoadedRSSKB))
	}
	b.WriteString("\n")
}

// cpuShares lists the busiest owners first, as a share of all cores.
func cpuShares(cpu map[string]float64, seconds float64, cores int) string {
	type share struct {
		name string
		pct  float64
	}
	var ss []share
	var total float64
	for name, sec := range cpu {
		ss = append(ss, share{name, 100 * sec / seconds / float64(cores)})
		total += sec
	}
	slices.SortFunc(ss, func(a, b share) int { return cmp.Or(cmp.Compare(b.pct, a.pct), cmp.Compare(a.name, b.name)) })
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%s %.0f%%", s.name, s.pct)
	}
	return fmt.Sprintf("%s; %.0f%% in all", strings.Join(parts, ", "), 100*total/seconds/float64(cores))
}

// millis formats milliseconds, as seconds from one second up.
func millis(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.1f ms", ms)
}

// micros formats microseconds, with commas from a thousand up.
func micros(us float64) string {
	if us >= 1000 {
		return thousands(us) + " µs"
	}
	return fmt.Sprintf("%.1f µs", us)
}

func kibToMB(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands formats n rounded to an integer with commas: 1234567 → 1,234,567.
func thousands[T int | float64](n T) string {
	s := fmt.Sprintf("%.0f", float64(n))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// The markers around the generated part of docs/bench.md and README.md.
const (
	beginMarker = "<!-- bench -->"
	endMarker   = "<!-- /bench -->"
)

var errNoMarkers = errors.New("no " + beginMarker + " … " + endMarker + " markers")

// replaceMarked returns doc with what lies between the markers replaced by
// content.
func replaceMarked(doc, content string) (string, error) {
	begin := strings.Index(doc, beginMarker)
	end := strings.Index(doc, endMarker)
	if begin < 0 || end < begin {
		return "", errNoMarkers
	}
	return doc[:begin+len(beginMarker)] + "\n" + strings.TrimSpace(content) + "\n" + doc[end:], nil
}

// benchDoc is docs/bench.md when there is none yet.
const benchDoc = "# Benchmarks\n\n`make bench` measures UdaConnect on this machine and rewrites the part between the markers below, docs/bench.json and the table in README.md.\n\n" +
	beginMarker + "\n" + endMarker + "\n"

// write saves the results in dir as bench.json and bench.md (between its
// markers, the rest kept), and, with readme set, between the markers of that
// file too.
func (r *Results) write(dir, readme string) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	md := r.Markdown()
	if err := rewrite(filepath.Join(dir, "bench.md"), benchDoc, md); err != nil {
		return err
	}
	if readme == "" {
		return nil
	}
	if err := r.writeCapacity(dir); err != nil {
		return err
	}
	summary := md + "How it is measured, and what the misses come from: [docs/bench.md](docs/bench.md); every number: [docs/bench.json](docs/bench.json). `make bench` refreshes this table.\n"
	return rewrite(readme, "", summary)
}

// rewrite replaces the marked part of the file at path, created from
// initial when missing (an error when initial is empty).
func rewrite(path, initial, content string) error {
	doc, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && initial != "" {
		doc, err = []byte(initial), nil
	}
	if err != nil {
		return err
	}
	out, err := replaceMarked(string(doc), content)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if bytes.Equal([]byte(out), doc) {
		return nil
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
