// Package postgres stores UdaConnect's people and reports in PostgreSQL with
// PostGIS, through a pgx pool.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	neturl "net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
	schema "github.com/udaconnect/udaconnect/db"
	udaconnect "github.com/udaconnect/udaconnect/shared"
)

// DB is the UdaConnect database, through two pools of connections: pool
// for what ingest and detection need, reads for the answers to requests, so
// that reads cannot take the connections of the others.
type DB struct {
	pool  *pgxpool.Pool
	reads *pgxpool.Pool
}

// StatementTimeout bounds every statement, unless DATABASE_URL sets
// statement_timeout itself.
const StatementTimeout = 10 * time.Second

// Open connects to the database at url (a DATABASE_URL). The pool of reads
// holds half as many connections as the other (pool_max_conns, by default
// the larger of 4 and the number of CPUs), at least 2.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(StatementTimeout.Milliseconds(), 10)
	}
	readCfg := cfg.Copy()
	readCfg.MaxConns = max(2, cfg.MaxConns/2)
	readCfg.MinConns = min(readCfg.MinConns, readCfg.MaxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	reads, err := pgxpool.NewWithConfig(ctx, readCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	return &DB{pool: pool, reads: reads}, nil
}

// OpenFromEnv connects to the database at $DATABASE_URL, which must be set.
func OpenFromEnv(ctx context.Context) (*DB, error) {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	return Open(ctx, url)
}

// DatabaseURL returns url, a DATABASE_URL, naming the database name instead.
func DatabaseURL(url, name string) (string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return "", fmt.Errorf("database URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Close closes every connection of the pools.
func (db *DB) Close() {
	db.pool.Close()
	db.reads.Close()
}

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
	// A migration may take longer than a statement of the functions.
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		return nil, wrap("migrate", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `RESET statement_timeout`)
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

// Seed loads the demo data, its reports queued for detection; loading it
// twice changes nothing.
func (db *DB) Seed(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, schema.Seed); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// wrap turns a database failure into a domain error: EUNAVAILABLE (503,
// retry later) only when a retry can succeed — the connection lost, refused
// or out of time, the server out of resources or shutting down, a
// serialization failure or deadlock, the pool closed (shutting down) —
// and an internal error (500) otherwise.
func wrap(op string, err error) error {
	var pgErr *pgconn.PgError
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	switch {
	case errors.As(err, &pgErr):
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			strings.HasPrefix(pgErr.Code, "57"), // operator intervention: shutdown, statement timeout
			pgErr.Code == "40001", pgErr.Code == "40P01", pgErr.Code == "55P03":
			return fmt.Errorf("%s: %w: %w", op, unavailable, err)
		}
		return fmt.Errorf("%s: %w", op, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", op, err) // EUNAVAILABLE by udaconnect.ErrorCode
	case errors.As(err, &netErr), errors.As(err, &connectErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, puddle.ErrClosedPool), pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return fmt.Errorf("%s: %w: %w", op, unavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// refusedData reports whether PostgreSQL refused a statement for the data it
// was given, which no retry changes: a data exception (class 22), a
// constraint it breaks (23) or a limit it exceeds (54), such as a key too
// long for its index.
func refusedData(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	class := pgErr.Code[:2]
	return class == "22" || class == "23" || class == "54"
}

// dataMessage says why PostgreSQL refused data, without the names of its
// tables and indexes.
func dataMessage(err error) string {
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	return fmt.Sprintf("PostgreSQL refused it (SQLSTATE %s)", pgErr.Code)
}

var unavailable = udaconnect.Errorf(udaconnect.EUNAVAILABLE, "the database is unavailable, try again later")
