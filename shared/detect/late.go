package detect

import (
	"context"
	"errors"
)

// late places a report older than the frontier, through History.
func (d *Detector) late(ctx context.Context, r Report) error {
	return errors.New("late reports: todo")
}
