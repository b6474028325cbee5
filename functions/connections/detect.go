package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/detect"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/server"
	"go.uber.org/zap"
)

// Detection runs apart from the deliveries (docs/design.md, "Meetings"):
// locations queues every report it stores in its zone's backlog, and the
// replica that owns a zone applies the zone's backlog to its detector in
// steps of at most detection.MaxStep reports.
const (
	claimEvery = 3 * time.Second        // a replica tries to claim a free zone
	pollEvery  = 250 * time.Millisecond // an idle owner looks for new rows
	retryAfter = 2 * time.Second        // after a failure, before the zone is claimed again
	// finishTimeout bounds, as its replica stops, the zone's step under way,
	// then its last writes.
	finishTimeout = 10 * time.Second
)

var (
	detectionLag = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "udaconnect_detection_lag_seconds",
		Help:    "From a location queued for detection to the meetings it started, ended or removed written (one that only grows is written within DETECT_FLUSH), per location.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900},
	})
	backlogReports = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "udaconnect_detection_backlog_reports",
		Help: "Locations queued for detection and not yet applied, by zone this replica owns.",
	}, []string{"zone"})
	zonesOwned = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "udaconnect_detection_zones",
		Help: "Detection zones this replica owns.",
	})
)

// detectConfig is how detection runs, from the environment.
type detectConfig struct {
	params     detect.Params
	zones      int           // DETECT_ZONES: how many, the rest of the world included
	flush      time.Duration // DETECT_FLUSH: how often a meeting that only grows is written
	checkpoint time.Duration // DETECT_CHECKPOINT: between checkpoints of a detector
}

// detectConfigFromEnv reads DETECT_DISTANCE (metres), DETECT_HOLD,
// DETECT_GAP, DETECT_FLUSH, DETECT_CHECKPOINT (durations) and DETECT_ZONES
// (udaconnect.ParseZones), each optional. The detector reports every
// change (detection.Params): the runner writes a growing meeting's changes
// at least every DETECT_FLUSH.
func detectConfigFromEnv() (detectConfig, error) {
	c := detectConfig{params: detection.Params(), flush: 10 * time.Second, checkpoint: 30 * time.Second}
	zones, err := udaconnect.ParseZones(os.Getenv("DETECT_ZONES"))
	if err != nil {
		return c, err
	}
	c.zones = zones.Count()
	if s := os.Getenv("DETECT_DISTANCE"); s != "" {
		d, err := strconv.ParseFloat(s, 64)
		if err != nil || !(d > 0 && d <= udaconnect.MaxDistance) {
			return c, fmt.Errorf("DETECT_DISTANCE: want metres, more than 0 and at most %g, not %q", udaconnect.MaxDistance, s)
		}
		c.params.Distance = d
	}
	for _, v := range []struct {
		name string
		to   *time.Duration
	}{{"DETECT_HOLD", &c.params.Hold}, {"DETECT_GAP", &c.params.Gap}, {"DETECT_FLUSH", &c.flush}, {"DETECT_CHECKPOINT", &c.checkpoint}} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d > 24*time.Hour {
			return c, fmt.Errorf("%s: want a positive duration of at most 24h such as 2s or 15m, not %q", v.name, s)
		}
		*v.to = d
	}
	return c, nil
}

// runner keeps the meetings of the zones this replica owns: a goroutine per
// zone claims it when it is free and, once claimed, runs its detector.
type runner struct {
	db     *postgres.DB
	log    *zap.Logger
	cfg    detectConfig
	queued func() // announcements were queued

	mu     sync.Mutex
	owned  int
	nudged chan struct{} // closed by nudge, then replaced
	done   sync.WaitGroup
}

func newRunner(db *postgres.DB, log *zap.Logger, cfg detectConfig, queued func()) *runner {
	return &runner{db: db, log: log, cfg: cfg, queued: queued, nudged: make(chan struct{})}
}

// start runs the zones until ctx ends; wait waits for them to stop.
func (r *runner) start(ctx context.Context) {
	for zone := range r.cfg.zones {
		r.done.Go(func() { r.claim(ctx, zone) })
	}
}

func (r *runner) wait() { r.done.Wait() }

// nudge tells the owners that rows may be waiting.
func (r *runner) nudge() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.nudged)
	r.nudged = make(chan struct{})
}

func (r *runner) woken() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nudged
}

// claim owns zone whenever it can, until ctx ends. A replica that owns k
// zones waits k rounds more before it claims another, so that zones spread
// over the replicas that run.
func (r *runner) claim(ctx context.Context, zone int) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		r.mu.Lock()
		wait = claimEvery * time.Duration(1+r.owned)
		r.mu.Unlock()
		lease, err := r.db.ClaimZone(ctx, zone)
		if err != nil {
			r.log.Warn("claim detection zone", zap.Int("zone", zone), zap.Error(err))
			continue
		}
		if lease == nil {
			continue // another replica owns it
		}
		r.owns(+1)
		err = r.own(ctx, lease)
		lease.Close()
		r.owns(-1)
		backlogReports.DeleteLabelValues(strconv.Itoa(zone))
		if ctx.Err() != nil {
			if err != nil && err != ctx.Err() {
				r.log.Error("detection zone stopped", zap.Int("zone", zone), zap.Error(err))
			}
			return
		}
		r.log.Error("detection zone given up", zap.Int("zone", zone), zap.Error(err))
		wait = retryAfter
	}
}

func (r *runner) owns(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owned += n
	zonesOwned.Set(float64(r.owned))
}

// own runs the zone's detector until ctx ends or something fails: it
// applies the backlog in steps; writes at once the meetings that start, end
// or go, and every cfg.flush the growth of the others, each once however
// often it grew; queues the announcements of the meetings that start with
// them; and checkpoints every cfg.checkpoint, or sooner when many rows were
// applied, writing what waits in the checkpoint's transaction. When ctx
// ends it finishes the step under way, then writes and checkpoints what it
// applied.
func (r *runner) own(ctx context.Context, lease *postgres.ZoneLease) error {
	zone, err := detection.Open(ctx, lease, r.cfg.params)
	if err != nil {
		return err
	}
	label := strconv.Itoa(lease.Zone())
	r.log.Info("detection zone claimed", zap.Int("zone", lease.Zone()))
	// The zone's work under way when ctx ends goes on for finishTimeout
	// more: a query cut short ends the zone's connection, and with it the
	// checkpoint that keeps what was applied.
	work, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(finishTimeout, cut) })()
	flushed, checkpointed, published := time.Now(), time.Now(), time.Time{}
	dirty := true // applied since published
	for {
		if ctx.Err() != nil {
			return r.finish(zone)
		}
		woken := r.woken()
		n, err := zone.Step(work, time.Now())
		if err != nil {
			return err
		}
		dirty = dirty || n > 0
		checkpoint := zone.Applied() > 0 && (time.Since(checkpointed) >= r.cfg.checkpoint || zone.CheckpointDue())
		// The growth due waits for a checkpoint due, which writes it with
		// nothing kept to undo; the changes that may not wait do not wait
		// for the snapshot.
		growth := time.Since(flushed) >= r.cfg.flush && !checkpoint
		if zone.Unflushed() && (growth || zone.Prompt() || n == 0 && !checkpoint) {
			if err := r.wrote(zone.Flush(work, growth)); err != nil {
				return err
			}
			if growth {
				flushed = time.Now()
			}
		}
		if checkpoint {
			if err := r.wrote(zone.Checkpoint(work)); err != nil {
				return err
			}
			flushed, checkpointed = time.Now(), time.Now()
		}
		if dirty && (n == 0 || time.Since(published) >= time.Second) {
			backlog, _, err := zone.Publish(work)
			if err != nil {
				return err
			}
			backlogReports.WithLabelValues(label).Set(float64(backlog))
			published, dirty = time.Now(), false
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
		case <-woken:
		case <-time.After(pollEvery):
		}
	}
}

// wrote follows what a flush or a checkpoint wrote (Zone.Flush,
// Zone.Checkpoint): the lag of its rows, and it wakes the announcer when it
// queued starts, so that the zone never waits for a send.
func (r *runner) wrote(f detection.Flushed, err error) error {
	if err != nil {
		return err
	}
	observeLag(f.Rows)
	if len(f.Starts) > 0 {
		r.queued()
	}
	return nil
}

// finish writes and checkpoints what the zone applied, as its replica
// stops.
func (r *runner) finish(zone *detection.Zone) error {
	ctx, cancel := context.WithTimeout(context.Background(), finishTimeout)
	defer cancel()
	if zone.Applied() == 0 {
		return r.wrote(zone.Flush(ctx, true))
	}
	return r.wrote(zone.Checkpoint(ctx))
}

// observeLag records, for each location of rows, the time from its row
// queued to now, when its changes are written.
func observeLag(rows []postgres.BacklogRow) {
	now := time.Now()
	for _, row := range rows {
		lag := now.Sub(row.Recorded).Seconds()
		for range row.Locations {
			detectionLag.Observe(lag)
		}
	}
}

// detectionStatus is how current the meetings are, read at most once a
// second whatever the requests: every web app asks.
type detectionStatus struct {
	mu   sync.Mutex
	read time.Time
	last udaconnect.Detection
}

const statusAge = time.Second

func (f *Function) detection(ctx context.Context) (udaconnect.Detection, error) {
	s := &f.status
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.read) < statusAge {
		return s.last, nil
	}
	d, err := f.db.Detection(ctx)
	if err != nil {
		return d, err
	}
	s.last, s.read = d, time.Now()
	return d, nil
}

// detectionRoute answers how current the meetings are.
func (f *Function) detectionRoute(w http.ResponseWriter, r *http.Request) {
	d, err := f.detection(r.Context())
	if err != nil {
		f.writeError(w, r, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, d)
}

// waitForBacklog returns once no report waits for detection, or after
// pingWait.
func (f *Function) waitForBacklog(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingWait)
	defer cancel()
	for {
		d, err := f.detection(ctx)
		if ctx.Err() != nil || d.BacklogReports == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(statusAge):
		}
	}
}
