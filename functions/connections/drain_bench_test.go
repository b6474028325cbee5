package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// BenchmarkDrainCrowd drains the backlog of a packed hall through a running
// connections (its zone's owner and announcer, a sink that accepts every
// event at once): reports/s drained, and the CPU of this process and of
// PostgreSQL per report. CROWD_ATTENDEES (2000 or 10000) and
// CROWD_DURATION (the hall's time, 1m by default) choose the hall.
func BenchmarkDrainCrowd(b *testing.B) {
	h := conference.Hall2000
	if os.Getenv("CROWD_ATTENDEES") == "10000" {
		h = conference.Hall10000
	}
	h.Duration = time.Minute
	if d, err := time.ParseDuration(os.Getenv("CROWD_DURATION")); err == nil {
		h.Duration = d
	}
	for range b.N {
		ctx := context.Background()
		url := pgtest.NewDatabase(b)
		db, err := postgres.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		ids := persons(b, db, h.Attendees, "crowd")
		reports := 0
		for batch := range h.Batches(ids) {
			for group := range slices.Chunk(batch, 1000) {
				rs := make([]udaconnect.Report, len(group))
				for i, l := range group {
					rs[i] = udaconnect.Report{Location: l, Source: "/bench/crowd", EventID: fmt.Sprint(l.ID)}
				}
				if _, _, err := db.StoreReports(ctx, rs); err != nil {
					b.Fatal(err)
				}
				reports += len(rs)
			}
		}
		var accepted atomic.Int64
		sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			accepted.Add(1)
			w.WriteHeader(http.StatusAccepted)
		}))
		pg := postmaster(b, url)
		self, pgCPU := cpuTime(os.Getpid()), postgresCPU(pg)
		began := time.Now()
		f, err := New(server.Config{Sink: sinkSrv.URL}, db, zap.Must(zap.NewDevelopment(zap.IncreaseLevel(zap.WarnLevel))))
		if err != nil {
			b.Fatal(err)
		}
		for {
			d, err := db.Detection(ctx)
			if err != nil {
				b.Fatal(err)
			}
			var waiting bool
			if err := pgxQueryRow(b, url, `SELECT EXISTS (SELECT FROM announcement)`, &waiting); err != nil {
				b.Fatal(err)
			}
			if d.BacklogReports == 0 && d.CurrentTo != nil && !waiting {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		took := time.Since(began)
		selfUS := 1e6 * (cpuTime(os.Getpid()) - self).Seconds() / float64(reports)
		pgUS := 1e6 * (postgresCPU(pg) - pgCPU).Seconds() / float64(reports)
		f.Close()
		sinkSrv.Close()
		db.Close()
		b.ReportMetric(float64(reports)/took.Seconds(), "reports/s")
		b.ReportMetric(selfUS, "connections-µs/report")
		b.ReportMetric(pgUS, "postgres-µs/report")
		b.ReportMetric(float64(accepted.Load()), "announced")
		b.ReportMetric(float64(reports), "reports")
	}
}

// postmaster is the pid of the server at url, read from its data
// directory.
func postmaster(tb testing.TB, url string) int {
	var dir string
	if err := pgxQueryRow(tb, url, `SHOW data_directory`, &dir); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		tb.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		tb.Fatal(err)
	}
	return pid
}

// cpuTime is the user and system CPU time of process pid.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100
}

// postgresCPU is the CPU time of the server pid and its children.
func postgresCPU(pid int) time.Duration {
	cpu := cpuTime(pid)
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid == pid {
			kid, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
			cpu += cpuTime(kid)
		}
	}
	return cpu
}
