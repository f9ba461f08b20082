package kit

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Propagator is the W3C trace-context (and baggage) propagator used on
// Connect calls and in NATS headers.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// SetupTracing installs the global tracer provider and propagator. Spans go
// to the OTLP/HTTP endpoint configured by the standard OTEL_* variables (the
// environment's collector); with no endpoint nothing is exported, but spans
// still exist so logs carry trace IDs and traces propagate downstream.
// The returned function flushes and stops the provider.
func SetupTracing(ctx context.Context, service string, cfg TelemetryConfig) (func(context.Context) error, error) {
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("build trace resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.exporting() {
		// The exporter reads endpoint, headers, timeout and protocol details
		// from OTEL_EXPORTER_OTLP_* itself.
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("create otlp exporter: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	return tp.Shutdown, nil
}

// TelemetryConfig holds the OpenTelemetry variables a service's contract
// declares; the SDK reads them (and any other OTEL_* variable) itself.
type TelemetryConfig struct {
	OTLPEndpoint       string `env:"OTEL_EXPORTER_OTLP_ENDPOINT" desc:"OTLP/HTTP base URL of the environment's OpenTelemetry collector (e.g. http://otel-collector:4318); unset disables trace export"`
	OTLPTracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" desc:"OTLP/HTTP URL for traces only; overrides OTEL_EXPORTER_OTLP_ENDPOINT"`
	ServiceName        string `env:"OTEL_SERVICE_NAME" desc:"service.name on every span; defaults to the binary's service name"`
}

func (c TelemetryConfig) exporting() bool {
	return c.OTLPEndpoint != "" || c.OTLPTracesEndpoint != ""
}
