package auth

import "testing"

func TestLimits(t *testing.T) {
	l := NewLimits(map[Role]Rate{Organizer: {PerSecond: 0.001, Burst: 5}, Attendee: {PerSecond: 0.001, Burst: 2}, Reporter: {PerSecond: 0.001, Burst: 3}})
	a, b, o := Principal{Role: Attendee, PersonID: 1}, Principal{Role: Attendee, PersonID: 2}, Principal{Role: Organizer}
	r := Principal{Role: Reporter, ReporterID: 1}
	for _, tt := range []struct {
		p    Principal
		want []bool
	}{
		{a, []bool{true, true, false}},
		{b, []bool{true, true, false}}, // each credential has its own bucket
		{r, []bool{true, true, true, false}},
		{o, []bool{true, true, true, true, true, false}},
	} {
		for i, want := range tt.want {
			if got := l.Allow(tt.p); got != want {
				t.Errorf("request %d of %s: Allow = %v; want %v", i+1, tt.p.Subject(), got, want)
			}
		}
	}
	// Each event of a batch takes a token: those beyond the bucket are not
	// taken.
	c := Principal{Role: Attendee, PersonID: 3}
	if got := l.Take(c, 5); got != 2 {
		t.Errorf("Take(5) of a bucket of 2 = %d; want 2", got)
	}
	if got := l.Take(c, 1); got != 0 {
		t.Errorf("Take(1) of an empty bucket = %d; want 0", got)
	}
}

func TestSlots(t *testing.T) {
	s := NewSlots(map[Role]int{Attendee: 2, Organizer: 3})
	a, b, r := Principal{Role: Attendee, PersonID: 1}, Principal{Role: Attendee, PersonID: 2}, Principal{Role: Reporter, ReporterID: 1}
	if !s.Acquire(a, 2) || s.Acquire(a, 1) {
		t.Errorf("an attendee's third slot of 2 was taken")
	}
	if !s.Acquire(b, 1) {
		t.Errorf("another attendee's first slot was refused: each credential has its own")
	}
	if s.Acquire(r, 1) {
		t.Errorf("a reporter took a slot of a role without any")
	}
	if s.Acquire(Principal{Role: Organizer}, 4) {
		t.Errorf("4 slots of 3 taken at once; want all or none")
	}
	s.Release(a, 1)
	if !s.Acquire(a, 1) {
		t.Errorf("a released slot could not be taken again")
	}
	s.Release(a, 2)
	s.Release(b, 1)
	if len(s.used) != 0 {
		t.Errorf("slots of %d subjects kept after all were released; want none", len(s.used))
	}
}
