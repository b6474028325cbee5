package detect

import "math"

// The distances here are between people metres apart: on a flat map around
// them, with the radii of curvature of the WGS84 ellipsoid at their
// latitudes, which differs from the geodesic by far less than a millimetre
// at such distances.
const (
	wgs84A  = 6_378_137.0         // semi-major axis, metres
	wgs84E2 = 6.69437999014132e-3 // first eccentricity squared
	radians = math.Pi / 180
)

// scale is metres per degree of latitude (north) and of longitude (east) at
// lat.
type scale struct{ north, east float64 }

func scaleAt(lat float64) scale {
	sin, cos := math.Sincos(lat * radians)
	w := 1 - wgs84E2*sin*sin
	n := wgs84A / math.Sqrt(w) // prime vertical radius
	return scale{north: radians * n * (1 - wgs84E2) / w, east: radians * n * math.Max(cos, 0)}
}

// distance is the distance in metres between two points, each with the
// scale at its latitude. It is symmetric to the bit.
func distance(lat1, lon1 float64, s1 scale, lat2, lon2 float64, s2 scale) float64 {
	dlon := math.Abs(lon1 - lon2)
	if dlon > 180 {
		dlon = 360 - dlon
	}
	north := (lat1 - lat2) * (s1.north + s2.north) / 2
	east := dlon * (s1.east + s2.east) / 2
	return math.Sqrt(north*north + east*east)
}

// midpoint is the point halfway between two points metres apart.
func midpoint(lat1, lon1, lat2, lon2 float64) (lat, lon float64) {
	lon = (lon1 + lon2) / 2
	if math.Abs(lon1-lon2) > 180 { // across the antimeridian
		if lon += 180; lon > 180 {
			lon -= 360
		}
	}
	return (lat1 + lat2) / 2, lon
}
