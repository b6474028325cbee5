package postgres

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// CreatePerson stores p, which must be valid, once per event (source and
// eventID), with hash, the SHA-256 of the request that carried it (nil when
// unknown), and returns the person stored: a repeated event returns the
// person its first delivery stored, or an EREUSED error when that came with
// another hash. Data PostgreSQL refuses is an EINVALID error.
func (db *DB) CreatePerson(ctx context.Context, p udaconnect.Person, source, eventID string, hash []byte) (udaconnect.Person, error) {
	const query = `
		WITH inserted AS (
			INSERT INTO person (first_name, last_name, company_name, event_source, event_id, request_hash)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (event_source, event_id) DO NOTHING
			RETURNING id, first_name, last_name, company_name, request_hash
		)
		SELECT * FROM inserted
		UNION ALL
		SELECT id, first_name, last_name, company_name, request_hash FROM person
		WHERE event_source = $4 AND event_id = $5`
	// A concurrent delivery of the same event may commit after this
	// statement's snapshot: the second try sees it.
	for try := 0; ; try++ {
		var stored udaconnect.Person
		var storedHash []byte
		err := db.pool.QueryRow(ctx, query, p.FirstName, p.LastName, p.CompanyName, source, eventID, hash).
			Scan(&stored.ID, &stored.FirstName, &stored.LastName, &stored.CompanyName, &storedHash)
		switch {
		case errors.Is(err, pgx.ErrNoRows) && try == 0:
			continue
		case refusedData(err):
			return p, udaconnect.Invalid("body", "the person cannot be stored: %s", dataMessage(err))
		case err != nil:
			return p, wrap("insert person", err)
		case storedHash != nil && hash != nil && !bytes.Equal(storedHash, hash):
			return p, errReused
		}
		return stored, nil
	}
}

// FindPerson returns the person with the given ID, or an ENOTFOUND error.
func (db *DB) FindPerson(ctx context.Context, id int64) (udaconnect.Person, error) {
	p := udaconnect.Person{ID: id}
	err := db.reads.QueryRow(ctx, `
		SELECT first_name, last_name, company_name FROM person WHERE id = $1`,
		id).Scan(&p.FirstName, &p.LastName, &p.CompanyName)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, udaconnect.Errorf(udaconnect.ENOTFOUND, "person %d not found", id)
	}
	if err != nil {
		return p, wrap("find person", err)
	}
	return p, nil
}

// FindPersons returns a page of the people q asks for: those whose first
// name, last name or company holds each word of q (case aside), ordered by
// last name, first name and id, from q.After on.
func (db *DB) FindPersons(ctx context.Context, q udaconnect.PersonQuery) ([]udaconnect.Person, error) {
	sql, args := personsQuery(q)
	rows, _ := db.reads.Query(ctx, sql, args...)
	persons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[udaconnect.Person])
	if err != nil {
		return nil, wrap("find persons", err)
	}
	return persons, nil
}

// personsQuery is the SQL of FindPersons and its arguments. The names and
// company are searched as one text, apart by spaces, which no word holds:
// the text of person_search_idx, whose trigrams find the people of the
// longest word (likely the rarest) when it is rare, and whose statistics
// tell the planner how many each word finds, so that a common one ("a") is
// read in name order through person_name_idx, only as far as the page. The
// query is planned for its own words each time (QueryExecModeExec, not
// prepared once for any words): a plan fit for some is slow for others.
func personsQuery(q udaconnect.PersonQuery) (string, []any) {
	patterns := make([]string, len(q.Words))
	longest := "%"
	for i, w := range q.Words {
		patterns[i] = "%" + likeEscaper.Replace(w) + "%"
		if len(patterns[i]) > len(longest) {
			longest = patterns[i]
		}
	}
	return `
		SELECT id, first_name, last_name, company_name FROM person
		WHERE ($1::bigint = 0 OR (last_name, first_name, id) > ($2, $3, $1))
		  AND (first_name || ' ' || last_name || ' ' || company_name) ILIKE $4
		  AND (first_name || ' ' || last_name || ' ' || company_name) ILIKE ALL ($5::text[])
		ORDER BY last_name, first_name, id
		LIMIT $6`,
		[]any{pgx.QueryExecModeExec, q.After.ID, q.After.LastName, q.After.FirstName, longest, patterns, q.Limit}
}

// likeEscaper escapes the wildcards of a LIKE pattern, so that a word
// matches itself only.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// NextTokenGeneration raises the token generation of the person with the
// given ID, revoking their earlier tokens, and returns the new one.
func (db *DB) NextTokenGeneration(ctx context.Context, id int64) (int64, error) {
	var gen int64
	err := db.pool.QueryRow(ctx, `
		UPDATE person SET token_generation = token_generation + 1 WHERE id = $1
		RETURNING token_generation`, id).Scan(&gen)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, udaconnect.Errorf(udaconnect.ENOTFOUND, "person %d not found", id)
	}
	if err != nil {
		return 0, wrap("next token generation", err)
	}
	return gen, nil
}

// Deleted is the token generation of a deleted person or a revoked
// reporter: no token reaches it.
const Deleted = math.MaxInt64

// TokenGenerations returns the token generation of every person whose tokens
// were reissued, and Deleted for every deleted person and revoked reporter,
// by the subject the door names them with: person-<id>, reporter-<id>.
func (db *DB) TokenGenerations(ctx context.Context) (map[string]int64, error) {
	rows, _ := db.reads.Query(ctx, `
		SELECT 'person-' || id, token_generation FROM person WHERE token_generation > 1
		UNION ALL
		SELECT 'person-' || id, $1 FROM deleted_person
		UNION ALL
		SELECT 'reporter-' || id, $1 FROM reporter WHERE revoked_at IS NOT NULL`, int64(Deleted))
	gens := map[string]int64{}
	var subject string
	var gen int64
	_, err := pgx.ForEachRow(rows, []any{&subject, &gen}, func() error {
		gens[subject] = gen
		return nil
	})
	if err != nil {
		return nil, wrap("token generations", err)
	}
	return gens, nil
}

// deleteAnnouncementsSQL deletes a person's ($1) announcements, through the
// indexes of their two persons whatever the outbox holds.
const deleteAnnouncementsSQL = `DELETE FROM announcement WHERE person_id = $1 OR other_id = $1`

// DeletePerson deletes the person with the given ID with all their data
// (their reports and meetings go with them, and the announcements of their
// meetings are deleted alike) and keeps a tombstone of the ID, which
// revokes their tokens; an unknown person is an ENOTFOUND error.
func (db *DB) DeletePerson(ctx context.Context, id int64) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return wrap("delete person", err)
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `DELETE FROM person WHERE id = $1`, id)
	if err != nil {
		return wrap("delete person", err)
	}
	if tag.RowsAffected() == 0 {
		return udaconnect.Errorf(udaconnect.ENOTFOUND, "person %d not found", id)
	}
	if _, err := tx.Exec(ctx, deleteAnnouncementsSQL, id); err != nil {
		return wrap("delete person", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO deleted_person (id) VALUES ($1) ON CONFLICT DO NOTHING`, id); err != nil {
		return wrap("delete person", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap("delete person", err)
	}
	return nil
}
