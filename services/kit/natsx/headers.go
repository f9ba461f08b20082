package natsx

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/pivotapp/platform/services/kit"
)

// HeaderCarrier adapts NATS headers to OpenTelemetry propagation. Unlike
// http.Header it keeps keys as given ("traceparent", as W3C spells it), since
// NATS headers are case-sensitive and other languages' clients look for the
// lower-case key.
type HeaderCarrier nats.Header

// Get returns the first value for key, matching case-insensitively.
func (c HeaderCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range c {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// Set replaces key's values.
func (c HeaderCarrier) Set(key, value string) { c[key] = []string{value} }

// Keys lists the keys.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// InjectTrace writes ctx's trace context into h.
func InjectTrace(ctx context.Context, h nats.Header) {
	kit.Propagator.Inject(ctx, HeaderCarrier(h))
}

// ExtractSpanContext reads the producer's span context from h.
func ExtractSpanContext(h nats.Header) trace.SpanContext {
	return trace.SpanContextFromContext(kit.Propagator.Extract(context.Background(), HeaderCarrier(h)))
}
