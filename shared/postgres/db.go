// Package postgres stores UdaConnect's people and reports in PostgreSQL with
// PostGIS, through a pgx pool.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	schema "github.com/udaconnect/udaconnect/db"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// DB is a pool of connections to the UdaConnect database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a DATABASE_URL).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	return &DB{pool: pool}, nil
}

// OpenFromEnv connects to the database at $DATABASE_URL, which must be set.
func OpenFromEnv(ctx context.Context) (*DB, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	return Open(ctx, url)
}

// Close closes every connection of the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Migrate applies, in name order and each in its own transaction, the
// migrations of db/migrations not yet recorded in schema_migration. It holds
// an advisory lock so that concurrent runs apply each migration once.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, wrap("migrate", err)
	}
	defer conn.Release()
	const lock = 7_371_000_001
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock)

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migration (
		name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrate: create schema_migration: %w", err)
	}
	names, err := fs.Glob(schema.Migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		sql, err := fs.ReadFile(schema.Migrations, name)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", base, err)
		}
		done, err := applyOnce(ctx, conn.Conn(), base, string(sql))
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", base, err)
		}
		if done {
			applied = append(applied, base)
		}
	}
	return applied, nil
}

func applyOnce(ctx context.Context, conn *pgx.Conn, name, sql string) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `INSERT INTO schema_migration (name) VALUES ($1) ON CONFLICT DO NOTHING`, name)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// Seed loads the demo data; loading it twice changes nothing.
func (db *DB) Seed(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, schema.Seed); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	// The seed's meetings, as connections would have kept them.
	var ids []int64
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(array_agg(id), '{}') FROM location WHERE event_source = '/udaconnect/seed'`).Scan(&ids); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if _, err := db.UpdateMeetings(ctx, ids); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// wrap turns a database failure into a domain error: a lost or refused
// connection is EUNAVAILABLE (retry later), anything else stays internal.
func wrap(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			strings.HasPrefix(pgErr.Code, "57"), // operator intervention (shutdown)
			pgErr.Code == "40001", pgErr.Code == "40P01":
			return fmt.Errorf("%s: %w: %w", op, unavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	// Not a server error: the connection could not be made or was lost.
	return fmt.Errorf("%s: %w: %w", op, unavailable, err)
}

var unavailable = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the database is unavailable, try again later")
