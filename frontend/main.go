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
	"syscall"
	"time"

	"github.com/udaconnect/udaconnect/frontend/auth"
	udaconnect "github.com/udaconnect/udaconnect/shared"
	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// routes maps each API route to the function that serves it, by the
// environment variable holding its address, with the rule that decides who
// may call it and, for some, a rule on the function's answer.
var routes = []struct {
	pattern, upstream string
	rule              rule
	answer            responseRule
}{
	{"GET /api/persons", "PERSONS_URL", organizer, nil},
	{"POST /api/persons", "PERSONS_URL", organizer, withToken},
	{"GET /api/persons/{id}", "PERSONS_URL", self, nil},
	{"POST /api/persons/{id}/token", "PERSONS_URL", organizer, newToken},
	{"POST /api/locations", "LOCATIONS_URL", ownReport, recorded},
	{"GET /api/locations/{id}", "LOCATIONS_URL", anyone, ownLocation},
	{"GET /api/persons/{id}/locations", "LOCATIONS_URL", self, nil},
	{"GET /api/persons/{id}/connection", "CONNECTIONS_URL", self, nil},
	{"DELETE /api/persons/{id}", "PERSONS_URL", self, deleted},
	{"GET /api/persons/{id}/export", "LOCATIONS_URL", self, nil},
	{"GET /api/dead-letters", "DEADLETTERS_URL", organizer, nil},
	{"POST /api/dead-letters/replay", "DEADLETTERS_URL", organizer, nil},
	{"POST /api/dead-letters/{id}/replay", "DEADLETTERS_URL", organizer, nil},
	{"GET /api/persons/{id}/meetings", "CONNECTIONS_URL", self, nil},
	{"GET /api/persons/{id}/meetings/live", "CONNECTIONS_URL", self, nil},
	{"GET /api/detection", "CONNECTIONS_URL", anyone, nil},
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
		up, err := parseReplicas(r.upstream, getenv(r.upstream))
		if err != nil {
			return nil, err
		}
		api.Handle(r.pattern, guard(r.rule, proxy(up, a.modify(r.answer), log)))
	}
	transport, err := server.SinkTransport(getenv("K_CA_CERTS"), server.OIDCTokenFile, MaxForwarding)
	if err != nil {
		return nil, err
	}
	linger, err := durationOf("GROUP_LINGER", getenv("GROUP_LINGER"), DefaultLinger)
	if err != nil {
		return nil, err
	}
	a.broker = NewDoor(sink, transport, linger, log)
	api.Handle("POST /events", a.broker)
	api.HandleFunc("GET /api/session", session)

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
// ATTENDEE_TOKEN_TTL the lifetime of an attendee's token, ORGANIZER_RATE
// and ATTENDEE_RATE each credential's requests per second and burst.
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
	organizerRate, err := rateOf("ORGANIZER_RATE", getenv("ORGANIZER_RATE"), auth.Rate{PerSecond: 10_000, Burst: 20_000})
	if err != nil {
		return nil, err
	}
	attendeeRate, err := rateOf("ATTENDEE_RATE", getenv("ATTENDEE_RATE"), auth.Rate{PerSecond: 5, Burst: 60})
	if err != nil {
		return nil, err
	}
	persons, err := parseReplicas("PERSONS_URL", getenv("PERSONS_URL"))
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	return &access{
		tokens: tokens,
		gens:   auth.NewGenerations(fetchGenerations(client, persons)),
		limits: auth.NewLimits(organizerRate, attendeeRate),
		log:    log,
	}, nil
}

func getenvOr(getenv func(string) string, name, fallback string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return fallback
}

// proxy forwards to a function, with modify applied to its answers; a body
// over server.MaxRequestSize is a 413, a function that cannot be reached a
// 503. The door's credentials stay at the door. A stream of Server-Sent
// Events is passed on as it comes (the proxy flushes text/event-stream at
// once; the server's write deadline moves with every write).
func proxy(up *replicas, modify func(*http.Response) error, log *zap.Logger) http.Handler {
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up.pick())
			r.SetXForwarded()
			r.Out.Header.Del("Authorization")
			r.Out.Header.Del("Cookie")
		},
		ModifyResponse: modify,
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
