package detect

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Whoever is within Distance of a point is found around it, anywhere on
// the globe: near the poles and across the antimeridian too.
func TestGridNear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const dist = 5.0
	for i := range 20000 {
		g := newGrid(dist)
		lat := rng.Float64()*178 - 89
		lon := rng.Float64()*360 - 180
		switch i % 4 {
		case 1:
			lon = 180 - rng.Float64()*1e-4
		case 2:
			lat = 89.99 - rng.Float64()*0.02
		}
		// Another point up to dist away, in any direction.
		s := scaleAt(lat)
		angle, r := rng.Float64()*2*math.Pi, dist*rng.Float64()
		lat2, lon2 := lat+r*math.Cos(angle)/s.north, lon+r*math.Sin(angle)/math.Max(s.east, 1)
		if lon2 > 180 {
			lon2 -= 360
		}
		if lat2 > 90 || distance(lat, lon, s, lat2, lon2, scaleAt(lat2)) > dist {
			continue
		}
		q := &person{id: 2}
		g.add(q, lat2, lon2)
		found := false
		g.near(lat, lon, 1, func(p *person) { found = found || p == q })
		if !found {
			t.Fatalf("(%v, %v) not found around (%v, %v), %.2f m away", lat2, lon2, lat, lon,
				distance(lat, lon, s, lat2, lon2, scaleAt(lat2)))
		}
		// Around a point whose cells are the same, it is found too.
		lat3, lon3 := lat+(rng.Float64()-0.5)*g.band, lon+(rng.Float64()-0.5)*g.lonsOf(g.bandOf(lat)).width
		if lat3 < 90 && lon3 < 180 && g.sameBlock(lat, lon, lat3, lon3) {
			found = false
			g.near(lat3, lon3, 2, func(p *person) { found = found || p == q })
			if !found {
				t.Fatalf("(%v, %v) not found around (%v, %v), in the same cells as (%v, %v)", lat2, lon2, lat3, lon3, lat, lon)
			}
		}
	}
}
