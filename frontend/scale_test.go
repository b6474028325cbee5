package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/detect"
	devices "github.com/udaconnect/udaconnect/shared/device"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
)

// A synthetic conference sent through the door to 3 replicas of each
// function, in every mode, with resends and late batches out of order, and
// retention runs beside it, ends stored exactly as the known answer: the
// same reports, each once, the same meetings, each once, and the same
// connections; and the demo data, older than the retention, deleted. The
// answer is the same reports stored on a database of its own, with the
// meetings that the definition gives them.
func TestScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system three times over")
	}
	const retention = "1000d" // the seed is of 2020; the conference, yesterday
	s := startStackOf(t, 3, "RETENTION="+retention)
	c := conference.Default
	c.Attendees, c.Booths, c.Talks, c.Days, c.Interval, c.Seed = 12, 2, 1, 1, 15*time.Minute, 7
	c.Start = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	var ids []int64
	for _, p := range c.Persons() {
		ids = append(ids, s.register(t, p.FirstName, p.LastName, p.CompanyName).ID)
	}
	reports := slices.Collect(c.Reports(ids))

	// A third as binary events, a third as structured ones, a third in
	// batches of 20, the last batch first; every fifth single event and one
	// batch twice. The three go at once.
	third := len(reports) / 3
	sender := &devices.Client{URL: s.door, Token: testOrganizerToken}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, r := range reports[:third] {
			e := servertest.NewEvent(t, ev.LocationReported, r.EventID, map[string]any{
				"person_id": r.PersonID, "latitude": r.Latitude, "longitude": r.Longitude, "creation_time": r.CreationTime})
			e.SetSource(r.Source)
			for range 1 + boolInt(i%5 == 0) {
				if got := s.org.Send(t, s.door+"/events", "binary", e); got.Status != http.StatusAccepted {
					t.Errorf("binary report %s = %d %s", r.EventID, got.Status, got.Body)
				}
			}
		}
	})
	wg.Go(func() {
		for i, r := range reports[third : 2*third] {
			for range 1 + boolInt(i%5 == 0) {
				if res := sender.Send(context.Background(), []udaconnect.Report{r}); res.Accepted != 1 {
					t.Errorf("structured report %s: %+v", r.EventID, res)
				}
			}
		}
	})
	wg.Go(func() {
		batches := slices.Collect(slices.Chunk(reports[2*third:], 20))
		slices.Reverse(batches) // offline devices: the latest hour first
		batches = append(batches, batches[len(batches)/2])
		for _, b := range batches {
			if res := sender.Send(context.Background(), b); res.Accepted != len(b) {
				t.Errorf("batch of %d: %+v", len(b), res)
			}
		}
	})
	wg.Go(func() { // the PingSource, a few times while reports come in
		for i := range 3 {
			ping := servertest.NewEvent(t, ev.RetentionDue, fmt.Sprintf("retention-%d", i), map[string]any{})
			ping.SetSource("/apis/v1/namespaces/udaconnect/pingsources/retention")
			if r := servertest.Send(t, s.broker+"/udaconnect/default", "binary", ping); r.Status != http.StatusAccepted {
				t.Errorf("retention ping = %d %s", r.Status, r.Body)
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
	wg.Wait()

	answer := knownAnswer(t, s, ids, reports)
	got := outcomeOf(t, s.dbURL, ids)
	deadline := time.Now().Add(3 * time.Minute) // detection follows storage
	for !slices.Equal(got.meetings, answer.meetings) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		got = outcomeOf(t, s.dbURL, ids)
	}
	if len(got.reports) != len(reports) || !slices.Equal(got.reports, answer.reports) {
		t.Errorf("stored %d reports; want the %d sent, each once, as the answer stores them", len(got.reports), len(reports))
	}
	eventually(t, "the reports older than the retention deleted", func() bool {
		var old int
		if err := pgxQueryRow(t, s.dbURL, `SELECT count(*) FROM location WHERE creation_time < now() - interval '1000 days'`, &old); err != nil {
			t.Fatal(err)
		}
		return old == 0
	})
	if got.duplicates != 0 {
		t.Errorf("%d meetings stored twice", got.duplicates)
	}
	if len(answer.meetings) == 0 || !slices.Equal(got.meetings, answer.meetings) {
		t.Errorf("meetings:\n%v\nwant the known answer's %d:\n%v", got.meetings, len(answer.meetings), answer.meetings)
	}
	// The compatible route through the door, against the answer's query.
	for _, id := range ids {
		var conns []udaconnect.Connection
		day := c.Start.Format(time.DateOnly)
		r := s.org.Request(t, "GET", fmt.Sprintf("%s/api/persons/%d/connection?start_date=%s&end_date=%s&window=15m", s.door, id, day, day), nil)
		r.Decode(t, &conns)
		if want := answer.connections[id]; !slices.Equal(connectionKeys(conns), want) {
			t.Errorf("person %d's connections = %d; want the answer's %d", id, len(conns), len(want))
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// outcome is what a database holds of the conference, comparable across
// databases: reports and meetings as values, not by their ids.
type outcome struct {
	reports     []string
	meetings    []string
	duplicates  int
	connections map[int64][]string // by person, for the answer
}

func outcomeOf(t *testing.T, dbURL string, ids []int64) outcome {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var o outcome
	rows, _ := conn.Query(ctx, `
		SELECT format('%s %s %s %s', person_id, creation_time, round(ST_Y(coordinate::geometry)::numeric, 7), round(ST_X(coordinate::geometry)::numeric, 7))
		FROM location WHERE person_id = ANY($1) ORDER BY 1`, ids)
	if o.reports, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `
		SELECT format('%s-%s %s..%s %ss %sm ended %s', person_a, person_b, started, last_seen, round(together_s::numeric, 3), round(closest_m::numeric, 2), ended)
		FROM meeting WHERE merged_into IS NULL AND person_a = ANY($1) ORDER BY 1`, ids)
	if o.meetings, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	err = conn.QueryRow(ctx, `
		SELECT count(*) - count(DISTINCT (person_a, person_b, started)) FROM meeting
		WHERE merged_into IS NULL AND person_a = ANY($1)`, ids).Scan(&o.duplicates)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// knownAnswer stores the same persons and reports on a database of its own,
// with the meetings that the definition gives (detect.Reference), and
// returns what it holds and the connections of each person within 15
// minutes.
func knownAnswer(t *testing.T, s *stack, ids []int64, reports []udaconnect.Report) outcome {
	t.Helper()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	system, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer system.Close(ctx)
	answer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer answer.Close(ctx)
	rows, _ := system.Query(ctx, `SELECT id, first_name, last_name, company_name FROM person WHERE id = ANY($1)`, ids)
	persons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[udaconnect.Person])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range persons {
		if _, err := answer.Exec(ctx, `INSERT INTO person (id, first_name, last_name, company_name, event_source, event_id)
			VALUES ($1, $2, $3, $4, 'answer', $5)`, p.ID, p.FirstName, p.LastName, p.CompanyName, fmt.Sprint(p.ID)); err != nil {
			t.Fatal(err)
		}
	}
	locs, errs, err := db.StoreReports(ctx, reports)
	if err != nil {
		t.Fatal(err)
	}
	// The meetings by the definition, up to the last report: the detector's
	// time once every report is detected.
	var detected []detect.Report
	var last time.Time
	for i, l := range locs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		detected = append(detected, detect.Report{ID: l.ID, Person: l.PersonID, Time: l.CreationTime, Lat: l.Latitude, Lon: l.Longitude})
		if l.CreationTime.After(last) {
			last = l.CreationTime
		}
	}
	if err := db.WriteMeetings(ctx, detect.Reference(detect.DefaultParams(), detected, last), nil); err != nil {
		t.Fatal(err)
	}
	o := outcomeOf(t, url, ids)
	o.connections = map[int64][]string{}
	day := reports[0].CreationTime.Format(time.DateOnly)
	for _, id := range ids {
		q, err := udaconnect.ConnectionParams{PersonID: id, StartDate: day, EndDate: day, Window: "15m"}.Query()
		if err != nil {
			t.Fatal(err)
		}
		conns, err := db.FindConnections(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		o.connections[id] = connectionKeys(conns)
	}
	return o
}

// connectionKeys are connections as values, sorted: whom, when, where.
func connectionKeys(conns []udaconnect.Connection) []string {
	var keys []string
	for _, c := range conns {
		keys = append(keys, fmt.Sprintf("%d %s %.7f %.7f %.2f", c.Person.ID, c.Location.CreationTime.UTC().Format(time.RFC3339Nano),
			c.Location.Latitude, c.Location.Longitude, c.Distance))
	}
	slices.Sort(keys)
	return keys
}

// pgxQueryRow scans the one row of query on the database at dbURL into dest.
func pgxQueryRow(t *testing.T, dbURL, query string, dest ...any) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), query).Scan(dest...)
}
