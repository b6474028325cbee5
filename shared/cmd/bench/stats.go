package main

import (
	"maps"
	"math"
	"slices"
	"time"
)

// Latency summarises measured durations, in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// summarise returns the percentiles of ds by nearest rank: p50 is the
// smallest duration at least half of them do not exceed.
func summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Latency{
		N:    len(s),
		P50:  ms(percentile(s, 0.50)),
		P99:  ms(percentile(s, 0.99)),
		Max:  ms(s[len(s)-1]),
		Mean: ms(sum / time.Duration(len(s))),
	}
}

// percentile returns the nearest-rank q-quantile of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// median of values, the lower one of the two middle ones for an even count.
func median[T int64 | float64](values []T) T {
	if len(values) == 0 {
		return 0
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// A histogram is a Prometheus histogram: the cumulative count of each
// bucket by its upper bound, +Inf holding them all.
type histogram map[float64]float64

// since is h less what earlier counted.
func (h histogram) since(earlier histogram) histogram {
	d := histogram{}
	for le, n := range h {
		d[le] = n - earlier[le]
	}
	return d
}

// quantile estimates the q-quantile as Prometheus' histogram_quantile does:
// linearly within the bucket that holds it; the highest finite bound when
// it lies beyond, and 0 when h is empty.
func (h histogram) quantile(q float64) float64 {
	bounds := slices.Sorted(maps.Keys(h))
	total := h[math.Inf(1)]
	if total == 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		if h[le] >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			return lower + (le-lower)*(rank-below)/(h[le]-below)
		}
		lower, below = le, h[le]
	}
	return lower
}
