package natsx_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/pivotapp/platform/services/kit/natsx"
)

func TestTraceHeadersRoundTrip(t *testing.T) {
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "produce")
	defer span.End()
	h := nats.Header{}
	natsx.InjectTrace(ctx, h)
	if _, ok := h["traceparent"]; !ok {
		t.Fatalf("headers = %v, want the W3C key spelled traceparent", h)
	}
	got := natsx.ExtractSpanContext(h)
	if got.TraceID() != span.SpanContext().TraceID() || got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Fatalf("extracted %v, want the producer's span as remote", got)
	}
	// Other clients may canonicalise the key.
	upper := nats.Header{"Traceparent": h["traceparent"]}
	if natsx.ExtractSpanContext(upper).TraceID() != span.SpanContext().TraceID() {
		t.Fatal("a canonicalised key must still be read")
	}
	if natsx.ExtractSpanContext(nats.Header{}).IsValid() {
		t.Fatal("no headers, no span context")
	}
}

func TestTerminal(t *testing.T) {
	if natsx.Terminal(nil) != nil {
		t.Fatal("Terminal(nil) must be nil")
	}
	err := natsx.Terminal(context.Canceled)
	if !natsx.IsTerminal(err) || natsx.IsTerminal(context.Canceled) {
		t.Fatal("IsTerminal mismatch")
	}
}
