package server

import (
	"context"
	"os"
	"time"

	"github.com/udaconnect/udaconnect/shared/telemetry"
	"github.com/udaconnect/udaconnect/shared/telemetry/otlp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
)

// Observe makes the process named service observable: it serves its
// metrics (telemetry.ServeMetrics) and gives every event it handles a span
// of its trace. Spans are exported over OTLP/HTTP (telemetry/otlp) when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set,
// and nowhere otherwise. stop flushes the spans not yet exported.
func Observe(ctx context.Context, service string, log *zap.Logger) (stop func(), err error) {
	if err := telemetry.ServeMetrics(ctx, log); err != nil {
		return nil, err
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))),
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		exporter, err := otlp.NewExporter(os.Getenv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, sdktrace.WithBatcher(exporter))
		log.Info("exporting traces over OTLP")
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("flush traces", zap.Error(err))
		}
	}, nil
}
