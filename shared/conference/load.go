package conference

import (
	"context"
	"fmt"

	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// BatchSize is how many reports Load stores in one statement, and updates
// the meetings of in one transaction: the more reports of a round at once,
// the fewer times each meeting is rewritten.
const BatchSize = 5000

// Load stores the conference in db, with its meetings as connections would
// have kept them when c.Meetings is set, and returns the ids of its
// attendees. progress, if not nil, is called after each batch with the
// reports stored so far and their total. Loading the same config twice
// stores nothing new.
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
		locs, _, err := db.StoreReports(ctx, batch)
		if err != nil {
			return err
		}
		if c.Meetings {
			stored := make([]int64, len(locs))
			for i, l := range locs {
				stored[i] = l.ID
			}
			if _, err := db.UpdateMeetings(ctx, stored); err != nil {
				return err
			}
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
	return ids, nil
}
