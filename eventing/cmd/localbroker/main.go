// Command localbroker runs the Knative Broker and Triggers of eventing/
// in memory, without a cluster. LOG_LEVEL sets its log level (default info)
// and METRICS_PORT the port of its /metrics, as for every process.
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
	listen := flag.String("listen", "127.0.0.1:8090", "address to serve the ingress and /dead-letters on")
	manifests := flag.String("manifests", "eventing/broker.yaml,eventing/triggers.yaml", "comma-separated YAML files or directories")
	queue := flag.Int("queue", 4096, "events each broker may hold before answering 429")
	workers := flag.Int("workers", 128, "events each broker delivers at once")
	drain := flag.Duration("drain", 10*time.Second, "how long shutdown waits for queued and in-flight deliveries")
	services := broker.Services{}
	flag.Var(services, "service", "Knative Service name=local URL, repeatable (dead-letters defaults to the built-in store)")
	flag.Parse()

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
	if _, ok := services["dead-letters"]; !ok {
		services["dead-letters"] = base + "/dead-letters"
	}
	var brokers []*broker.Broker
	for _, bm := range m.Brokers {
		b, err := broker.New(m, bm, broker.Config{Services: services, BaseURL: base, QueueSize: *queue, Workers: *workers, Logger: log})
		if err != nil {
			return fmt.Errorf("broker %s/%s: %w", bm.Metadata.Namespace, bm.Metadata.Name, err)
		}
		b.Start()
		brokers = append(brokers, b)
		log.Info("broker ready", zap.String("ingress", base+"/"+b.Namespace+"/"+b.Name))
	}
	srv := &http.Server{Handler: telemetry.Middleware(broker.Handler(broker.NewStore(1000, log), brokers...)), ReadHeaderTimeout: 10 * time.Second}
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
	// The server stays up while the brokers drain: dead letters may still
	// arrive at the built-in store; the ingress already answers 503.
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
