package auth

import (
	"sync"

	"golang.org/x/time/rate"
)

// Limits rate-limits each principal: a token bucket per subject, refilled
// at the rate of its role.
type Limits struct {
	organizer, attendee Rate

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// Rate is a sustained number of requests per second and the burst allowed
// above it.
type Rate struct {
	PerSecond float64
	Burst     int
}

// NewLimits returns limits with the rates of each role.
func NewLimits(organizer, attendee Rate) *Limits {
	return &Limits{organizer: organizer, attendee: attendee, limiters: map[string]*rate.Limiter{}}
}

// Allow reports whether p may send one more request now.
func (l *Limits) Allow(p Principal) bool {
	l.mu.Lock()
	lim := l.limiters[p.Subject()]
	if lim == nil {
		r := l.attendee
		if p.Role == Organizer {
			r = l.organizer
		}
		lim = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
		l.limiters[p.Subject()] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}
