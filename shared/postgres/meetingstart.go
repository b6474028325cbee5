package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// FindMeetingStarts returns the meetings that the recorded locations ids start,
// in one statement for all of them: for each location, every other person
// with a report within udaconnect.DetectDistance metres and
// udaconnect.DetectWindow of it (the closest such report), unless the two
// were already that near at the person's previous report, in the window
// before it. Ordered by location, then other person; an id that is not a
// location finds nothing.
func (db *DB) FindMeetingStarts(ctx context.Context, ids []int64) ([]udaconnect.MeetingStart, error) {
	rows, _ := db.pool.Query(ctx, meetingStartsSQL, ids, udaconnect.DetectDistance, udaconnect.DetectWindow)
	var m udaconnect.MeetingStart
	l, n, p, o := &m.Location, &m.Near, &m.Person, &m.Other
	var meetings []udaconnect.MeetingStart
	_, err := pgx.ForEachRow(rows, []any{
		&l.ID, &l.PersonID, &l.Latitude, &l.Longitude, &l.CreationTime, &p.FirstName, &p.LastName, &p.CompanyName,
		&n.ID, &n.PersonID, &n.Latitude, &n.Longitude, &n.CreationTime, &o.FirstName, &o.LastName, &o.CompanyName,
		&m.Distance,
	}, func() error {
		l.CreationTime, n.CreationTime = l.CreationTime.UTC(), n.CreationTime.UTC()
		p.ID, o.ID = l.PersonID, n.PersonID
		meetings = append(meetings, m)
		return nil
	})
	if err != nil {
		return nil, wrap("find meetings", err)
	}
	return meetings, nil
}

// meetingStartsSQL: new are the recorded locations; near, for each, the closest
// report of every other person within the distance ($2) and window ($3),
// through the GiST index on (coordinate, creation_time); together, the
// people near the same person's previous report, when it is in the window
// before (the same search around it). A pair in near and not in together is
// a meeting that starts. In near the box test is written out (&&
// _ST_Expand, what ST_DWithin does inside) so that the geodesic distance is
// computed once per report, to filter on and to answer.
const meetingStartsSQL = `
		WITH new AS MATERIALIZED (
			SELECT id, person_id, coordinate, creation_time FROM location WHERE id = ANY($1)
		), near AS MATERIALIZED (
			SELECT DISTINCT ON (n.id, l.person_id) n.id AS new_id, l.id, l.person_id, l.coordinate, l.creation_time, d.distance
			FROM new n
			JOIN location l
			  ON l.coordinate && _ST_Expand(n.coordinate, $2)
			 AND l.creation_time BETWEEN n.creation_time - $3::interval AND n.creation_time + $3::interval
			 AND l.person_id <> n.person_id
			CROSS JOIN LATERAL (SELECT ST_Distance(l.coordinate, n.coordinate) AS distance) d
			WHERE d.distance <= $2
			ORDER BY n.id, l.person_id, d.distance, l.id
		), together AS (
			SELECT DISTINCT n.id AS new_id, l.person_id
			FROM new n
			CROSS JOIN LATERAL (
				SELECT coordinate, creation_time FROM location
				WHERE person_id = n.person_id
				  AND creation_time >= n.creation_time - $3::interval AND creation_time < n.creation_time
				ORDER BY creation_time DESC, id DESC LIMIT 1
			) e
			JOIN location l
			  ON l.coordinate && _ST_Expand(e.coordinate, $2)
			 AND l.creation_time BETWEEN e.creation_time - $3::interval AND e.creation_time + $3::interval
			 AND l.person_id <> n.person_id
			WHERE ST_DWithin(l.coordinate, e.coordinate, $2)
		)
		SELECT n.id, n.person_id, ST_Y(n.coordinate::geometry), ST_X(n.coordinate::geometry), n.creation_time,
			p.first_name, p.last_name, p.company_name,
			x.id, x.person_id, ST_Y(x.coordinate::geometry), ST_X(x.coordinate::geometry), x.creation_time,
			o.first_name, o.last_name, o.company_name,
			x.distance
		FROM near x
		JOIN new n ON n.id = x.new_id
		JOIN person p ON p.id = n.person_id
		JOIN person o ON o.id = x.person_id
		WHERE NOT EXISTS (SELECT FROM together t WHERE t.new_id = x.new_id AND t.person_id = x.person_id)
		ORDER BY n.id, x.person_id`
