package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
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
