package conference

import (
	"cmp"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Hall is a crowd in one square hall, the same for the same seed: each
// attendee stands at a spot (a booth, or seats at a talk) with about a metre
// of jitter, now and then walks to another spot at 1.2 m/s, and reports
// where they are every Interval, each at their own moment of it.
type Hall struct {
	Attendees int
	Size      float64       // the side of the hall, metres
	Interval  time.Duration // between two reports of an attendee
	Duration  time.Duration
	Start     time.Time
	Latitude  float64 // centre of the hall
	Longitude float64
	PerSpot   int           // attendees per spot, on average; 0: 20
	Density   float64       // attendees per square metre at a spot; 0: 2
	Dwell     time.Duration // mean stay at a spot; 0: 10 minutes
	Seed      uint64
}

// The halls of the design point: 2,000 attendees in a 60 m hall and 10,000
// in a 100 m hall, reporting every 5 s, for 10 minutes.
var (
	Hall2000  = Hall{Attendees: 2000, Size: 60, Interval: 5 * time.Second, Duration: 10 * time.Minute, Start: Default.Start.Add(9 * time.Hour), Latitude: Default.Latitude, Longitude: Default.Longitude, Seed: 1}
	Hall10000 = Hall{Attendees: 10000, Size: 100, Interval: 5 * time.Second, Duration: 10 * time.Minute, Start: Default.Start.Add(9 * time.Hour), Latitude: Default.Latitude, Longitude: Default.Longitude, Seed: 1}
)

// walkingSpeed is how fast attendees walk between spots, in metres per
// second.
const walkingSpeed = 1.2

// ReportsPerAttendee is how many reports each attendee sends.
func (h Hall) ReportsPerAttendee() int { return int(h.Duration / h.Interval) }

// Batches yields the reports of the attendees whose ids are given, one
// batch per Interval, each in time order. Each report's ID numbers it from
// 1 across the hall, so that reports can be told apart before they are
// stored (which gives them ids of their own).
func (h Hall) Batches(personIDs []int64) iter.Seq[[]udaconnect.Location] {
	return func(yield func([]udaconnect.Location) bool) {
		rng := rand.New(rand.NewPCG(h.Seed, 0xc0ffee))
		spots := h.spots(rng)
		people := make([]attendee, len(personIDs))
		for i := range people {
			people[i] = newAttendee(h, rng, spots)
		}
		var id int64
		for tick := range h.ReportsPerAttendee() {
			batch := make([]udaconnect.Location, 0, len(people))
			for i := range people {
				a := &people[i]
				elapsed := time.Duration(tick)*h.Interval + a.phase
				north, east := a.at(h, rng, spots, elapsed.Seconds())
				lat, lon := offset(point{h.Latitude, h.Longitude}, north, east)
				id++
				batch = append(batch, udaconnect.Location{
					ID: id, PersonID: personIDs[i], Latitude: lat, Longitude: lon, CreationTime: h.Start.Add(elapsed),
				})
			}
			slices.SortFunc(batch, func(x, y udaconnect.Location) int { return x.CreationTime.Compare(y.CreationTime) })
			if !yield(batch) {
				return
			}
		}
	}
}

// A spot is a disc where attendees stand, in metres from the hall's centre.
type hallSpot struct{ north, east, radius float64 }

// spots are on a grid over the hall, each holding PerSpot attendees at
// Density.
func (h Hall) spots(rng *rand.Rand) []hallSpot {
	perSpot, density := cmp.Or(h.PerSpot, 20), cmp.Or(h.Density, 2)
	n := max(1, h.Attendees/perSpot)
	radius := math.Sqrt(float64(perSpot) / (math.Pi * density))
	side := int(math.Ceil(math.Sqrt(float64(n))))
	step := h.Size / float64(side)
	spots := make([]hallSpot, n)
	for i := range spots {
		// The centre of a grid cell, moved at random within it, the disc
		// inside the hall.
		north := (float64(i/side)+0.5)*step - h.Size/2 + (rng.Float64()-0.5)*step/2
		east := (float64(i%side)+0.5)*step - h.Size/2 + (rng.Float64()-0.5)*step/2
		limit := h.Size/2 - radius
		spots[i] = hallSpot{clamp(north, limit), clamp(east, limit), radius}
	}
	return spots
}

// An attendee stands at from until leave, then walks to to, arriving at
// arrive (seconds from the start), and stands there for a while, and so on.
type attendee struct {
	phase         time.Duration
	from, to      place
	leave, arrive float64
}

// A place is metres north and east of the hall's centre.
type place struct{ north, east float64 }

func newAttendee(h Hall, rng *rand.Rand, spots []hallSpot) attendee {
	a := attendee{phase: time.Duration(rng.Int64N(int64(h.Interval))), to: randomPlace(rng, spots)}
	a.walkOn(h, rng, spots, 0)
	return a
}

// walkOn makes a stand where they arrived, from t, for a random while, then
// walk to a random place.
func (a *attendee) walkOn(h Hall, rng *rand.Rand, spots []hallSpot, t float64) {
	a.from, a.to = a.to, randomPlace(rng, spots)
	a.leave = t + rng.ExpFloat64()*cmp.Or(h.Dwell, 10*time.Minute).Seconds()
	a.arrive = a.leave + math.Hypot(a.to.north-a.from.north, a.to.east-a.from.east)/walkingSpeed
}

func randomPlace(rng *rand.Rand, spots []hallSpot) place {
	s := spots[rng.IntN(len(spots))]
	angle, r := rng.Float64()*2*math.Pi, s.radius*math.Sqrt(rng.Float64())
	return place{s.north + r*math.Cos(angle), s.east + r*math.Sin(angle)}
}

// at is where a is at t seconds: where they stand, with half a metre of
// jitter each way, or on their way.
func (a *attendee) at(h Hall, rng *rand.Rand, spots []hallSpot, t float64) (north, east float64) {
	for t >= a.arrive {
		a.walkOn(h, rng, spots, a.arrive)
	}
	if t < a.leave {
		return a.from.north + rng.NormFloat64()*0.5, a.from.east + rng.NormFloat64()*0.5
	}
	f := (t - a.leave) / (a.arrive - a.leave)
	return a.from.north + f*(a.to.north-a.from.north), a.from.east + f*(a.to.east-a.from.east)
}

func clamp(v, limit float64) float64 { return math.Max(-limit, math.Min(limit, v)) }
