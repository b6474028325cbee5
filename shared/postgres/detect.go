package postgres

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
)

// Detection's storage (docs/design.md, "Meetings"): the backlog of stored
// reports each zone's detector has yet to apply, the detectors' snapshots,
// and the meetings they find. This package loads and stores; package detect
// decides who met whom.

// zoneLock is the first of the advisory lock keys of the zones, one each.
const zoneLock = 7_371_000_200

// A ZoneLease is a detection zone this process owns: a connection of its
// own that holds the zone's session-level advisory lock. Everything the
// owner reads and writes for the zone goes through it, so that a process
// that lost the zone (its connection gone, and the lock with it) can write
// nothing more. It is not safe for concurrent use.
type ZoneLease struct {
	conn *pgx.Conn
	zone int
	kept map[detect.Key]bool // the meetings whose rows are kept to undo since the checkpoint
}

// ClaimZone returns the lease of zone, or nil when another process holds
// it.
func (db *DB) ClaimZone(ctx context.Context, zone int) (*ZoneLease, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, wrap("claim zone", err)
	}
	var mine bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, zoneLock+zone).Scan(&mine); err != nil || !mine {
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, wrap("claim zone", err)
		}
		return nil, nil
	}
	return &ZoneLease{conn: conn, zone: zone, kept: map[detect.Key]bool{}}, nil
}

// Zone is the number of the zone leased.
func (z *ZoneLease) Zone() int { return z.zone }

// Close gives the zone up: it unlocks the zone before it closes the
// connection, so that another process may claim it at once (a server
// releases a closed connection's locks only as its backend exits). A
// connection already lost holds nothing.
func (z *ZoneLease) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	z.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, zoneLock+z.zone)
	z.conn.Close(ctx)
}

// closeTimeout bounds the unlock and the goodbye of ZoneLease.Close.
const closeTimeout = 5 * time.Second

// State returns the zone's detector as its last checkpoint saved it, nil
// before the first.
func (z *ZoneLease) State(ctx context.Context) ([]byte, error) {
	var state []byte
	err := z.conn.QueryRow(ctx, `SELECT state FROM detect_state WHERE zone = $1`, z.zone).Scan(&state)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, wrap("read detection state", err)
	}
	return state, nil
}

// A BacklogRow is a group of stored locations queued for detection, and
// when it was queued.
type BacklogRow struct {
	ID        int64
	Locations []int64
	Recorded  time.Time
}

// Backlog returns the zone's oldest rows but those applied, of at most
// maxReports locations in all (at least one row). Rows commit out of the
// order of their ids, so the rows already applied are named rather than
// passed by a cursor.
func (z *ZoneLease) Backlog(ctx context.Context, applied []int64, maxReports int) ([]BacklogRow, error) {
	rows, _ := z.conn.Query(ctx, `
		SELECT id, location_ids, recorded FROM (
			SELECT *, sum(cardinality(location_ids)) OVER (ORDER BY id) - cardinality(location_ids) AS before
			FROM (SELECT * FROM detect_backlog WHERE zone = $1 AND id <> ALL(coalesce($2::bigint[], '{}')) ORDER BY id LIMIT $3) b
		) b
		WHERE before = 0 OR before + cardinality(location_ids) <= $3
		ORDER BY id`, z.zone, applied, maxReports)
	backlog, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (BacklogRow, error) {
		var b BacklogRow
		err := row.Scan(&b.ID, &b.Locations, &b.Recorded)
		return b, err
	})
	if err != nil {
		return nil, wrap("read detection backlog", err)
	}
	return backlog, nil
}

// reportColumns read a location row as detection wants it.
const reportColumns = `id, person_id, creation_time, ST_Y(coordinate::geometry), ST_X(coordinate::geometry)`

func scanReport(row pgx.CollectableRow) (detect.Report, error) {
	var r detect.Report
	err := row.Scan(&r.ID, &r.Person, &r.Time, &r.Lat, &r.Lon)
	r.Time = r.Time.UTC()
	return r, err
}

// Reports returns the locations ids that are still stored.
func (z *ZoneLease) Reports(ctx context.Context, ids []int64) ([]detect.Report, error) {
	rows, _ := z.conn.Query(ctx, `SELECT `+reportColumns+` FROM location WHERE id = ANY($1)`, ids)
	reports, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return nil, wrap("read reports to detect", err)
	}
	return reports, nil
}

// History is the record a detector of the zone consults for late reports
// (detect.History): the stored reports, from every zone, and the stored
// meetings.
func (z *ZoneLease) History() detect.History { return history{z.conn} }

type history struct{ conn *pgx.Conn }

// Reports finds the persons' reports through (person_id, creation_time) and
// those near the points through the GiST index on (coordinate,
// creation_time), the distance on the spheroid as everywhere.
func (h history) Reports(ctx context.Context, from, to time.Time, persons []int64, points []detect.Point, radius float64) ([]detect.Report, error) {
	lats, lons := make([]float64, len(points)), make([]float64, len(points))
	for i, p := range points {
		lats[i], lons[i] = p.Lat, p.Lon
	}
	rows, _ := h.conn.Query(ctx, `
		SELECT `+reportColumns+` FROM location WHERE person_id = ANY($3) AND creation_time BETWEEN $1 AND $2
		UNION
		SELECT l.id, l.person_id, l.creation_time, ST_Y(l.coordinate::geometry), ST_X(l.coordinate::geometry)
		FROM unnest($4::float8[], $5::float8[]) AS p(lat, lon)
		JOIN location l ON ST_DWithin(l.coordinate, ST_MakePoint(p.lon, p.lat)::geography, $6)
		 AND l.creation_time BETWEEN $1 AND $2`,
		from, to, persons, lats, lons, radius)
	reports, err := pgx.CollectRows(rows, scanReport)
	if err != nil {
		return nil, wrap("read past reports", err)
	}
	return reports, nil
}

// Meetings reads the meetings of person, of either side of the pair,
// through the indexes on (person, started).
func (h history) Meetings(ctx context.Context, person int64, from, to time.Time) ([]detect.Meeting, error) {
	rows, _ := h.conn.Query(ctx, `
		SELECT person_a, person_b, started, last_seen, together_s, closest_m, latitude, longitude, ended FROM meeting
		WHERE (person_a = $1 OR person_b = $1) AND merged_into IS NULL AND started <= $3 AND last_seen >= $2`,
		person, from, to)
	meetings, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (detect.Meeting, error) {
		var m detect.Meeting
		var together float64
		err := row.Scan(&m.A, &m.B, &m.Started, &m.LastSeen, &together, &m.ClosestM, &m.Lat, &m.Lon, &m.Ended)
		m.Started, m.LastSeen = m.Started.UTC(), m.LastSeen.UTC()
		m.Together = time.Duration(math.Round(together * float64(time.Second)))
		return m, err
	})
	if err != nil {
		return nil, wrap("read past meetings", err)
	}
	return meetings, nil
}

// MeetingChanges are what a zone's owner writes of the detector's changes
// at a time: meetings upserted by key; meetings it wrote open that only grew
// since; meetings removed; and the starts to announce.
type MeetingChanges struct {
	Upserted, Grown []detect.Meeting
	Removed         []detect.Removed
	Starts          []detect.Start
}

// WriteMeetings stores the changes in one transaction: each meeting
// upserted by its key (pair and start); each grown one, which this lease
// wrote open and which only grew since (later last seen, more time
// together, closer, its centroid moved), updated in place if its row is
// still there and open (a person deleted meanwhile took it along); then
// each removed one made a tombstone pointing to the meeting it became part
// of (given, or the pair's meeting that now overlaps it: it moved its
// start) or, without one, deleted. A meeting that starts, ends or changes
// its end, merges or goes takes a new version and notifies MeetingChannel
// of its two persons; one that only grows keeps its version and its row's
// indexed columns, so that PostgreSQL updates it in place. Writing the same
// changes twice changes nothing the second time.
//
// The rows as they were before their first change since the checkpoint are
// kept (detect_undo), for Undo. The meetings of starts that are stored are
// queued to be announced, in the same transaction, each event once while it
// waits (Announce).
func (z *ZoneLease) WriteMeetings(ctx context.Context, c MeetingChanges) error {
	// A meeting's row is kept once, at its first change since the
	// checkpoint: later changes would keep nothing more.
	var keep []detect.Key
	for _, m := range slices.Concat(c.Upserted, c.Grown) {
		if !z.kept[m.Key] {
			keep = append(keep, m.Key)
		}
	}
	for _, r := range c.Removed {
		if !z.kept[r.Key] {
			keep = append(keep, r.Key)
		}
	}
	var batch pgx.Batch
	batch.Queue(`BEGIN`)
	queueMeetings(&batch, &z.zone, keep, c)
	batch.Queue(`COMMIT`)
	if err := sendTx(ctx, z.conn, &batch, "write meetings"); err != nil {
		return err
	}
	for _, k := range keep {
		z.kept[k] = true
	}
	return nil
}

// WriteMeetings is ZoneLease.WriteMeetings outside any zone, every meeting
// upserted, with nothing kept to undo: for meetings worked out elsewhere,
// such as a test's known answer.
func (db *DB) WriteMeetings(ctx context.Context, upserted []detect.Meeting, removed []detect.Removed) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return wrap("write meetings", err)
	}
	defer conn.Release()
	var batch pgx.Batch
	batch.Queue(`BEGIN`)
	queueMeetings(&batch, nil, nil, MeetingChanges{Upserted: upserted, Removed: removed})
	batch.Queue(`COMMIT`)
	return sendTx(ctx, conn.Conn(), &batch, "write meetings")
}

// queueMeetings queues the statements that write c, with a zone the rows of
// keep as they are first (keepSQL) and the rows it inserts as inserted.
func queueMeetings(batch *pgx.Batch, zone *int, keep []detect.Key, c MeetingChanges) {
	// Statements of at most writeChunk meetings, none near the statement
	// timeout however many changed.
	for chunk := range slices.Chunk(keep, writeChunk) {
		n := len(chunk)
		as, bs, starts := make([]int64, n), make([]int64, n), make([]time.Time, n)
		for i, k := range chunk {
			as[i], bs[i], starts[i] = k.A, k.B, k.Started
		}
		batch.Queue(keepSQL, *zone, as, bs, starts)
	}
	for chunk := range slices.Chunk(c.Upserted, writeChunk) {
		batch.Queue(upsertSQL, append(meetingArrays(chunk), MeetingChannel, zone)...)
	}
	for chunk := range slices.Chunk(c.Grown, writeChunk) {
		batch.Queue(growSQL, meetingArrays(chunk)...)
	}
	for chunk := range slices.Chunk(c.Removed, writeChunk) {
		n := len(chunk)
		as, bs, starts, intos := make([]int64, n), make([]int64, n), make([]time.Time, n), make([]*time.Time, n)
		for i, r := range chunk {
			as[i], bs[i], starts[i] = r.A, r.B, r.Started
			if r.Into != nil {
				intos[i] = &r.Into.Started
			}
		}
		batch.Queue(removeSQL, as, bs, starts, intos, MeetingChannel)
	}
	for chunk := range slices.Chunk(c.Starts, writeChunk) {
		queueStarts(batch, chunk)
	}
}

// sendTx runs a batch that is one transaction (BEGIN … COMMIT), and rolls
// it back after a failed statement.
func sendTx(ctx context.Context, conn *pgx.Conn, batch *pgx.Batch, what string) error {
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`) // nothing if the connection is gone
		return wrap(what, err)
	}
	return nil
}

// meetingArrays are the meetings as the arrays of upsertSQL's and
// growSQL's first nine parameters, a column each.
func meetingArrays(meetings []detect.Meeting) []any {
	n := len(meetings)
	as, bs, starts, lasts := make([]int64, n), make([]int64, n), make([]time.Time, n), make([]time.Time, n)
	together, closest, lats, lons, ended := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n)
	for i, m := range meetings {
		as[i], bs[i], starts[i], lasts[i] = m.A, m.B, m.Started, m.LastSeen
		together[i], closest[i], lats[i], lons[i], ended[i] = m.Together.Seconds(), m.ClosestM, m.Lat, m.Lon, m.Ended
	}
	return []any{as, bs, starts, lasts, together, closest, lats, lons, ended}
}

// writeChunk bounds the meetings of one statement of writeMeetings.
const writeChunk = 5000

// keepSQL keeps the rows of the keys ($2, $3, $4) as they are now, unless
// kept since the zone's ($1) checkpoint.
const keepSQL = `
		INSERT INTO detect_undo (zone, meeting_id, before)
		SELECT $1, m.id, to_jsonb(m)
		FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[]) AS k(person_a, person_b, started)
		CROSS JOIN LATERAL (
			SELECT * FROM meeting m
			WHERE (m.person_a, m.person_b, m.started) = (k.person_a, k.person_b, k.started) AND m.merged_into IS NULL
			LIMIT 1
		) m
		ON CONFLICT (zone, meeting_id) DO NOTHING`

// upsertSQL writes the meetings by key, but those of a person deleted since
// their reports were detected. changed reads the rows as they were before
// the statement (its snapshot), each through the key's index (a lateral
// join, not flattened for its LIMIT, whatever the table's statistics say),
// to tell those whose
// end changed (or that are new) from those that only grew, without joining
// the rows written. With a zone ($11), the rows it inserts are kept as
// inserted, for Undo.
const upsertSQL = `
		WITH m AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::bool[])
				AS m(person_a, person_b, started, last_seen, together_s, closest_m, latitude, longitude, ended)
		), written AS (
			INSERT INTO meeting AS t (person_a, person_b, started, last_seen, together_s, closest_m, latitude, longitude, ended)
			SELECT * FROM m
			WHERE EXISTS (SELECT FROM person p WHERE p.id = m.person_a) AND EXISTS (SELECT FROM person p WHERE p.id = m.person_b)
			ON CONFLICT (person_a, person_b, started) WHERE merged_into IS NULL DO UPDATE SET
				last_seen = excluded.last_seen, together_s = excluded.together_s, closest_m = excluded.closest_m,
				latitude = excluded.latitude, longitude = excluded.longitude, ended = excluded.ended,
				version = CASE WHEN t.ended = excluded.ended THEN t.version ELSE nextval('meeting_version') END
			WHERE (t.last_seen, t.together_s, t.closest_m, t.latitude, t.longitude, t.ended)
				IS DISTINCT FROM (excluded.last_seen, excluded.together_s, excluded.closest_m, excluded.latitude, excluded.longitude, excluded.ended)
			RETURNING t.id, t.xmax = 0 AS inserted
		), kept AS (
			INSERT INTO detect_undo (zone, meeting_id)
			SELECT $11, id FROM written WHERE inserted AND $11::int IS NOT NULL
			ON CONFLICT (zone, meeting_id) DO NOTHING
		), changed AS (
			SELECT m.person_a, m.person_b FROM m
			LEFT JOIN LATERAL (
				SELECT o.ended FROM meeting o
				WHERE (o.person_a, o.person_b, o.started) = (m.person_a, m.person_b, m.started) AND o.merged_into IS NULL
				LIMIT 1
			) o ON true
			WHERE o.ended IS DISTINCT FROM m.ended
		)
		SELECT count(pg_notify($10, p::text))
		FROM (SELECT person_a FROM changed UNION SELECT person_b FROM changed) c(p)`

// growSQL writes meetings that only grew since this lease wrote them open:
// each row is found through the key's index (a lateral join, not flattened
// for its LIMIT), then updated by its ctid, so that the plan stays one
// probe a meeting however full the table (joined on the key, it turns to
// reading every open meeting). A row gone (a person deleted meanwhile),
// merged or ended is left alone, and one already as written is not
// rewritten. No person is read, no version taken, nothing notified. $9
// (ended) is not used: a grown meeting is open.
const growSQL = `
		UPDATE meeting t SET last_seen = g.last_seen, together_s = g.together_s, closest_m = g.closest_m,
			latitude = g.latitude, longitude = g.longitude
		FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::bool[])
			AS g(person_a, person_b, started, last_seen, together_s, closest_m, latitude, longitude, ended)
		CROSS JOIN LATERAL (
			SELECT o.ctid FROM meeting o
			WHERE (o.person_a, o.person_b, o.started) = (g.person_a, g.person_b, g.started) AND o.merged_into IS NULL AND NOT o.ended
			LIMIT 1
		) o
		WHERE t.ctid = o.ctid AND t.merged_into IS NULL AND NOT t.ended
		  AND (t.last_seen, t.together_s, t.closest_m, t.latitude, t.longitude)
			IS DISTINCT FROM (g.last_seen, g.together_s, g.closest_m, g.latitude, g.longitude)`

// removeSQL makes tombstones of the meetings removed, or deletes them.
const removeSQL = `
		WITH r AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS r(a, b, started, into_started)
		), gone AS (
			SELECT g.id, coalesce(i.id, o.id) AS into_id
			FROM r
			JOIN meeting g ON (g.person_a, g.person_b, g.started) = (r.a, r.b, r.started) AND g.merged_into IS NULL
			LEFT JOIN meeting i ON (i.person_a, i.person_b, i.started) = (r.a, r.b, r.into_started) AND i.merged_into IS NULL
			LEFT JOIN LATERAL (
				SELECT o.id FROM meeting o
				WHERE o.person_a = r.a AND o.person_b = r.b AND o.merged_into IS NULL AND o.id <> g.id
				  AND o.started <= g.last_seen AND o.last_seen >= g.started
				  AND NOT EXISTS (SELECT FROM r x WHERE (x.a, x.b, x.started) = (o.person_a, o.person_b, o.started))
				ORDER BY o.started LIMIT 1
			) o ON r.into_started IS NULL
		), merged AS (
			UPDATE meeting t SET merged_into = gone.into_id, version = nextval('meeting_version')
			FROM gone WHERE t.id = gone.id AND gone.into_id IS NOT NULL
			RETURNING t.person_a, t.person_b
		), deleted AS (
			DELETE FROM meeting t USING gone WHERE t.id = gone.id AND gone.into_id IS NULL
			RETURNING t.person_a, t.person_b
		), changed AS (
			SELECT * FROM merged UNION ALL SELECT * FROM deleted
		)
		SELECT count(pg_notify($5, p::text))
		FROM (SELECT person_a FROM changed UNION SELECT person_b FROM changed) c(p)`

// Undo puts the meetings that the zone's owner wrote since its checkpoint
// back as they were then, each with a new version: what a new owner does
// before it restores the checkpoint. The rows it inserted are first made
// tombstones of themselves, out of the way of the rows put back, then
// deleted.
func (z *ZoneLease) Undo(ctx context.Context) error {
	var batch pgx.Batch
	batch.Queue(`BEGIN`)
	batch.Queue(`
		UPDATE meeting m SET merged_into = m.id
		FROM detect_undo u WHERE u.zone = $1 AND u.before IS NULL AND m.id = u.meeting_id`, z.zone)
	batch.Queue(`
		UPDATE meeting m SET person_a = b.person_a, person_b = b.person_b, started = b.started, last_seen = b.last_seen,
			together_s = b.together_s, closest_m = b.closest_m, latitude = b.latitude, longitude = b.longitude,
			ended = b.ended, merged_into = b.merged_into, version = nextval('meeting_version')
		FROM detect_undo u CROSS JOIN LATERAL jsonb_populate_record(NULL::meeting, u.before) b
		WHERE u.zone = $1 AND u.before IS NOT NULL AND m.id = u.meeting_id`, z.zone)
	batch.Queue(`
		INSERT INTO meeting (id, person_a, person_b, started, last_seen, together_s, closest_m, latitude, longitude, ended, merged_into)
		SELECT b.id, b.person_a, b.person_b, b.started, b.last_seen, b.together_s, b.closest_m, b.latitude, b.longitude, b.ended, b.merged_into
		FROM detect_undo u CROSS JOIN LATERAL jsonb_populate_record(NULL::meeting, u.before) b
		WHERE u.zone = $1 AND u.before IS NOT NULL
		  AND NOT EXISTS (SELECT FROM meeting m WHERE m.id = u.meeting_id)
		  AND EXISTS (SELECT FROM person p WHERE p.id = b.person_a) AND EXISTS (SELECT FROM person p WHERE p.id = b.person_b)
		  AND (b.merged_into IS NULL OR EXISTS (SELECT FROM meeting i WHERE i.id = b.merged_into))
		ORDER BY b.merged_into NULLS FIRST`, z.zone)
	batch.Queue(`
		WITH gone AS (
			DELETE FROM meeting m USING detect_undo u WHERE u.zone = $1 AND u.before IS NULL AND m.id = u.meeting_id
			RETURNING m.person_a, m.person_b
		), undone AS (
			DELETE FROM detect_undo u WHERE u.zone = $1
			RETURNING (u.before->>'person_a')::bigint AS person_a, (u.before->>'person_b')::bigint AS person_b
		), changed AS (
			SELECT * FROM gone UNION ALL SELECT * FROM undone WHERE person_a IS NOT NULL
		)
		SELECT count(pg_notify($2, p::text))
		FROM (SELECT person_a FROM changed UNION SELECT person_b FROM changed) c(p)`, z.zone, MeetingChannel)
	batch.Queue(`COMMIT`)
	if err := sendTx(ctx, z.conn, &batch, "undo meetings"); err != nil {
		return err
	}
	clear(z.kept)
	return nil
}

// Checkpoint writes the last changes, saves state as the zone's detector
// (every change applied in it, c included), and deletes the backlog rows
// applied to it and what was kept to undo, in one transaction: after a
// crash, the meetings are as this state saw them, or as the checkpoint
// before saw them once undone, and the detector is that state plus the
// rows left. So c's rows are not kept to undo: were the transaction lost,
// so would they be.
func (z *ZoneLease) Checkpoint(ctx context.Context, c MeetingChanges, state []byte, applied []int64) error {
	var batch pgx.Batch
	batch.Queue(`BEGIN`)
	queueMeetings(&batch, nil, nil, c)
	batch.Queue(`
		INSERT INTO detect_state (zone, state, saved) VALUES ($1, $2, now())
		ON CONFLICT (zone) DO UPDATE SET state = excluded.state, saved = excluded.saved`, z.zone, state)
	batch.Queue(`DELETE FROM detect_backlog WHERE zone = $1 AND id = ANY($2)`, z.zone, applied)
	batch.Queue(`DELETE FROM detect_undo WHERE zone = $1`, z.zone)
	batch.Queue(`COMMIT`)
	if err := sendTx(ctx, z.conn, &batch, "checkpoint detection"); err != nil {
		return err
	}
	clear(z.kept)
	return nil
}

// Publish records how current the zone's detector is, for the detection
// route, and returns the zone's backlog: the locations in rows not yet
// applied, and when the oldest of those rows was recorded (zero without).
func (z *ZoneLease) Publish(ctx context.Context, current time.Time, applied []int64) (int64, time.Time, error) {
	var backlog int64
	var oldest *time.Time
	var currentTo *time.Time
	if !current.IsZero() {
		currentTo = &current
	}
	err := z.conn.QueryRow(ctx, `
		INSERT INTO detect_state (zone, current_to, backlog_reports, oldest, reported)
		SELECT $1, $2, coalesce(sum(cardinality(location_ids)), 0), min(recorded), now()
		FROM detect_backlog WHERE zone = $1 AND id <> ALL(coalesce($3::bigint[], '{}'))
		ON CONFLICT (zone) DO UPDATE SET current_to = excluded.current_to, backlog_reports = excluded.backlog_reports,
			oldest = excluded.oldest, reported = excluded.reported
		RETURNING backlog_reports, oldest`, z.zone, currentTo, applied).Scan(&backlog, &oldest)
	if err != nil {
		return 0, time.Time{}, wrap("publish detection", err)
	}
	if oldest == nil {
		return backlog, time.Time{}, nil
	}
	return backlog, *oldest, nil
}

// Detection tells how current the meetings are, from what each zone's owner
// last published.
func (db *DB) Detection(ctx context.Context) (udaconnect.Detection, error) {
	var d udaconnect.Detection
	var current *time.Time
	err := db.reads.QueryRow(ctx, `
		SELECT min(current_to), coalesce(sum(backlog_reports), 0),
			coalesce(extract(epoch FROM now() - min(oldest))::float8, 0)
		FROM detect_state`).Scan(&current, &d.BacklogReports, &d.LagS)
	if err != nil {
		return d, wrap("read detection", err)
	}
	if current != nil {
		t := current.UTC()
		d.CurrentTo = &t
	}
	d.LagS = max(d.LagS, 0)
	return d, nil
}

func location(r detect.Report) udaconnect.Location {
	return udaconnect.Location{ID: r.ID, PersonID: r.Person, Latitude: r.Lat, Longitude: r.Lon, CreationTime: r.Time}
}
