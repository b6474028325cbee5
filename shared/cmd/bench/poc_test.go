package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
)

// The proof of concept's tables hold the same rows, points as
// POINT(longitude latitude), and its algorithm finds the same reports as
// UdaConnect's query.
func TestPoC(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	ctx := context.Background()
	c := conference.Default
	c.Attendees, c.Days, c.Interval = 60, 1, 30*time.Minute
	ids, err := loadConference(ctx, dbURL, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadPoC(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, same int
	err = conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE ST_X(p.coordinate) = ST_X(l.coordinate::geometry)
			AND ST_Y(p.coordinate) = ST_Y(l.coordinate::geometry) AND p.creation_time = l.creation_time AT TIME ZONE 'UTC'
			AND p.person_id = l.person_id AND ST_SRID(p.coordinate) = 0)
		FROM poc.location p JOIN public.location l USING (id)`).Scan(&rows, &same)
	if want := c.Attendees * c.ReportsPerAttendee(); err != nil || rows != want || same != want {
		t.Fatalf("poc.location: %d rows, %d the same as location's, %v; want %d of each", rows, same, err, want)
	}

	poc, err := openPoC(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer poc.Close(ctx)
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start, end := c.Start, c.Start.AddDate(0, 0, 1)
	met := 0
	for _, person := range ids[:10] {
		found, queries, err := pocFindContacts(ctx, poc, person, start, end, 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := 2 + c.ReportsPerAttendee(); queries != want {
			t.Errorf("person %d: %d queries; want %d, one per report and two more", person, queries, want)
		}
		conns, err := db.FindConnections(ctx, udaconnect.ConnectionQuery{PersonID: person, Start: start, End: end, Distance: 5})
		if err != nil {
			t.Fatal(err)
		}
		var ours []int64
		for _, c := range conns {
			ours = append(ours, c.Location.ID)
		}
		slices.Sort(found)
		slices.Sort(ours)
		if !slices.Equal(found, ours) {
			t.Errorf("person %d: the proof of concept found %v; UdaConnect %v", person, found, ours)
		}
		met += len(found)
	}
	if met == 0 {
		t.Error("nobody met anybody: the comparison proves nothing")
	}
}
