// The door: UdaConnect's one public entry. It serves the web app at /,
// proxies /api/... to the functions by route, takes CloudEvents at /events
// and forwards them to the broker ($K_SINK; without it the door serves but
// is not ready and answers events 503), and documents the API at
// /api/openapi.yaml and /api/docs.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/udaconnect/udaconnect/shared/server"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// routes maps each API route to the function that serves it, by the
// environment variable holding its address.
var routes = []struct{ pattern, upstream string }{
	{"GET /api/persons", "PERSONS_URL"},
	{"POST /api/persons", "PERSONS_URL"},
	{"GET /api/persons/{id}", "PERSONS_URL"},
	{"POST /api/locations", "LOCATIONS_URL"},
	{"GET /api/locations/{id}", "LOCATIONS_URL"},
	{"GET /api/persons/{id}/locations", "LOCATIONS_URL"},
	{"GET /api/persons/{id}/connection", "CONNECTIONS_URL"},
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
	cfg, err := server.LoadConfig("PERSONS_URL", "LOCATIONS_URL", "CONNECTIONS_URL")
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
	s := &server.Server{Addr: ":" + cfg.Port, Handler: handler, Ready: sinkReady(cfg.Sink), Log: log}
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}

// newHandler wires the door: the web app, the API proxies, the events entry
// and the API documents.
func newHandler(sink string, getenv func(string) string, log *zap.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	proxies := map[string]http.Handler{}
	for _, r := range routes {
		if proxies[r.upstream] == nil {
			u, err := url.Parse(getenv(r.upstream))
			if err != nil || u.Scheme == "" || u.Host == "" {
				return nil, fmt.Errorf("%s must be an absolute URL, not %q", r.upstream, getenv(r.upstream))
			}
			proxies[r.upstream] = proxy(u, log)
		}
		mux.Handle(r.pattern, proxies[r.upstream])
	}
	mux.Handle("POST /events", NewDoor(sink, log))
	mux.HandleFunc("GET /api/openapi.yaml", serveOpenAPI)
	mux.HandleFunc("GET /api/docs", serveDocs)
	mux.Handle("GET /", webApp())
	return mux, nil
}

// proxy forwards to a function; a function that cannot be reached is a 503.
func proxy(u *url.URL, log *zap.Logger) http.Handler {
	p := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.Error("proxy", zap.String("path", r.URL.Path), zap.String("upstream", u.Host), zap.Error(err))
			w.Header().Set("Retry-After", server.RetryAfter)
			server.WriteJSON(w, http.StatusServiceUnavailable, server.ErrorBody{Error: "the service is unavailable, try again later"})
		},
	}
	return http.MaxBytesHandler(p, server.MaxRequestSize)
}
