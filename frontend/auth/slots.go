package auth

import "sync"

// Slots bounds what each principal has under way at once (batches being
// parsed, events being forwarded, heavy reads, open streams): a count per
// subject, up to the cap of its role. A subject with nothing under way
// takes no memory.
type Slots struct {
	caps map[Role]int

	mu   sync.Mutex
	used map[string]int
}

// NewSlots returns slots with the cap of each role; a role without a cap
// has none.
func NewSlots(caps map[Role]int) *Slots {
	return &Slots{caps: caps, used: map[string]int{}}
}

// Acquire takes n slots of p, all or none, and reports whether it did.
func (s *Slots) Acquire(p Principal, n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := p.Subject()
	if s.used[k]+n > s.caps[p.Role] {
		return false
	}
	s.used[k] += n
	return true
}

// Release gives back n slots of p.
func (s *Slots) Release(p Principal, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := p.Subject()
	if s.used[k] -= n; s.used[k] <= 0 {
		delete(s.used, k)
	}
}
