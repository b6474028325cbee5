package main

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestReplaceMarked(t *testing.T) {
	tests := []struct {
		name, doc, want string
		err             error
	}{
		{"empty between", "a\n<!-- bench -->\n<!-- /bench -->\nb", "a\n<!-- bench -->\nnew\n<!-- /bench -->\nb", nil},
		{"old content replaced", "<!-- bench -->\nold\nolder\n<!-- /bench -->", "<!-- bench -->\nnew\n<!-- /bench -->", nil},
		{"no markers", "a\nb\n", "", errNoMarkers},
		{"end before begin", "<!-- /bench -->\n<!-- bench -->", "", errNoMarkers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := replaceMarked(tt.doc, "\nnew\n\n")
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Errorf("replaceMarked(%q) = %q, %v; want %q, %v", tt.doc, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {25_000, "25,000"}, {960_000, "960,000"}, {1_234_567.4, "1,234,567"}, {-4321, "-4,321"},
	}
	for _, tt := range tests {
		if got := thousands(tt.in); got != tt.want {
			t.Errorf("thousands(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func sampleResults() *Results {
	return &Results{
		Date:    time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Seconds: 600,
		Machine: Machine{CPUs: 2, Go: "go1.26.8", LoadAverage: "0.10 0.20 0.30"},
		Server:  Server{PostgreSQL: "15.18", PostGIS: "3.3.2", SharedBuffers: "128MB", Fsync: "on"},
		Connections: []ConnectionResult{{
			Reports: 960_000, Attendees: 10_000, Sampled: 200,
			Plain: Latency{P50: 95, P99: 140}, Window: Latency{P50: 12, P99: 20},
			Meetings: Latency{P50: 2.5, P99: 4}, MeetingsAnswer: 30,
			PoC:      PoCResult{Persons: 5, Median: 200, Queries: 98, SameAnswers: true},
			PoCNoJIT: PoCResult{Persons: 5, Median: 80, Queries: 98, SameAnswers: true}, Ratio: 2105,
		}},
		Ingest: []IngestResult{
			{Kind: kindSingle, Mode: "single events", Reports: 1000, Senders: 64, StoredPerSecond: 9000, Ack: Latency{N: 1000}, CPU: map[string]float64{"locations": 1}, Seconds: 1,
				LagP50: 40, LagP99: 900},
			{Kind: kindBatch, Mode: "batches of 100", Reports: 1000, Senders: 8, StoredPerSecond: 300, Ack: Latency{N: 10}, LagP50: 1500, LagP99: 4000, Lost: 2},
			{Kind: kindCopy, Mode: "raw COPY", Reports: 1000, Senders: 1, StoredPerSecond: 50_000},
		},
		Processes: []Process{
			{Name: "persons", Deployed: true, BinaryBytes: 12e6, ColdStart: 40, ColdStarts: []float64{40}, IdleRSSKB: 10_000},
			{Name: "localbroker", BinaryBytes: 30e6, ColdStart: 90, ColdStarts: []float64{90}, IdleRSSKB: 30_000},
		},
	}
}

func TestMarkdownVerdicts(t *testing.T) {
	md := sampleResults().Markdown()
	for _, want := range []string{
		"| Connections at 960,000 reports, plain, p50 ≤ 80 ms over HTTP | 95.0 ms | **missed** |",
		"| Connections at 960,000 reports, `window=15m`, p50 ≤ 15 ms | 12.0 ms | met |",
		"| Meetings at 960,000 reports, p50 ≤ 5 ms over HTTP | 2.5 ms | met |",
		"| 960,000 (10,000) | 95.0 ms / 140.0 ms | 12.0 ms / 20.0 ms | 2.5 ms / 4.0 ms |",
		"| ≥ 1,000× faster than the proof of concept's algorithm | 2,105× | met |",
		"| 200.0 s / 80.0 s (5 persons, 98 queries each) | yes | 2,105× |",
		"| Ingest end to end, single events, ≥ 5,000 reports/s stored (aim ≥ 10% of raw COPY) | 9,000/s (18% of COPY) | met |",
		"| Detection lag at that rate, p99 ≤ 2.00 s (single events) | p50 40.0 ms, p99 900.0 ms | met |",
		"| Nothing lost, nothing stored twice (single events) | 0 lost, 0 twice | met |",
		"| Ingest end to end, batches of 100, ≥ 15,000 reports/s stored (aim ≥ 30% of raw COPY) | 300/s (1% of COPY) | **missed** |",
		"| Detection lag at that rate, p99 ≤ 2.00 s (batches of 100) | p50 1.50 s, p99 4.00 s | **missed** |",
		"| Nothing lost, nothing stored twice (batches of 100) | 2 lost, 0 twice | **missed** |",
		// The local broker is not deployed: not held to the targets.
		"| Cold start ≤ 50 ms (slowest of the functions and the door) | 40.0 ms (persons) | met |",
		"| localbroker (local only) |",
		"- CPU while ingesting single events (share of 2 cores): locations 50%; 50% in all.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	os.WriteFile(readme, []byte("# R\n\n## Benchmarks\n\n<!-- bench -->\nstale table\n<!-- /bench -->\n\n## Next\n"), 0o644)
	r := sampleResults()
	if err := r.write(dir, readme); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"bench.md": "95.0 ms", "bench.json": `"p50_ms": 95`, "README.md": "95.0 ms"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) || strings.Contains(string(b), "stale table") {
			t.Errorf("%s does not hold the results:\n%s", name, b)
		}
	}
	// Notes written below the markers of bench.md stay.
	md := filepath.Join(dir, "bench.md")
	b, _ := os.ReadFile(md)
	os.WriteFile(md, append(b, "\n## Notes\nkept\n"...), 0o644)
	if err := r.write(dir, ""); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "## Notes\nkept") {
		t.Errorf("bench.md lost its notes:\n%s", b)
	}
}

// The quantiles of a histogram, as Prometheus' histogram_quantile.
func TestHistogramQuantile(t *testing.T) {
	before := histogram{0.1: 5, 1: 5, 10: 5, math.Inf(1): 5}
	after := histogram{0.1: 55, 1: 95, 10: 104, math.Inf(1): 105}
	h := after.since(before) // 50 ≤ 0.1 s, 40 in (0.1, 1], 9 in (1, 10], 1 above
	for _, tt := range []struct{ q, want float64 }{
		{0.5, 0.1},           // the 50th of 100 ends the first bucket
		{0.7, 0.1 + 0.9*0.5}, // halfway through the second
		{0.99, 10},           // the last of the third
		{0.999, 10},          // beyond the last finite bound: that bound
	} {
		if got := h.quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v; want %v", tt.q, got, tt.want)
		}
	}
	if got := (histogram{}).quantile(0.5); got != 0 {
		t.Errorf("quantile of nothing = %v; want 0", got)
	}
}

func sampleCrowds() *CrowdResults {
	return &CrowdResults{
		Detection: []CrowdResult{
			{Hall: hall2000, Attendees: 2000, Reports: 24_000, StoredPerSecond: 17_000, DetectedPerSecond: 2300, DetectorCPUUS: 18.5, PostgresCPUUS: 150, Meetings: 80_000},
			{Hall: hall2000, Attendees: 2000, FromSeconds: 120, Reports: 24_000, StoredPerSecond: 16_000, DetectedPerSecond: 4000, DetectorCPUUS: 25, PostgresCPUUS: 100, Meetings: 30_000},
			{Hall: "10,000 in a 100 m hall", Attendees: 10_000, Reports: 60_000, StoredPerSecond: 12_000, DetectedPerSecond: 300, DetectorCPUUS: 340, PostgresCPUUS: 2000, Meetings: 400_000},
		},
		Seconds: 612,
		Doors: []CrowdDoorResult{{
			Hall: hall2000, Reports: 600_000, TooMany: 12, Seconds: 400, Pairs: 800, Seen: 800,
			Phases: []CrowdPhase{
				{Kind: kindIdle, Mode: "silent: fresh pairs alone", Seconds: 10, FreshLag: Latency{P50: 900, P99: 1500}, FreshPairs: 20, FreshSeen: 20},
				{Kind: kindReal, Mode: "at its own rate, single events", Senders: 64, Seconds: 60, Reports: 24_000, StoredPerSecond: 390,
					FreshLag: Latency{P50: 300, P99: 1200}, FreshPairs: 120, FreshSeen: 120,
					CPU: map[string]float64{"connections": 2.4, "postgres": 4.8}, CPUSeconds: 60},
				{Kind: kindSingle, Mode: "single events", Senders: 64, Seconds: 30, Reports: 120_000, StoredPerSecond: 4000,
					FreshLag: Latency{P50: 9000, P99: 25_000}, FreshPairs: 60, FreshSeen: 60, RecoverySeconds: 20, Recovered: true},
				{Kind: kindBatch, Mode: "batches of 500", Senders: 8, Seconds: 30, Reports: 450_000, StoredPerSecond: 16_000,
					FreshLag: Latency{P50: 20_000, P99: 40_000}, FreshPairs: 60, FreshSeen: 58, RecoverySeconds: 120},
			},
		}, {
			Hall: hall10000, Reports: 60_000, Seconds: 95, Pairs: 190, Seen: 190,
			Phases: []CrowdPhase{
				{Kind: kindReal, Mode: "at its own rate, single events", Senders: 64, Seconds: 30, Reports: 60_000, StoredPerSecond: 1950,
					FreshLag: Latency{P50: 15_000, P99: 29_000}, FreshPairs: 60, FreshSeen: 60,
					CPU: map[string]float64{"connections": 30, "postgres": 36, "locations": 3}, CPUSeconds: 90},
			},
		}},
	}
}

func TestCrowdMarkdown(t *testing.T) {
	r := sampleResults()
	r.Crowds = sampleCrowds()
	md := r.Markdown()
	for _, want := range []string{
		"| Detection at the design point (2,000 in a 60 m hall, from its start, forming), ≤ 20 µs of CPU a report in the detector | 18.5 µs (PostgreSQL 150.0 µs) | met |",
		"| Fresh meetings beside the crowd (2,000 in a 60 m hall) at its own rate, 400 reports/s, p99 ≤ 2.00 s | p50 300.0 ms, p99 1.20 s (120 of 120 seen) | met |",
		"| Crowd through the door (2,000 in a 60 m hall), single events, ≥ 5,000 reports/s stored | 4,000/s | **missed** |",
		"| Fresh meetings during that load, p99 ≤ 2.00 s (single events) | p50 9.00 s, p99 25.00 s (60 of 60 seen) | **missed** |",
		"| After that load (single events for 30 s), fresh meetings back under 2.00 s within its length | 20 s | met |",
		"| Crowd through the door (2,000 in a 60 m hall), batches of 500, ≥ 15,000 reports/s stored | 16,000/s | met |",
		// A pair never seen: missed, whatever the quantiles.
		"| Fresh meetings during that load, p99 ≤ 2.00 s (batches of 500) | p50 20.00 s, p99 40.00 s (58 of 60 seen) | **missed** |",
		"| After that load (batches of 500 for 30 s), fresh meetings back under 2.00 s within its length | not within 120 s | **missed** |",
		"| Crowd through the door (2,000 in a 60 m hall): nothing refused, no delivery timed out | 0 refused (12 answers 429, retried); 0 deliveries retried, 0 failed | met |",
		"| Crowd (2,000 in a 60 m hall): nothing lost, nothing stored twice, every meeting stored once | 0 lost, 0 twice; 800 of 800 fresh pairs met, 0 not once; 0 meeting keys twice | met |",
		// The 10,000 hall at its own rate, beside the 2,000's: more than one zone detects.
		"| Fresh meetings beside the crowd (10,000 in a 100 m hall) at its own rate, 2,000 reports/s, p99 ≤ 2.00 s | p50 15.00 s, p99 29.00 s (60 of 60 seen) | **missed** |",
		"| Crowd through the door (10,000 in a 100 m hall): nothing refused, no delivery timed out | 0 refused (0 answers 429, retried); 0 deliveries retried, 0 failed | met |",
		"| Crowd (10,000 in a 100 m hall): nothing lost, nothing stored twice, every meeting stored once | 0 lost, 0 twice; 190 of 190 fresh pairs met, 0 not once; 0 meeting keys twice | met |",
		"| 2,000 in a 60 m hall | from its start, forming | 24,000 | 17,000 | 2,300 | 18.5 µs | 150.0 µs | 80,000 |",
		"| 2,000 in a 60 m hall | after 2m0s, formed | 24,000 | 16,000 | 4,000 | 25.0 µs | 100.0 µs | 30,000 |",
		"| 10,000 in a 100 m hall | from its start, forming | 60,000 | 12,000 | 300 | 340.0 µs | 2,000 µs | 400,000 |",
		"| Detection at the design point (2,000 in a 60 m hall, after 2m0s, formed), ≤ 20 µs of CPU a report in the detector | 25.0 µs (PostgreSQL 100.0 µs) | **missed** |",
		"each reporting every 5 s), 10m12s of the run.",
		"the phases the table gives it among these: silent for a few seconds (the fresh pairs alone: the lag on an idle system); at its own rate",
		"| 2,000 in a 60 m hall | silent: fresh pairs alone | 0 | 10 s | 0 | — | 20 of 20 | 900.0 ms / 1.50 s | — |",
		"| 2,000 in a 60 m hall | at its own rate, single events | 64 | 60 s | 24,000 | 390 | 120 of 120 | 300.0 ms / 1.20 s | — |",
		"| 2,000 in a 60 m hall | batches of 500 | 8 | 30 s | 450,000 | 16,000 | 58 of 60 | 20.00 s / 40.00 s | not within 120 s |",
		"| 10,000 in a 100 m hall | at its own rate, single events | 64 | 30 s | 60,000 | 1,950 | 60 of 60 | 15.00 s / 29.00 s | — |",
		"- The 2,000 in a 60 m hall, over its whole scenario (400 s): 600,000 reports of the hall, 12 answers 429 (retried),",
		"- CPU with the 2,000 in a 60 m hall at its own rate, until its last fresh meeting was seen (share of 2 cores): postgres 4%, connections 2%; 6% in all; a report of the hall: postgres 200.0 µs, connections 100.0 µs.",
		"- The 10,000 in a 100 m hall, over its whole scenario (95 s): 60,000 reports of the hall,",
		"- CPU with the 10,000 in a 100 m hall at its own rate, until its last fresh meeting was seen (share of 2 cores): postgres 20%, connections 17%, locations 2%; 38% in all; a report of the hall: postgres 600.0 µs, connections 500.0 µs, locations 50.0 µs.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
	// The silent phase has no target.
	if strings.Contains(md, "door, silent") || strings.Contains(md, "(silent") {
		t.Errorf("the silent phase has a target's row:\n%s", md)
	}
	// The crowds' rows come before the processes' in the targets.
	if strings.Index(md, "every meeting stored once") > strings.Index(md, "Cold start ≤") {
		t.Errorf("the crowds' targets are not with the ingest's:\n%s", md)
	}
	// A run without crowds (an older bench.json) renders none.
	if md := sampleResults().Markdown(); strings.Contains(md, "Crowd") {
		t.Errorf("crowds rendered without any measured:\n%s", md)
	}
}

// A run from before the 10,000 hall went through the door held the 2,000
// hall's scenario alone, as "door": it reads as the list's one, and renders
// without the stored rate it did not measure at the hall's own rate.
func TestCrowdsOfAnOlderRun(t *testing.T) {
	var c CrowdResults
	old := `{"detection": [{"hall": "2,000 in a 60 m hall"}], "seconds": 3,
		"door": {"hall": "2,000 in a 60 m hall", "phases": [{"kind": "real", "mode": "at its own rate, single events", "reports": 100, "seconds": 1}]}}`
	if err := json.Unmarshal([]byte(old), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Detection) != 1 || c.Seconds != 3 || len(c.Doors) != 1 || c.door(hall2000) == nil || c.door(hall10000) != nil {
		t.Fatalf("read %+v; want the detection, the seconds and the 2,000 hall's door alone", c)
	}
	r := sampleResults()
	r.Crowds = &c
	if md, want := r.Markdown(), "| 2,000 in a 60 m hall | at its own rate, single events | 0 | 1 s | 100 | — |"; !strings.Contains(md, want) {
		t.Errorf("the Markdown lacks %q:\n%s", want, md)
	}

	// The current form reads back as written.
	b, err := json.Marshal(sampleCrowds())
	if err != nil {
		t.Fatal(err)
	}
	var back CrowdResults
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, sampleCrowds()) {
		t.Errorf("read back %+v; want %+v", back, sampleCrowds())
	}
}
