package udaconnect_test

import (
	"strings"
	"testing"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

func TestZones(t *testing.T) {
	zones, err := udaconnect.ParseZones(" hall-a=37.550,-122.295,37.552,-122.292; hall-b = 37.551,-122.300,37.561,-122.290 ;")
	if err != nil {
		t.Fatal(err)
	}
	if zones.Count() != 3 {
		t.Fatalf("Count() = %d; want 3", zones.Count())
	}
	for _, tt := range []struct {
		lat, lon float64
		want     int
	}{
		{37.551, -122.293, 1},
		{37.5515, -122.2925, 1}, // in both boxes: the first
		{37.555, -122.299, 2},
		{37.552, -122.292, 1}, // on the edge
		{0, 0, 0},
	} {
		if got := zones.Of(tt.lat, tt.lon); got != tt.want {
			t.Errorf("Of(%v, %v) = %d; want %d", tt.lat, tt.lon, got, tt.want)
		}
	}
	if none, err := udaconnect.ParseZones(""); err != nil || none.Count() != 1 || none.Of(1, 2) != 0 {
		t.Errorf(`ParseZones("") = %v, %v; want no zones, all in zone 0`, none, err)
	}
}

func TestZonesRefused(t *testing.T) {
	for _, s := range []string{
		"hall",
		"=1,2,3,4",
		"a=1,2,3",
		"a=1,2,x,4",
		"a=3,2,1,4",
		"a=1,4,3,2",
		"a=-91,0,1,1",
		"a=0,0,1,1;a=2,2,3,3",
	} {
		if _, err := udaconnect.ParseZones(s); err == nil || !strings.Contains(err.Error(), "DETECT_ZONES") {
			t.Errorf("ParseZones(%q) = %v; want the variable named", s, err)
		}
	}
}
