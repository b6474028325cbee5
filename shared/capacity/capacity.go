// Package capacity is UdaConnect's capacity model (docs/scaling.md): from
// the costs `make bench` measures per report, what a conference of a given
// size needs: replicas of each function, Kafka partitions, PostgreSQL's
// cores and storage, and whether one primary is enough.
package capacity

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Costs are what one stored report costs, as measured.
type Costs struct {
	// CPU seconds per report stored, by process, on the path of single
	// events (a phone reports one at a time): "frontend" (the door),
	// "locations", "connections", "postgres". With Crowd, connections' are
	// those of a hall of the design point's density at its own rate, and
	// PostgreSQL's add detection alone in that hall.
	CPU   map[string]float64 `json:"cpu_seconds_per_report"`
	Crowd bool               `json:"crowd"`
	// With Crowd, the lag of fresh meetings beside that hall, p50 and p99
	// in milliseconds: what an attendee sees in one zone at the design
	// point.
	ZoneLagP50 float64 `json:"zone_lag_p50_ms,omitempty"`
	ZoneLagP99 float64 `json:"zone_lag_p99_ms,omitempty"`
	// Bytes per report in PostgreSQL: the location table and its indexes.
	StorageBytes float64 `json:"storage_bytes_per_report"`
	// Bytes of one report in a locations.reported event on the wire (in a
	// Kafka message).
	EventBytes float64 `json:"event_bytes"`
	// connection.detected events per report: with Crowd, the meetings
	// stored per report by detection alone in that hall; and the bytes of
	// one such event.
	DetectedPerReport  float64 `json:"detected_per_report"`
	DetectedEventBytes float64 `json:"detected_event_bytes"`
	// Reports per group (locations.reported) the door gathered on that
	// path: locations and connections take a request per group.
	ReportsPerGroup float64 `json:"reports_per_group"`
}

// The published and chosen limits the model divides by. Each is named in
// docs/scaling.md with where it comes from.
const (
	// A replica has one core (the Knative Services' CPU limit) and is
	// planned at 70% of it, Knative's default target utilisation.
	ReplicaCores = 1.0
	Utilisation  = 0.7
	// A Kafka partition is planned for 10 MB/s of writes, a conservative
	// figure from Kafka's published sizing guidance, and a topic has at
	// least a partition per replica of its busiest subscriber, so that the
	// dispatcher's consumer group spreads as the subscribers do.
	PartitionBytesPerSecond = 10e6
	// Kafka keeps every event for its retention, 7 days by default.
	// One PostgreSQL primary is planned up to 64 cores at 70% (the largest
	// common cloud instances have 64-96 vCPUs) and 10 TB of data.
	PrimaryCores        = 64.0
	PrimaryStorageBytes = 10e12
)

// Conference is how many attendees report how often, for how long.
type Conference struct {
	Attendees int
	Interval  time.Duration // between two reports of one attendee
	Days      int
}

// Row is what one conference needs.
type Row struct {
	Conference
	ReportsPerSecond float64
	// Replicas of each function and of the door at the design load.
	Replicas map[string]int
	// Target is each function's Knative autoscaling target in requests per
	// second per replica (metric rps): what one replica takes at
	// Utilisation, reports for the door and groups of reports for locations
	// and connections.
	Target          map[string]int
	KafkaPartitions int
	DatabaseCores   float64
	StorageBytes    float64 // the whole conference, before retention
	OnePrimary      bool
}

// Scaled are the processes that scale with reports, in the order of the table.
var Scaled = []string{"frontend", "locations", "connections"}

// Plan returns what c needs at the measured costs.
func Plan(costs Costs, c Conference) Row {
	r := Row{Conference: c, Replicas: map[string]int{}, Target: map[string]int{}}
	r.ReportsPerSecond = float64(c.Attendees) / c.Interval.Seconds()
	for _, p := range Scaled {
		perReport := costs.CPU[p]
		r.Replicas[p] = max(1, int(math.Ceil(r.ReportsPerSecond*perReport/(ReplicaCores*Utilisation))))
		if perReport > 0 {
			perRequest := 1.0 // the door: a device's report
			if p != "frontend" {
				perRequest = max(1, costs.ReportsPerGroup)
			}
			r.Target[p] = max(1, int(math.Floor(ReplicaCores*Utilisation/perReport/perRequest+1e-9)))
		}
	}
	bytesPerSecond := r.ReportsPerSecond * costs.EventBytesPerReport()
	r.KafkaPartitions = max(r.Replicas["locations"], r.Replicas["connections"], int(math.Ceil(bytesPerSecond/PartitionBytesPerSecond)))
	r.DatabaseCores = r.ReportsPerSecond * costs.CPU["postgres"] / Utilisation
	r.StorageBytes = r.ReportsPerSecond * float64(c.Days) * 86400 * costs.StorageBytes
	r.OnePrimary = r.DatabaseCores <= PrimaryCores && r.StorageBytes <= PrimaryStorageBytes
	return r
}

// EventBytesPerReport is what one report puts on the Broker: its share of a
// locations.reported and of the locations.recorded that answers it (the
// same locations, so the same size), and of the connection.detected events
// of the meetings it starts.
func (c Costs) EventBytesPerReport() float64 {
	return 2*c.EventBytes + c.DetectedPerReport*c.DetectedEventBytes
}

// Headroom is how far above its replicas at the design point a function may
// scale: reports come in bursts, as devices send what they kept offline.
const Headroom = 2

// MaxScale is the most replicas of process p the prod overlay allows.
func (r Row) MaxScale(p string) int { return Headroom * r.Replicas[p] }

// TopicPartitions are the partitions of the Broker's Kafka topics in the
// prod overlay: a topic's partitions can grow, never shrink.
func (r Row) TopicPartitions() int { return Headroom * r.KafkaPartitions }

// Conferences are the sizes the model is asked about: 5,000, 50,000 and
// 500,000 attendees reporting every 5 s and every 30 s over 3 days.
func Conferences() []Conference {
	var cs []Conference
	for _, n := range []int{5_000, 50_000, 500_000} {
		for _, every := range []time.Duration{5 * time.Second, 30 * time.Second} {
			cs = append(cs, Conference{Attendees: n, Interval: every, Days: 3})
		}
	}
	return cs
}

// DesignPoint is the conference the prod overlay is sized for: 50,000
// attendees reporting every 5 s.
var DesignPoint = Conference{Attendees: 50_000, Interval: 5 * time.Second, Days: 3}

// Markdown renders the inputs and the table of every conference.
func Markdown(costs Costs) string {
	var b strings.Builder
	const single, hall, alone = "single events through the whole path", "the 2,000 hall at its own rate through the whole path", "detection alone in the 2,000 hall"
	measured := map[string]string{"frontend": single, "locations": single, "connections": single, "postgres": single + ", detection on"}
	if costs.Crowd {
		measured["connections"], measured["postgres"] = hall, single+" (storing) and "+alone+" (detecting)"
	}
	fmt.Fprintf(&b, "Measured inputs:\n\n")
	fmt.Fprintf(&b, "| input | per report | measured in |\n|---|---|---|\n")
	for _, p := range append(Scaled, "postgres") {
		fmt.Fprintf(&b, "| CPU of %s | %.3f ms | %s |\n", name(p), costs.CPU[p]*1000, measured[p])
	}
	storage := fmt.Sprintf("%.0f bytes", costs.StorageBytes)
	if costs.StorageBytes == 0 {
		storage = "not measured by this run: rerun `make bench`"
	}
	fmt.Fprintf(&b, "| storage in PostgreSQL (table and indexes) | %s | the largest conference of the connection query |\n", storage)
	fmt.Fprintf(&b, "| one report in a locations.reported event | %.0f bytes | a group of 100 as the door sends it |\n", costs.EventBytes)
	fmt.Fprintf(&b, "| reports per group the door gathered | %.1f | %s |\n", costs.ReportsPerGroup, single)
	detected := "not measured by this run: rerun `make bench`"
	if costs.Crowd {
		detected = fmt.Sprintf("%.2f", costs.DetectedPerReport)
	}
	fmt.Fprintf(&b, "| connection.detected events (meetings stored) | %s | %s |\n", detected, alone)
	fmt.Fprintf(&b, "| one connection.detected event | %.0f bytes | as connections sends it (structured JSON) |\n", costs.DetectedEventBytes)
	fmt.Fprintf(&b, "| on the Broker, all events | %s bytes | the two report events and its share of connection.detected |\n", thousands(int(math.Round(costs.EventBytesPerReport()))))
	if costs.Crowd {
		fmt.Fprintf(&b, "| lag of fresh meetings in one zone, p50 / p99 | %s / %s | %s |\n", seconds(costs.ZoneLagP50), seconds(costs.ZoneLagP99), hall)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "| attendees | every | reports/s | door | locations | connections | Kafka partitions | PostgreSQL cores | storage, 3 days | one primary |\n")
	fmt.Fprintf(&b, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, c := range Conferences() {
		r := Plan(costs, c)
		one := "yes"
		if !r.OnePrimary {
			one = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %d | %.1f | %s | %s |\n", thousands(c.Attendees), c.Interval,
			thousands(int(math.Round(r.ReportsPerSecond))), r.Replicas["frontend"], r.Replicas["locations"], r.Replicas["connections"],
			r.KafkaPartitions, r.DatabaseCores, gigabytes(r.StorageBytes), one)
	}
	d := Plan(costs, DesignPoint)
	fmt.Fprintf(&b, "\nAutoscaling targets (requests per second one replica takes at %.0f%% of a core; a request is a report at the door, a group at the functions): door %d, locations %d, connections %d.\n",
		Utilisation*100, d.Target["frontend"], d.Target["locations"], d.Target["connections"])
	return b.String()
}

func name(p string) string {
	if p == "frontend" {
		return "the door"
	}
	return p
}

func seconds(ms float64) string { return fmt.Sprintf("%.2f s", ms/1000) }

func gigabytes(b float64) string {
	if b >= 1e12 {
		return fmt.Sprintf("%.1f TB", b/1e12)
	}
	return fmt.Sprintf("%.0f GB", b/1e9)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
