package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	ev "github.com/udaconnect/udaconnect/shared/event"
)

// device streams reports of one person through the door as a phone does:
// each report is sent until the door acknowledges it (202), resent with the
// same id after any error or retryable answer. It records what was
// acknowledged.
type device struct {
	door, prefix string
	personID     int64
	next         atomic.Int64
	stop         atomic.Bool
	mu           sync.Mutex
	acked        map[string]bool
}

func (d *device) run(workers int) (wait func()) {
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !d.stop.Load() {
				id := fmt.Sprintf("%s-%d", d.prefix, d.next.Add(1))
				for !d.stop.Load() && !d.send(client, id) {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	return func() { d.stop.Store(true); wg.Wait() }
}

// send reports whether the door acknowledged the report id.
func (d *device) send(client *http.Client, id string) bool {
	body := fmt.Sprintf(`{"person_id":%d,"latitude":35.0585,"longitude":-106.5719,"creation_time":"2021-06-01T10:00:00Z"}`, d.personID)
	req, _ := http.NewRequest(http.MethodPost, d.door+"/events", strings.NewReader(body))
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "/devices/fault",
		"Ce-Type": ev.LocationReported, "Content-Type": "application/json", "Authorization": "Bearer " + testOrganizerToken} {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return false
	}
	d.mu.Lock()
	d.acked[id] = true
	d.mu.Unlock()
	return true
}

// stored counts the person's reports in the database by event id.
func stored(t *testing.T, dbURL string, personID int64) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT event_id, count(*) FROM location WHERE person_id = $1 GROUP BY event_id`, personID)
	counts := map[string]int{}
	var id string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { counts[id] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return counts
}

// TestFaults streams reports through the door while each process in turn is
// killed (SIGKILL) or stopped (SIGTERM) and started again, and while the
// database is away: every report the door acknowledged is stored, and none
// twice, counting the rows in the database.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole system and breaks it")
	}
	s := startStack(t)
	restart := func(name string, sig os.Signal) func(t *testing.T) {
		return func(t *testing.T) {
			p := s.processes[name]
			p.stop(sig)
			time.Sleep(300 * time.Millisecond)
			p.run(t)
		}
	}
	type fault struct {
		name  string
		apply func(t *testing.T)
	}
	var faults []fault
	for _, name := range []string{"localbroker", "frontend", "locations", "connections"} {
		faults = append(faults, fault{"kill -9 " + name, restart(name, syscall.SIGKILL)}, fault{"SIGTERM " + name, restart(name, syscall.SIGTERM)})
	}
	faults = append(faults, fault{"database away", func(t *testing.T) {
		s.outage.set(true)
		time.Sleep(2 * time.Second)
		s.outage.set(false)
	}})
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			var p PersonWithToken
			r := s.org.Request(t, "POST", s.door+"/api/persons", ev.PersonCreateData{FirstName: "Fault", LastName: fmt.Sprint(i), CompanyName: "Chaos"})
			if r.Decode(t, &p); r.Status != http.StatusCreated {
				t.Fatalf("register = %d %s", r.Status, r.Body)
			}
			d := &device{door: s.door, prefix: fmt.Sprintf("fault-%d", i), personID: p.ID, acked: map[string]bool{}}
			stop := d.run(4)
			time.Sleep(700 * time.Millisecond)
			f.apply(t)
			time.Sleep(700 * time.Millisecond)
			stop()
			if len(d.acked) == 0 {
				t.Fatal("no report acknowledged")
			}
			var counts map[string]int
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
				if counts = stored(t, s.dbURL, p.ID); len(counts) >= len(d.acked) {
					break
				}
			}
			lost := 0
			for id := range d.acked {
				if counts[id] == 0 {
					lost++
				}
			}
			for id, n := range counts {
				if n != 1 {
					t.Errorf("report %s stored %d times; want once", id, n)
				}
			}
			t.Logf("%d reports acknowledged, %d stored", len(d.acked), len(counts))
			if lost > 0 {
				t.Errorf("%d of %d acknowledged reports lost", lost, len(d.acked))
			}
		})
	}
}
