package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// FindConnections returns the connections of q, oldest first; see
// ForEachConnection.
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

// ForEachConnection answers q in one set-based statement and calls fn with
// each connection as its row arrives: every report of another person within
// q.Distance metres (geodesic) of one of q.PersonID's reports, both in
// [q.Start, q.End), and at most q.Window apart in time when it is set. Each
// report appears once, with its closest distance, oldest first. With
// q.LocationID set, only that report of q.PersonID's counts. An unknown
// person is an ENOTFOUND error; an error of fn stops the query and is
// returned as it is.
func (db *DB) ForEachConnection(ctx context.Context, q udaconnect.ConnectionQuery, fn func(udaconnect.Connection) error) error {
	// One round trip: the settings of the query, for its transaction only,
	// then the query.
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	b.Queue(connectionsSettings)
	b.Queue(connectionsSQL, connectionArgs(q)...)
	b.Queue(`COMMIT`)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return wrap("find connections", err)
		}
	}
	rows, _ := br.Query()
	var c udaconnect.Connection
	l, p := &c.Location, &c.Person
	var n int
	var fnErr error
	_, err := pgx.ForEachRow(rows, []any{&l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime,
		&p.FirstName, &p.LastName, &p.CompanyName, &c.Distance}, func() error {
		l.CreationTime, p.ID = l.CreationTime.UTC(), l.PersonID
		n++
		fnErr = fn(c)
		return fnErr
	})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return wrap("find connections", err)
	}
	if err := br.Close(); err != nil {
		return wrap("find connections", err)
	}
	if n == 0 {
		// Nothing found: tell an unknown person from a lonely one.
		if _, err := db.FindPerson(ctx, q.PersonID); err != nil {
			return err
		}
	}
	return nil
}

// connectionsSettings are the settings of the connection query's
// transaction. Its cost estimate is high enough for the planner to compile
// it with LLVM, which takes longer than running it, and to plan parallel
// workers, which on a database of two cores only take them from other
// queries; its sort of up to a few hundred thousand rows fits in memory.
const connectionsSettings = `SELECT set_config('jit', 'off', true),
	set_config('max_parallel_workers_per_gather', '0', true),
	set_config('work_mem', '64MB', true)`

// connectionsSQL finds connections in three steps:
//
//  1. mine: the queried person's reports, through (person_id, creation_time);
//  2. visit: those reports grouped to search around. With a window each
//     report is searched around on its own, from the window before it to the
//     window after it. Without one, reports chained at most the distance
//     apart (ST_ClusterDBSCAN, in degrees of latitude) are searched around
//     together, through one multipoint: a person reports many times from the
//     same place, and searching around each report would find the same
//     neighbours over and over (a conference attendee's 96 reports of a day
//     make about 15 visits);
//  3. near: the reports of others in each visit's box widened by the
//     distance and in its time range, through the GiST index on
//     (coordinate, creation_time), then the geodesic distance to the visit's
//     nearest report. The box test is written out (&& _ST_Expand, what
//     ST_DWithin does inside) so that the distance is computed once per
//     report, to filter on and to answer.
//
// A report near two visits appears twice in near; one sort both keeps its
// closest and puts the answer in order.
const connectionsSQL = `
		WITH mine AS MATERIALIZED (
			SELECT id, coordinate, creation_time FROM location
			WHERE person_id = $1 AND creation_time >= $2 AND creation_time < $3
			  AND ($6 = 0 OR id = $6)
		), visit AS MATERIALIZED (
			SELECT ST_Collect(coordinate::geometry)::geography AS area,
				min(creation_time) - $5::interval AS first, max(creation_time) + $5::interval AS last
			FROM (SELECT id, coordinate, creation_time,
					CASE WHEN $7 THEN id ELSE ST_ClusterDBSCAN(coordinate::geometry, $8, 1) OVER () END AS visit
				FROM mine) m
			GROUP BY visit
		), near AS MATERIALIZED (
			SELECT l.id, l.person_id, l.coordinate, l.creation_time, ST_Distance(l.coordinate, v.area) AS distance
			FROM visit v
			JOIN location l
			  ON l.coordinate && _ST_Expand(v.area, $4)
			 AND l.creation_time >= $2 AND l.creation_time < $3
			 AND l.creation_time BETWEEN v.first AND v.last
			 AND l.person_id <> $1
		)
		SELECT DISTINCT ON (n.creation_time, n.id)
			n.id, n.person_id, ST_Y(n.coordinate::geometry), ST_X(n.coordinate::geometry), n.creation_time,
			p.first_name, p.last_name, p.company_name, n.distance
		FROM near n JOIN person p ON p.id = n.person_id
		WHERE n.distance <= $4
		ORDER BY n.creation_time, n.id, n.distance`

// metresPerDegree is a degree of latitude at its shortest, at the equator.
const metresPerDegree = 110_574.0

func connectionArgs(q udaconnect.ConnectionQuery) []any {
	window := q.Window
	if window == 0 {
		// Any two reports of the range are at most its length apart.
		window = q.End.Sub(q.Start)
	}
	chain := q.Distance / metresPerDegree // degrees
	return []any{q.PersonID, q.Start, q.End, q.Distance, window, q.LocationID, q.Window != 0, chain}
}
