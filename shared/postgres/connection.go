package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// FindConnections returns the connections of q, oldest first: every report
// of another person within q.Distance metres (geodesic) of one of
// q.PersonID's reports, both in [q.Start, q.End), and at most q.Window apart
// in time when it is set. Each report appears once, with its closest
// distance. An unknown person is an ENOTFOUND error.
func (db *DB) FindConnections(ctx context.Context, q udaconnect.ConnectionQuery) ([]udaconnect.Connection, error) {
	conns := []udaconnect.Connection{}
	err := db.ForEachConnection(ctx, q, func(c udaconnect.Connection) error {
		conns = append(conns, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conns, nil
}

// ForEachConnection calls fn with each connection of q in turn, oldest
// first; see FindConnections. An error of fn stops it and is returned as it
// is.
//
// It takes two statements: the reports near q.PersonID's, then the names of
// the people who sent them, a few hundred where the reports are thousands.
// The reports are read one by one and held in between, without names:
// about 50 bytes each, at most udaconnect.MaxFound of them (5 MB).
func (db *DB) ForEachConnection(ctx context.Context, q udaconnect.ConnectionQuery, fn func(udaconnect.Connection) error) error {
	near, err := db.findReportsNear(ctx, q)
	if err != nil {
		return err
	}
	if len(near) == 0 {
		// Nothing found: tell an unknown person from a lonely one.
		_, err := db.FindPerson(ctx, q.PersonID)
		return err
	}
	persons, err := db.findPersonsOf(ctx, near)
	if err != nil {
		return err
	}
	for _, r := range near {
		c := udaconnect.Connection{
			Person: persons[r.personID],
			Location: udaconnect.Location{
				ID: r.id, PersonID: r.personID, Latitude: r.lat, Longitude: r.lon,
				CreationTime: time.UnixMicro(r.creationTime).UTC(),
			},
			Distance: r.distance,
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// nearReport is a report of another person found near the queried person's:
// a connection without the person's names. It holds no pointers, so that
// thousands of them cost the garbage collector nothing.
type nearReport struct {
	id, personID int64
	lat, lon     float64
	creationTime int64 // microseconds since 1970, PostgreSQL's precision
	distance     float64
}

// findReportsNear returns the reports near q.PersonID's, oldest first, each
// once with its closest distance.
func (db *DB) findReportsNear(ctx context.Context, q udaconnect.ConnectionQuery) ([]nearReport, error) {
	// One round trip: the settings of the query, for its transaction only,
	// then the query.
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	b.Queue(querySettings)
	sql, args := connectionsQuery(q)
	b.Queue(sql, args...)
	b.Queue(`COMMIT`)
	br := db.reads.SendBatch(ctx, b)
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, wrap("find connections", err)
		}
	}
	rows, _ := br.Query()
	var near []nearReport
	var r nearReport
	var t time.Time
	_, err := pgx.ForEachRow(rows, []any{&r.id, &r.personID, &r.lat, &r.lon, &t, &r.distance}, func() error {
		r.creationTime = t.UnixMicro()
		near = append(near, r)
		return nil
	})
	if err != nil {
		return nil, wrap("find connections", err)
	}
	if err := br.Close(); err != nil {
		return nil, wrap("find connections", err)
	}
	if len(near) > udaconnect.MaxFound {
		return nil, udaconnect.ErrTooMany
	}
	// Oldest first, and of a report found near several visits the closest
	// first, to keep.
	slices.SortFunc(near, func(a, b nearReport) int {
		switch {
		case a.creationTime != b.creationTime:
			return cmp.Compare(a.creationTime, b.creationTime)
		case a.id != b.id:
			return cmp.Compare(a.id, b.id)
		}
		return cmp.Compare(a.distance, b.distance)
	})
	return slices.CompactFunc(near, func(a, b nearReport) bool { return a.id == b.id }), nil
}

// findPersonsOf returns the people who sent the reports.
func (db *DB) findPersonsOf(ctx context.Context, near []nearReport) (map[int64]udaconnect.Person, error) {
	persons := map[int64]udaconnect.Person{}
	for _, r := range near {
		persons[r.personID] = udaconnect.Person{}
	}
	ids := make([]int64, 0, len(persons))
	for id := range persons {
		ids = append(ids, id)
	}
	rows, _ := db.reads.Query(ctx, `
		SELECT id, first_name, last_name, company_name FROM person WHERE id = ANY($1)`, ids)
	var p udaconnect.Person
	_, err := pgx.ForEachRow(rows, []any{&p.ID, &p.FirstName, &p.LastName, &p.CompanyName}, func() error {
		persons[p.ID] = p
		return nil
	})
	if err != nil {
		return nil, wrap("find connections", err)
	}
	return persons, nil
}

// querySettings are the settings of the transactions of the connection
// query and of detection. Their cost estimates are high enough for the
// planner to compile them with LLVM, which takes longer than running them,
// and to plan parallel workers, which on a database of two cores only take
// them from other queries; what they hold of up to a few hundred thousand
// rows fits in memory.
const querySettings = `SELECT set_config('jit', 'off', true),
	set_config('max_parallel_workers_per_gather', '0', true),
	set_config('work_mem', '64MB', true)`

// connectionsSQL finds the connections of a query without a window in three
// steps:
//
//  1. mine: the queried person's reports, through (person_id, creation_time);
//  2. visit: those reports grouped to search around: reports chained at most
//     the distance apart (ST_ClusterDBSCAN, in degrees of latitude) are
//     searched around together, through one multipoint. A person reports
//     many times from the same place, and searching around each report would
//     find the same neighbours over and over (a conference attendee's 96
//     reports of a day make about 15 visits);
//  3. near: the reports of others in each visit's box widened by the
//     distance and in the range, through the GiST index on (coordinate,
//     creation_time), then the geodesic distance to the visit's nearest
//     report. The box test is written out (&& _ST_Expand, what ST_DWithin
//     does inside) so that the distance is computed once per report, to
//     filter on and to answer.
//
// Its rows come unordered, as they are found, so that they are read while
// the next visits are searched. A report near two visits comes twice;
// findReportsNear sorts them, keeping the closest: in Go, where the rows
// carry no coordinate to move around, rather than in a sort that would hold
// them all back until the last visit is searched.
//
// Its parameters are those of windowSQL; $5, the window, is the length of
// the range, which any two of its reports are within. $7 stops it one row
// beyond udaconnect.MaxFound: PostgreSQL computes the CTEs only as far as
// their rows are read.
const connectionsSQL = `
		WITH mine AS MATERIALIZED (
			SELECT id, coordinate, creation_time FROM location
			WHERE person_id = $1 AND creation_time >= $2 AND creation_time < $3
		), visit AS MATERIALIZED (
			SELECT ST_Collect(coordinate::geometry)::geography AS area,
				min(creation_time) - $5::interval AS first, max(creation_time) + $5::interval AS last
			FROM (SELECT coordinate, creation_time, ST_ClusterDBSCAN(coordinate::geometry, $6, 1) OVER () AS place
				FROM mine) m
			GROUP BY place
		), near AS MATERIALIZED (
			SELECT l.id, l.person_id, l.coordinate, l.creation_time, ST_Distance(l.coordinate, v.area) AS distance
			FROM visit v
			JOIN location l
			  ON l.coordinate && _ST_Expand(v.area, $4)
			 AND l.creation_time >= $2 AND l.creation_time < $3
			 AND l.creation_time BETWEEN v.first AND v.last
			 AND l.person_id <> $1
		)
		SELECT id, person_id, ST_Y(coordinate::geometry), ST_X(coordinate::geometry), creation_time, distance
		FROM near
		WHERE distance <= $4
		LIMIT $7`

// windowSQL finds the connections of a query with a window ($5), like
// connectionsSQL but for its visits: a visit is a stay, the reports made
// one after the other at one place (chained as in connectionsSQL). It is
// searched around once, from the window before its first report to the
// window after its last, rather than around each report on its own, which
// would find a neighbour once for each report within the window of it:
// three times, with reports 5 minutes apart and a window of 15. Then each
// report found is measured to each of the stay's reports within the window
// of it, one by one.
//
// The search of each stay is kept from being merged with the pairing of
// its reports (OFFSET 0): the planner would otherwise search around each
// report again.
const windowSQL = `
		WITH mine AS MATERIALIZED (
			SELECT id, coordinate, creation_time FROM location
			WHERE person_id = $1 AND creation_time >= $2 AND creation_time < $3
		), stay AS MATERIALIZED (
			SELECT ST_Collect(coordinate::geometry)::geography AS area,
				min(creation_time) - $5::interval AS first, max(creation_time) + $5::interval AS last,
				array_agg(coordinate) AS points, array_agg(creation_time) AS times
			FROM (SELECT coordinate, creation_time, place,
					row_number() OVER (ORDER BY creation_time, id)
					- row_number() OVER (PARTITION BY place ORDER BY creation_time, id) AS stay
				FROM (SELECT id, coordinate, creation_time, ST_ClusterDBSCAN(coordinate::geometry, $6, 1) OVER () AS place
					FROM mine) m) s
			GROUP BY place, stay
		), found AS (
			SELECT l.id, l.person_id, l.coordinate, l.creation_time, s.points, s.times
			FROM stay s
			JOIN location l
			  ON l.coordinate && _ST_Expand(s.area, $4)
			 AND l.creation_time >= $2 AND l.creation_time < $3
			 AND l.creation_time BETWEEN s.first AND s.last
			 AND l.person_id <> $1
			OFFSET 0
		), near AS MATERIALIZED (
			SELECT f.id, f.person_id, f.coordinate, f.creation_time, ST_Distance(f.coordinate, p.point) AS distance
			FROM found f
			CROSS JOIN LATERAL unnest(f.points, f.times) AS p(point, creation_time)
			WHERE f.creation_time BETWEEN p.creation_time - $5::interval AND p.creation_time + $5::interval
		)
		SELECT id, person_id, ST_Y(coordinate::geometry), ST_X(coordinate::geometry), creation_time, distance
		FROM near
		WHERE distance <= $4
		LIMIT $7`

// metresPerDegree is a degree of latitude at its shortest, at the equator.
const metresPerDegree = 110_574.0

// connectionsQuery returns the statement that answers q and its arguments.
func connectionsQuery(q udaconnect.ConnectionQuery) (string, []any) {
	chain := q.Distance / metresPerDegree // degrees
	if q.Window == 0 {
		return connectionsSQL, []any{q.PersonID, q.Start, q.End, q.Distance, q.End.Sub(q.Start), chain, udaconnect.MaxFound + 1}
	}
	return windowSQL, []any{q.PersonID, q.Start, q.End, q.Distance, q.Window, chain, udaconnect.MaxFound + 1}
}
