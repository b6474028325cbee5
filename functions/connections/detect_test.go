package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/detection"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/postgres/pgtest"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/server/servertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// eventually waits for cond, up to a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// waitDetected waits until no report waits for detection.
func waitDetected(t *testing.T, db *postgres.DB) {
	t.Helper()
	eventually(t, "the backlog detected", func() bool {
		d, err := db.Detection(context.Background())
		return err == nil && d.BacklogReports == 0
	})
}

// replica is a connections function on db, as a replica of its own, with
// its log.
type replica struct {
	f    *Function
	url  string
	logs *observer.ObservedLogs
	sink *sink
}

func startReplica(t *testing.T, db *postgres.DB) *replica {
	t.Helper()
	s := &sink{}
	sinkSrv := httptest.NewServer(s)
	t.Cleanup(sinkSrv.Close)
	core, logs := observer.New(zapcore.InfoLevel)
	f, err := New(server.Config{Sink: sinkSrv.URL}, db, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	srv := servertest.Start(t, f)
	t.Cleanup(f.Close)
	return &replica{f: f, url: srv.URL, logs: logs, sink: s}
}

// failures are the errors the replica logged.
func (r *replica) failures() []string {
	var failed []string
	for _, e := range r.logs.FilterLevelExact(zapcore.ErrorLevel).All() {
		failed = append(failed, fmt.Sprint(e.Message, e.ContextMap()))
	}
	return failed
}

// hall is where a crowd of these tests stands: spots a few metres apart, in
// a box that DETECT_ZONES can name.
type hall struct{ lat, lon float64 }

var (
	hallA = hall{48.8566, 2.3522}
	hallB = hall{48.8600, 2.3600}
	// zoneA holds hall A and not hall B.
	zoneA = "hall-a=48.8560,2.3515,48.8572,2.3530"
)

// crowd returns the reports of persons in h over minutes from start: each
// stands at one of a few spots 3 to 9 m apart, a metre or so off it, and
// reports every 5 s to every (plus 5 s); now and then one walks to another
// spot, or goes quiet for longer than the hold.
func crowd(rng *rand.Rand, h hall, persons []int64, start time.Time, minutes int, every time.Duration) []udaconnect.Report {
	const metresPerDegree = 111_200.0
	spots := [][2]float64{{0, 0}, {4, 0}, {0, 3}, {6, 6}, {9, 0}, {0, 9}}
	var reports []udaconnect.Report
	end := start.Add(time.Duration(minutes) * time.Minute)
	for _, p := range persons {
		spot := rng.IntN(len(spots))
		for at := start.Add(time.Duration(rng.IntN(60)) * time.Second); at.Before(end); {
			s := spots[spot]
			north, east := s[0]+rng.NormFloat64()*0.7, s[1]+rng.NormFloat64()*0.7
			reports = append(reports, udaconnect.Report{
				Location: udaconnect.Location{
					PersonID: p, CreationTime: at,
					Latitude: h.lat + north/metresPerDegree, Longitude: h.lon + east/(metresPerDegree*math.Cos(h.lat*math.Pi/180)),
				},
				Source: "crowd", EventID: fmt.Sprintf("%d-%d", p, at.Unix()),
			})
			switch x := rng.Float64(); {
			case x < 0.1:
				spot = rng.IntN(len(spots))
			case x < 0.13:
				at = at.Add(20 * time.Minute) // quiet for longer than the hold
			}
			at = at.Add(5*time.Second + time.Duration(rng.Int64N(int64(every)))).Truncate(time.Millisecond)
		}
	}
	return reports
}

func persons(t testing.TB, db *postgres.DB, n int, name string) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		p, err := db.CreatePerson(context.Background(), udaconnect.Person{FirstName: fmt.Sprint(name, i), LastName: "Crowd", CompanyName: "Hall"}, "test", fmt.Sprint(name, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// sendShuffled stores the reports as locations does, in groups of random
// sizes in a random order, some twice, in zones (DETECT_ZONES), and
// delivers each group's locations.recorded to one of the replicas. between,
// if not nil, runs between groups.
func sendShuffled(t *testing.T, rng *rand.Rand, db *postgres.DB, zones udaconnect.Zones, reports []udaconnect.Report, urls []string, between func(group int)) {
	t.Helper()
	shuffled := slices.Clone(reports)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	sendInGroups(t, rng, db, zones, reports, shuffled, urls, between)
}

// sendInGroups is sendShuffled with the reports sent in the order of
// ordered.
func sendInGroups(t *testing.T, rng *rand.Rand, db *postgres.DB, zones udaconnect.Zones, reports, ordered []udaconnect.Report, urls []string, between func(group int)) {
	t.Helper()
	shuffled := slices.Clone(ordered)
	for group := 0; len(shuffled) > 0; group++ {
		n := min(len(shuffled), 1+rng.IntN(60))
		g := shuffled[:n]
		if rng.IntN(5) == 0 { // a redelivery of a part of the group before
			g = append(slices.Clone(g), reports[:rng.IntN(10)]...)
		}
		for i := range g {
			g[i].Zone = zones.Of(g[i].Latitude, g[i].Longitude)
		}
		locs, errs, err := db.StoreReports(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		e := servertest.NewEvent(t, ev.LocationsRecorded, fmt.Sprint("group-", group), ev.LocationsRecordedData{Locations: locs})
		if r := servertest.Send(t, urls[rng.IntN(len(urls))], "binary", e); r.Status != http.StatusAccepted {
			t.Fatalf("locations.recorded = %d %s; want 202 at once", r.Status, r.Body)
		}
		shuffled = shuffled[n:]
		if between != nil {
			between(group)
		}
	}
}

// reference is the meetings of the reports by the definition, zone by zone,
// each up to its latest report: the detector's time once all are detected.
func reference(zones udaconnect.Zones, reports []udaconnect.Report, ids map[string]int64) []detect.Meeting {
	byZone := map[int][]detect.Report{}
	last := map[int]time.Time{}
	for _, r := range reports {
		z := zones.Of(r.Latitude, r.Longitude)
		byZone[z] = append(byZone[z], detect.Report{ID: ids[r.EventID], Person: r.PersonID, Time: r.CreationTime, Lat: r.Latitude, Lon: r.Longitude})
		if r.CreationTime.After(last[z]) {
			last[z] = r.CreationTime
		}
	}
	var all []detect.Meeting
	for z, rs := range byZone {
		all = append(all, detect.Reference(detect.DefaultParams(), rs, last[z])...)
	}
	sortMeetings(all)
	return all
}

func sortMeetings(ms []detect.Meeting) {
	slices.SortFunc(ms, func(a, b detect.Meeting) int {
		return cmpKey(a.Key, b.Key)
	})
}

func cmpKey(a, b detect.Key) int {
	if a.A != b.A {
		return int(a.A - b.A)
	}
	if a.B != b.B {
		return int(a.B - b.B)
	}
	return a.Started.Compare(b.Started)
}

// stored reads every live meeting of the persons.
func stored(t *testing.T, db *postgres.DB, persons []int64) []detect.Meeting {
	t.Helper()
	var all []detect.Meeting
	for _, p := range persons {
		var ms []udaconnect.Meeting
		q := udaconnect.MeetingQuery{PersonID: p, Limit: udaconnect.MaxMeetingLimit}
		for {
			page, err := db.FindMeetings(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, page...)
			if len(page) < q.Limit {
				break
			}
			q.After = udaconnect.MeetingCursor{Started: page[len(page)-1].Started, ID: page[len(page)-1].ID}
		}
		for _, m := range ms {
			if m.Person.ID < p {
				continue // read from the other side
			}
			all = append(all, detect.Meeting{
				Key: detect.Key{A: p, B: m.Person.ID, Started: m.Started}, LastSeen: m.LastSeen,
				Together: time.Duration(math.Round(m.TogetherS * float64(time.Second))), ClosestM: m.ClosestM,
				Lat: m.Latitude, Lon: m.Longitude, Ended: m.Ended,
			})
		}
	}
	sortMeetings(all)
	return all
}

// difference describes how got differs from want, "" when it does not:
// times exactly, measures within 1e-6.
func difference(got, want []detect.Meeting) string {
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6 }
	var d []string
	for i := 0; i < max(len(got), len(want)) && len(d) < 5; i++ {
		switch {
		case i >= len(got):
			d = append(d, fmt.Sprintf("missing %+v", want[i]))
		case i >= len(want):
			d = append(d, fmt.Sprintf("extra %+v", got[i]))
		case got[i].Key != want[i].Key || !got[i].LastSeen.Equal(want[i].LastSeen) || got[i].Ended != want[i].Ended ||
			!close(got[i].Together.Seconds(), want[i].Together.Seconds()) || !close(got[i].ClosestM, want[i].ClosestM) ||
			!close(got[i].Lat, want[i].Lat) || !close(got[i].Lon, want[i].Lon):
			d = append(d, fmt.Sprintf("got %+v, want %+v", got[i], want[i]))
		}
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf("%d meetings, want %d: %s", len(got), len(want), strings.Join(d, "; "))
}

// locationIDs maps the reports' event ids to their stored locations.
func locationIDs(t *testing.T, db *postgres.DB, reports []udaconnect.Report) map[string]int64 {
	t.Helper()
	locs, _, err := db.StoreReports(context.Background(), reports) // each stored already: answered, not stored again
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for i, r := range reports {
		ids[r.EventID] = locs[i].ID
	}
	return ids
}

// expectMeetings waits for the stored meetings to be the definition's, and
// returns them.
func expectMeetings(t *testing.T, db *postgres.DB, zones udaconnect.Zones, reports []udaconnect.Report, ps []int64) []detect.Meeting {
	t.Helper()
	want := reference(zones, reports, locationIDs(t, db, reports))
	if len(want) == 0 {
		t.Fatal("the scene has no meetings")
	}
	var diff string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if diff = difference(stored(t, db, ps), want); diff == "" {
			return want
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored meetings differ from the definition's: %s", diff)
		}
	}
}

// expectAnnounced waits for each meeting to be announced to one of the
// sinks, and checks that each was announced under one id, however many
// times, and with once, that no event was accepted twice.
func expectAnnounced(t *testing.T, meetings []detect.Meeting, once bool, sinks ...*sink) {
	t.Helper()
	ids := map[detect.Key]map[string]bool{}
	eventually(t, "every meeting announced", func() bool {
		clear(ids)
		for _, s := range sinks {
			for k, id := range s.keys() {
				if ids[k] == nil {
					ids[k] = map[string]bool{}
				}
				ids[k][id] = true
			}
		}
		return !slices.ContainsFunc(meetings, func(m detect.Meeting) bool { return ids[m.Key] == nil })
	})
	for k, each := range ids {
		if len(each) > 1 {
			t.Errorf("meeting %+v announced as %v; want one id", k, each)
		}
	}
	for _, s := range sinks {
		for id, n := range s.received() {
			if once && n != 1 {
				t.Errorf("%s accepted %d times; want once", id, n)
			}
		}
	}
}

// Reports sent in groups of any size, in any order, some twice, are
// detected once each, and the meetings stored are the definition's.
func TestDetectionIsTheDefinition(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			db := pgtest.MustOpenDB(t)
			rng := rand.New(rand.NewPCG(seed, 20))
			ps := persons(t, db, 12, "p")
			reports := crowd(rng, hallA, ps, time.Date(2021, 5, 5, 9, 0, 0, 0, time.UTC), 90, 4*time.Minute)
			r := startReplica(t, db)
			sendShuffled(t, rng, db, nil, reports, []string{r.url}, nil)
			expectMeetings(t, db, nil, reports, ps)
			waitDetected(t, db)
			if failed := r.failures(); len(failed) > 0 {
				t.Errorf("errors logged: %q", failed)
			}
		})
	}
}

// Two replicas share two zones; the owners' connections are cut again and
// again while reports arrive (a replica killed before its checkpoint, the
// database gone during a write): the zones are claimed again, restored from
// their checkpoints and the rows after them, and nothing is lost or counted
// twice.
func TestDetectionAcrossReplicasAndFailures(t *testing.T) {
	t.Setenv("DETECT_ZONES", zoneA)
	t.Setenv("DETECT_CHECKPOINT", "1s")
	zones, err := udaconnect.ParseZones(zoneA)
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(7, 20))
	inA, inB := persons(t, db, 8, "a"), persons(t, db, 8, "b")
	start := time.Date(2021, 5, 5, 9, 0, 0, 0, time.UTC)
	reports := append(crowd(rng, hallA, inA, start, 60, 4*time.Minute), crowd(rng, hallB, inB, start.Add(time.Hour), 60, 4*time.Minute)...)
	one, two := startReplica(t, db), startReplica(t, db)
	eventually(t, "both zones owned", func() bool { return ownedZones(t, url) == 2 })

	cuts := 0
	sendShuffled(t, rng, db, zones, reports, []string{one.url, two.url}, func(group int) {
		if group%15 == 7 {
			cuts += cutOwners(t, url)
			time.Sleep(100 * time.Millisecond)
		}
	})
	if cuts == 0 {
		t.Fatal("no owner was cut")
	}
	expectMeetings(t, db, zones, reports, append(inA, inB...))
	eventually(t, "a checkpoint of each zone", func() bool {
		var state int
		if err := pgxQueryRow(t, url, `SELECT count(*) FROM detect_state WHERE state IS NOT NULL`, &state); err != nil {
			t.Fatal(err)
		}
		return state == 2
	})
}

// Reports sent as they are taken, in groups: each meeting is announced
// when it starts, once; with the owners' connections cut again and again,
// at least once, under the same id.
func TestMeetingsAnnounced(t *testing.T) {
	for _, cut := range []bool{false, true} {
		t.Run(fmt.Sprint("cut ", cut), func(t *testing.T) {
			t.Setenv("DETECT_CHECKPOINT", "1s")
			url := pgtest.NewDatabase(t)
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rng := rand.New(rand.NewPCG(11, 20))
			ps := persons(t, db, 12, "m")
			reports := crowd(rng, hallA, ps, time.Date(2021, 5, 5, 9, 0, 0, 0, time.UTC), 60, 2*time.Minute)
			inOrder := slices.Clone(reports)
			slices.SortStableFunc(inOrder, func(a, b udaconnect.Report) int { return a.CreationTime.Compare(b.CreationTime) })
			one, two := startReplica(t, db), startReplica(t, db)
			cuts := 0
			sendInGroups(t, rng, db, nil, reports, inOrder, []string{one.url, two.url}, func(group int) {
				if cut && group%10 == 5 {
					cuts += cutOwners(t, url)
					time.Sleep(100 * time.Millisecond)
				}
			})
			if cut && cuts == 0 {
				t.Fatal("no owner was cut")
			}
			expectAnnounced(t, expectMeetings(t, db, nil, reports, ps), !cut, one.sink, two.sink)
		})
	}
}

// A backlog many steps long, queued while no replica ran, drains without
// a step that fails.
func TestDetectionDrainsALargeBacklog(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	rng := rand.New(rand.NewPCG(3, 20))
	ps := persons(t, db, 120, "q")
	reports := crowd(rng, hallA, ps, time.Date(2021, 5, 5, 9, 0, 0, 0, time.UTC), 120, 30*time.Second)
	if len(reports) < 2*detection.MaxStep {
		t.Fatalf("%d reports; want more than two steps' worth", len(reports))
	}
	slices.SortFunc(reports, func(a, b udaconnect.Report) int { return a.CreationTime.Compare(b.CreationTime) })
	for chunk := range slices.Chunk(reports, 1000) {
		if _, _, err := db.StoreReports(context.Background(), chunk); err != nil {
			t.Fatal(err)
		}
	}
	r := startReplica(t, db)
	defer func() {
		if failed := r.failures(); len(failed) > 0 {
			t.Errorf("errors logged while the backlog drained: %q", failed)
		}
	}()
	expectMeetings(t, db, nil, reports, ps)
}

// ownedZones counts the zones that a process holds.
func ownedZones(t *testing.T, url string) int {
	var n int
	if err := pgxQueryRow(t, url, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// cutOwners ends the connections of the zones' owners, and returns how many.
func cutOwners(t *testing.T, url string) int {
	var n int
	if err := pgxQueryRow(t, url, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pgxQueryRow(t testing.TB, url, query string, dest ...any) error {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(context.Background(), query).Scan(dest...)
}

// The detection route tells how current the meetings are; the ping is
// answered once nothing waits.
func TestDetectionRoute(t *testing.T) {
	url, db, _ := start(t)
	if r := servertest.Send(t, url, "binary", servertest.NewEvent(t, ev.DetectionDue, "ping-1", map[string]any{})); r.Status != http.StatusAccepted {
		t.Fatalf("ping = %d %s; want 202", r.Status, r.Body)
	}
	waitDetected(t, db)
	var d udaconnect.Detection
	eventually(t, "the seed detected", func() bool {
		r := servertest.Request(t, "GET", url+"/api/detection", nil)
		r.Decode(t, &d)
		return r.Status == 200 && d.CurrentTo != nil && d.CurrentTo.Year() == 2020
	})
	if d.BacklogReports != 0 || d.LagS != 0 {
		t.Errorf("GET /api/detection = %+v; want nothing waiting", d)
	}
}

// Detection's variables are read once at start; a bad one stops it with a
// message that names it.
func TestDetectConfig(t *testing.T) {
	for _, tt := range []struct{ name, value string }{
		{"DETECT_DISTANCE", "far"}, {"DETECT_DISTANCE", "0"}, {"DETECT_DISTANCE", "5000"},
		{"DETECT_HOLD", "15"}, {"DETECT_GAP", "-1m"}, {"DETECT_FLUSH", "0s"}, {"DETECT_CHECKPOINT", "48h"},
		{"DETECT_ZONES", "hall"},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Setenv(tt.name, tt.value)
			if _, err := detectConfigFromEnv(); err == nil || !strings.Contains(err.Error(), tt.name) {
				t.Errorf("detectConfigFromEnv() = %v; want an error naming %s", err, tt.name)
			}
		})
	}
	t.Setenv("DETECT_ZONES", zoneA)
	t.Setenv("DETECT_HOLD", "10m")
	c, err := detectConfigFromEnv()
	if err != nil || c.zones != 2 || c.params.Hold != 10*time.Minute || c.params.Distance != 5 || c.flush != 10*time.Second {
		t.Errorf("detectConfigFromEnv() = %+v, %v; want 2 zones, a hold of 10m, the other defaults", c, err)
	}
}

// A replica stopped while its zone's owner applies a step finishes the step
// and checkpoints it: a query cut short would end the zone's connection,
// the checkpoint with it, and the successor would apply the step again.
// The step is of late reports (placed through the history, query after
// query), behind one of the present.
func TestStopFinishesTheStep(t *testing.T) {
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(5, 20))
	ps := persons(t, db, 10, "s")
	start := time.Date(2021, 5, 5, 9, 0, 0, 0, time.UTC)
	present := crowd(rng, hallA, ps[:1], start.Add(2*time.Hour), 1, time.Second)[:1]
	late := crowd(rng, hallA, ps, start, 10, 30*time.Second)
	if _, _, err := db.StoreReports(context.Background(), present); err != nil {
		t.Fatal(err)
	}
	r := startReplica(t, db)
	waitDetected(t, db)
	if _, _, err := db.StoreReports(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	// Asked again and again on a connection of its own, not to miss a step
	// of a second or so.
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for deadline := time.Now().Add(time.Minute); ; {
		var n int
		if err := conn.QueryRow(context.Background(), `
			SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
			WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
				AND a.state = 'active' AND a.query LIKE '%FROM location WHERE person_id = ANY%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("waited a minute for the owner placing a late report")
		}
	}
	r.f.Close()
	if failed := r.failures(); len(failed) > 0 {
		t.Errorf("errors logged as the replica stopped: %q", failed)
	}
	var waiting int
	if err := pgxQueryRow(t, url, `SELECT count(*) FROM detect_backlog`, &waiting); err != nil {
		t.Fatal(err)
	}
	if waiting > 0 {
		t.Errorf("%d backlog rows left to the next owner; want the step checkpointed", waiting)
	}
	startReplica(t, db)
	expectMeetings(t, db, nil, append(present, late...), ps)
}
