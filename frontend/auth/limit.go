package auth

import (
	"sync"

	"golang.org/x/time/rate"
)

// Limits rate-limits each principal: a token bucket per subject, refilled
// at the rate of its role. A request takes one token, and each event of a
// batch one.
type Limits struct {
	rates map[Role]Rate

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// Rate is a sustained number of requests (or events) per second and the
// burst allowed above it.
type Rate struct {
	PerSecond float64
	Burst     int
}

// NewLimits returns limits with the rates of each role.
func NewLimits(rates map[Role]Rate) *Limits {
	return &Limits{rates: rates, limiters: map[string]*rate.Limiter{}}
}

// Allow reports whether p may send one more request now.
func (l *Limits) Allow(p Principal) bool {
	return l.Take(p, 1) == 1
}

// Take takes up to n tokens of p's bucket, as many as it holds, and
// returns how many it took.
func (l *Limits) Take(p Principal, n int) int {
	l.mu.Lock()
	lim := l.limiters[p.Subject()]
	if lim == nil {
		r := l.rates[p.Role]
		lim = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
		l.limiters[p.Subject()] = lim
	}
	l.mu.Unlock()
	for i := range n {
		if !lim.Allow() {
			return i
		}
	}
	return n
}
