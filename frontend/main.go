// The door: UdaConnect's one public entry. It serves the web app at /,
// proxies /api/... to the functions by route, takes CloudEvents at /events
// and forwards them to the broker ($K_SINK; without it the door serves but
// is not ready and answers events 503), and documents the API at
// /api/openapi.yaml and /api/docs.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	"github.com/udaconnect/udaconnect/frontend/plausible"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// routes maps each API route to the function that serves it, by the
// environment variable holding its address, with the rule that decides who
// may call it and, for some, a rule on the function's answer. A heavy read
// and a stream take one of the caller's few at once (see access).
var routes = []struct {
	pattern, upstream string
	rule              rule
	answer            responseRule
	share             share
}{
	{"GET /api/persons", "PERSONS_URL", organizer, nil, none},
	{"POST /api/persons", "PERSONS_URL", organizer, withToken, none},
	{"GET /api/persons/{id}", "PERSONS_URL", self, nil, none},
	{"POST /api/persons/{id}/token", "PERSONS_URL", organizer, newToken, none},
	{"POST /api/locations", "LOCATIONS_URL", ownReport, recorded, none},
	{"GET /api/locations/{id}", "LOCATIONS_URL", reader, ownLocation, none},
	{"GET /api/persons/{id}/locations", "LOCATIONS_URL", self, nil, none},
	{"GET /api/persons/{id}/connection", "CONNECTIONS_URL", nearSelf, nil, heavy},
	{"DELETE /api/persons/{id}", "PERSONS_URL", self, deleted, none},
	{"GET /api/persons/{id}/export", "LOCATIONS_URL", self, nil, heavy},
	{"GET /api/dead-letters", "DEADLETTERS_URL", organizer, nil, none},
	{"POST /api/dead-letters/replay", "DEADLETTERS_URL", organizer, nil, none},
	{"POST /api/dead-letters/{id}/replay", "DEADLETTERS_URL", organizer, nil, none},
	{"GET /api/persons/{id}/meetings", "CONNECTIONS_URL", self, nil, none},
	{"GET /api/persons/{id}/meetings/live", "CONNECTIONS_URL", self, nil, stream},
	{"POST /api/reporters", "PERSONS_URL", organizer, withReporterToken, none},
	{"GET /api/reporters", "PERSONS_URL", organizer, nil, none},
	{"DELETE /api/reporters/{id}", "PERSONS_URL", organizer, revoked, none},
	{"GET /api/detection", "CONNECTIONS_URL", reader, nil, none},
}

// served is every operation the door serves, "METHOD /path".
func served() []string {
	patterns := []string{"POST /events", "GET /api/session", "POST /api/session", "DELETE /api/session"}
	for _, r := range routes {
		patterns = append(patterns, r.pattern)
	}
	return patterns
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := server.LoadConfig("PERSONS_URL", "LOCATIONS_URL", "CONNECTIONS_URL", "DEADLETTERS_URL")
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	stopObserving, err := server.Observe(ctx, "door", log)
	if err != nil {
		return err
	}
	defer stopObserving()
	handler, err := newHandler(cfg.Sink, os.Getenv, log)
	if err != nil {
		return err
	}
	s := &server.Server{Addr: cfg.Addr(), Handler: handler, Ready: sinkReady(cfg.Sink), Log: log}
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// newHandler wires the door: the web app, the API proxies, the events entry,
// the session of the web app and the API documents, each behind its access
// rule.
func newHandler(sink string, getenv func(string) string, log *zap.Logger) (http.Handler, error) {
	a, err := newAccess(getenv, log)
	if err != nil {
		return nil, err
	}
	api := http.NewServeMux() // what needs a credential
	for _, r := range routes {
		up, err := upstream(r.upstream, getenv)
		if err != nil {
			return nil, err
		}
		api.Handle(r.pattern, a.guard(r.rule, a.shared(r.share, proxy(up, a.modify(r.answer), log))))
	}
	transport, err := server.SinkTransport(getenv("K_CA_CERTS"), getenv("INTERNAL_TOKEN"), server.OIDCTokenFile, MaxForwarding)
	if err != nil {
		return nil, err
	}
	linger, err := durationOf("GROUP_LINGER", getenv("GROUP_LINGER"), DefaultLinger)
	if err != nil {
		return nil, err
	}
	a.broker = NewDoor(sink, transport, linger, log)
	a.broker.Check, a.broker.Limits = a.reports.check, a.limits
	api.Handle("POST /events", a.broker)
	api.HandleFunc("GET /api/session", a.session)
	refuseOthers(api, served())

	mux := http.NewServeMux()
	mux.Handle("/api/", a.authenticate(api))
	mux.Handle("/events", a.authenticate(api))
	mux.HandleFunc("POST /api/session", a.signIn)
	mux.HandleFunc("DELETE /api/session", signOut)
	mux.HandleFunc("GET /api/openapi.yaml", serveOpenAPI)
	mux.HandleFunc("GET /api/docs", serveDocs)
	mux.Handle("/", webApp())
	return securityHeaders(getenvOr(getenv, "TILE_ORIGIN", "https://tile.openstreetmap.org"), mux), nil
}

// newAccess reads the door's credentials and limits from the environment:
// AUTH_KEY signs attendees' tokens, ORGANIZER_TOKEN is the organizer's,
// ATTENDEE_TOKEN_TTL and REPORTER_TOKEN_TTL the lifetime of an attendee's
// and a reporter's token, ORGANIZER_RATE, REPORTER_RATE and ATTENDEE_RATE
// each credential's requests per second and burst, STREAM_MAX_LIFE how
// long a live stream stays open; ATTENDEE_REPORT_AGE (how old an attendee's
// report may be when it arrives) and RETENTION are told to the web app with
// the session.
func newAccess(getenv func(string) string, log *zap.Logger) (*access, error) {
	for _, name := range []string{"AUTH_KEY", "ORGANIZER_TOKEN"} {
		if getenv(name) == "" {
			return nil, fmt.Errorf("%s is not set", name)
		}
	}
	ttl, err := durationOf("ATTENDEE_TOKEN_TTL", getenv("ATTENDEE_TOKEN_TTL"), 7*24*time.Hour)
	if err != nil {
		return nil, err
	}
	tokens, err := auth.NewTokens(getenv("AUTH_KEY"), getenv("ORGANIZER_TOKEN"), ttl)
	if err != nil {
		return nil, err
	}
	if tokens.ReporterTTL, err = durationOf("REPORTER_TOKEN_TTL", getenv("REPORTER_TOKEN_TTL"), tokens.ReporterTTL); err != nil {
		return nil, err
	}
	rates := map[auth.Role]auth.Rate{}
	for _, r := range []struct {
		role     auth.Role
		name     string
		fallback auth.Rate
	}{
		{auth.Organizer, "ORGANIZER_RATE", auth.Rate{PerSecond: 10_000, Burst: 20_000}},
		{auth.Reporter, "REPORTER_RATE", auth.Rate{PerSecond: 2_000, Burst: 4_000}},
		{auth.Attendee, "ATTENDEE_RATE", auth.Rate{PerSecond: 5, Burst: 60}},
	} {
		if rates[r.role], err = rateOf(r.name, getenv(r.name), r.fallback); err != nil {
			return nil, err
		}
	}
	reports, err := newReportRules(getenv)
	if err != nil {
		return nil, err
	}
	persons, err := upstream("PERSONS_URL", getenv)
	if err != nil {
		return nil, err
	}
	locations, err := upstream("LOCATIONS_URL", getenv)
	if err != nil {
		return nil, err
	}
	maxLife, err := durationOf("STREAM_MAX_LIFE", getenv("STREAM_MAX_LIFE"), DefaultStreamMaxLife)
	if err != nil {
		return nil, err
	}
	// The door's own requests to the functions, each with its credential.
	reports.last = &lastReports{fetch: fetchLast(&http.Client{Timeout: 5 * time.Second, Transport: locations.transport}, locations, log), last: map[int64]plausible.Point{}}
	gens := auth.NewGenerations(fetchGenerations(&http.Client{Timeout: 5 * time.Second, Transport: persons.transport}, persons))
	settings := ReportSettings{MaxAgeS: reports.attendee.MaxAge.Seconds(), Retention: getenv("RETENTION")}
	return &access{
		tokens:   tokens,
		gens:     gens,
		streams:  &streams{gens: gens, maxLife: maxLife, log: log, open: map[*openStream]struct{}{}},
		limits:   auth.NewLimits(rates),
		reports:  reports,
		settings: settings,
		shares:   map[share]*auth.Slots{heavy: auth.NewSlots(heavyCaps), stream: auth.NewSlots(streamCaps)},
		log:      log,
	}, nil
}

// newReportRules reads the rules of reports from the environment:
// ATTENDEE_REPORT_AGE and REPORTER_REPORT_AGE, how far back an attendee's
// and a reporter's report may be dated; MAX_SPEED, the fastest an attendee
// may move between reports, in m/s; VENUE_BOUNDS, optional, the area
// (south,west,north,east) their reports must lie in.
func newReportRules(getenv func(string) string) (*reportRules, error) {
	r := &reportRules{now: time.Now}
	var err error
	if r.attendee.MaxAge, err = durationOf("ATTENDEE_REPORT_AGE", getenv("ATTENDEE_REPORT_AGE"), DefaultAttendeeReportAge); err != nil {
		return nil, err
	}
	if r.reporter.MaxAge, err = durationOf("REPORTER_REPORT_AGE", getenv("REPORTER_REPORT_AGE"), DefaultReporterReportAge); err != nil {
		return nil, err
	}
	r.attendee.MaxSpeed = DefaultMaxSpeed
	if v := getenv("MAX_SPEED"); v != "" {
		if r.attendee.MaxSpeed, err = strconv.ParseFloat(v, 64); err != nil || !(r.attendee.MaxSpeed > 0) {
			return nil, fmt.Errorf("MAX_SPEED must be a speed in metres per second above 0, such as 10, not %q", v)
		}
	}
	if v := getenv("VENUE_BOUNDS"); v != "" {
		b, err := plausible.ParseBounds(v)
		if err != nil {
			return nil, err
		}
		r.attendee.Bounds = &b
	}
	return r, nil
}

func getenvOr(getenv func(string) string, name, fallback string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return fallback
}

// proxy forwards to a function, with modify applied to its answers; a body
// over server.MaxRequestSize is a 413, a function that cannot be reached,
// or that refuses the door's credential, a 503. The caller's credentials
// stay at the door; the function gets the door's. A stream of Server-Sent
// Events is passed on as it comes (the proxy flushes text/event-stream at
// once; the server's write deadline moves with every write).
func proxy(up *replicas, modify func(*http.Response) error, log *zap.Logger) http.Handler {
	p := &httputil.ReverseProxy{
		Transport: up.transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up.pick())
			r.SetXForwarded()
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Cookie")
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Header.Get("WWW-Authenticate") != "" {
				return fmt.Errorf("the function refused the door's credential: %s", resp.Status)
			}
			if modify == nil {
				return nil
			}
			return modify(resp)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				server.WriteError(w, udaconnect.Errorf(udaconnect.ETOOLARGE, "the request body is larger than %d bytes", server.MaxRequestSize))
				return
			}
			log.Error("proxy", zap.String("path", r.URL.Path), zap.String("upstream", r.URL.Host), zap.Error(err))
			w.Header().Set("Retry-After", server.RetryAfter)
			server.WriteJSON(w, http.StatusServiceUnavailable, server.ErrorBody{Error: "the service is unavailable, try again later"})
		},
	}
	return http.MaxBytesHandler(p, server.MaxRequestSize)
}
