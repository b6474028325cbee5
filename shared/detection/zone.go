// Package detection runs a detector (package detect) over the backlog of a
// zone that this process leases (docs/design.md, "Meetings"): it applies
// the stored reports queued for the zone in bounded steps, writes the
// meetings that change in batches, and checkpoints the detector with the
// rows it applied. connections runs it as reports arrive; the conference
// loader runs it to the end of what it stored.
package detection

import (
	"context"
	"fmt"
	"time"

	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// MaxStep bounds the reports applied by one Step, so that no step runs
// into a statement timeout whatever the backlog.
const MaxStep = 5000

// Between checkpoints: at most MaxApplied backlog rows applied (every read
// of the backlog names them) and about MaxAppliedReports reports (what a
// checkpoint keeps to undo grows with them).
const (
	MaxApplied        = 10_000
	MaxAppliedReports = 50_000
)

// Params are the detection's defaults, as a zone's owner runs them: the
// detector reports every change at once, and the owner coalesces a growing
// meeting's writes itself, so that its last values are written even when
// reports stop.
func Params() detect.Params {
	return detect.DefaultParams()
}

// Zone is a zone's detector, restored from its last checkpoint, and what it
// has applied and found since. It is not safe for concurrent use. After an
// error of any of its methods it must be closed and opened again: the
// detector restarts from its checkpoint and the backlog after it.
type Zone struct {
	lease     *postgres.ZoneLease
	d         *detect.Detector
	pending   pending
	applied   []int64               // backlog rows applied since the checkpoint
	reports   int                   // the reports of those rows
	unflushed []postgres.BacklogRow // those applied since the last flush
	starts    []detect.Start        // meetings started since the last flush
}

// Open restores the detector of the zone leased, and the meetings as its
// checkpoint saw them: the rows after it are applied again from there. It
// publishes the zone's backlog at once (see Publish).
func Open(ctx context.Context, lease *postgres.ZoneLease, p detect.Params) (*Zone, error) {
	if err := lease.Undo(ctx); err != nil {
		return nil, err
	}
	z := &Zone{lease: lease, pending: newPending()}
	z.d = detect.New(p, overlay{lease.History(), &z.pending})
	state, err := lease.State(ctx)
	if err != nil {
		return nil, err
	}
	if state != nil {
		if err := z.d.UnmarshalBinary(state); err != nil {
			return nil, fmt.Errorf("restore zone %d: %w", lease.Zone(), err)
		}
	}
	// Told before a first step that may take long, rather than what the
	// last owner told.
	if _, _, err := z.Publish(ctx); err != nil {
		return nil, err
	}
	return z, nil
}

// Step applies the oldest backlog rows not yet applied, up to MaxStep
// reports, with now as the time, and returns how many reports it read: 0
// when the backlog is empty.
func (z *Zone) Step(ctx context.Context, now time.Time) (int, error) {
	rows, err := z.lease.Backlog(ctx, z.applied, MaxStep)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r.Locations...)
	}
	reports, err := z.lease.Reports(ctx, ids)
	if err != nil {
		return 0, err
	}
	if err := z.d.Add(ctx, reports, now.Truncate(time.Microsecond)); err != nil {
		return 0, fmt.Errorf("detect: %w", err)
	}
	changes := z.d.Changes()
	z.pending.add(changes)
	z.starts = append(z.starts, changes.Started...)
	for _, r := range rows {
		z.applied = append(z.applied, r.ID)
	}
	z.reports += len(ids)
	z.unflushed = append(z.unflushed, rows...)
	return len(ids), nil
}

// Prompt reports whether changes wait that should be written at once:
// meetings that start, end or go, rather than only grow.
func (z *Zone) Prompt() bool { return z.pending.waiting() }

// Unflushed reports whether anything applied is not yet written.
func (z *Zone) Unflushed() bool { return len(z.unflushed) > 0 || !z.pending.empty() }

// Flushed is what one Flush or Checkpoint wrote: the backlog rows whose
// changes it wrote (with growth, or but growth) and the meetings they
// started, queued to be announced.
type Flushed struct {
	Rows   []postgres.BacklogRow
	Starts []detect.Start
}

// Flush writes the changes waiting, with growth (every change) or without
// (those that may not wait: see Prompt), and queues the announcements of
// the meetings that started, in one transaction.
func (z *Zone) Flush(ctx context.Context, growth bool) (Flushed, error) {
	c := z.changes(growth)
	if len(c.Upserted) > 0 || len(c.Grown) > 0 || len(c.Removed) > 0 || len(c.Starts) > 0 {
		if err := z.lease.WriteMeetings(ctx, c); err != nil {
			return Flushed{}, err
		}
	}
	return z.written(c), nil
}

// changes are the changes waiting, with growth or without, and the starts.
func (z *Zone) changes(growth bool) postgres.MeetingChanges {
	upserted, grown, removed := z.pending.changes(growth)
	return postgres.MeetingChanges{Upserted: upserted, Grown: grown, Removed: removed, Starts: z.starts}
}

// written takes c, once written, out of what waits.
func (z *Zone) written(c postgres.MeetingChanges) Flushed {
	z.pending.written(c.Upserted, c.Grown, c.Removed)
	f := Flushed{Rows: z.unflushed, Starts: z.starts}
	z.unflushed, z.starts = nil, nil
	return f
}

// Applied is the number of backlog rows applied since the last checkpoint.
func (z *Zone) Applied() int { return len(z.applied) }

// CheckpointDue reports whether so much was applied since the last
// checkpoint that the next should come now.
func (z *Zone) CheckpointDue() bool {
	return len(z.applied) >= MaxApplied || z.reports >= MaxAppliedReports
}

// Checkpoint writes every change waiting, growth included, saves the
// detector and deletes the rows it applied, in one transaction: what it
// writes needs nothing kept to undo.
func (z *Zone) Checkpoint(ctx context.Context) (Flushed, error) {
	state, err := z.d.MarshalBinary()
	if err != nil {
		return Flushed{}, fmt.Errorf("checkpoint zone %d: %w", z.lease.Zone(), err)
	}
	c := z.changes(true)
	if err := z.lease.Checkpoint(ctx, c, state, z.applied); err != nil {
		return Flushed{}, err
	}
	z.applied, z.reports = nil, 0
	return z.written(c), nil
}

// Publish records how current the zone is for the detection route, and
// returns its backlog: the reports not yet applied and when the oldest of
// them was queued (zero without).
func (z *Zone) Publish(ctx context.Context) (int64, time.Time, error) {
	return z.lease.Publish(ctx, z.d.Time(), z.applied)
}

// DrainZone leases zone and applies its whole backlog, as connections
// would: what a loader does after storing reports. It does nothing, and
// returns false, when another process owns the zone, which then detects
// them.
func DrainZone(ctx context.Context, db *postgres.DB, zone int, p detect.Params) (bool, error) {
	lease, err := db.ClaimZone(ctx, zone)
	if err != nil || lease == nil {
		return false, err
	}
	defer lease.Close()
	z, err := Open(ctx, lease, p)
	if err != nil {
		return false, err
	}
	return true, z.Drain(ctx, time.Now())
}

// Drain applies the whole backlog of the zone, writes what it changed and
// checkpoints.
func (z *Zone) Drain(ctx context.Context, now time.Time) error {
	for {
		n, err := z.Step(ctx, now)
		if err != nil {
			return err
		}
		if n == 0 && z.Applied() == 0 {
			return nil
		}
		if n == 0 || z.CheckpointDue() {
			if _, err := z.Checkpoint(ctx); err != nil {
				return err
			}
		}
	}
}
