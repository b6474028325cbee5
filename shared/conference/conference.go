// Package conference generates a synthetic conference, the same for the same
// seed: attendees who walk between booths and talks over several days and
// report where they are every few minutes.
package conference

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// Config describes a conference.
type Config struct {
	Attendees int
	Booths    int
	Talks     int           // rooms where talks are held
	Days      int           // each from 09:00 to 17:00 UTC
	Start     time.Time     // the first day
	Interval  time.Duration // between two reports of an attendee
	Latitude  float64       // centre of the venue
	Longitude float64
	Seed      uint64
}

// Default is a three-day conference of 1,000 attendees in Albuquerque.
var Default = Config{
	Attendees: 1000, Booths: 60, Talks: 6, Days: 3,
	Start:    time.Date(2026, 6, 16, 0, 0, 0, 0, time.UTC),
	Interval: 5 * time.Minute, Latitude: 35.0844, Longitude: -106.6511, Seed: 1,
}

// ReportsPerAttendee is how many reports each attendee sends.
func (c Config) ReportsPerAttendee() int {
	return c.Days * int(8*time.Hour/c.Interval)
}

var (
	firstNames = []string{"Ada", "Alan", "Barbara", "Claude", "Dennis", "Edsger", "Frances", "Grace", "Hedy", "Ivan", "Jean", "Ken", "Katherine", "Linus", "Margaret", "Niklaus", "Ole", "Radia", "Rob", "Sophie", "Tim", "Vint", "Whitfield", "Yukihiro"}
	lastNames  = []string{"Allen", "Backus", "Cerf", "Dijkstra", "Engelbart", "Floyd", "Goldberg", "Hopper", "Iverson", "Johnson", "Kay", "Liskov", "McCarthy", "Naur", "Perlman", "Ritchie", "Stroustrup", "Thompson", "Wirth", "Zuse"}
	companies  = []string{"Acme Robotics", "Blue Mesa Labs", "Cibola Systems", "Desert Data", "Enchanted Circuits", "Four Corners Cloud", "Green Chile Software", "High Desert Networks", "Rio Grande Analytics", "Sandia Peak Tech"}
)

// Persons returns the attendees.
func (c Config) Persons() []udaconnect.Person {
	ps := make([]udaconnect.Person, c.Attendees)
	for i := range ps {
		ps[i] = udaconnect.Person{
			FirstName:   firstNames[i%len(firstNames)],
			LastName:    fmt.Sprintf("%s %d", lastNames[(i/len(firstNames))%len(lastNames)], i+1),
			CompanyName: companies[(i*7)%len(companies)],
		}
	}
	return ps
}

// Reports yields every report of the attendees whose stored ids are given,
// in the order of personIDs and then of time. Each report's event id is
// derived from the config, so generating twice stores nothing new.
func (c Config) Reports(personIDs []int64) iter.Seq[udaconnect.Report] {
	return func(yield func(udaconnect.Report) bool) {
		rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
		spots := c.spots(rng)
		source := fmt.Sprintf("/udaconnect/conference/%d", c.Seed)
		for _, id := range personIDs {
			for day := range c.Days {
				t := c.Start.AddDate(0, 0, day).Add(9 * time.Hour)
				end := t.Add(8 * time.Hour)
				spot, stay := spots[rng.IntN(len(spots))], 0*time.Minute
				for t.Before(end) {
					if stay <= 0 { // on to the next booth or talk
						spot, stay = spots[rng.IntN(len(spots))], time.Duration(15+rng.IntN(31))*time.Minute
					}
					// Within a couple of metres of the spot, a few seconds off the beat.
					lat, lon := offset(spot, rng.NormFloat64()*1.5, rng.NormFloat64()*1.5)
					at := t.Add(time.Duration(rng.IntN(30)) * time.Second)
					r := udaconnect.Report{
						Location: udaconnect.Location{PersonID: id, Latitude: lat, Longitude: lon, CreationTime: at},
						Source:   source, EventID: fmt.Sprintf("%d-%d", id, at.Unix()),
					}
					if !yield(r) {
						return
					}
					t, stay = t.Add(c.Interval), stay-c.Interval
				}
			}
		}
	}
}

type point struct{ lat, lon float64 }

// spots are the booths, on a grid 10 m apart, and the talk rooms beside them.
func (c Config) spots(rng *rand.Rand) []point {
	var ps []point
	row := int(math.Ceil(math.Sqrt(float64(c.Booths))))
	for i := range c.Booths {
		ps = append(ps, offsetPoint(c, float64(i/row)*10, float64(i%row)*10))
	}
	for i := range c.Talks {
		ps = append(ps, offsetPoint(c, -50-float64(i)*30, rng.Float64()*20))
	}
	return ps
}

func offsetPoint(c Config, north, east float64) point {
	lat, lon := offset(point{c.Latitude, c.Longitude}, north, east)
	return point{lat, lon}
}

// offset moves p by metres to the north and east.
func offset(p point, north, east float64) (lat, lon float64) {
	const metresPerDegree = 111_320.0
	return p.lat + north/metresPerDegree, p.lon + east/(metresPerDegree*math.Cos(p.lat*math.Pi/180))
}
