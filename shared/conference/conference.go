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
	Booths    int           // 0: one for every 10 attendees
	Talks     int           // rooms where talks are held; 0: one for every 500 attendees
	Days      int           // each from 09:00 to 17:00 UTC
	Start     time.Time     // the first day
	Interval  time.Duration // between two reports of an attendee
	Latitude  float64       // centre of the venue
	Longitude float64
	Seed      uint64
}

// Default is a three-day conference of 1,000 attendees in Albuquerque, with
// booths and talk rooms in proportion.
var Default = Config{
	Attendees: 1000, Days: 3,
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
// in time order, as a conference hall would send them. Each report's event
// id is derived from the config, so generating twice stores nothing new.
func (c Config) Reports(personIDs []int64) iter.Seq[udaconnect.Report] {
	return func(yield func(udaconnect.Report) bool) {
		rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
		spots := c.spots(rng)
		source := fmt.Sprintf("/udaconnect/conference/%d", c.Seed)
		type walker struct {
			spot spot
			stay time.Duration
		}
		walkers := make([]walker, len(personIDs))
		for day := range c.Days {
			start := c.Start.AddDate(0, 0, day).Add(9 * time.Hour)
			for t := start; t.Before(start.Add(8 * time.Hour)); t = t.Add(c.Interval) {
				for i, id := range personIDs {
					w := &walkers[i]
					if w.stay <= 0 || t == start { // on to the next booth or talk
						w.spot, w.stay = spots[rng.IntN(len(spots))], time.Duration(15+rng.IntN(31))*time.Minute
					}
					w.stay -= c.Interval
					// Somewhere in the spot's area, a few seconds off the beat.
					angle, r := rng.Float64()*2*math.Pi, w.spot.radius*math.Sqrt(rng.Float64())
					lat, lon := offset(w.spot.point, r*math.Cos(angle), r*math.Sin(angle))
					at := t.Add(time.Duration(rng.IntN(30)) * time.Second)
					report := udaconnect.Report{
						Location: udaconnect.Location{PersonID: id, Latitude: lat, Longitude: lon, CreationTime: at},
						Source:   source, EventID: fmt.Sprintf("%d-%d", id, at.Unix()),
					}
					if !yield(report) {
						return
					}
				}
			}
		}
	}
}

type point struct{ lat, lon float64 }

// A spot is where attendees gather: a booth, or a talk room, larger.
type spot struct {
	point
	radius float64 // metres
}

// spots are the booths, on a grid 12 m apart, each 3 m across, and the talk
// rooms beside them, 30 m across. With no number of booths or talks given,
// there is a booth for every 10 attendees and a room for every 500.
func (c Config) spots(rng *rand.Rand) []spot {
	booths, talks := c.Booths, c.Talks
	if booths == 0 {
		booths = max(10, c.Attendees/10)
	}
	if talks == 0 {
		talks = max(1, c.Attendees/500)
	}
	var ss []spot
	row := int(math.Ceil(math.Sqrt(float64(booths))))
	for i := range booths {
		ss = append(ss, spot{offsetPoint(c, float64(i/row)*12, float64(i%row)*12), 1.5})
	}
	for i := range talks {
		ss = append(ss, spot{offsetPoint(c, -40-float64(i)*40, rng.Float64()*20), 15})
	}
	return ss
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
