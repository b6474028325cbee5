package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	ev "github.com/udaconnect/udaconnect/shared/event"
	"go.uber.org/zap"
)

// DefaultMetricsPort is where /metrics is served unless METRICS_PORT says
// otherwise. It is not the port of the process's own requests, so that the
// public door's metrics are never reachable through its ingress, and not
// 9090 or 9091, which Knative's queue-proxy holds in the same pod.
const DefaultMetricsPort = "9464"

// The metrics every process shares.
var (
	requestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "udaconnect_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and status; its _count counts the requests.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "status"})
	events = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "udaconnect_events_total",
		Help: "CloudEvents handled, by type and outcome: ok, refused (final) or retry (the sender sends it again).",
	}, []string{"type", "outcome"})
	overloaded = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "udaconnect_overloaded_total",
		Help: "Requests or events answered 429 because a bounded queue was full, by queue.",
	}, []string{"queue"})
)

// ServeMetrics serves GET /metrics on METRICS_PORT (default
// DefaultMetricsPort), at the address HOST like the process's requests,
// until ctx ends. It fails at once when the port cannot
// be listened on.
func ServeMetrics(ctx context.Context, log *zap.Logger) error {
	port := os.Getenv("METRICS_PORT")
	if port == "" {
		port = DefaultMetricsPort
	}
	l, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), port))
	if err != nil {
		return fmt.Errorf("METRICS_PORT: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", zap.Error(err))
		}
	}()
	log.Info("metrics listening", zap.String("addr", l.Addr().String()))
	return nil
}

// Middleware records the time and status of every request h answers, by
// the pattern of the route that served it ("none" when no route did).
func Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		requestDuration.WithLabelValues(route, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status written; Unwrap lets
// http.ResponseController reach the writer beneath for flushes.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// CountEvent counts an event of type typ answered with status. A type
// outside the catalogue counts as "other", so that senders cannot make
// up labels.
func CountEvent(typ string, status int) {
	if !ev.Known(typ) {
		typ = "other"
	}
	events.WithLabelValues(typ, Outcome(status)).Inc()
}

// Outcome names what a status means for an event: ok, refused (final) or
// retry (the sender sends it again).
func Outcome(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "ok"
	case ev.Retryable(status):
		return "retry"
	default:
		return "refused"
	}
}

// Overloaded counts a 429 given because queue was full.
func Overloaded(queue string) { overloaded.WithLabelValues(queue).Inc() }
