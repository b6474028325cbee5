package udaconnect

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"
)

// Location is one report of where a person was: WGS84 degrees, and the time
// the device took it.
type Location struct {
	ID           int64     `json:"id"`
	PersonID     int64     `json:"person_id"`
	Latitude     float64   `json:"latitude"`
	Longitude    float64   `json:"longitude"`
	CreationTime time.Time `json:"creation_time"`
}

// Validate reports the first field of l that cannot be stored.
func (l *Location) Validate() error {
	switch {
	case l.PersonID <= 0:
		return Invalid("person_id", "person_id must be a positive integer")
	case math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90:
		return Invalid("latitude", "latitude must be between -90 and 90 degrees")
	case math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180:
		return Invalid("longitude", "longitude must be between -180 and 180 degrees")
	case l.CreationTime.IsZero():
		return Invalid("creation_time", "creation_time is required (RFC 3339)")
	case l.CreationTime.Year() < 1970 || l.CreationTime.After(time.Now().Add(24*time.Hour)):
		return Invalid("creation_time", "creation_time must lie between 1970 and tomorrow")
	}
	return nil
}

// MaxKeyBytes bounds the source and the id of the event that a person or a
// report is stored under, in bytes.
const MaxKeyBytes = 256

// Report is a location as a device sends it, tagged with the identity of the
// event that carried it: the same Source and EventID are stored once. Hash
// is the SHA-256 of the request that carried it, when known: the same
// Source and EventID with another Hash is refused. Zone is the detection
// zone it is queued for once stored (Zones.Of), 0 without zones.
type Report struct {
	Location
	Source  string
	EventID string
	Hash    []byte
	Zone    int
}

// Fingerprint is the SHA-256 of what r says: who, where and when. It is the
// Hash of a report whose request is not at hand, the same whichever event
// (single, in a batch, or grouped inside the system) carried it.
func (r *Report) Fingerprint() []byte {
	var b [32]byte
	binary.BigEndian.PutUint64(b[0:], uint64(r.PersonID))
	binary.BigEndian.PutUint64(b[8:], math.Float64bits(r.Latitude))
	binary.BigEndian.PutUint64(b[16:], math.Float64bits(r.Longitude))
	binary.BigEndian.PutUint64(b[24:], uint64(r.CreationTime.UnixNano()))
	h := sha256.Sum256(b[:])
	return h[:]
}

// Validate reports the first field of r that cannot be stored.
func (r *Report) Validate() error {
	for _, f := range []struct{ name, value string }{{"source", r.Source}, {"id", r.EventID}} {
		if len(f.value) > MaxKeyBytes {
			return Invalid(f.name, "the event's %s is longer than %d bytes", f.name, MaxKeyBytes)
		}
		if err := CheckText(f.name, f.value); err != nil {
			return err
		}
	}
	return r.Location.Validate()
}
