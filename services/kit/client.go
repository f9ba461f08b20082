package kit

import (
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
)

// H2CClient returns an HTTP client that speaks HTTP/2 without TLS (prior
// knowledge) to http:// URLs: what gRPC needs inside the VPC, where ECS
// Service Connect carries the traffic.
func H2CClient() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:           &protocols,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// ClientOptions returns the options for calling another service: the gRPC
// protocol and OpenTelemetry spans that propagate the trace.
func ClientOptions() []connect.ClientOption {
	otelInterceptor, err := otelconnect.NewInterceptor(otelconnect.WithoutMetrics())
	if err != nil {
		panic("create otel interceptor: " + err.Error())
	}
	return []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(otelInterceptor)}
}
