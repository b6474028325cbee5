package udaconnect

import (
	"fmt"
	"strconv"
	"strings"
)

// A Zone is a named area that one detector owns (docs/design.md,
// "Meetings"): a box of latitudes South to North and longitudes West to
// East, in WGS84 degrees.
type Zone struct {
	Name                     string
	South, West, North, East float64
}

// Zones are the areas detection is shared out by. A report belongs to the
// first zone whose box holds it, numbered from 1 in order, and otherwise to
// zone 0, the rest of the world: without zones, every report is in zone 0.
// People are only seen together within one zone, so zones should be areas
// that people do not walk between within a meeting, such as separate halls
// or buildings.
type Zones []Zone

// MaxZones bounds the zones of a deployment.
const MaxZones = 64

// ParseZones reads zones as DETECT_ZONES writes them: name=south,west,north,east
// for each zone, separated by semicolons, such as
// "hall-a=37.550,-122.295,37.552,-122.292;hall-b=37.560,-122.300,37.561,-122.298".
// The empty string is no zones.
func ParseZones(s string) (Zones, error) {
	var zones Zones
	names := map[string]bool{}
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, box, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		fields := strings.Split(box, ",")
		if !ok || name == "" || len(fields) != 4 {
			return nil, fmt.Errorf("DETECT_ZONES: want name=south,west,north,east for each zone, not %q", part)
		}
		if names[name] {
			return nil, fmt.Errorf("DETECT_ZONES: zone %q is named twice", name)
		}
		names[name] = true
		var v [4]float64
		for i, f := range fields {
			var err error
			if v[i], err = strconv.ParseFloat(strings.TrimSpace(f), 64); err != nil {
				return nil, fmt.Errorf("DETECT_ZONES: zone %q: %q is not a number of degrees", name, f)
			}
		}
		z := Zone{Name: name, South: v[0], West: v[1], North: v[2], East: v[3]}
		if !(-90 <= z.South && z.South < z.North && z.North <= 90 && -180 <= z.West && z.West < z.East && z.East <= 180) {
			return nil, fmt.Errorf("DETECT_ZONES: zone %q: want south < north within ±90 and west < east within ±180 degrees", name)
		}
		zones = append(zones, z)
	}
	if len(zones) > MaxZones {
		return nil, fmt.Errorf("DETECT_ZONES: %d zones; at most %d", len(zones), MaxZones)
	}
	return zones, nil
}

// Of returns the number of the zone of a report at lat, lon.
func (zs Zones) Of(lat, lon float64) int {
	for i, z := range zs {
		if z.South <= lat && lat <= z.North && z.West <= lon && lon <= z.East {
			return i + 1
		}
	}
	return 0
}

// Count is the number of zones, zone 0 included.
func (zs Zones) Count() int {
	return len(zs) + 1
}
