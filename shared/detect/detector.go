package detect

import (
	"context"
	"time"
)

// Detector finds meetings incrementally. It is not safe for concurrent use.
type Detector struct {
	p Params
	h History
}

// New returns a detector with no reports, that consults h for late reports.
func New(p Params, h History) *Detector {
	return &Detector{p: p, h: h}
}

// Add takes reports in any order (a report whose ID was seen before is
// ignored) and moves the detector's time to min(now, the newest report time
// seen), never back. A report newer than now is placed, held from its time.
// A report older than Time() − Lateness is placed through History.
func (d *Detector) Add(ctx context.Context, reports []Report, now time.Time) error {
	panic("todo")
}

// Changes returns, and forgets, what changed since the last call: one entry
// per meeting, with its latest values.
func (d *Detector) Changes() Changes {
	panic("todo")
}

// Time returns the detector's time (its watermark).
func (d *Detector) Time() time.Time {
	panic("todo")
}

// MarshalBinary encodes the detector's whole state (for scale to zero and
// failover); UnmarshalBinary restores it into a detector made by New.
func (d *Detector) MarshalBinary() ([]byte, error) {
	panic("todo")
}

// UnmarshalBinary restores a state encoded by MarshalBinary.
func (d *Detector) UnmarshalBinary(data []byte) error {
	panic("todo")
}
