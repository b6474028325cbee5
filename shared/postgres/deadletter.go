package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

const deadLetterColumns = `id, event_source, event_id, event_type, destination, status, event, received_at, replayed_at`

// ErrCapped is the error of a dead letter not kept: its sender has as many
// as it may (db/migrations/0012_dead_letter_cap.sql).
var ErrCapped = errors.New("dead letter not kept: its sender has as many as it may")

// StoreDeadLetter stores d, once per event and destination: a dead letter
// that comes again (delivered twice, or failing again after a replay) takes
// its new event and waits again. A new one of a sender that has its cap
// already is ErrCapped.
func (db *DB) StoreDeadLetter(ctx context.Context, d udaconnect.DeadLetter) (udaconnect.DeadLetter, error) {
	rows, _ := db.pool.Query(ctx, `
		INSERT INTO dead_letter (event_source, event_id, event_type, destination, status, event)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (event_source, event_id, destination) DO UPDATE
		SET event_type = EXCLUDED.event_type, status = EXCLUDED.status, event = EXCLUDED.event,
		    received_at = now(), replayed_at = NULL
		RETURNING `+deadLetterColumns,
		d.Source, d.EventID, d.Type, d.Destination, d.Status, d.Event)
	stored, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[udaconnect.DeadLetter])
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrCapped
	}
	if err != nil {
		return d, wrap("store dead letter", err)
	}
	return stored, nil
}

// DeleteDeadLettersBefore deletes the dead letters received before cutoff,
// RetentionBatch at a time, and returns how many it deleted.
func (db *DB) DeleteDeadLettersBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var deleted int64
	for {
		tag, err := db.pool.Exec(ctx, `
			DELETE FROM dead_letter WHERE id IN (
				SELECT id FROM dead_letter WHERE received_at < $1 LIMIT $2)`, cutoff, RetentionBatch)
		if err != nil {
			return deleted, wrap("delete old dead letters", err)
		}
		deleted += tag.RowsAffected()
		if tag.RowsAffected() < RetentionBatch {
			return deleted, nil
		}
	}
}

// StoreDeadLetters stores letters in one statement without reading them
// back, what a function that may only add dead letters can do (locations,
// for the reports it refuses): a letter that is there already keeps its
// event and waits again; a new one of a sender at its cap is dropped.
func (db *DB) StoreDeadLetters(ctx context.Context, letters []udaconnect.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	sources, ids, types, dests := make([]string, len(letters)), make([]string, len(letters)), make([]string, len(letters)), make([]string, len(letters))
	statuses, events := make([]*int, len(letters)), make([]string, len(letters))
	for i, d := range letters {
		sources[i], ids[i], types[i], dests[i], statuses[i], events[i] = d.Source, d.EventID, d.Type, d.Destination, d.Status, string(d.Event)
	}
	_, err := db.pool.Exec(ctx, `
		INSERT INTO dead_letter (event_source, event_id, event_type, destination, status, event)
		SELECT DISTINCT ON (s, i, d) s, i, t, d, st, e::json
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[]) AS r (s, i, t, d, st, e)
		ON CONFLICT (event_source, event_id, destination) DO UPDATE SET received_at = now(), replayed_at = NULL`,
		sources, ids, types, dests, statuses, events)
	if err != nil {
		return wrap("store dead letters", err)
	}
	return nil
}

// FindDeadLetters returns up to limit dead letters with an ID above after,
// in ID order; waiting only leaves out those replayed.
func (db *DB) FindDeadLetters(ctx context.Context, after int64, limit int, waiting bool) ([]udaconnect.DeadLetter, error) {
	rows, _ := db.reads.Query(ctx, `
		SELECT `+deadLetterColumns+` FROM dead_letter
		WHERE id > $1 AND (NOT $3 OR replayed_at IS NULL)
		ORDER BY id LIMIT $2`, after, limit, waiting)
	letters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[udaconnect.DeadLetter])
	if err != nil {
		return nil, wrap("find dead letters", err)
	}
	return letters, nil
}

// FindDeadLetter returns the dead letter with the given ID, or an ENOTFOUND
// error.
func (db *DB) FindDeadLetter(ctx context.Context, id int64) (udaconnect.DeadLetter, error) {
	rows, _ := db.reads.Query(ctx, `SELECT `+deadLetterColumns+` FROM dead_letter WHERE id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[udaconnect.DeadLetter])
	if errors.Is(err, pgx.ErrNoRows) {
		return d, udaconnect.Errorf(udaconnect.ENOTFOUND, "dead letter %d not found", id)
	}
	if err != nil {
		return d, wrap("find dead letter", err)
	}
	return d, nil
}

// MarkReplayed records that the dead letter with the given ID is being sent
// again, before it is sent: if the event fails again at once, storing it
// again clears the mark, and the row says it waits. It returns the dead
// letter so marked.
func (db *DB) MarkReplayed(ctx context.Context, id int64) (udaconnect.DeadLetter, error) {
	rows, _ := db.pool.Query(ctx, `UPDATE dead_letter SET replayed_at = now() WHERE id = $1 RETURNING `+deadLetterColumns, id)
	d, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[udaconnect.DeadLetter])
	if errors.Is(err, pgx.ErrNoRows) {
		return d, udaconnect.Errorf(udaconnect.ENOTFOUND, "dead letter %d not found", id)
	}
	if err != nil {
		return d, wrap("mark dead letter replayed", err)
	}
	return d, nil
}

// UnmarkReplayed takes back the mark of d, set by MarkReplayed, when its
// event could not be sent after all; a mark set since is left alone.
func (db *DB) UnmarkReplayed(ctx context.Context, d udaconnect.DeadLetter) error {
	if _, err := db.pool.Exec(ctx, `UPDATE dead_letter SET replayed_at = NULL WHERE id = $1 AND replayed_at = $2`, d.ID, d.ReplayedAt); err != nil {
		return wrap("unmark dead letter", err)
	}
	return nil
}
