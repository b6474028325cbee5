package auth

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Revocation: each person has a token generation, 1 at first and one more
// each time the organizer issues them a new token. A token of an earlier
// generation is revoked. A reporter's tokens are of generation 1 until it
// is revoked, when its generation becomes Deleted. The door keeps the generations of all persons in
// memory and refreshes them in the background once they are Fresh old; past
// MaxAge a request waits for the refresh. So a revocation takes effect within
// MaxAge, with no database round trip per request, and an idle door asks
// nothing (the persons function can scale to zero).
const (
	Fresh  = 20 * time.Second
	MaxAge = 50 * time.Second
)

// Deleted is the generation of a deleted person or a revoked reporter, as
// the persons function reports it: no token of theirs reaches it.
const Deleted = math.MaxInt64

// A FetchFunc returns the generation of every attendee and reporter whose
// generation is above 1, by subject (Principal.Subject).
type FetchFunc func(ctx context.Context) (map[string]int64, error)

// Generations is the door's cache of token generations.
type Generations struct {
	fetch FetchFunc
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	gens    map[string]int64 // by subject
	fetched time.Time
}

// NewGenerations returns a cache that fills itself with fetch.
func NewGenerations(fetch FetchFunc) *Generations {
	return &Generations{fetch: fetch, now: time.Now}
}

// Check returns ErrToken when p's token was revoked; an error of its own
// when the generations are too old and cannot be refreshed.
func (g *Generations) Check(ctx context.Context, p Principal) error {
	if p.Role == Organizer {
		return nil
	}
	g.mu.Lock()
	age := g.now().Sub(g.fetched)
	g.mu.Unlock()
	switch {
	case age > MaxAge:
		if err := g.refresh(ctx); err != nil {
			return err
		}
	case age > Fresh:
		go func() { _ = g.refresh(context.WithoutCancel(ctx)) }()
	}
	if p.Generation < g.Current(p.Subject()) {
		return ErrToken
	}
	return nil
}

// Revoked reports whether p's token is revoked, as far as the generations
// held now know, without refreshing them.
func (g *Generations) Revoked(p Principal) bool {
	return p.Role != Organizer && p.Generation < g.Current(p.Subject())
}

// Refresh reads the generations now.
func (g *Generations) Refresh(ctx context.Context) error {
	return g.refresh(ctx)
}

// Current returns the generation of the valid tokens of subject.
func (g *Generations) Current(subject string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(1, g.gens[subject])
}

// Set records that the tokens of subject are now of generation gen.
func (g *Generations) Set(subject string, gen int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gens == nil {
		g.gens = map[string]int64{}
	}
	g.gens[subject] = max(g.gens[subject], gen)
}

func (g *Generations) refresh(ctx context.Context) error {
	_, err, _ := g.group.Do("refresh", func() (any, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		start := g.now()
		gens, err := g.fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("token generations: %w", err)
		}
		if gens == nil {
			gens = map[string]int64{}
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		for id, gen := range g.gens { // issued here while fetching
			gens[id] = max(gens[id], gen)
		}
		g.gens, g.fetched = gens, start
		return nil, nil
	})
	return err
}
