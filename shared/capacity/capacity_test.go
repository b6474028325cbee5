package capacity

import (
	"testing"
	"time"
)

func TestPlan(t *testing.T) {
	costs := Costs{
		CPU:          map[string]float64{"frontend": 0.0001, "locations": 0.0002, "connections": 0.0007, "postgres": 0.0005},
		StorageBytes: 400, EventBytes: 300, ReportsPerGroup: 10,
	}
	for _, tt := range []struct {
		c                     Conference
		locations, partitions int
		cores                 float64
		one                   bool
	}{
		// 1,000/s: locations 0.2 core → 1 replica; connections 0.7 core → 1.
		{Conference{Attendees: 5_000, Interval: 5 * time.Second, Days: 3}, 1, 1, 1000 * 0.0005 / 0.7, true},
		// 100,000/s: locations 20 cores → 29 replicas; connections 70 → 100;
		// PostgreSQL 71 cores, over one primary's 64.
		{Conference{Attendees: 500_000, Interval: 5 * time.Second, Days: 3}, 29, 100, 100_000 * 0.0005 / 0.7, false},
	} {
		r := Plan(costs, tt.c)
		if r.Replicas["locations"] != tt.locations || r.KafkaPartitions != tt.partitions || r.OnePrimary != tt.one ||
			r.DatabaseCores < tt.cores-1e-9 || r.DatabaseCores > tt.cores+1e-9 {
			t.Errorf("Plan(%d every %s) = locations %d, partitions %d, cores %.2f, one primary %v; want %d, %d, %.2f, %v",
				tt.c.Attendees, tt.c.Interval, r.Replicas["locations"], r.KafkaPartitions, r.DatabaseCores, r.OnePrimary,
				tt.locations, tt.partitions, tt.cores, tt.one)
		}
	}
	r := Plan(costs, DesignPoint)
	if r.Target["locations"] != 350 || r.Target["frontend"] != 7000 || r.MaxScale("locations") != 2*r.Replicas["locations"] || r.TopicPartitions() != 2*r.KafkaPartitions {
		t.Errorf("design point: targets locations %d, door %d, max-scale %d, topic partitions %d; want 350 groups/s (0.7 core / 0.2 ms / 10 reports), 7000 reports/s, twice the replicas, twice the partitions",
			r.Target["locations"], r.Target["frontend"], r.MaxScale("locations"), r.TopicPartitions())
	}
	// 3 days of 10,000/s at 400 bytes.
	if want := 10_000.0 * 3 * 86400 * 400; r.StorageBytes != want {
		t.Errorf("design point storage = %.0f; want %.0f", r.StorageBytes, want)
	}

	// Little CPU, many meetings: the Broker's bytes set the partitions.
	// 100,000 reports/s × (2 × 300 + 4 × 1,000) bytes = 460 MB/s, at 10 MB/s
	// a partition.
	busy := Costs{CPU: map[string]float64{"locations": 1e-6, "connections": 1e-6}, EventBytes: 300, DetectedPerReport: 4, DetectedEventBytes: 1000}
	if got := busy.EventBytesPerReport(); got != 4600 {
		t.Errorf("event bytes a report = %.0f; want 4,600", got)
	}
	if r := Plan(busy, Conference{Attendees: 500_000, Interval: 5 * time.Second, Days: 3}); r.KafkaPartitions != 46 {
		t.Errorf("partitions for 460 MB/s = %d; want 46", r.KafkaPartitions)
	}
}
