package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// ExplainConnections returns the plan of the connection query for q.
func (db *DB) ExplainConnections(ctx context.Context, q udaconnect.ConnectionQuery) (string, error) {
	rows, _ := db.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+connectionsSQL, connectionArgs(q)...)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// Analyze updates the planner's statistics.
func (db *DB) Analyze(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "ANALYZE")
	return err
}
