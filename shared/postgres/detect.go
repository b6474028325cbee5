package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// DetectMeetings brings the meetings up to date with the recorded locations
// ids and returns the persons whose meetings changed (started, ended, merged
// or went; one that only grew keeps its version) and the meetings that
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
			recomputed, err := recompute(ctx, tx, near)
			if err != nil {
				return err
			}
			changed := map[int64]bool{}
			for _, p := range recomputed {
				changed[p[0]], changed[p[1]] = true, true
			}
			rows, _ := tx.Query(ctx, endSQL, udaconnect.DetectWindow, near.as, near.bs)
			var a, b int64
			if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
				changed[a], changed[b] = true, true
				return nil
			}); err != nil {
				return fmt.Errorf("end meetings: %w", err)
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
// The open meetings are read for each location through the partial indexes
// on them (OFFSET 0 keeps the planner from reading them all).
//
// near finds the reports of others through the GiST index on (coordinate,
// creation_time), the box test written out (&& _ST_Expand, what ST_DWithin
// does inside). The geodesic distance on the spheroid decides, as
// everywhere; it is computed only near the threshold: the distance on the
// sphere is within 0.6 % of it for points metres apart (the radii of
// curvature of WGS84 are 0.9944 to 1.0045 times the sphere's mean radius),
// so a pair within 0.99 times the distance on the sphere is within it on
// the spheroid, and one beyond 1.01 times is not (OFFSET 0 keeps the
// distance on the sphere computed once, not once for each use). together
// looks for the other person's reports around the previous one through
// (person_id, creation_time), for each candidate (LIMIT 1 keeps the planner
// from reading everyone's reports). The distance of a start is the
// spheroid's, and its report the closest by it.
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
				SELECT m.person_a, m.person_b, NULL, NULL FROM new n
				CROSS JOIN LATERAL (SELECT person_a, person_b FROM meeting WHERE person_a = n.person_id
					AND merged_into IS NULL AND NOT ended AND last_seen < n.creation_time - $3::interval OFFSET 0) m
				UNION ALL
				SELECT m.person_a, m.person_b, NULL, NULL FROM new n
				CROSS JOIN LATERAL (SELECT person_a, person_b FROM meeting WHERE person_b = n.person_id
					AND merged_into IS NULL AND NOT ended AND last_seen < n.creation_time - $3::interval OFFSET 0) m
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
			CROSS JOIN LATERAL (SELECT FROM location l
				WHERE l.person_id = c.person_id
				  AND l.creation_time BETWEEN e.creation_time - $3::interval AND e.creation_time + $3::interval
				  AND _ST_DWithin(l.coordinate, e.coordinate, $2)
				LIMIT 1) seen
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

// endSQL ends the open meetings of the locked pairs ($2, $3) that either
// person reported past the window ($1) of, and returns their pairs.
const endSQL = `
		UPDATE meeting m SET ended = true, version = nextval('meeting_version')
		FROM unnest($2::bigint[], $3::bigint[]) AS k(a, b)
		WHERE m.person_a = k.a AND m.person_b = k.b AND m.merged_into IS NULL AND NOT m.ended
		  AND (EXISTS (SELECT FROM location l WHERE l.person_id = m.person_a AND l.creation_time > m.last_seen + $1::interval)
		    OR EXISTS (SELECT FROM location l WHERE l.person_id = m.person_b AND l.creation_time > m.last_seen + $1::interval))
		RETURNING m.person_a, m.person_b`
