// Command bench measures UdaConnect on this machine (issue 6): the
// connection query over HTTP at about 100,000 and 1,000,000 reports beside
// the proof of concept's algorithm on the same data; ingest through the
// whole local path beside the raw COPY rate; crowds at the design point's
// density, detection alone and through the door (crowd.go, crowddoor.go);
// each process's cold start, memory and binary size; the web app in
// Chromium on the largest conference (web.go, issue 15). It prints the
// tables and writes them to docs/bench.md, docs/bench.json and README.md.
//
// `make bench` runs it on a PostgreSQL cluster of its own, from the
// repository's root: it builds and starts the processes itself, on ports
// 28080-28093.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/udaconnect/udaconnect/shared/conference"
)

type options struct {
	databaseURL string // of the server the bench creates its databases on
	dir         string // binaries and logs
	out         string // where bench.md and bench.json go
	readme      string // the README whose table is rewritten; empty: none
	quick       bool
	pgPID       int
	size        sizes
}

func (o *options) binDir() string { return filepath.Join(o.dir, "bin") }
func (o *options) logDir() string { return filepath.Join(o.dir, "logs") }

// sizes are how much a run measures.
type sizes struct {
	datasets      []dataset
	queries       int           // attendees whose connections are asked for
	sending       time.Duration // how long reports are sent, in each mode
	batch         int           // reports per batch
	singleSenders int
	batchSenders  int
	starts        int // cold starts of each binary
	crowd         crowdSizes
}

// A dataset is a one-day conference reporting every 5 minutes (96 reports
// an attendee), and for how many of its attendees the proof of concept's
// algorithm runs.
type dataset struct{ attendees, pocPersons int }

var (
	full = sizes{
		datasets: []dataset{{1000, 3}, {10_000, 5}}, queries: 200,
		sending: 30 * time.Second, batch: 100, singleSenders: 64, batchSenders: 8, starts: 5,
		crowd: crowdSizes{hall: time.Minute, bigHall: 30 * time.Second, formed: 2 * time.Minute, real: time.Minute, bigReal: 30 * time.Second, fast: 30 * time.Second, recovery: 90 * time.Second},
	}
	quick = sizes{
		datasets: []dataset{{1000, 1}}, queries: 50,
		sending: 15 * time.Second, batch: 100, singleSenders: 64, batchSenders: 8, starts: 3,
		crowd: crowdSizes{hall: 30 * time.Second, bigHall: 10 * time.Second, formed: 30 * time.Second, real: 20 * time.Second, bigReal: 10 * time.Second, fast: 10 * time.Second, recovery: time.Minute},
	}
)

func main() {
	o := &options{}
	flag.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL server to create the bench's databases on (bench_*, dropped first)")
	flag.StringVar(&o.dir, "dir", ".bench", "where the binaries and the logs go")
	flag.BoolVar(&o.quick, "quick", false, "a smaller run (100k reports only, fewer queries and reports); results go to -dir, not docs/")
	render := flag.String("render", "", "measure nothing: render this bench.json again into the Markdown of docs/ and README.md")
	crowd := flag.Duration("crowd", 0, "measure only the crowd scenarios: detection alone at the design point's density, the 2,000 hall reporting for this long of its time (such as 1m) and the 10,000 hall half as long, then each through the door, its phases as long or half as long; prints the results")
	flag.Parse()
	o.size, o.out, o.readme = full, "docs", "README.md"
	if o.quick {
		o.size, o.out, o.readme = quick, o.dir, ""
	}
	if *render != "" {
		if err := rerender(*render, o); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *crowd > 0 {
		if err := runCrowds(ctx, o, *crowd); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	r, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	fmt.Print("\n" + r.Markdown())
	if err := r.write(o.out, o.readme); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	wrote := filepath.Join(o.out, "bench.md") + " and " + filepath.Join(o.out, "bench.json")
	if o.readme != "" {
		wrote += ", and the tables in " + o.readme
	}
	say("wrote %s", wrote)
}

func run(ctx context.Context, o *options) (*Results, error) {
	if o.databaseURL == "" {
		return nil, fmt.Errorf("-database-url or DATABASE_URL is required: run `make bench`")
	}
	if _, err := os.Stat("go.work"); err != nil {
		return nil, fmt.Errorf("run from the repository's root: %w", err)
	}
	// Each run's logs alone.
	if err := os.RemoveAll(o.logDir()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.logDir(), 0o755); err != nil {
		return nil, err
	}
	r := &Results{Date: time.Now().UTC(), Quick: o.quick, Machine: machine()}

	say("building the functions, the door and the local broker")
	if err := build(ctx, o.binDir()); err != nil {
		return nil, err
	}
	dbURL, err := createDatabase(ctx, o.databaseURL, "bench_footprint")
	if err != nil {
		return nil, err
	}
	if r.Server, err = serverInfo(ctx, dbURL); err != nil {
		return nil, err
	}
	o.pgPID = postmasterPID(r.Server.dataDir)

	say("cold starts and idle memory")
	if r.Processes, err = measureFootprint(ctx, o, dbURL); err != nil {
		return nil, err
	}
	loaded := &peaks{}
	for _, d := range o.size.datasets {
		c := conference.Default
		c.Attendees, c.Days, c.Interval = d.attendees, 1, 5*time.Minute
		say("connection query at %s reports (%s attendees)", thousands(c.Attendees*c.ReportsPerAttendee()), thousands(c.Attendees))
		res, err := measureConnections(ctx, o, c, d.pocPersons, loaded)
		if err != nil {
			return nil, err
		}
		r.Connections = append(r.Connections, res)
	}
	say("web app")
	if r.Web, err = measureWeb(ctx, o, r.Connections[len(r.Connections)-1], loaded); err != nil {
		return nil, err
	}
	say("ingest")
	if r.Ingest, err = measureIngest(ctx, o, loaded); err != nil {
		return nil, err
	}
	say("crowds")
	if r.Crowds, err = measureCrowds(ctx, o, o.size.crowd, loaded); err != nil {
		return nil, err
	}
	for i := range r.Processes {
		r.Processes[i].LoadedRSSKB = loaded.get(r.Processes[i].Name)
	}
	r.Seconds, r.Machine.LoadAtEnd = time.Since(began).Seconds(), loadAverage()
	return r, nil
}

// rerender writes the results of an earlier run again, as this version of
// the bench renders them.
func rerender(path string, o *options) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	r := &Results{}
	if err := json.Unmarshal(b, r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if r.Quick {
		o.out, o.readme = o.dir, ""
	}
	return r.write(o.out, o.readme)
}

func machine() Machine {
	return Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadAverage: loadAverage()}
}

// loadAverage is the machine's load over 1, 5 and 15 minutes: other work
// running beside the bench shows there.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

var began = time.Now()

// say prints a line of progress, with the time since the start.
func say(format string, args ...any) {
	d := time.Since(began).Round(time.Second)
	fmt.Printf("[%02d:%02d] %s\n", int(d.Minutes()), int(d.Seconds())%60, fmt.Sprintf(format, args...))
}

// every returns a progress function that calls fn at most once per
// interval, and when done reaches total.
func every(interval time.Duration, fn func(done, total int)) func(done, total int) {
	last := time.Now()
	return func(done, total int) {
		if done == total || time.Since(last) >= interval {
			last = time.Now()
			fn(done, total)
		}
	}
}
