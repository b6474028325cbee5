package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"github.com/udaconnect/udaconnect/shared/telemetry"
	"go.uber.org/zap"
)

// Bounds of every server's connections: the time to read a request's
// header and its whole body; how long a kept-alive connection may idle; the
// bytes of a header; and the time each write of an answer may take, pushed
// back at every write, so that a client that stops reading is cut off while
// an answer that keeps flowing, however long (a stream), goes on.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxHeaderBytes    = 64 << 10
	WriteTimeout      = 30 * time.Second
)

// ShutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM; Knative's default grace period is 30 s.
const ShutdownTimeout = 25 * time.Second

// A Function is a UdaConnect function: a CloudEvents handler and its REST
// routes.
type Function interface {
	Handle(ctx context.Context, e event.Event) (*event.Event, error)
	Routes(mux *http.ServeMux)
}

// Server serves a handler with the health endpoints beside it.
type Server struct {
	Addr    string
	Handler http.Handler                // everything but the health endpoints
	Ready   func(context.Context) error // what /readyz checks
	Drain   func()                      // ends long-lived requests (streams) as shutdown begins; optional
	Log     *zap.Logger

	listener net.Listener
	stopping atomic.Bool
}

// Listen opens the server's address; Addr is then the one really bound.
func (s *Server) Listen() error {
	l, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.listener, s.Addr = l, l.Addr().String()
	return nil
}

// Serve serves until ctx is cancelled, then stops taking requests, reports
// not ready, and waits up to ShutdownTimeout for in-flight ones to finish.
func (s *Server) Serve(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("/", s.Handler)
	srv := &http.Server{
		Handler:           writeDeadlines(telemetry.Middleware(mux)),
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	if s.Drain != nil {
		srv.RegisterOnShutdown(s.Drain)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.listener) }()
	s.Log.Info("listening", zap.String("addr", s.Addr))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	s.Log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// writeDeadlines gives each write of an answer WriteTimeout, and what is
// still buffered when the handler returns as much again.
func writeDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
		dw.extend()
		next.ServeHTTP(dw, r)
		dw.extend()
	})
}

// deadlineWriter pushes the write deadline back before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *deadlineWriter) extend() { _ = w.rc.SetWriteDeadline(time.Now().Add(WriteTimeout)) }

func (w *deadlineWriter) WriteHeader(status int) {
	w.extend()
	w.ResponseWriter.WriteHeader(status)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Flush() {
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: "shutting down"})
		return
	}
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: err.Error()})
			return
		}
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Mux serves f: CloudEvents at POST / to the Broker and its other routes
// to the door, as callers admits them.
func Mux(f Function, callers *Callers, log *zap.Logger) *http.ServeMux {
	routes := http.NewServeMux()
	f.Routes(routes)
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", callers.Events(Events(f.Handle, log)))
	mux.Handle("/", callers.API(routes))
	return mux
}

// Main runs a function as a process: config from the environment, the
// check of its callers, the database, the CloudEvents handler at POST / and
// its routes on one mux, until SIGINT or SIGTERM. It exits with a message on failure. The process
// is named after its executable in its traces. A function with a Ready
// method is ready when that and the database are.
func Main[F Function](build func(Config, *postgres.DB, *zap.Logger) (F, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, filepath.Base(os.Args[0]), build); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run[F Function](ctx context.Context, name string, build func(Config, *postgres.DB, *zap.Logger) (F, error)) error {
	cfg, err := LoadConfig("DATABASE_URL")
	if err != nil {
		return err
	}
	callers, err := NewCallers(cfg)
	if err != nil {
		return err
	}
	log, err := telemetry.NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	stopObserving, err := Observe(ctx, name, log)
	if err != nil {
		return err
	}
	defer stopObserving()
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := prometheus.Register(db.Metrics()); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	f, err := build(cfg, db, log)
	if err != nil {
		return err
	}
	if c, ok := any(f).(interface{ Close() }); ok {
		defer c.Close()
	}
	ready := db.Ping
	if r, ok := any(f).(interface{ Ready(context.Context) error }); ok {
		ready = func(ctx context.Context) error {
			if err := r.Ready(ctx); err != nil {
				return err
			}
			return db.Ping(ctx)
		}
	}
	s := &Server{Addr: cfg.Addr(), Handler: Mux(f, callers, log), Ready: ready, Log: log}
	if d, ok := any(f).(interface{ Drain() }); ok {
		s.Drain = d.Drain
	}
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}
