package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
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
	if _, err := tx.Exec(ctx, connectionsSettings); err != nil {
		return "", err
	}
	sql, args := connectionsQuery(q)
	rows, _ := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+sql, args...)
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
