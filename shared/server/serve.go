package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/udaconnect/udaconnect/shared/postgres"
	"go.uber.org/zap"
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
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
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

// Mux serves f: CloudEvents at POST / and its REST routes.
func Mux(f Function, log *zap.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", Events(f.Handle, log))
	f.Routes(mux)
	return mux
}

// Main runs a function as a process: config from the environment, the
// database, the CloudEvents handler at POST / and its routes on one mux,
// until SIGINT or SIGTERM. It exits with a message on failure.
func Main[F Function](build func(Config, *postgres.DB, *zap.Logger) (F, error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, build); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run[F Function](ctx context.Context, build func(Config, *postgres.DB, *zap.Logger) (F, error)) error {
	cfg, err := LoadConfig("DATABASE_URL")
	if err != nil {
		return err
	}
	log, err := NewLogger(cfg.LogLevel)
	if err != nil {
		return err
	}
	defer log.Sync()
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := build(cfg, db, log)
	if err != nil {
		return err
	}
	if c, ok := any(f).(interface{ Close() }); ok {
		defer c.Close()
	}
	s := &Server{Addr: cfg.Addr(), Handler: Mux(f, log), Ready: db.Ping, Log: log}
	if d, ok := any(f).(interface{ Drain() }); ok {
		s.Drain = d.Drain
	}
	if err := s.Listen(); err != nil {
		return err
	}
	return s.Serve(ctx)
}
