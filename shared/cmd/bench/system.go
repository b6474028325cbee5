package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A program is one process of the local system, on a port clear of `make run`
// (8080…) and `make test` (18080…).
type program struct {
	name, pkg string
	port      int
	ready     string // the path answering 200 once it serves
	deployed  bool   // a Knative Service in the cluster, held to the targets
}

var programs = []program{
	{"persons", "./functions/persons", 28091, "/readyz", true},
	{"locations", "./functions/locations", 28092, "/readyz", true},
	{"connections", "./functions/connections", connectionsPort, "/readyz", true},
	{"deadletters", "./functions/deadletters", 28094, "/readyz", false},
	{"frontend", "./frontend", doorPort, "/readyz", true},
	{"localbroker", "./eventing/cmd/localbroker", brokerPort, "/healthz", false},
}

func addr(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }

// Where the door and connections listen; their metrics are on the port
// plus 5.
const (
	doorPort        = 28080
	brokerPort      = 28090
	connectionsPort = 28093
)

var (
	doorURL   = addr(doorPort)
	brokerURL = addr(brokerPort)
)

// The credentials in the bench: the bench sends as the organizer; the door,
// the local broker and the functions share the internal secret.
const (
	benchAuthKey        = "791356bb956faebfbb6214c1be91ae0d120029c339385af30b2de613833bf86c"
	benchOrganizerToken = "the-bench-organizer-token-0123456789"
	benchInternalToken  = "the-bench-secret-of-the-door-broker-and-functions"
)

// build builds every binary into dir as ko builds images: static, without
// paths or symbols (-trimpath -ldflags="-s -w", CGO_ENABLED=0).
func build(ctx context.Context, dir string) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + "/"}
	for _, b := range programs {
		args = append(args, b.pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	return nil
}

// A proc is a running binary.
type proc struct {
	program
	cmd     *exec.Cmd
	log     string
	started time.Time
	exited  chan struct{}
}

// start starts b from dir with the database at databaseURL, its output
// appended to logs/<name>.log. It logs at warn: the local broker logs every
// delivery at info. Its metrics are on its port plus 5, as under `make run`.
func (b program) start(dir, logs, databaseURL string) (*proc, error) {
	broker := brokerURL + "/udaconnect/default"
	env := append(os.Environ(), fmt.Sprintf("PORT=%d", b.port), fmt.Sprintf("METRICS_PORT=%d", b.port+5), "DATABASE_URL="+databaseURL, "LOG_LEVEL=warn",
		"K_SINK="+broker, "PERSONS_URL="+addr(28091), "LOCATIONS_URL="+addr(28092), "CONNECTIONS_URL="+addr(connectionsPort),
		"DEADLETTERS_URL="+addr(28094), "INTERNAL_TOKEN="+benchInternalToken)
	var args []string
	if b.name == "frontend" {
		env = append(env, "AUTH_KEY="+benchAuthKey, "ORGANIZER_TOKEN="+benchOrganizerToken)
	}
	if b.name == "localbroker" {
		args = []string{"-listen", fmt.Sprintf("127.0.0.1:%d", b.port), "-data", filepath.Join(dir, "broker"), "-manifests", "eventing",
			"-service", "persons=" + addr(28091), "-service", "locations=" + addr(28092), "-service", "connections=" + addr(connectionsPort),
			"-service", "dead-letters=" + addr(28094)}
	}
	logPath := filepath.Join(logs, b.name+".log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	p := &proc{program: b, log: logPath, exited: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(dir, b.name), args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, out, out
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", b.name, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

var probe = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// waitReady polls p's ready path every millisecond and returns the time from
// the process's start to its first 200.
func (p *proc) waitReady(ctx context.Context) (time.Duration, error) {
	return p.waitFor(ctx, p.ready)
}

// waitFor polls path of p every millisecond and returns the time from the
// process's start to its first 200.
func (p *proc) waitFor(ctx context.Context, path string) (time.Duration, error) {
	url := addr(p.port) + path
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := probe.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(p.started), nil
			}
		}
		select {
		case <-p.exited:
			return 0, fmt.Errorf("%s exited; see %s", p.name, p.log)
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return 0, fmt.Errorf("%s not ready after 30s; see %s", p.name, p.log)
}

// stop sends SIGTERM and waits for p to finish what it holds, killing it
// after 30 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// A system is the whole local path running: the functions, the local broker
// and the door, as `make run` starts them.
type system struct {
	procs  []*proc
	pgPID  int // the PostgreSQL server, whose CPU time counts too
	loaded *peaks

	done     chan struct{}
	sampling sync.WaitGroup
}

// startSystem starts every binary on databaseURL and waits until each is
// ready; their resident memory is sampled into loaded until stop.
func startSystem(ctx context.Context, o *options, databaseURL string, loaded *peaks) (*system, error) {
	s := &system{pgPID: o.pgPID, loaded: loaded, done: make(chan struct{})}
	for _, b := range programs {
		p, err := b.start(o.binDir(), o.logDir(), databaseURL)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs = append(s.procs, p)
	}
	for _, p := range s.procs {
		if _, err := p.waitReady(ctx); err != nil {
			s.stop()
			return nil, err
		}
	}
	s.sampling.Go(s.sample)
	return s, nil
}

// sample records each process's resident memory every 100 ms.
func (s *system) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		for _, p := range s.procs {
			if kb, err := rssKB(p.pid()); err == nil {
				s.loaded.add(p.name, kb)
			}
		}
		select {
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

// stop stops the door first, then the broker, then the functions, so that
// each can still hand on what it holds.
func (s *system) stop() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.sampling.Wait()
	order := map[string]int{"frontend": 0, "localbroker": 1}
	for step := range 3 {
		var wg sync.WaitGroup
		for _, p := range s.procs {
			if o, ok := order[p.name]; (ok && o == step) || (!ok && step == 2) {
				wg.Go(p.stop)
			}
		}
		wg.Wait()
	}
}

// A cpuSnapshot is the CPU time used so far by the system's processes, the
// database server's and the bench's own, by pid, with the name each counts under.
type cpuSnapshot struct {
	at    time.Time
	cpu   map[int]time.Duration
	owner map[int]string
}

func (s *system) snapshot() cpuSnapshot {
	snap := cpuSnapshot{at: time.Now(), cpu: map[int]time.Duration{}, owner: map[int]string{}}
	add := func(pid int, owner string) {
		snap.cpu[pid], snap.owner[pid] = cpuTime(pid), owner
	}
	for _, p := range s.procs {
		add(p.pid(), p.name)
	}
	if s.pgPID > 0 {
		add(s.pgPID, "postgres")
		for _, kid := range children(s.pgPID) {
			add(kid, "postgres")
		}
	}
	add(os.Getpid(), "bench")
	return snap
}

// cpuSince returns the CPU seconds each owner used from before to after:
// processes started in between count from zero, those gone are not counted.
func cpuSince(before, after cpuSnapshot) map[string]float64 {
	used := map[string]float64{}
	for pid, cpu := range after.cpu {
		used[after.owner[pid]] += (cpu - before.cpu[pid]).Seconds()
	}
	return used
}

// settle waits until the system is idle: less than 20 ms of CPU time used in
// a second, or a minute has passed. It returns how long that took.
func (s *system) settle(ctx context.Context) time.Duration {
	began, prev := time.Now(), s.snapshot()
	for time.Since(began) < time.Minute && ctx.Err() == nil {
		time.Sleep(time.Second)
		next := s.snapshot()
		var busy float64
		for owner, sec := range cpuSince(prev, next) {
			if owner != "bench" {
				busy += sec
			}
		}
		if busy < 0.02 {
			return prev.at.Sub(began) // idle since the previous look
		}
		prev = next
	}
	return time.Since(began)
}

// peaks keeps the highest resident memory seen of each process, in KiB.
type peaks struct {
	mu sync.Mutex
	kb map[string]int64
}

func (p *peaks) add(name string, kb int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kb == nil {
		p.kb = map[string]int64{}
	}
	p.kb[name] = max(p.kb[name], kb)
}

func (p *peaks) get(name string) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kb[name]
}

// postmasterPID returns the pid of the PostgreSQL server whose data
// directory is dataDir, or 0 when it cannot be read.
func postmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(strings.SplitN(string(b), "\n", 2)[0], &pid)
	return pid
}
