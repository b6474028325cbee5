package conference

import (
	"context"
	"fmt"
	"time"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// BatchSize is how many reports Load stores in one statement.
const BatchSize = 5000

// Load stores the conference in db, queued for detection in zone 0, and
// returns the ids of its attendees. When c.Meetings is set, it then detects
// the meetings itself, as connections would: it leases zone 0 and applies
// its backlog to the zone's detector; if connections holds the zone, that
// detects them instead. progress, if not nil, is called after each batch
// with the reports stored so far and their total. Loading the same config
// twice stores nothing new.
func Load(ctx context.Context, db *postgres.DB, c Config, progress func(done, total int)) ([]int64, error) {
	source := fmt.Sprintf("/udaconnect/conference/%d", c.Seed)
	var ids []int64
	for i, p := range c.Persons() {
		stored, err := db.CreatePerson(ctx, p, source, fmt.Sprintf("person-%d", i+1), nil)
		if err != nil {
			return nil, err
		}
		ids = append(ids, stored.ID)
	}
	total, done := len(ids)*c.ReportsPerAttendee(), 0
	batch := make([]udaconnect.Report, 0, BatchSize)
	flush := func() error {
		if _, _, err := db.StoreReports(ctx, batch); err != nil {
			return err
		}
		done += len(batch)
		batch = batch[:0]
		if progress != nil {
			progress(done, total)
		}
		return nil
	}
	for r := range c.Reports(ids) {
		if batch = append(batch, r); len(batch) == BatchSize {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if c.Meetings {
		if err := detectMeetings(ctx, db); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// detectMeetings applies zone 0's backlog to its detector, unless another
// process holds the zone.
func detectMeetings(ctx context.Context, db *postgres.DB) error {
	lease, err := db.ClaimZone(ctx, 0)
	if err != nil || lease == nil {
		return err
	}
	defer lease.Close()
	zone, err := detection.Open(ctx, lease, detect.DefaultParams())
	if err != nil {
		return err
	}
	return zone.Drain(ctx, time.Now())
}
