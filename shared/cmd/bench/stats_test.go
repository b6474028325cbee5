package main

import (
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[len(hundred)-1-i] = time.Duration(i+1) * time.Millisecond // 100 ms … 1 ms
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"none", nil, Latency{}},
		{"one", []time.Duration{3 * time.Millisecond}, Latency{N: 1, P50: 3, P99: 3, Max: 3, Mean: 3}},
		{"two: p50 is the lower", []time.Duration{4 * time.Millisecond, 2 * time.Millisecond}, Latency{N: 2, P50: 2, P99: 4, Max: 4, Mean: 3}},
		{"hundred, unsorted", hundred, Latency{N: 100, P50: 50, P99: 99, Max: 100, Mean: 50.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in); got != tt.want {
				t.Errorf("summarise(%v) = %+v; want %+v", tt.in, got, tt.want)
			}
		})
	}
	if hundred[0] != 100*time.Millisecond {
		t.Error("summarise sorted its argument")
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []int64
		want int64
	}{
		{nil, 0},
		{[]int64{7}, 7},
		{[]int64{9, 1, 5}, 5},
		{[]int64{4, 1, 3, 2}, 2},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %d; want %d", tt.in, got, tt.want)
		}
	}
}
