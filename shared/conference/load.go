package conference

import (
	"context"
	"fmt"

	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// BatchSize is how many reports Load stores in one statement.
const BatchSize = 5000

// Store is where Load stores a conference: a *postgres.DB.
type Store interface {
	CreatePerson(ctx context.Context, p udaconnect.Person, source, eventID string, hash []byte) (udaconnect.Person, error)
	StoreReports(ctx context.Context, reports []udaconnect.Report) ([]udaconnect.Location, []error, error)
}

// Load stores the conference in db, queued for detection in zone 0 (see
// detection.DrainZone), and returns the ids of its attendees. progress, if
// not nil, is called after each batch with the reports stored so far and
// their total. Loading the same config twice stores nothing new.
func Load(ctx context.Context, db Store, c Config, progress func(done, total int)) ([]int64, error) {
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
	return ids, nil
}
