package auth

import "testing"

func TestLimits(t *testing.T) {
	l := NewLimits(Rate{PerSecond: 0.001, Burst: 5}, Rate{PerSecond: 0.001, Burst: 2})
	a, b, o := Principal{Role: Attendee, PersonID: 1}, Principal{Role: Attendee, PersonID: 2}, Principal{Role: Organizer}
	for _, tt := range []struct {
		p    Principal
		want []bool
	}{
		{a, []bool{true, true, false}},
		{b, []bool{true, true, false}}, // each credential has its own bucket
		{o, []bool{true, true, true, true, true, false}},
	} {
		for i, want := range tt.want {
			if got := l.Allow(tt.p); got != want {
				t.Errorf("request %d of %s: Allow = %v; want %v", i+1, tt.p.Subject(), got, want)
			}
		}
	}
}
