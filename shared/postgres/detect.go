package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// DetectMeetings brings the meetings up to date with the recorded locations
// ids and returns the persons whose meetings changed and the meetings that
// the locations start, in one transaction that searches around each
// location once:
//
//  1. the reports of others within udaconnect.DetectDistance metres and
//     udaconnect.DetectWindow of each location are found; the pairs of
//     people they make, and those of the open meetings of the reporter that
//     they leave, are locked, each under a transaction-level advisory lock,
//     in one order, so that replicas updating the same pair take turns;
//  2. each pair with a near report is recomputed over the time around its
//     near reports: its meetings within the window of them, and the near
//     pairs of reports in that span chained again into meetings. A meeting
//     keeps its id as it grows; two that a late report joins become the
//     older one, the other left pointing to it;
//  3. the open meetings of every pair locked that either person has since
//     reported past the window of are ended.
//
// A meeting starts at a location for every other person with a report near
// it (the closest such report) unless the two were already that near at the
// person's previous report, in the window before it. The starts are ordered
// by location, then other person; an id that is not a location finds
// nothing.
//
// The meetings depend on the reports only, not on the order in which they
// arrive nor on how they are grouped; a location detected twice changes
// nothing the second time.
func (db *DB) DetectMeetings(ctx context.Context, ids []int64) ([]int64, []udaconnect.MeetingStart, error) {
	return db.detect(ctx, ids, true)
}

// UpdateMeetings is DetectMeetings without the starts: what loading past
// reports needs.
func (db *DB) UpdateMeetings(ctx context.Context, ids []int64) ([]int64, error) {
	changed, _, err := db.detect(ctx, ids, false)
	return changed, err
}

func (db *DB) detect(ctx context.Context, ids []int64, withStarts bool) ([]int64, []udaconnect.MeetingStart, error) {
	var persons []int64
	var starts []udaconnect.MeetingStart
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, querySettings); err != nil {
			return err
		}
		var near pairs
		var found starters
		rows, _ := tx.Query(ctx, nearSQL, ids, udaconnect.DetectDistance, udaconnect.DetectWindow, withStarts)
		var a, b, newID, nearID *int64
		var lo, hi *time.Time
		var distance *float64
		if _, err := pgx.ForEachRow(rows, []any{&a, &b, &lo, &hi, &newID, &nearID, &distance}, func() error {
			if a != nil {
				near.add(*a, *b, lo, hi)
			} else {
				found.newIDs, found.nearIDs, found.distances = append(found.newIDs, *newID), append(found.nearIDs, *nearID), append(found.distances, *distance)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		if len(near.as) > 0 {
			changed := map[int64]bool{}
			for _, step := range []struct {
				name, sql string
				args      []any
			}{
				{"recompute", recomputeSQL, []any{udaconnect.DetectDistance, udaconnect.DetectWindow, near.as, near.bs, near.los, near.his}},
				{"end", endSQL, []any{udaconnect.DetectWindow, near.as, near.bs}},
			} {
				rows, _ := tx.Query(ctx, step.sql, step.args...)
				var a, b int64
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
		}
		if len(found.newIDs) == 0 {
			return nil
		}
		var err error
		starts, err = found.read(ctx, tx)
		return err
	})
	if err != nil {
		return nil, nil, wrap("detect meetings", err)
	}
	return persons, starts, nil
}

// pairs are the pairs of people (a < b) locked, with the times of their
// near pairs of reports, lo to hi; without near reports (an open meeting to
// end) lo and hi are NULL.
type pairs struct {
	as, bs   []int64
	los, his []*time.Time
}

func (p *pairs) add(a, b int64, lo, hi *time.Time) {
	p.as, p.bs, p.los, p.his = append(p.as, a), append(p.bs, b), append(p.los, lo), append(p.his, hi)
}

// starters are the meetings that start: at location newIDs[i], with the
// report nearIDs[i] of the other person, distances[i] metres away.
type starters struct {
	newIDs, nearIDs []int64
	distances       []float64
}

// read reads the meetings that start, with their people.
func (s starters) read(ctx context.Context, tx pgx.Tx) ([]udaconnect.MeetingStart, error) {
	rows, _ := tx.Query(ctx, `
		SELECT n.id, n.person_id, ST_Y(n.coordinate::geometry), ST_X(n.coordinate::geometry), n.creation_time,
			p.first_name, p.last_name, p.company_name,
			x.id, x.person_id, ST_Y(x.coordinate::geometry), ST_X(x.coordinate::geometry), x.creation_time,
			o.first_name, o.last_name, o.company_name,
			s.distance
		FROM unnest($1::bigint[], $2::bigint[], $3::float8[]) AS s(new_id, near_id, distance)
		JOIN location n ON n.id = s.new_id
		JOIN location x ON x.id = s.near_id
		JOIN person p ON p.id = n.person_id
		JOIN person o ON o.id = x.person_id
		ORDER BY n.id, x.person_id`, s.newIDs, s.nearIDs, s.distances)
	var m udaconnect.MeetingStart
	l, n, p, o := &m.Location, &m.Near, &m.Person, &m.Other
	var starts []udaconnect.MeetingStart
	_, err := pgx.ForEachRow(rows, []any{
		&l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime, &p.FirstName, &p.LastName, &p.CompanyName,
		&n.ID, &n.PersonID, &n.Latitude, &n.Longitude, &n.CreationTime, &o.FirstName, &o.LastName, &o.CompanyName,
		&m.Distance,
	}, func() error {
		l.CreationTime, n.CreationTime = l.CreationTime.UTC(), n.CreationTime.UTC()
		p.ID, o.ID = l.PersonID, n.PersonID
		starts = append(starts, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read meeting starts: %w", err)
	}
	return starts, nil
}

// nearSQL searches around the locations $1 once, for the distance ($2) and
// window ($3), and returns two kinds of rows:
//
//   - the pairs (a, b) that the locations concern, each locked, with the
//     times lo to hi of their near pairs of reports that hold a location:
//     the near reports, and with NULL times the open meetings of a person
//     of a location last seen more than the window before it;
//   - when $4, the meetings that start (new_id, near_id, distance): for
//     each location and other person near it, unless the two were near at
//     the person's previous report (together), the closest report.
//
// near finds the reports of others through the GiST index on (coordinate,
// creation_time), the box test written out (&& _ST_Expand, what ST_DWithin
// does inside). The geodesic distance on the spheroid decides, as
// everywhere; it is computed only near the threshold: the distance on the
// sphere is within 0.6 % of it for points metres apart (the radii of
// curvature of WGS84 are 0.9944 to 1.0045 times the sphere's mean radius),
// so a pair within 0.99 times the distance on the sphere is within it on
// the spheroid, and one beyond 1.01 times is not. together looks for the
// other person's reports around the previous one, by person and time. The
// distance of a start is the spheroid's, and its report the closest by it.
//
// A pair's lock is one of 512 keys, its hash's: a batch at a crowded booth
// concerns thousands of pairs, which would fill PostgreSQL's table of locks;
// pairs that share a key take turns. The keys are locked in order (OFFSET 0
// keeps the order below the calls), so that two transactions cannot
// deadlock, before any row is returned.
const nearSQL = `
		WITH new AS MATERIALIZED (
			SELECT id, person_id, coordinate, creation_time FROM location WHERE id = ANY($1)
		), near AS MATERIALIZED (
			SELECT n.id AS new_id, n.person_id AS new_person, n.creation_time AS new_time,
				l.id, l.person_id, l.coordinate, l.creation_time
			FROM new n
			JOIN location l
			  ON l.coordinate && _ST_Expand(n.coordinate, $2)
			 AND l.creation_time BETWEEN n.creation_time - $3::interval AND n.creation_time + $3::interval
			 AND l.person_id <> n.person_id
			CROSS JOIN LATERAL (SELECT ST_Distance(l.coordinate, n.coordinate, false) AS sphere OFFSET 0) d
			WHERE d.sphere <= $2 * 0.99 OR (d.sphere <= $2 * 1.01 AND ST_Distance(l.coordinate, n.coordinate) <= $2)
		), pair AS MATERIALIZED (
			SELECT a, b, min(lo) AS lo, max(hi) AS hi
			FROM (
				SELECT least(new_person, person_id) AS a, greatest(new_person, person_id) AS b,
					least(new_time, creation_time) AS lo, greatest(new_time, creation_time) AS hi
				FROM near
				UNION ALL
				SELECT m.person_a, m.person_b, NULL, NULL FROM new n JOIN meeting m ON m.person_a = n.person_id
				WHERE m.merged_into IS NULL AND NOT m.ended AND m.last_seen < n.creation_time - $3::interval
				UNION ALL
				SELECT m.person_a, m.person_b, NULL, NULL FROM new n JOIN meeting m ON m.person_b = n.person_id
				WHERE m.merged_into IS NULL AND NOT m.ended AND m.last_seen < n.creation_time - $3::interval
			) p
			GROUP BY a, b
		), locked AS MATERIALIZED (
			SELECT count(pg_advisory_xact_lock(7371000100 + k))
			FROM (SELECT DISTINCT abs(hashtextextended(a || ' ' || b, 0)) % 512 AS k FROM pair ORDER BY k OFFSET 0) keys
		), candidate AS MATERIALIZED (
			SELECT DISTINCT new_id, new_person, new_time, person_id FROM near WHERE $4
		), together AS MATERIALIZED (
			SELECT c.new_id, c.person_id
			FROM candidate c
			CROSS JOIN LATERAL (
				SELECT coordinate, creation_time FROM location
				WHERE person_id = c.new_person
				  AND creation_time >= c.new_time - $3::interval AND creation_time < c.new_time
				ORDER BY creation_time DESC, id DESC LIMIT 1
			) e
			WHERE EXISTS (SELECT FROM location l
				WHERE l.person_id = c.person_id
				  AND l.creation_time BETWEEN e.creation_time - $3::interval AND e.creation_time + $3::interval
				  AND _ST_DWithin(l.coordinate, e.coordinate, $2))
		), start AS (
			SELECT DISTINCT ON (x.new_id, x.person_id) x.new_id, x.id, d.distance
			FROM near x
			JOIN new n ON n.id = x.new_id
			CROSS JOIN LATERAL (SELECT ST_Distance(x.coordinate, n.coordinate) AS distance OFFSET 0) d
			WHERE $4 AND NOT EXISTS (SELECT FROM together t WHERE t.new_id = x.new_id AND t.person_id = x.person_id)
			ORDER BY x.new_id, x.person_id, d.distance, x.id
		)
		SELECT a, b, lo, hi, NULL::bigint, NULL::bigint, NULL::float8 FROM locked, pair
		UNION ALL
		SELECT NULL, NULL, NULL, NULL, new_id, id, distance FROM locked, start`

// recomputeSQL recomputes the meetings of the pairs ($3, $4) whose near
// pairs of reports span $5 to $6 (not NULL) around the locations found, for
// the distance ($1) and window ($2), and returns the pairs of the meetings
// it changed:
//
//   - span: those times widened by the window and by the meetings within
//     the window of them, which the new pairs may extend or join. Every
//     other meeting of the pair lies more than the window away, so the near
//     pairs in the span make its meetings whole;
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
		WITH seed AS MATERIALIZED (
			SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[]) AS s(a, b, lo, hi)
			WHERE lo IS NOT NULL
		), span AS MATERIALIZED (
			SELECT s.a, s.b, least(s.lo - $2::interval, m.started) AS first, greatest(s.hi + $2::interval, m.last_seen) AS last
			FROM seed s
			CROSS JOIN LATERAL (SELECT min(started) AS started, max(last_seen) AS last_seen FROM meeting
				WHERE person_a = s.a AND person_b = s.b AND merged_into IS NULL
				  AND last_seen >= s.lo - $2::interval AND started <= s.hi + $2::interval) m
		), near AS MATERIALIZED (
			SELECT sp.a, sp.b, la.id AS ia, lb.id AS ib, la.coordinate AS ca, lb.coordinate AS cb,
				least(la.creation_time, lb.creation_time) AS lo, greatest(la.creation_time, lb.creation_time) AS hi,
				d.sphere
			FROM span sp
			CROSS JOIN LATERAL (SELECT id, coordinate, creation_time FROM location
				WHERE person_id = sp.a AND creation_time BETWEEN sp.first AND sp.last OFFSET 0) la
			JOIN location lb ON lb.person_id = sp.b AND lb.creation_time BETWEEN sp.first AND sp.last
			 AND lb.creation_time BETWEEN la.creation_time - $2::interval AND la.creation_time + $2::interval
			CROSS JOIN LATERAL (SELECT CASE WHEN lb.coordinate && _ST_Expand(la.coordinate, $1)
				THEN ST_Distance(la.coordinate, lb.coordinate, false) END AS sphere OFFSET 0) d
			WHERE d.sphere <= $1 * 0.99 OR (d.sphere <= $1 * 1.01 AND ST_Distance(la.coordinate, lb.coordinate) <= $1)
		), old AS MATERIALIZED (
			SELECT sp.a, sp.b, m.id, m.started, m.last_seen
			FROM span sp
			JOIN meeting m
			  ON m.person_a = sp.a AND m.person_b = sp.b AND m.merged_into IS NULL
			 AND m.last_seen >= sp.first AND m.started <= sp.last
		), chained AS (
			SELECT *, count(*) FILTER (WHERE gap) OVER (PARTITION BY a, b ORDER BY lo, hi, ia, ib, old_id) AS n
			FROM (SELECT *, lo > max(hi) OVER (PARTITION BY a, b ORDER BY lo, hi, ia, ib, old_id
					ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) + $2::interval AS gap
				FROM (SELECT a, b, ia, ib, ca, cb, lo, hi, sphere, NULL::bigint AS old_id FROM near
					UNION ALL
					SELECT a, b, NULL, NULL, NULL, NULL, started, last_seen, NULL, id FROM old) r) x
		), island AS MATERIALIZED (
			SELECT *, min(old_id) OVER w AS keep, count(ia) OVER w AS pairs, min(sphere) OVER w AS closest_sphere
			FROM chained
			WINDOW w AS (PARTITION BY a, b, n)
		), endpoint AS (
			SELECT a, b, n, keep, ia AS id, ca AS c, lo, hi,
				CASE WHEN sphere <= closest_sphere * 1.02 + 1e-6 THEN ST_Distance(ca, cb) END AS distance
			FROM island WHERE ia IS NOT NULL
			UNION ALL
			SELECT a, b, n, keep, ib, cb, lo, hi, NULL FROM island WHERE ia IS NOT NULL
		), fresh AS MATERIALIZED (
			SELECT a, b, n, min(keep) AS keep, min(lo) AS started, max(hi) AS last_seen, min(distance) AS closest_m,
				avg(ST_Y(c::geometry) ORDER BY id) FILTER (WHERE once) AS latitude,
				avg(ST_X(c::geometry) ORDER BY id) FILTER (WHERE once) AS longitude,
				EXISTS (SELECT FROM location l WHERE l.person_id = a AND l.creation_time > max(hi) + $2::interval)
				OR EXISTS (SELECT FROM location l WHERE l.person_id = b AND l.creation_time > max(hi) + $2::interval) AS ended
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
