package server

import (
	"net/http"
	"testing"
	"time"
)

// A Retry-After of whole seconds is read; anything else is none.
func TestParseRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{{"3", 3 * time.Second, true}, {"0", 0, true}, {"", 0, false}, {"-1", 0, false}, {"Wed, 21 Oct 2015 07:28:00 GMT", 0, false}} {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if got, ok := ParseRetryAfter(h); got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}
