package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

// createAttendees creates the database name afresh (createDatabase) with n
// attendees registered, and returns its URL, a connection to it, which the
// caller closes, and the attendees' ids.
func createAttendees(ctx context.Context, adminURL, name string, n int) (string, *pgx.Conn, []int64, error) {
	dbURL, err := createDatabase(ctx, adminURL, name)
	if err != nil {
		return "", nil, nil, err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, nil, err
	}
	ids, err := insertPersons(ctx, conn, n)
	if err != nil {
		conn.Close(ctx)
		return "", nil, nil, err
	}
	return dbURL, conn, ids, nil
}

// createDatabase creates the database name afresh on the server of
// adminURL, migrated as `migrate` does, and returns its URL.
func createDatabase(ctx context.Context, adminURL, name string) (string, error) {
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	dbURL, err := postgres.DatabaseURL(adminURL, name)
	if err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return "", err
	}
	return dbURL, nil
}

// loadConference stores the conference c in the database at dbURL through
// the product's own batched insert, with its meetings as connections would
// keep them, then vacuums and analyses it as autovacuum would in time, and
// returns the attendees' ids.
func loadConference(ctx context.Context, dbURL string, c conference.Config, progress func(done, total int)) ([]int64, error) {
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ids, err := conference.Load(ctx, db, c, progress)
	if err != nil {
		return nil, fmt.Errorf("load conference: %w", err)
	}
	if _, err := detection.DrainZone(ctx, db, 0, detection.Params()); err != nil {
		return nil, fmt.Errorf("detect meetings: %w", err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) location, person"); err != nil {
		return nil, fmt.Errorf("vacuum: %w", err)
	}
	return ids, nil
}

// serverInfo describes the database server.
func serverInfo(ctx context.Context, dbURL string) (Server, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return Server{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var s Server
	err = conn.QueryRow(ctx, `SELECT current_setting('server_version'), postgis_lib_version(),
		current_setting('shared_buffers'), current_setting('fsync'), current_setting('synchronous_commit'),
		current_setting('data_directory')`).Scan(&s.PostgreSQL, &s.PostGIS, &s.SharedBuffers, &s.Fsync, &s.SynchronousCommit, &s.dataDir)
	return s, err
}

// storagePerReport is the size of the location table and its indexes over
// the reports it holds.
func storagePerReport(ctx context.Context, dbURL string) (float64, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var perReport float64
	err = conn.QueryRow(ctx, `SELECT pg_total_relation_size('location')::float8 / greatest(count(*), 1) FROM location`).Scan(&perReport)
	if err != nil {
		return 0, fmt.Errorf("storage per report: %w", err)
	}
	return perReport, nil
}
