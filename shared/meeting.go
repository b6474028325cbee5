package udaconnect

import "time"

// A Meeting is two people coming near each other: a report of Person
// (Location) within DetectDistance metres and DetectWindow in time of a
// report of Other (Near, the closest), Distance metres apart, when the two
// were not already that near at Person's previous report (if it is less
// than DetectWindow older). People who stay together make one meeting, not
// one per report.
type Meeting struct {
	Person   Person   `json:"person"`
	Location Location `json:"location"`
	Other    Person   `json:"other"`
	Near     Location `json:"near"`
	Distance float64  `json:"distance"`
}

// Who is near a report as it arrives: the defaults of the frontend too.
const (
	DetectDistance = DefaultDistance
	DetectWindow   = 15 * time.Minute
)
