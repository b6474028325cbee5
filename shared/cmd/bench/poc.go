package main

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// pocSchema is the proof of concept's schema (its db/schema.sql).
//
//go:embed poc_schema.sql
var pocSchema string

// loadPoC creates the proof of concept's tables in the schema poc of the
// database at dbURL and fills them with UdaConnect's rows: the same ids,
// people and reports. Every point is stored as POINT(longitude latitude)
// (the proof of concept stored some the other way round), every time as UTC
// without a zone, as it stored them.
func loadPoC(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`DROP SCHEMA IF EXISTS poc CASCADE`,
			`CREATE SCHEMA poc`,
			`SET LOCAL search_path = poc, public`,
			pocSchema,
			`INSERT INTO poc.person (id, first_name, last_name, company_name)
				SELECT id, first_name, last_name, company_name FROM public.person`,
			`INSERT INTO poc.location (id, person_id, coordinate, creation_time)
				SELECT id, person_id, ST_MakePoint(ST_X(coordinate::geometry), ST_Y(coordinate::geometry)),
					creation_time AT TIME ZONE 'UTC'
				FROM public.location`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load the proof of concept's tables: %w", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE) poc.person, poc.location`); err != nil {
		return fmt.Errorf("vacuum the proof of concept's tables: %w", err)
	}
	return nil
}

// openPoC connects to the proof of concept's tables. Like its driver
// (psycopg2 under SQLAlchemy), it sends each query as text with the
// parameters inlined, so that each is planned for its values.
func openPoC(ctx context.Context, dbURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["search_path"] = "poc, public"
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}

// pocNearSQL is the proof of concept's query for the reports of others near
// one report, with longitude and latitude in their right places.
const pocNearSQL = `
	SELECT person_id, id, ST_X(coordinate), ST_Y(coordinate), creation_time
	FROM location
	WHERE ST_DWithin(coordinate::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, $3)
	  AND person_id != $4
	  AND TO_DATE($5, 'YYYY-MM-DD') <= creation_time
	  AND TO_DATE($6, 'YYYY-MM-DD') > creation_time`

// pocFindContacts runs the proof of concept's algorithm
// (ConnectionService.find_contacts) as SQL: the person's reports in the
// days [start, end), every person, then one query per report of the
// person's for the reports of others within meters of it in those days.
// It returns the ids of the reports found, each once, and how many queries
// it ran.
func pocFindContacts(ctx context.Context, conn *pgx.Conn, personID int64, start, end time.Time, meters float64) ([]int64, int, error) {
	startDate, endDate := start.Format(time.DateOnly), end.Format(time.DateOnly)
	rows, _ := conn.Query(ctx, `SELECT ST_X(coordinate), ST_Y(coordinate) FROM location
		WHERE person_id = $1 AND creation_time < $2 AND creation_time >= $3`, personID, endDate, startDate)
	type point struct{ lon, lat float64 }
	mine, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (point, error) {
		var p point
		return p, row.Scan(&p.lon, &p.lat)
	})
	if err != nil {
		return nil, 1, fmt.Errorf("the person's reports: %w", err)
	}
	rows, _ = conn.Query(ctx, `SELECT id, first_name, last_name, company_name FROM person`)
	persons := map[int64]string{}
	var id int64
	var first, last, company string
	if _, err := pgx.ForEachRow(rows, []any{&id, &first, &last, &company}, func() error {
		persons[id] = first + " " + last + ", " + company
		return nil
	}); err != nil {
		return nil, 2, fmt.Errorf("every person: %w", err)
	}
	queries := 2
	seen := map[int64]bool{}
	var found []int64
	for _, p := range mine {
		queries++
		rows, _ := conn.Query(ctx, pocNearSQL, p.lon, p.lat, meters, personID, startDate, endDate)
		var other, loc int64
		var x, y float64
		var at time.Time
		if _, err := pgx.ForEachRow(rows, []any{&other, &loc, &x, &y, &at}, func() error {
			if _, ok := persons[other]; !ok {
				return fmt.Errorf("report %d of unknown person %d", loc, other)
			}
			if !seen[loc] {
				seen[loc] = true
				found = append(found, loc)
			}
			return nil
		}); err != nil {
			return nil, queries, fmt.Errorf("reports near (%g, %g): %w", p.lat, p.lon, err)
		}
	}
	return found, queries, nil
}
