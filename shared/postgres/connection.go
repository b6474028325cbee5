package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// FindConnections answers q in one set-based statement: every report of
// another person within q.Distance metres (geodesic) of one of q.PersonID's
// reports, both in [q.Start, q.End), and at most q.Window apart in time when
// it is set. Each report appears once, with its closest distance, oldest
// first. With q.LocationID set, only that report of q.PersonID's counts. An
// unknown person is an ENOTFOUND error.
func (db *DB) FindConnections(ctx context.Context, q udaconnect.ConnectionQuery) ([]udaconnect.Connection, error) {
	rows, _ := db.pool.Query(ctx, connectionsSQL, connectionArgs(q)...)
	conns, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (udaconnect.Connection, error) {
		var c udaconnect.Connection
		l, p := &c.Location, &c.Person
		err := row.Scan(&l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime,
			&p.FirstName, &p.LastName, &p.CompanyName, &c.Distance)
		l.CreationTime, p.ID = l.CreationTime.UTC(), l.PersonID
		return c, err
	})
	if err != nil {
		return nil, wrap("find connections", err)
	}
	if len(conns) == 0 {
		// Nothing found: tell an unknown person from a lonely one.
		if _, err := db.FindPerson(ctx, q.PersonID); err != nil {
			return nil, err
		}
	}
	return conns, nil
}

// connectionsSQL finds connections: first the queried reports, then, through
// the GiST index on (coordinate, creation_time), the reports near each in
// space and time.
const connectionsSQL = `
		WITH mine AS MATERIALIZED (
			SELECT coordinate, creation_time FROM location
			WHERE person_id = $1 AND creation_time >= $2 AND creation_time < $3
			  AND ($6 = 0 OR id = $6)
		), near AS (
			SELECT DISTINCT ON (l.id) l.id, l.person_id, l.coordinate, l.creation_time,
				ST_Distance(l.coordinate, m.coordinate) AS distance
			FROM mine m
			JOIN location l
			  ON ST_DWithin(l.coordinate, m.coordinate, $4)
			 AND l.creation_time >= $2 AND l.creation_time < $3
			 AND l.creation_time BETWEEN m.creation_time - $5::interval AND m.creation_time + $5::interval
			 AND l.person_id <> $1
			ORDER BY l.id, distance
		)
		SELECT n.id, n.person_id, ST_Y(n.coordinate::geometry), ST_X(n.coordinate::geometry), n.creation_time,
			p.first_name, p.last_name, p.company_name, n.distance
		FROM near n JOIN person p ON p.id = n.person_id
		ORDER BY n.creation_time, n.id`

func connectionArgs(q udaconnect.ConnectionQuery) []any {
	window := q.Window
	if window == 0 {
		// Any two reports of the range are at most its length apart.
		window = q.End.Sub(q.Start)
	}
	return []any{q.PersonID, q.Start, q.End, q.Distance, window, q.LocationID}
}
