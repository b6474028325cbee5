package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// Each function's role signs in with its password and may do what its
// function does, and nothing else.
func TestRoles(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	owner, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	pam := mustCreatePerson(t, owner, "Pam", "Trexler")
	mustStore(t, owner, report("r1", pam.ID, 35.05, -106.57, time.Date(2021, 5, 5, 10, 0, 0, 0, time.UTC)))

	const allowed, refused = true, false
	for _, tt := range []struct {
		role, statement string
		allowed         bool
	}{
		{postgres.RolePersons, `INSERT INTO person (first_name, last_name, company_name, event_source, event_id) VALUES ('a', 'b', 'c', 's', 'p1')`, allowed},
		{postgres.RolePersons, `UPDATE person SET token_generation = token_generation + 1`, allowed},
		{postgres.RolePersons, `SELECT count(*) FROM location`, refused},
		{postgres.RolePersons, `DELETE FROM person WHERE id = -1`, allowed},
		{postgres.RolePersons, `INSERT INTO deleted_person (id) VALUES (-1)`, allowed},
		{postgres.RolePersons, `SELECT count(*) FROM dead_letter`, refused},
		{postgres.RoleLocations, `INSERT INTO location (person_id, coordinate, creation_time, event_source, event_id) SELECT id, 'POINT(-106.57 35.05)', now(), 's', 'l1' FROM person LIMIT 1`, allowed},
		{postgres.RoleLocations, `SELECT count(*) FROM person`, allowed},
		{postgres.RoleLocations, `UPDATE person SET first_name = 'x'`, refused},
		{postgres.RoleLocations, `DELETE FROM location WHERE id = -1`, allowed},
		{postgres.RoleLocations, `DELETE FROM person WHERE id = -1`, refused},
		{postgres.RoleLocations, `INSERT INTO person (first_name, last_name, company_name, event_source, event_id) VALUES ('a', 'b', 'c', 's', 'l2')`, refused},
		{postgres.RoleConnections, `SELECT count(*) FROM person JOIN location ON location.person_id = person.id`, allowed},
		{postgres.RoleConnections, `INSERT INTO location (person_id, coordinate, creation_time, event_source, event_id) SELECT id, 'POINT(0 0)', now(), 's', 'c1' FROM person LIMIT 1`, refused},
		{postgres.RoleConnections, `UPDATE person SET first_name = 'x'`, refused},
		{postgres.RoleConnections, `DELETE FROM location`, refused},
		{postgres.RoleConnections, `SELECT count(*) FROM schema_migration`, refused},
		{postgres.RoleConnections, `SELECT count(*) FROM dead_letter`, refused},
		{postgres.RoleDeadLetters, `INSERT INTO dead_letter (event_source, event_id, event_type, event) VALUES ('s', 'd1', 't', '{}')`, allowed},
		{postgres.RoleDeadLetters, `UPDATE dead_letter SET replayed_at = now()`, allowed},
		{postgres.RoleDeadLetters, `DELETE FROM dead_letter WHERE received_at < now() - interval '30 days'`, allowed}, // expiry
		{postgres.RoleLocations, `DELETE FROM dead_letter`, refused},
		{postgres.RolePersons, `SELECT count(*) FROM reporter`, allowed},
		{postgres.RolePersons, `DELETE FROM reporter`, refused},
		{postgres.RolePersons, `UPDATE reporter SET name = 'x'`, refused},
		{postgres.RoleLocations, `SELECT count(*) FROM reporter`, refused},
		{postgres.RoleConnections, `SELECT count(*) FROM reporter`, refused},
		{postgres.RoleDeadLetters, `SELECT count(*) FROM reporter`, refused},
		{postgres.RoleDeadLetters, `SELECT count(*) FROM location`, refused},
		{postgres.RoleDeadLetters, `SELECT count(*) FROM person`, refused},
		{postgres.RoleConnections, `INSERT INTO meeting (person_a, person_b, started, last_seen, closest_m, latitude, longitude, ended) SELECT min(id), min(id) + 1, now(), now(), 1, 0, 0, false FROM person`, allowed},
		{postgres.RoleConnections, `UPDATE meeting SET ended = true, version = nextval('meeting_version')`, allowed},
		{postgres.RoleConnections, `DELETE FROM meeting`, allowed},
		{postgres.RoleLocations, `SELECT count(*) FROM meeting`, allowed}, // for a person's export
		{postgres.RoleLocations, `DELETE FROM meeting`, refused},
		{postgres.RoleLocations, `INSERT INTO dead_letter (event_source, event_id, event_type, event) VALUES ('s', 'l3', 't', '{}')`, allowed}, // a report it refuses
		{postgres.RoleLocations, `SELECT event FROM dead_letter`, refused},
		{postgres.RoleLocations, `UPDATE dead_letter SET event = '{}'`, refused},
		{postgres.RolePersons, `SELECT count(*) FROM meeting`, refused},
		{postgres.RoleLocations, `INSERT INTO detect_backlog (zone, location_ids) VALUES (0, '{1}')`, allowed}, // queues what it stores
		{postgres.RoleLocations, `SELECT count(*) FROM detect_backlog`, refused},
		{postgres.RoleLocations, `DELETE FROM detect_backlog`, refused},
		{postgres.RoleLocations, `SELECT count(*) FROM detect_state`, refused},
		{postgres.RoleConnections, `SELECT count(*) FROM detect_backlog`, allowed},
		{postgres.RoleConnections, `DELETE FROM detect_backlog WHERE id = -1`, allowed},
		{postgres.RoleConnections, `INSERT INTO detect_backlog (zone, location_ids) VALUES (0, '{1}')`, refused},
		{postgres.RoleConnections, `UPDATE detect_backlog SET zone = 1`, refused},
		{postgres.RoleConnections, `INSERT INTO detect_state (zone, state) VALUES (0, '') ON CONFLICT (zone) DO UPDATE SET state = excluded.state`, allowed},
		{postgres.RoleConnections, `DELETE FROM detect_state`, refused},
		{postgres.RoleConnections, `INSERT INTO announcement (location_id, other_id, person_id, near_id, started, distance) SELECT 1, min(id), min(id), 2, now(), 1 FROM person`, allowed},
		{postgres.RoleConnections, `UPDATE announcement SET due = now() + interval '1 s'`, allowed},
		{postgres.RoleConnections, `SELECT id FROM announcement FOR UPDATE SKIP LOCKED`, allowed},
		{postgres.RoleConnections, `DELETE FROM announcement`, allowed},
		{postgres.RoleLocations, `SELECT count(*) FROM announcement`, refused},
		{postgres.RolePersons, `DELETE FROM announcement WHERE person_id = -1 OR other_id = -1`, allowed}, // a person deleted
		{postgres.RolePersons, `SELECT distance FROM announcement`, refused},
		{postgres.RolePersons, `UPDATE announcement SET due = now()`, refused},
		{postgres.RolePersons, `SELECT count(*) FROM detect_backlog`, refused},
		{postgres.RoleDeadLetters, `SELECT count(*) FROM detect_state`, refused},
		{postgres.RolePersons, `CREATE TABLE mine (id int)`, refused},
		{postgres.RoleLocations, `DROP TABLE location`, refused},
		{postgres.RoleConnections, `ALTER TABLE person ADD COLUMN x int`, refused},
	} {
		conn, err := pgx.Connect(ctx, pgtest.RoleURL(t, url, tt.role))
		if err != nil {
			t.Fatalf("%s cannot sign in: %v", tt.role, err)
		}
		_, err = conn.Exec(ctx, tt.statement)
		conn.Close(ctx)
		var pgErr *pgconn.PgError
		denied := errors.As(err, &pgErr) && pgErr.Code == "42501" // insufficient_privilege
		switch {
		case tt.allowed && err != nil:
			t.Errorf("%s: %s = %v; want allowed", tt.role, tt.statement, err)
		case !tt.allowed && !denied:
			t.Errorf("%s: %s = %v; want permission denied (42501)", tt.role, tt.statement, err)
		}
	}

	wrong, err := postgres.RoleURL(url, postgres.RolePersons, "not-the-password")
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(ctx, wrong); err == nil {
		conn.Close(ctx)
		t.Errorf("%s signed in with a wrong password", postgres.RolePersons)
	}
}
