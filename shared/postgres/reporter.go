package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// CreateReporter stores r, which must be valid, and returns it with its ID.
func (db *DB) CreateReporter(ctx context.Context, r udaconnect.Reporter) (udaconnect.Reporter, error) {
	err := db.pool.QueryRow(ctx, `INSERT INTO reporter (name) VALUES ($1) RETURNING id, created_at`, r.Name).Scan(&r.ID, &r.CreatedAt)
	if err != nil {
		return r, wrap("insert reporter", err)
	}
	return r, nil
}

// FindReporters returns the reporters not revoked, oldest first.
func (db *DB) FindReporters(ctx context.Context) ([]udaconnect.Reporter, error) {
	rows, _ := db.reads.Query(ctx, `SELECT id, name, created_at FROM reporter WHERE revoked_at IS NULL ORDER BY id`)
	reporters, err := pgx.CollectRows(rows, pgx.RowToStructByPos[udaconnect.Reporter])
	if err != nil {
		return nil, wrap("find reporters", err)
	}
	return reporters, nil
}

// RevokeReporter revokes the reporter with the given ID: its token is
// refused from then on. An unknown or revoked reporter is an ENOTFOUND
// error.
func (db *DB) RevokeReporter(ctx context.Context, id int64) error {
	tag, err := db.pool.Exec(ctx, `UPDATE reporter SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	if err != nil {
		return wrap("revoke reporter", err)
	}
	if tag.RowsAffected() == 0 {
		return udaconnect.Errorf(udaconnect.ENOTFOUND, "reporter %d not found", id)
	}
	return nil
}
