package detect

import (
	"context"
	"flag"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/udaconnect/udaconnect/shared/conference"
)

var (
	lateness = flag.Duration("lateness", DefaultParams().Lateness, "Params.Lateness of BenchmarkDetector")
	duration = flag.Duration("duration", 6*time.Minute, "how long the halls of BenchmarkDetector report")
)

// hallBatches are the reports of a hall, one batch per interval.
func hallBatches(h conference.Hall) [][]Report {
	ids := make([]int64, h.Attendees)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	var batches [][]Report
	for batch := range h.Batches(ids) {
		rs := make([]Report, len(batch))
		for i, l := range batch {
			rs[i] = Report{ID: l.ID, Person: l.PersonID, Time: l.CreationTime, Lat: l.Latitude, Lon: l.Longitude}
		}
		batches = append(batches, rs)
	}
	return batches
}

// neighbours is the mean number of others within Distance of a report of
// the batch (whose reports are at most an interval apart).
func neighbours(batch []Report, sample int) float64 {
	near := 0
	for _, a := range batch[:sample] {
		for _, b := range batch {
			if a.Person != b.Person && distance(a.Lat, a.Lon, scaleAt(a.Lat), b.Lat, b.Lon, scaleAt(b.Lat)) <= 5 {
				near++
			}
		}
	}
	return float64(near) / float64(sample)
}

// BenchmarkDetector runs the halls of the design point for -duration (6
// minutes: pairs are forgotten some 4 minutes after they part, so memory
// is steady after that), one Add and Changes per interval of reports;
// -lateness sets Params.Lateness.
func BenchmarkDetector(b *testing.B) {
	p := DefaultParams()
	p.Lateness = *lateness
	for _, bench := range []struct {
		name string
		hall conference.Hall
	}{
		{"2000 in 60 m", conference.Hall2000},
		{"10000 in 100 m", conference.Hall10000},
	} {
		b.Run(bench.name, func(b *testing.B) {
			h := bench.hall
			h.Duration = *duration
			batches := hallBatches(h)
			reports := h.Attendees * len(batches)
			ctx := context.Background()
			var d *Detector
			var before runtime.MemStats
			var cpu time.Duration
			upserts := 0
			// The meetings started in the second half of the run, once the
			// crowd has formed, and the reports of that half.
			started, late := 0, 0
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				d = New(p, nil)
				start := cpuTime(b)
				b.StartTimer()
				for i, batch := range batches {
					if err := d.Add(ctx, batch, batch[len(batch)-1].Time); err != nil {
						b.Fatal(err)
					}
					c := d.Changes()
					upserts += len(c.Upserted)
					if i >= len(batches)/2 {
						started += len(c.Started)
						late += len(batch)
					}
				}
				b.StopTimer()
				cpu += cpuTime(b) - start
				b.StartTimer()
			}
			b.StopTimer()
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			start := cpuTime(b)
			snapshot, err := d.MarshalBinary()
			if err != nil {
				b.Fatal(err)
			}
			encode := cpuTime(b) - start
			start = cpuTime(b)
			if err := New(p, nil).UnmarshalBinary(snapshot); err != nil {
				b.Fatal(err)
			}
			decode := cpuTime(b) - start
			marks := 0
			d.eachPair(func(pr *pair) { marks += len(pr.marks) })
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*reports), "ns/report")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*reports), "cpu-ns/report")
			b.ReportMetric(float64(upserts)/float64(b.N*reports), "upserts/report")
			b.ReportMetric(float64(started)/float64(late), "started-2nd-half/report")
			b.ReportMetric(neighbours(batches[len(batches)-1], 200), "neighbours/report")
			b.ReportMetric(float64(d.pairs), "pairs")
			b.ReportMetric(float64(marks)/float64(d.pairs), "checkpoints/pair")
			b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/float64(len(d.persons)+d.pairs), "heap-B/(person+pair)")
			b.ReportMetric(float64(len(snapshot)), "snapshot-B")
			b.ReportMetric(float64(encode.Milliseconds()), "encode-cpu-ms")
			b.ReportMetric(float64(decode.Milliseconds()), "decode-cpu-ms")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system: the
// machine may be shared, so wall time says little.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		b.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
