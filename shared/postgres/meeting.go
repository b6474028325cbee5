package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// MeetingChannel is the channel on which UpdateMeetings notifies the ids of
// the persons whose meetings changed, once committed.
const MeetingChannel = "meeting"

// UpdateMeetings brings the meetings up to date with the recorded locations
// ids, in one transaction, and returns the persons whose meetings changed:
//
//  1. the pairs of people the locations concern (a near report of another
//     person, or an open meeting of the reporter that they leave) are
//     locked, each under a transaction-level advisory lock, in one order,
//     so that replicas updating the same pair take turns;
//  2. each pair with a near report is recomputed over the time around the
//     new reports: its meetings within the window of them, and the near
//     pairs of reports in that span chained again into meetings. A meeting
//     keeps its id as it grows; two that a late report joins become the
//     older one, the other left pointing to it;
//  3. the open meetings of every pair locked that either person has since
//     reported past the window of are ended.
//
// The result depends on the reports only, not on the order in which they
// arrive; a location updated twice changes nothing the second time.
func (db *DB) UpdateMeetings(ctx context.Context, ids []int64) ([]int64, error) {
	var persons []int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, lockPairsSQL, ids, udaconnect.DetectDistance, udaconnect.DetectWindow)
		var as, bs []int64
		var a, b int64
		if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
			as, bs = append(as, a), append(bs, b)
			return nil
		}); err != nil {
			return fmt.Errorf("lock pairs: %w", err)
		}
		if len(as) == 0 {
			return nil
		}
		changed := map[int64]bool{}
		for _, step := range []struct {
			name, sql string
			args      []any
		}{
			{"recompute", recomputeSQL, []any{ids, udaconnect.DetectDistance, udaconnect.DetectWindow, as, bs}},
			{"end", endSQL, []any{udaconnect.DetectWindow, as, bs}},
		} {
			rows, _ := tx.Query(ctx, step.sql, step.args...)
			if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
				changed[a], changed[b] = true, true
				return nil
			}); err != nil {
				return fmt.Errorf("%s meetings: %w", step.name, err)
			}
		}
		for p := range changed {
			persons = append(persons, p)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, p::text) FROM unnest($2::bigint[]) AS p`, MeetingChannel, persons); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("update meetings", err)
	}
	return persons, nil
}

// lockPairsSQL locks and returns the pairs (a < b) that the locations $1
// concern: a report of another within the distance ($2) and window ($3) of
// one of them, or an open meeting of its person last seen more than the
// window before it. A pair's lock is one of 512 keys, its hash's: a batch at
// a crowded booth concerns thousands of pairs, which would fill PostgreSQL's
// table of locks; pairs that share a key take turns. The keys are locked in
// order (OFFSET 0 keeps the order below the calls), so that two transactions
// cannot deadlock, before any pair is returned.
const lockPairsSQL = `
		WITH new AS MATERIALIZED (
			SELECT id, person_id, coordinate, creation_time FROM location WHERE id = ANY($1)
		), pair AS MATERIALIZED (
			SELECT least(n.person_id, l.person_id) AS a, greatest(n.person_id, l.person_id) AS b
			FROM new n
			JOIN location l
			  ON l.coordinate && _ST_Expand(n.coordinate, $2)
			 AND l.creation_time BETWEEN n.creation_time - $3::interval AND n.creation_time + $3::interval
			 AND l.person_id <> n.person_id
			WHERE ST_Distance(l.coordinate, n.coordinate) <= $2
			UNION
			SELECT m.person_a, m.person_b FROM new n JOIN meeting m ON m.person_a = n.person_id
			WHERE m.merged_into IS NULL AND NOT m.ended AND m.last_seen < n.creation_time - $3::interval
			UNION
			SELECT m.person_a, m.person_b FROM new n JOIN meeting m ON m.person_b = n.person_id
			WHERE m.merged_into IS NULL AND NOT m.ended AND m.last_seen < n.creation_time - $3::interval
		)
		SELECT a, b FROM pair
		WHERE (SELECT count(pg_advisory_xact_lock(7371000100 + k))
			FROM (SELECT DISTINCT abs(hashtextextended(a || ' ' || b, 0)) % 512 AS k FROM pair ORDER BY k OFFSET 0) keys) >= 0`

// recomputeSQL recomputes the meetings of the locked pairs ($4, $5) around
// the locations $1 and returns the pairs of the meetings it changed:
//
//   - seed: for each pair, the times of its near pairs of reports that hold
//     a new location;
//   - span: those times widened by the window ($3) and by the meetings
//     within the window of them, which the new pairs may extend or join.
//     Every other meeting of the pair lies more than the window away, so
//     the near pairs in the span make its meetings whole;
//   - near: the near pairs of reports in the span, found through the
//     reports of each person in time (the box test only decides whether the
//     geodesic distance is worth computing: as a join condition it would
//     lead the planner to the spatial index and everyone's reports; and the
//     first person's reports are read for each pair, OFFSET 0, rather than
//     all of location hashed, which the planner would take for few pairs);
//     old: the stored meetings in it;
//   - island: both in time order, each a new meeting (n) when it starts
//     more than the window after every one before it ends. A stored meeting
//     spans near pairs that chain, so it falls in the meeting they make,
//     which keeps the lowest id of those it holds (keep);
//   - fresh: each meeting with its near pairs, from both reports of each
//     (endpoint): first and last, closest, and the centroid of its reports,
//     each once (the mean of their coordinates, in report order).
//
// Then the kept meetings that differ are updated, the fresh ones that hold
// none inserted, and the other stored ones merged into theirs. A stored
// meeting in a meeting without near pairs (its reports are gone) is deleted.
// Every step is a pass over sorted rows or a lookup by id: no step pairs
// meetings with meetings.
const recomputeSQL = `
		WITH new AS MATERIALIZED (
			SELECT id, person_id, coordinate, creation_time FROM location WHERE id = ANY($1)
		), seed AS MATERIALIZED (
			SELECT least(n.person_id, l.person_id) AS a, greatest(n.person_id, l.person_id) AS b,
				min(least(n.creation_time, l.creation_time)) AS lo, max(greatest(n.creation_time, l.creation_time)) AS hi
			FROM new n
			JOIN location l
			  ON l.coordinate && _ST_Expand(n.coordinate, $2)
			 AND l.creation_time BETWEEN n.creation_time - $3::interval AND n.creation_time + $3::interval
			 AND l.person_id <> n.person_id
			WHERE ST_Distance(l.coordinate, n.coordinate) <= $2
			GROUP BY 1, 2
		), span AS MATERIALIZED (
			SELECT s.a, s.b, least(s.lo - $3::interval, min(m.started)) AS first, greatest(s.hi + $3::interval, max(m.last_seen)) AS last
			FROM seed s
			JOIN unnest($4::bigint[], $5::bigint[]) AS k(a, b) ON k.a = s.a AND k.b = s.b
			LEFT JOIN meeting m
			  ON m.person_a = s.a AND m.person_b = s.b AND m.merged_into IS NULL
			 AND m.last_seen >= s.lo - $3::interval AND m.started <= s.hi + $3::interval
			GROUP BY s.a, s.b, s.lo, s.hi
		), near AS MATERIALIZED (
			SELECT sp.a, sp.b, la.id AS ia, lb.id AS ib, la.coordinate AS ca, lb.coordinate AS cb,
				least(la.creation_time, lb.creation_time) AS lo, greatest(la.creation_time, lb.creation_time) AS hi,
				d.distance
			FROM span sp
			CROSS JOIN LATERAL (SELECT id, coordinate, creation_time FROM location
				WHERE person_id = sp.a AND creation_time BETWEEN sp.first AND sp.last OFFSET 0) la
			JOIN location lb ON lb.person_id = sp.b AND lb.creation_time BETWEEN sp.first AND sp.last
			 AND lb.creation_time BETWEEN la.creation_time - $3::interval AND la.creation_time + $3::interval
			CROSS JOIN LATERAL (SELECT CASE WHEN lb.coordinate && _ST_Expand(la.coordinate, $2)
				THEN ST_Distance(la.coordinate, lb.coordinate) END AS distance) d
			WHERE d.distance <= $2
		), old AS MATERIALIZED (
			SELECT sp.a, sp.b, m.id, m.started, m.last_seen
			FROM span sp
			JOIN meeting m
			  ON m.person_a = sp.a AND m.person_b = sp.b AND m.merged_into IS NULL
			 AND m.last_seen >= sp.first AND m.started <= sp.last
		), chained AS (
			SELECT *, count(*) FILTER (WHERE gap) OVER (PARTITION BY a, b ORDER BY lo, hi, ia, ib, old_id) AS n
			FROM (SELECT *, lo > max(hi) OVER (PARTITION BY a, b ORDER BY lo, hi, ia, ib, old_id
					ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + $3::interval AS gap
				FROM (SELECT a, b, ia, ib, ca, cb, lo, hi, distance, NULL::bigint AS old_id FROM near
					UNION ALL
					SELECT a, b, NULL, NULL, NULL, NULL, started, last_seen, NULL, id FROM old) r) x
		), island AS MATERIALIZED (
			SELECT *, min(old_id) OVER w AS keep, count(ia) OVER w AS pairs
			FROM chained
			WINDOW w AS (PARTITION BY a, b, n)
		), endpoint AS (
			SELECT a, b, n, keep, ia AS id, ca AS c, lo, hi, distance FROM island WHERE ia IS NOT NULL
			UNION ALL
			SELECT a, b, n, keep, ib, cb, lo, hi, distance FROM island WHERE ia IS NOT NULL
		), fresh AS MATERIALIZED (
			SELECT a, b, n, min(keep) AS keep, min(lo) AS started, max(hi) AS last_seen, min(distance) AS closest_m,
				avg(ST_Y(c::geometry) ORDER BY id) FILTER (WHERE once) AS latitude,
				avg(ST_X(c::geometry) ORDER BY id) FILTER (WHERE once) AS longitude,
				EXISTS (SELECT FROM location l WHERE l.person_id = a AND l.creation_time > max(hi) + $3::interval)
				OR EXISTS (SELECT FROM location l WHERE l.person_id = b AND l.creation_time > max(hi) + $3::interval) AS ended
			FROM (SELECT *, row_number() OVER (PARTITION BY a, b, n, id) = 1 AS once FROM endpoint) e
			GROUP BY a, b, n
		), updated AS (
			UPDATE meeting m
			SET started = f.started, last_seen = f.last_seen, closest_m = f.closest_m,
				latitude = f.latitude, longitude = f.longitude, ended = f.ended, version = nextval('meeting_version')
			FROM fresh f
			WHERE m.id = f.keep
			  AND (m.started, m.last_seen, m.closest_m, m.latitude, m.longitude, m.ended)
			      IS DISTINCT FROM (f.started, f.last_seen, f.closest_m, f.latitude, f.longitude, f.ended)
			RETURNING m.person_a, m.person_b
		), inserted AS (
			INSERT INTO meeting (person_a, person_b, started, last_seen, closest_m, latitude, longitude, ended)
			SELECT a, b, started, last_seen, closest_m, latitude, longitude, ended
			FROM fresh WHERE keep IS NULL
			ORDER BY a, b, started
			RETURNING person_a, person_b
		), merged AS (
			UPDATE meeting m SET merged_into = i.keep, version = nextval('meeting_version')
			FROM island i
			WHERE m.id = i.old_id AND i.old_id <> i.keep AND i.pairs > 0
			RETURNING m.person_a, m.person_b
		), dropped AS (
			DELETE FROM meeting m USING island i
			WHERE m.id = i.old_id AND i.pairs = 0
			RETURNING m.person_a, m.person_b
		)
		SELECT * FROM updated UNION ALL SELECT * FROM inserted
		UNION ALL SELECT * FROM merged UNION ALL SELECT * FROM dropped`

// endSQL ends the open meetings of the locked pairs ($2, $3) that either
// person reported past the window ($1) of, and returns their pairs.
const endSQL = `
		UPDATE meeting m SET ended = true, version = nextval('meeting_version')
		FROM unnest($2::bigint[], $3::bigint[]) AS k(a, b)
		WHERE m.person_a = k.a AND m.person_b = k.b AND m.merged_into IS NULL AND NOT m.ended
		  AND (EXISTS (SELECT FROM location l WHERE l.person_id = m.person_a AND l.creation_time > m.last_seen + $1::interval)
		    OR EXISTS (SELECT FROM location l WHERE l.person_id = m.person_b AND l.creation_time > m.last_seen + $1::interval))
		RETURNING m.person_a, m.person_b`

// meetingColumns read a meeting as its person sees it, from a row of either
// side of the pair (see sides) joined to the other person as p.
const meetingColumns = `m.id, p.id, p.first_name, p.last_name, p.company_name, m.started, m.last_seen,
	m.closest_m, m.latitude, m.longitude, m.ended, m.version, coalesce(m.merged_into, 0)`

func scanMeeting(row pgx.CollectableRow) (udaconnect.Meeting, error) {
	var m udaconnect.Meeting
	p := &m.Person
	err := row.Scan(&m.ID, &p.ID, &p.FirstName, &p.LastName, &p.CompanyName, &m.Started, &m.LastSeen,
		&m.ClosestM, &m.Latitude, &m.Longitude, &m.Ended, &m.Version, &m.MergedInto)
	m.Started, m.LastSeen = m.Started.UTC(), m.LastSeen.UTC()
	m.DurationS = m.LastSeen.Sub(m.Started).Seconds()
	return m, err
}

// The far bounds of an open date range.
var (
	beginning = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	never     = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// FindMeetings returns a page of the meetings of q, newest first, through
// the indexes on (person, started) of either side of the pair. An unknown
// person is an ENOTFOUND error.
func (db *DB) FindMeetings(ctx context.Context, q udaconnect.MeetingQuery) ([]udaconnect.Meeting, error) {
	start, before := q.Start, q.After
	if start.IsZero() {
		start = beginning
	}
	if before.ID == 0 { // the first page: started before the end, any id
		before.Started = never
		if !q.End.IsZero() {
			before.Started = q.End
		}
	}
	rows, _ := db.reads.Query(ctx, `
		SELECT `+meetingColumns+`
		FROM (
			(SELECT *, person_b AS other FROM meeting
			 WHERE person_a = $1 AND merged_into IS NULL AND (started, id) < ($3, $4) AND last_seen >= $2
			 ORDER BY started DESC, id DESC LIMIT $5)
			UNION ALL
			(SELECT *, person_a AS other FROM meeting
			 WHERE person_b = $1 AND merged_into IS NULL AND (started, id) < ($3, $4) AND last_seen >= $2
			 ORDER BY started DESC, id DESC LIMIT $5)
		) m
		JOIN person p ON p.id = m.other
		ORDER BY m.started DESC, m.id DESC LIMIT $5`,
		q.PersonID, start, before.Started, before.ID, q.Limit)
	meetings, err := pgx.CollectRows(rows, scanMeeting)
	if err != nil {
		return nil, wrap("find meetings", err)
	}
	if len(meetings) == 0 {
		// Nothing found: tell an unknown person from one who met nobody.
		if _, err := db.FindPerson(ctx, q.PersonID); err != nil {
			return nil, err
		}
	}
	return meetings, nil
}

// FindMeetingChanges returns up to limit changes of personID's meetings
// after version, in the order they were made: each meeting once, as it is
// now, merged ones included.
func (db *DB) FindMeetingChanges(ctx context.Context, personID, version int64, limit int) ([]udaconnect.Meeting, error) {
	rows, _ := db.reads.Query(ctx, `
		SELECT `+meetingColumns+`
		FROM (
			(SELECT *, person_b AS other FROM meeting WHERE person_a = $1 AND version > $2 ORDER BY version LIMIT $3)
			UNION ALL
			(SELECT *, person_a AS other FROM meeting WHERE person_b = $1 AND version > $2 ORDER BY version LIMIT $3)
		) m
		JOIN person p ON p.id = m.other
		ORDER BY m.version LIMIT $3`,
		personID, version, limit)
	meetings, err := pgx.CollectRows(rows, scanMeeting)
	if err != nil {
		return nil, wrap("find meeting changes", err)
	}
	return meetings, nil
}

// MeetingVersion returns the version of personID's latest meeting change,
// 0 without one: where a live stream without a past starts.
func (db *DB) MeetingVersion(ctx context.Context, personID int64) (int64, error) {
	var v int64
	err := db.reads.QueryRow(ctx, `
		SELECT coalesce(max(version), 0) FROM (
			(SELECT version FROM meeting WHERE person_a = $1 ORDER BY version DESC LIMIT 1)
			UNION ALL
			(SELECT version FROM meeting WHERE person_b = $1 ORDER BY version DESC LIMIT 1)
		) v`, personID).Scan(&v)
	if err != nil {
		return 0, wrap("find meeting version", err)
	}
	return v, nil
}

// ListenMeetings calls changed with the id of each person whose meetings
// change, as UpdateMeetings commits them, on a connection of its own, until
// ctx ends or the connection fails; it returns why. ready is called once it
// listens.
func (db *DB) ListenMeetings(ctx context.Context, ready func(), changed func(personID int64)) error {
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return wrap("listen", err)
	}
	conn := pc.Hijack() // it listens until closed, never back in the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+MeetingChannel); err != nil {
		return wrap("listen", err)
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return wrap("listen", err)
		}
		if id, err := strconv.ParseInt(n.Payload, 10, 64); err == nil {
			changed(id)
		}
	}
}
