package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestGenerations(t *testing.T) {
	var fetches atomic.Int32
	var fail atomic.Bool
	stored := map[string]int64{"person-5": 3}
	g := NewGenerations(func(context.Context) (map[string]int64, error) {
		fetches.Add(1)
		if fail.Load() {
			return nil, errors.New("persons is down")
		}
		return map[string]int64{"person-5": stored["person-5"], "reporter-5": stored["reporter-5"]}, nil
	})
	now := time.Now()
	g.now = func() time.Time { return now }
	ctx := context.Background()
	check := func(id, gen int64) error {
		return g.Check(ctx, Principal{Role: Attendee, PersonID: id, Generation: gen})
	}

	if err := check(5, 2); !errors.Is(err, ErrToken) {
		t.Errorf("generation 2 of person 5, whose tokens are at 3 = %v; want ErrToken", err)
	}
	for _, tt := range []struct{ id, gen int64 }{{5, 3}, {6, 1}} {
		if err := check(tt.id, tt.gen); err != nil {
			t.Errorf("current generation %d of person %d = %v; want valid", tt.gen, tt.id, err)
		}
	}
	if err := g.Check(ctx, Principal{Role: Organizer}); err != nil {
		t.Errorf("the organizer = %v; want valid", err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for checks within Fresh; want 1", n)
	}

	// Reissued at this door: revoked at once.
	g.Set("person-6", 2)
	if err := check(6, 1); !errors.Is(err, ErrToken) {
		t.Errorf("generation 1 of person 6 after Set(6, 2) = %v; want ErrToken", err)
	}
	// Reissued at another door: revoked here by the next refresh.
	stored["person-5"] = 4
	stored["reporter-5"] = Deleted
	now = now.Add(MaxAge + time.Second)
	if err := check(5, 3); !errors.Is(err, ErrToken) {
		t.Errorf("generation 3 of person 5 after a reissue elsewhere and MaxAge = %v; want ErrToken", err)
	}
	if err := check(6, 1); !errors.Is(err, ErrToken) {
		t.Errorf("the refresh forgot a generation set here: %v; want ErrToken", err)
	}
	// A reporter revoked elsewhere, apart from the attendee of the same id.
	if err := g.Check(ctx, Principal{Role: Reporter, ReporterID: 5, Generation: 1}); !errors.Is(err, ErrToken) {
		t.Errorf("reporter 5 after its revocation = %v; want ErrToken", err)
	}
	if err := g.Check(ctx, Principal{Role: Reporter, ReporterID: 6, Generation: 1}); err != nil {
		t.Errorf("reporter 6, of the id of a reissued attendee = %v; want valid", err)
	}
	// Too old and cannot be refreshed: an error, not a guess.
	fail.Store(true)
	now = now.Add(MaxAge + time.Second)
	if err := check(5, 4); err == nil || errors.Is(err, ErrToken) {
		t.Errorf("check with the generations out of date and persons down = %v; want an error of its own", err)
	}
}
