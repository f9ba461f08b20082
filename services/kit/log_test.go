package kit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/pivotapp/platform/services/kit"
)

func TestLoggerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := kit.NewLogger(&buf, slog.LevelInfo, "svc").With("k", "v")
	ctx, span := sdktrace.NewTracerProvider().Tracer("t").Start(context.Background(), "op")
	logger.InfoContext(ctx, "hello")
	span.End()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["trace_id"] != span.SpanContext().TraceID().String() || rec["span_id"] != span.SpanContext().SpanID().String() {
		t.Errorf("record = %v, want the span's IDs", rec)
	}
	if rec["service"] != "svc" || rec["k"] != "v" || rec["msg"] != "hello" {
		t.Errorf("record = %v", rec)
	}
	buf.Reset()
	logger.Info("no span")
	if bytes.Contains(buf.Bytes(), []byte("trace_id")) {
		t.Errorf("a record without a span must not carry trace_id: %s", buf.Bytes())
	}
}
