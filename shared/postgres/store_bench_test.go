package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// BenchmarkStoreGroup stores groups of reports as locations does, one
// statement of INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING
// (StoreReports), beside the other way a group could go in one statement:
// COPY into a staging table, then INSERT … SELECT … ON CONFLICT DO NOTHING
// from it. Each reports ns/report.
//
//	go test -run '^$' -bench StoreGroup ./shared/postgres/
func BenchmarkStoreGroup(b *testing.B) {
	url := pgtest.NewDatabase(b)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	person, err := db.CreatePerson(ctx, udaconnect.Person{FirstName: "Bench", LastName: "Mark", CompanyName: "Group"}, "src", "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	next := 0
	group := func(size int) []udaconnect.Report {
		rs := make([]udaconnect.Report, size)
		for i := range rs {
			next++
			rs[i] = udaconnect.Report{Source: "/bench", EventID: fmt.Sprint(next), Location: udaconnect.Location{
				PersonID: person.ID, Latitude: 35 + float64(next%1000)*1e-5, Longitude: -106, CreationTime: time.Date(2021, 1, 1, 0, 0, next, 0, time.UTC)}}
			rs[i].Hash = rs[i].Fingerprint()
		}
		return rs
	}
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("unnest/%d", size), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := db.StoreReports(ctx, group(size)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/report")
		})
		b.Run(fmt.Sprintf("copy/%d", size), func(b *testing.B) {
			for b.Loop() {
				if err := copyGroup(ctx, conn, group(size)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/report")
		})
	}
}

// copyGroup stores reports through a staging table, answering the stored
// rows as StoreReports does.
func copyGroup(ctx context.Context, conn *pgx.Conn, reports []udaconnect.Report) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE staging (event_source text, event_id text, person_id bigint,
			latitude float8, longitude float8, creation_time timestamptz, request_hash bytea) ON COMMIT DROP`); err != nil {
			return err
		}
		rows := make([][]any, len(reports))
		for i, r := range reports {
			rows[i] = []any{r.Source, r.EventID, r.PersonID, r.Latitude, r.Longitude, r.CreationTime, r.Hash}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"staging"},
			[]string{"event_source", "event_id", "person_id", "latitude", "longitude", "creation_time", "request_hash"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		stored, _ := tx.Query(ctx, `
			INSERT INTO location (event_source, event_id, person_id, coordinate, creation_time, request_hash)
			SELECT s.event_source, s.event_id, s.person_id, ST_MakePoint(s.longitude, s.latitude)::geography, s.creation_time, s.request_hash
			FROM staging s WHERE EXISTS (SELECT FROM person p WHERE p.id = s.person_id)
			ON CONFLICT (event_source, event_id) DO NOTHING
			RETURNING id, person_id, ST_Y(coordinate::geometry), ST_X(coordinate::geometry), creation_time`)
		_, err := pgx.CollectRows(stored, pgx.RowToStructByPos[udaconnect.Location])
		return err
	})
}
