package server

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true}, {"30d", 30 * 24 * time.Hour, true}, {"720h", 720 * time.Hour, true}, {"90m", 90 * time.Minute, true},
		{"0d", 0, false}, {"-1h", 0, false}, {"30 days", 0, false}, {"d", 0, false},
	} {
		got, err := ParseRetention("RETENTION", tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
