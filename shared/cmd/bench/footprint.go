package main

import (
	"context"
	"os"
	"path/filepath"
	"time"
)

// Process is what one binary costs.
type Process struct {
	Name     string `json:"name"`
	Deployed bool   `json:"deployed"` // a Knative Service, held to the targets
	// Built as ko builds it: -trimpath -ldflags="-s -w", CGO_ENABLED=0.
	BinaryBytes int64 `json:"binary_bytes"`
	// From starting the process to the first 200 of its ready path
	// (/readyz, which pings the database; the local broker's /healthz).
	ColdStart  float64   `json:"cold_start_ms"` // median
	ColdStarts []float64 `json:"cold_starts_ms"`
	// From starting the process to the first 200 of /healthz: serving,
	// before any database connection.
	Listening float64 `json:"listening_ms"` // median
	IdleRSSKB int64   `json:"idle_rss_kib"` // a second after ready, before any request
	// The highest resident memory sampled every 100 ms while the bench
	// loaded the system (the connection queries and the ingest).
	LoadedRSSKB int64 `json:"loaded_rss_kib"`
}

// measureFootprint starts each binary o.size.starts times, one at a time,
// on the database at dbURL, and measures its size, cold start and idle
// memory.
func measureFootprint(ctx context.Context, o *options, dbURL string) ([]Process, error) {
	var ps []Process
	for _, b := range programs {
		p := Process{Name: b.name, Deployed: b.deployed}
		info, err := os.Stat(filepath.Join(o.binDir(), b.name))
		if err != nil {
			return nil, err
		}
		p.BinaryBytes = info.Size()
		var idle []int64
		var listening []float64
		for range o.size.starts {
			pr, err := b.start(o.binDir(), o.logDir(), dbURL)
			if err != nil {
				return nil, err
			}
			l, err := pr.waitFor(ctx, "/healthz")
			var d time.Duration
			if err == nil {
				d, err = pr.waitReady(ctx)
			}
			if err != nil {
				pr.stop()
				return nil, err
			}
			listening = append(listening, ms(l))
			time.Sleep(time.Second)
			kb, err := rssKB(pr.pid())
			pr.stop()
			if err != nil {
				return nil, err
			}
			p.ColdStarts, idle = append(p.ColdStarts, ms(d)), append(idle, kb)
		}
		p.ColdStart, p.Listening, p.IdleRSSKB = median(p.ColdStarts), median(listening), median(idle)
		say("  %-11s %5.1f MB, serving after %5.1f ms, ready after %5.1f ms (medians of %d), idle RSS %5.1f MB", b.name,
			float64(p.BinaryBytes)/1e6, p.Listening, p.ColdStart, len(p.ColdStarts), kibToMB(p.IdleRSSKB))
		ps = append(ps, p)
	}
	return ps, nil
}
