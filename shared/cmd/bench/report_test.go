package main

import (
	"errors"
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
			PoC: PoCResult{Persons: 1, Mean: 200, Queries: 98, SameAnswers: true}, Ratio: 2105,
		}},
		Ingest: []IngestResult{
			{Kind: kindSingle, Mode: "single events", Reports: 1000, Senders: 64, StoredPerSecond: 9000, Ack: Latency{N: 1000}, CPU: map[string]float64{"locations": 1}, Seconds: 1},
			{Kind: kindBatch, Mode: "batches of 100", Reports: 1000, Senders: 8, StoredPerSecond: 300, Ack: Latency{N: 10}},
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
		"| Ingest end to end, single events, ≥ 8,000 reports/s stored | 9,000/s | met |",
		"| Ingest end to end, batches of 100, ≥ 25,000 reports/s stored | 300/s | **missed** |",
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
