package detect

import "math"

// The grid files people by the cells of their reports, so that the people
// who may be within Distance of a point are those in the 5×5 cells around
// it. Cells are bands of latitude at least Distance/2 high, each cut into
// cells of longitude at least Distance/2 wide everywhere in the band and the
// two on either side, a whole number of them around the globe. (Smaller
// cells than Distance, so that fewer people are looked at for nothing.)
type grid struct {
	band  float64 // degrees of latitude
	dist  float64 // the least width of a cell, metres
	cells map[int64]*cell
	lons  map[int64]lons // by band
}

// lons are the cells of a band: their width in degrees of longitude, and
// how many go around the globe.
type lons struct {
	width float64
	n     int64
}

type cell struct{ members []*person }

type cellRef struct {
	key int64
	c   *cell
	n   int32
}

// Lower bounds of metres per degree of latitude and of longitude at the
// equator on WGS84.
const (
	minMetresNorth = 110_000
	minMetresEast  = 111_000
)

func newGrid(distance float64) *grid {
	return &grid{band: distance / 2 / minMetresNorth, dist: distance / 2, cells: map[int64]*cell{}, lons: map[int64]lons{}}
}

// lonsOf returns the cells of band b.
func (g *grid) lonsOf(b int64) lons {
	if l, ok := g.lons[b]; ok {
		return l
	}
	edge := math.Max(math.Abs(float64(b)*g.band), math.Abs(float64(b+1)*g.band)) + 2*g.band
	n := 1.0
	if cos := math.Cos(edge * radians); edge < 89 {
		n = math.Max(1, math.Floor(360/(g.dist/(minMetresEast*cos))))
	}
	l := lons{width: 360 / n, n: int64(n)}
	g.lons[b] = l
	return l
}

func (g *grid) bandOf(lat float64) int64 { return int64(math.Floor(lat / g.band)) }

// key is the cell of band b (of these lons) and longitude index x, wrapped
// around the globe.
func (l lons) key(b int64, x int64) int64 {
	x %= l.n
	if x < 0 {
		x += l.n
	}
	return b<<32 | x
}

func (l lons) column(lon float64) int64 { return int64(math.Floor((lon + 180) / l.width)) }

func (g *grid) cellOf(lat, lon float64) int64 {
	b := g.bandOf(lat)
	l := g.lonsOf(b)
	return l.key(b, l.column(lon))
}

// add files a report of p at (lat, lon).
func (g *grid) add(p *person, lat, lon float64) {
	k := g.cellOf(lat, lon)
	for i := range p.cells {
		if p.cells[i].key == k {
			p.cells[i].n++
			return
		}
	}
	c := g.cells[k]
	if c == nil {
		c = &cell{}
		g.cells[k] = c
	}
	c.members = append(c.members, p)
	p.cells = append(p.cells, cellRef{key: k, c: c, n: 1})
}

// remove unfiles a report of p at (lat, lon).
func (g *grid) remove(p *person, lat, lon float64) {
	k := g.cellOf(lat, lon)
	for i := range p.cells {
		ref := &p.cells[i]
		if ref.key != k {
			continue
		}
		if ref.n--; ref.n > 0 {
			return
		}
		ms := ref.c.members
		for j, q := range ms {
			if q == p {
				ms[j] = ms[len(ms)-1]
				ref.c.members = ms[:len(ms)-1]
				break
			}
		}
		if len(ref.c.members) == 0 {
			delete(g.cells, k)
		}
		p.cells[i] = p.cells[len(p.cells)-1]
		p.cells = p.cells[:len(p.cells)-1]
		return
	}
}

// near calls f for each person filed in the cells around (lat, lon), once
// per mark: a person already marked with it is skipped.
func (g *grid) near(lat, lon float64, mark uint64, f func(*person)) {
	b := g.bandOf(lat)
	for bb := b - 2; bb <= b+2; bb++ {
		l := g.lonsOf(bb)
		x := l.column(lon)
		for xx := x - 2; xx <= x+2; xx++ {
			c := g.cells[l.key(bb, xx)]
			if c == nil {
				continue
			}
			for _, q := range c.members {
				if q.mark != mark {
					q.mark = mark
					f(q)
				}
			}
		}
	}
}

// sameBlock tells whether near would look at the same cells around both
// points.
func (g *grid) sameBlock(lat1, lon1, lat2, lon2 float64) bool {
	b := g.bandOf(lat1)
	if g.bandOf(lat2) != b {
		return false
	}
	for bb := b - 2; bb <= b+2; bb++ {
		if l := g.lonsOf(bb); l.column(lon1) != l.column(lon2) {
			return false
		}
	}
	return true
}
