package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// locationColumns reads a location row as the domain wants it: latitude is
// the point's Y, longitude its X.
const locationColumns = `id, person_id, ST_Y(coordinate::geometry), ST_X(coordinate::geometry), creation_time`

// StoreReports stores every report once per (Source, EventID) in one
// statement, committed when it returns, and returns the location stored for
// each, in order: a report already stored returns the earlier location. A
// report that cannot be stored gets its own error in errs and fails nothing
// else: one whose person does not exist EUNKNOWN, one whose event was stored
// with another Hash EREUSED, one that is invalid or that PostgreSQL refuses
// EINVALID (the batch is then stored in parts, without it). err reports a
// failure of the whole batch, nothing of which was stored.
func (db *DB) StoreReports(ctx context.Context, reports []udaconnect.Report) (locs []udaconnect.Location, errs []error, err error) {
	n := len(reports)
	refused := make(map[[2]string]error)
	// Each event once, in key order: concurrent batches then take the keys'
	// locks in the same order and cannot deadlock on them.
	unique := make([]udaconnect.Report, 0, n)
	seen := make(map[[2]string]bool, n)
	for _, r := range reports {
		key := [2]string{r.Source, r.EventID}
		if seen[key] {
			continue // the first of the same event in a batch wins
		}
		seen[key] = true
		if err := r.Validate(); err != nil {
			refused[key] = err
			continue
		}
		unique = append(unique, r)
	}
	slices.SortFunc(unique, func(a, b udaconnect.Report) int {
		return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.EventID, b.EventID))
	})
	stored := make(map[[2]string]storedLocation, len(unique))
	if err := db.insertReports(ctx, unique, stored, refused); err != nil {
		return nil, nil, err
	}
	if len(stored)+len(refused) < len(seen) {
		// Duplicates, and reports of unknown people: read what is there in a
		// new statement, which also sees rows that concurrent batches
		// committed while this one waited on them.
		sources, ids := make([]string, 0, len(unique)), make([]string, 0, len(unique))
		for _, r := range unique {
			sources, ids = append(sources, r.Source), append(ids, r.EventID)
		}
		rows, _ := db.pool.Query(ctx, `
			SELECT event_source, event_id, request_hash, `+locationColumns+` FROM location
			WHERE (event_source, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
			sources, ids)
		if err := collectStored(rows, stored); err != nil {
			return nil, nil, wrap("find stored locations", err)
		}
	}
	locs, errs = make([]udaconnect.Location, n), make([]error, n)
	for i, r := range reports {
		key := [2]string{r.Source, r.EventID}
		s, ok := stored[key]
		switch {
		case refused[key] != nil:
			errs[i] = refused[key]
		case !ok:
			errs[i] = &udaconnect.Error{Code: udaconnect.EUNKNOWN, Field: "person_id",
				Message: fmt.Sprintf("person_id %d is not a registered person", r.PersonID)}
		case s.hash != nil && r.Hash != nil && !bytes.Equal(s.hash, r.Hash):
			errs[i] = errReused
		default:
			locs[i] = s.Location
		}
	}
	return locs, errs, nil
}

// errReused answers a request whose idempotency key (its event's source and
// id) came before with another request.
var errReused = udaconnect.Errorf(udaconnect.EREUSED, "this Idempotency-Key (event id) was used before with another request")

// storedLocation is a location as stored, with the hash of its request.
type storedLocation struct {
	udaconnect.Location
	hash []byte
}

// insertReports inserts reports in one statement. When PostgreSQL refuses
// the data of some, it inserts the halves apart, down to each report
// refused on its own, which is added to refused: the others are stored.
func (db *DB) insertReports(ctx context.Context, reports []udaconnect.Report, stored map[[2]string]storedLocation, refused map[[2]string]error) error {
	if len(reports) == 0 {
		return nil
	}
	n := len(reports)
	sources, ids, persons, zones := make([]string, n), make([]string, n), make([]int64, n), make([]int32, n)
	lats, lons, times, hashes := make([]float64, n), make([]float64, n), make([]time.Time, n), make([][]byte, n)
	for i, r := range reports {
		sources[i], ids[i], persons[i], zones[i] = r.Source, r.EventID, r.PersonID, int32(r.Zone)
		lats[i], lons[i], times[i], hashes[i] = r.Latitude, r.Longitude, r.CreationTime, r.Hash
	}
	rows, _ := db.pool.Query(ctx, storeSQL, sources, ids, persons, lats, lons, times, hashes, zones)
	inserted := make(map[[2]string]storedLocation, len(reports))
	err := collectStored(rows, inserted)
	switch {
	case err == nil:
		maps.Copy(stored, inserted)
		return nil
	case !refusedData(err):
		return wrap("insert locations", err)
	case len(reports) == 1:
		refused[[2]string{reports[0].Source, reports[0].EventID}] = udaconnect.Invalid("data", "the report cannot be stored: %s", dataMessage(err))
		return nil
	}
	half := len(reports) / 2
	if err := db.insertReports(ctx, reports[:half], stored, refused); err != nil {
		return err
	}
	return db.insertReports(ctx, reports[half:], stored, refused)
}

// storeSQL inserts the reports not stored before and queues those it
// inserts for detection, one backlog row per zone, in the same statement: a
// report is stored if and only if it is queued (docs/design.md, "Meetings").
const storeSQL = `
		WITH r AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::float8[], $6::timestamptz[], $7::bytea[], $8::int[])
				WITH ORDINALITY AS r (event_source, event_id, person_id, latitude, longitude, creation_time, request_hash, zone, n)
		), stored AS (
			INSERT INTO location (event_source, event_id, person_id, coordinate, creation_time, request_hash)
			SELECT r.event_source, r.event_id, r.person_id, ST_MakePoint(r.longitude, r.latitude)::geography, r.creation_time, r.request_hash
			FROM r
			WHERE EXISTS (SELECT FROM person p WHERE p.id = r.person_id)
			ORDER BY r.n
			ON CONFLICT (event_source, event_id) DO NOTHING
			RETURNING event_source, event_id, request_hash, ` + locationColumns + `
		), queued AS (
			INSERT INTO detect_backlog (zone, location_ids)
			SELECT r.zone, array_agg(s.id ORDER BY s.id)
			FROM stored s JOIN r USING (event_source, event_id)
			GROUP BY r.zone
		)
		SELECT * FROM stored`

func collectStored(rows pgx.Rows, stored map[[2]string]storedLocation) error {
	var key [2]string
	var l storedLocation
	_, err := pgx.ForEachRow(rows, []any{&key[0], &key[1], &l.hash, &l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime}, func() error {
		l.CreationTime = l.CreationTime.UTC()
		stored[key] = l
		return nil
	})
	return err
}

// FindLocation returns the location with the given ID, or an ENOTFOUND error.
func (db *DB) FindLocation(ctx context.Context, id int64) (udaconnect.Location, error) {
	rows, _ := db.reads.Query(ctx, `SELECT `+locationColumns+` FROM location WHERE id = $1`, id)
	l, err := pgx.CollectExactlyOneRow(rows, scanLocation)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, udaconnect.Errorf(udaconnect.ENOTFOUND, "location %d not found", id)
	}
	if err != nil {
		return l, wrap("find location", err)
	}
	return l, nil
}

// FindLocations returns the reports of a person in [start, end), oldest
// first; a zero start or end leaves that side open. An unknown person is
// an ENOTFOUND error.
func (db *DB) FindLocations(ctx context.Context, personID int64, start, end time.Time) ([]udaconnect.Location, error) {
	rows, _ := db.reads.Query(ctx, `
		SELECT `+locationColumns+` FROM location
		WHERE person_id = $1
		  AND ($2::timestamptz IS NULL OR creation_time >= $2)
		  AND ($3::timestamptz IS NULL OR creation_time < $3)
		ORDER BY creation_time, id`,
		personID, nullTime(start), nullTime(end))
	locs, err := pgx.CollectRows(rows, scanLocation)
	if err != nil {
		return nil, wrap("find locations", err)
	}
	if len(locs) == 0 {
		// Nothing found: tell an unknown person from a quiet one.
		if _, err := db.FindPerson(ctx, personID); err != nil {
			return nil, err
		}
	}
	return locs, nil
}

func scanLocation(row pgx.CollectableRow) (udaconnect.Location, error) {
	var l udaconnect.Location
	err := row.Scan(&l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime)
	l.CreationTime = l.CreationTime.UTC()
	return l, err
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// EachLocation calls yield with each report of a person, oldest first, as
// the rows come from the database; an error of yield stops it.
func (db *DB) EachLocation(ctx context.Context, personID int64, yield func(udaconnect.Location) error) error {
	rows, _ := db.reads.Query(ctx, `
		SELECT `+locationColumns+` FROM location WHERE person_id = $1 ORDER BY creation_time, id`, personID)
	defer rows.Close()
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return wrap("export locations", err)
		}
		if err := yield(l); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("export locations", err)
	}
	return nil
}

// RetentionBatch is how many reports one statement of DeleteReportsBefore
// deletes: each is a short transaction of its own, so no lock is held long.
const RetentionBatch = 5000

// DeleteReportsBefore deletes the reports created before cutoff, oldest
// first, RetentionBatch at a time, and returns how many it deleted.
func (db *DB) DeleteReportsBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	var deleted int64
	for {
		tag, err := db.pool.Exec(ctx, `
			DELETE FROM location WHERE id IN (
				SELECT id FROM location WHERE creation_time < $1
				ORDER BY creation_time LIMIT $2)`, cutoff, RetentionBatch)
		if err != nil {
			return deleted, wrap("delete old reports", err)
		}
		deleted += tag.RowsAffected()
		if tag.RowsAffected() < RetentionBatch {
			return deleted, nil
		}
	}
}
