// Command otel-sink is what the local ECS runtime runs for an OpenTelemetry
// collector image: an OTLP/HTTP receiver that keeps the spans it receives.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/pivotapp/platform/internal/localstack/ecsrt/otelsink"
)

func main() {
	listen := flag.String("listen", ":4318", "OTLP/HTTP address")
	out := flag.String("out", "spans.jsonl", "file the spans are appended to")
	// The collector image's own flags (--config=...) are accepted and
	// ignored: the sink has no pipeline to configure.
	flag.String("config", "", "ignored: the collector's configuration")
	flag.Parse()
	srv := &http.Server{Addr: *listen, Handler: otelsink.Handler(*out), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("otel-sink: OTLP/HTTP on %s, spans to %s", *listen, *out)
	log.Fatal(srv.ListenAndServe())
}
