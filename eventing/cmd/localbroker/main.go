// Command localbroker runs the Knative Brokers, Triggers and PingSources of
// eventing/ without a cluster, keeping their events in JetStream files under
// -data. INTERNAL_TOKEN is the secret it shares with the door and the
// functions: its ingress takes events only with it, as a bearer token, and
// it delivers with it. LOG_LEVEL sets its log level (default info) and
// METRICS_PORT the port of its /metrics, as for every process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/udaconnect/udaconnect/eventing/broker"
	"github.com/udaconnect/udaconnect/shared/telemetry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localbroker:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve the ingress on")
	data := flag.String("data", ".run/broker", "directory of the stored events")
	manifests := flag.String("manifests", "eventing", "comma-separated YAML files or directories")
	queue := flag.Int("queue", 4096, "events each broker may hold before answering 429")
	workers := flag.Int("workers", 128, "events each broker delivers at once")
	drain := flag.Duration("drain", 10*time.Second, "how long shutdown waits for queued and in-flight deliveries")
	services := broker.Services{}
	flag.Var(services, "service", "Knative Service name=local URL, repeatable")
	flag.Parse()
	token := os.Getenv("INTERNAL_TOKEN")
	if token == "" {
		return errors.New("INTERNAL_TOKEN is not set: the broker and the functions take events only with the secret they share with the door")
	}

	log, err := telemetry.NewLogger(os.Getenv("LOG_LEVEL")) // "" is info
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := telemetry.ServeMetrics(ctx, log); err != nil {
		return err
	}

	m, err := broker.Load(strings.Split(*manifests, ",")...)
	if err != nil {
		return err
	}
	if len(m.Brokers) == 0 {
		return fmt.Errorf("no Broker in %s", *manifests)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	base := selfURL(ln.Addr().(*net.TCPAddr))
	store, err := broker.OpenStore(*data)
	if err != nil {
		return err
	}
	defer store.Close()
	var brokers []*broker.Broker
	for _, bm := range m.Brokers {
		b, err := broker.New(ctx, m, bm, broker.Config{Services: services, BaseURL: base, Store: store,
			QueueSize: *queue, Workers: *workers, Token: token, Logger: log})
		if err == nil {
			err = b.Start(ctx)
		}
		if err != nil {
			return fmt.Errorf("broker %s/%s: %w", bm.Metadata.Namespace, bm.Metadata.Name, err)
		}
		brokers = append(brokers, b)
		log.Info("broker ready", zap.String("ingress", base+"/"+b.Namespace+"/"+b.Name))
	}
	pings, err := broker.NewPings(m, brokers)
	if err != nil {
		return err
	}
	for _, p := range pings {
		go p.Run(ctx, log)
	}
	srv := &http.Server{Handler: telemetry.Middleware(broker.Handler(brokers...)), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("local broker listening", zap.String("address", base), zap.Any("services", map[string]string(services)))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining deliveries", zap.Stringer("limit", *drain))
	ctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	// The server stays up while the brokers drain; the ingress already
	// answers 503. What is not delivered stays stored for the next start.
	var errs []error
	for _, b := range brokers {
		errs = append(errs, b.Close(ctx))
	}
	errs = append(errs, srv.Shutdown(ctx))
	return errors.Join(errs...)
}

// selfURL is the URL the broker reaches itself at.
func selfURL(addr *net.TCPAddr) string {
	host := "127.0.0.1"
	if !addr.IP.IsUnspecified() {
		host = addr.IP.String()
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}
