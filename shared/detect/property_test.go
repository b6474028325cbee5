package detect

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var seeds = flag.Uint64("seeds", 150, "random worlds per property test")

// world is a random small world: a few people in a small hall, standing or
// walking, reporting in bursts every few seconds or now and then every few
// minutes, over an hour or so.
func world(rng *rand.Rand) []Report {
	var rs []Report
	id := int64(0)
	n := 2 + rng.IntN(5)
	size := 6 + rng.Float64()*14
	for person := int64(1); person <= int64(n); person++ {
		t := rng.Float64() * 600
		north, east := rng.Float64()*size, rng.Float64()*size
		for t < 3600 {
			switch rng.IntN(10) {
			case 0: // a new spot
				north, east = rng.Float64()*size, rng.Float64()*size
			case 1, 2: // a step
				north += rng.NormFloat64() * 2
				east += rng.NormFloat64() * 2
			}
			lat, lon := place(north+rng.NormFloat64()*0.3, east+rng.NormFloat64()*0.3)
			id++
			// Whole milliseconds, and now and then two at the same moment.
			at := t0.Add(time.Duration(t*1000) * time.Millisecond)
			rs = append(rs, Report{ID: id, Person: person, Time: at, Lat: lat, Lon: lon})
			switch rng.IntN(6) {
			case 0:
				t += 60 + rng.Float64()*1200 // silent for a while
			case 1:
				t += 0 // the same moment
			case 2, 3:
				t += 1 + rng.Float64()*10
			default:
				t += 20 + rng.Float64()*200
			}
		}
	}
	return rs
}

// store is the meetings as a caller keeps them: Changes applied in turn. As a
// History, it holds the reports stored so far.
type store struct {
	meetings map[Key]Meeting
	reports  []Report
	ahead    int // how many reports ingest stores before detection gets them
}

func newStore() *store { return &store{meetings: map[Key]Meeting{}} }

func (s *store) apply(t testing.TB, c Changes) {
	t.Helper()
	for _, r := range c.Removed {
		delete(s.meetings, r.Key)
	}
	for _, m := range c.Upserted {
		s.meetings[m.Key] = m
	}
	for _, st := range c.Started {
		if _, ok := s.meetings[st.Key]; !ok {
			t.Errorf("start of %v, not upserted", st.Key)
		}
		// (With reports in History not yet given to the detector, a meeting
		// may begin, for a while, where its reports are not at hand.)
		persons := []int64{st.Report.Person, st.Near.Person}
		if s.ahead == 0 && !st.Report.Time.Equal(st.Started) || st.Near.Time.After(st.Started) || st.Distance > 5 ||
			!slices.Contains(persons, st.A) || !slices.Contains(persons, st.B) {
			t.Errorf("start %+v: not its reports", st)
		}
	}
}

func (s *store) sorted() []Meeting {
	ms := make([]Meeting, 0, len(s.meetings))
	for _, m := range s.meetings {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(x, y Meeting) int { return compareKey(x.Key, y.Key) })
	return ms
}

func (s *store) Reports(ctx context.Context, from, to time.Time, persons []int64, points []Point, radius float64) ([]Report, error) {
	var out []Report
	for _, r := range s.reports {
		if r.Time.Before(from) || r.Time.After(to) {
			continue
		}
		in := slices.Contains(persons, r.Person)
		for _, p := range points {
			in = in || distance(p.Lat, p.Lon, scaleAt(p.Lat), r.Lat, r.Lon, scaleAt(r.Lat)) <= radius
		}
		if in {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *store) Meetings(ctx context.Context, person int64, from, to time.Time) ([]Meeting, error) {
	var out []Meeting
	for _, m := range s.meetings {
		if (m.A == person || m.B == person) && !m.Started.After(to) && !m.LastSeen.Before(from) {
			out = append(out, m)
		}
	}
	return out, nil
}

// same tells how two lists of meetings differ, if they do: times exactly,
// distances and places within 1e-6.
func same(got, want []Meeting) error {
	byKey := map[Key]Meeting{}
	for _, m := range got {
		byKey[m.Key] = m
	}
	var diffs []string
	for _, w := range want {
		g, ok := byKey[w.Key]
		delete(byKey, w.Key)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("missing %+v", w))
		case !g.LastSeen.Equal(w.LastSeen) || g.Together != w.Together || g.Ended != w.Ended ||
			math.Abs(g.ClosestM-w.ClosestM) > 1e-6 || math.Abs(g.Lat-w.Lat) > 1e-6 || math.Abs(g.Lon-w.Lon) > 1e-6:
			diffs = append(diffs, fmt.Sprintf("got  %+v\nwant %+v", g, w))
		}
	}
	for _, g := range byKey {
		diffs = append(diffs, fmt.Sprintf("extra %+v", g))
	}
	if len(diffs) > 0 {
		slices.Sort(diffs)
		return fmt.Errorf("%d meetings, want %d:\n%s", len(got), len(want), strings.Join(diffs, "\n"))
	}
	return nil
}

// feed gives the reports to d in random groups, some twice, with a now a
// little ahead of (or behind) the newest of each group, applying the changes
// to s; now and then it restarts d from a snapshot.
func feed(t testing.TB, rng *rand.Rand, d **Detector, s *store, rs []Report, restarts bool) {
	t.Helper()
	ctx := context.Background()
	all, stored := rs, 0
	for len(rs) > 0 {
		n := min(len(rs), 1+rng.IntN(12))
		group := slices.Clone(rs[:n])
		rs = rs[n:]
		ahead := min(len(all), len(all)-len(rs)+s.ahead)
		s.reports = append(s.reports, all[stored:ahead]...)
		stored = ahead
		if rng.IntN(4) == 0 { // a redelivery
			group = append(group, group[rng.IntN(len(group))])
		}
		newest := slices.MaxFunc(group, func(x, y Report) int { return x.Time.Compare(y.Time) }).Time
		now := newest.Add(time.Duration(rng.IntN(60)-20) * time.Second)
		if err := (*d).Add(ctx, group, now); err != nil {
			t.Fatal(err)
		}
		s.apply(t, (*d).Changes())
		if restarts && rng.IntN(8) == 0 {
			b, err := (*d).MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			fresh := New((*d).p, s)
			if err := fresh.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			*d = fresh
		}
	}
}

// finish moves d to now and checks that the stored meetings are the
// reference's.
func finish(t testing.TB, d *Detector, s *store, all []Report, now time.Time) {
	t.Helper()
	if err := d.Add(context.Background(), nil, now); err != nil {
		t.Fatal(err)
	}
	s.apply(t, d.Changes())
	if err := same(s.sorted(), Reference(d.p, all, d.Time())); err != nil {
		t.Fatal(err)
	}
}

// shuffle returns the reports in time order, each moved back by up to
// lateness at random (a report that arrives late), or in any order.
func shuffle(rng *rand.Rand, rs []Report, lateness time.Duration) []Report {
	rs = slices.Clone(rs)
	if lateness < 0 {
		rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		return rs
	}
	arrival := map[int64]time.Time{}
	for _, r := range rs {
		arrival[r.ID] = r.Time.Add(time.Duration(rng.Float64() * float64(lateness)))
	}
	slices.SortStableFunc(rs, func(x, y Report) int { return arrival[x.ID].Compare(arrival[y.ID]) })
	return rs
}

func TestDetectorInMemory(t *testing.T) {
	p := DefaultParams()
	p.Lateness = 24 * time.Hour // every report from memory
	for seed := range *seeds {
		rng := rand.New(rand.NewPCG(seed, 1))
		rs := world(rng)
		for _, order := range []time.Duration{0, 30 * time.Second, -1} {
			d, s := New(p, nil), newStore()
			feed(t, rng, &d, s, shuffle(rng, rs, order), seed%2 == 0)
			t.Run(fmt.Sprintf("seed %d order %v", seed, order), func(t *testing.T) {
				finish(t, d, s, rs, t0.Add(time.Duration(rng.IntN(80))*time.Minute))
			})
		}
	}
}

func TestDetectorLate(t *testing.T) {
	p := DefaultParams()
	for seed := range *seeds {
		rng := rand.New(rand.NewPCG(seed, 2))
		rs := world(rng)
		d, s := New(p, nil), newStore()
		d.h = s
		s.ahead = rng.IntN(3) * 20 // History may hold reports not yet given to the detector
		feed(t, rng, &d, s, shuffle(rng, rs, time.Duration(rng.IntN(20))*time.Minute), seed%2 == 0)
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			finish(t, d, s, rs, t0.Add(time.Duration(rng.IntN(80))*time.Minute))
		})
	}
}

// Two detectors given the same reports in other orders and groups agree.
func TestDetectorsAgree(t *testing.T) {
	p := DefaultParams()
	for seed := range *seeds {
		rng := rand.New(rand.NewPCG(seed, 4))
		rs := world(rng)
		now := t0.Add(time.Duration(60+rng.IntN(30)) * time.Minute) // after the last report: the same time for both
		var stores []*store
		for _, lateness := range []time.Duration{0, -1} {
			d, s := New(p, nil), newStore()
			d.h = s
			feed(t, rng, &d, s, shuffle(rng, rs, lateness), false)
			if err := d.Add(context.Background(), nil, now); err != nil {
				t.Fatal(err)
			}
			s.apply(t, d.Changes())
			stores = append(stores, s)
		}
		if err := same(stores[1].sorted(), stores[0].sorted()); err != nil {
			t.Fatalf("seed %d: in any order, against in time order: %v", seed, err)
		}
	}
}

// standing is a crowd that stands still: at each 5-minute tick everyone is at
// one of a few spots (a place of their own in it) or away, and stays there
// until the next tick; after an hour all are away.
func standing(rng *rand.Rand, every time.Duration) []Report {
	var rs []Report
	id := int64(0)
	for person := int64(1); person <= 6; person++ {
		for tick := 0; tick <= 12; tick++ {
			north, east := 1000.0*float64(person), 0.0 // away
			if spot := rng.IntN(4); spot < 3 {
				north, east = float64(spot)*4+rng.Float64()*3, rng.Float64()*3
			}
			lat, lon := place(north, east)
			if tick == 12 {
				north, east = 1000.0*float64(person), 0
			}
			start := t0.Add(time.Duration(tick) * 5 * time.Minute)
			for at := start; at.Before(start.Add(5*time.Minute)) && (tick < 12 || at == start); at = at.Add(every) {
				id++
				rs = append(rs, Report{ID: id, Person: person, Time: at, Lat: lat, Lon: lon})
			}
		}
	}
	return rs
}

// The same movements reported every 5 s or every 5 minutes give the same
// meetings.
func TestEvery5sOr5min(t *testing.T) {
	p := DefaultParams()
	for seed := range *seeds / 10 {
		now := t0.Add(time.Duration(60+seed%20) * time.Minute)
		var found [][]Meeting
		for _, every := range []time.Duration{5 * time.Second, 5 * time.Minute} {
			rng := rand.New(rand.NewPCG(seed, 5))
			rs := standing(rng, every)
			d, s := New(p, nil), newStore()
			d.h = s
			feed(t, rng, &d, s, shuffle(rng, rs, time.Minute), false)
			finish(t, d, s, rs, now)
			found = append(found, s.sorted())
		}
		if len(found[0]) == 0 {
			t.Fatalf("seed %d: no meetings", seed)
		}
		if err := same(found[1], found[0]); err != nil {
			t.Fatalf("seed %d: every 5 minutes, against every 5 s: %v", seed, err)
		}
	}
}
