package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// ExplainConnections returns the plan of the connection query for q, with
// the settings it runs with.
func (db *DB) ExplainConnections(ctx context.Context, q udaconnect.ConnectionQuery) (string, error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, querySettings); err != nil {
		return "", err
	}
	sql, args := connectionsQuery(q)
	rows, _ := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+sql, args...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// ExplainDeleteAnnouncements returns the plan of deleting the announcements
// of person id, without deleting them.
func (db *DB) ExplainDeleteAnnouncements(ctx context.Context, id int64) (string, error) {
	rows, _ := db.pool.Query(ctx, "EXPLAIN (COSTS OFF) "+deleteAnnouncementsSQL, id)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// Analyze updates the planner's statistics.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "ANALYZE")
	return err
}

// Count counts the stored locations into n.
func (db *DB) Count(ctx context.Context, n *int) error {
	return db.pool.QueryRow(ctx, "SELECT count(*) FROM location").Scan(n)
}

// HoldReads takes every connection of the pool of reads until the returned
// function is called.
func (db *DB) HoldReads(ctx context.Context) (func(), error) {
	var conns []*pgxpool.Conn
	release := func() {
		for _, c := range conns {
			c.Release()
		}
	}
	for range db.reads.Config().MaxConns {
		c, err := db.reads.Acquire(ctx)
		if err != nil {
			release()
			return nil, err
		}
		conns = append(conns, c)
	}
	return release, nil
}

// StatementTimeouts returns the statement_timeout of a connection of each
// pool: the writes', then the reads'.
func (db *DB) StatementTimeouts(ctx context.Context) (writes, reads string, err error) {
	if err := db.pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&writes); err != nil {
		return "", "", err
	}
	err = db.reads.QueryRow(ctx, "SHOW statement_timeout").Scan(&reads)
	return writes, reads, err
}

// ExplainPersons runs FindPersons' query for q under EXPLAIN ANALYZE and
// returns the plan.
func (db *DB) ExplainPersons(ctx context.Context, q udaconnect.PersonQuery) (string, error) {
	sql, args := personsQuery(q)
	rows, _ := db.reads.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+sql, args...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}
