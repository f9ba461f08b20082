package environment

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// fakeECSLimits serves ListServices in pages of 10, as ECS does by default,
// and refuses DescribeServices for more than 10 names, as ECS does; moto
// does neither.
func fakeECSLimits(t *testing.T, services int) *Manager {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			NextToken  string   `json:"nextToken"`
			MaxResults int      `json:"maxResults"`
			Services   []string `json:"services"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		reply := func(status int, v any) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		switch op := r.Header.Get("X-Amz-Target"); {
		case strings.HasSuffix(op, ".ListServices"):
			page := 10
			if in.MaxResults > 0 && in.MaxResults < page {
				page = in.MaxResults
			}
			start := 0
			if in.NextToken != "" {
				_, _ = fmt.Sscan(in.NextToken, &start)
			}
			var arns []string
			for i := start; i < min(start+page, services); i++ {
				arns = append(arns, fmt.Sprintf("arn:aws:ecs:eu-west-1:123456789012:service/staging/svc-%d", i+1))
			}
			out := map[string]any{"serviceArns": arns}
			if start+page < services {
				out["nextToken"] = fmt.Sprint(start + page)
			}
			reply(200, out)
		case strings.HasSuffix(op, ".DescribeServices"):
			if len(in.Services) > 10 {
				reply(400, map[string]string{"__type": "InvalidParameterException", "message": "services can have at most 10 items"})
				return
			}
			var out []map[string]string
			for _, a := range in.Services {
				out = append(out, map[string]string{"serviceArn": a, "serviceName": a[strings.LastIndex(a, "/")+1:], "status": "ACTIVE"})
			}
			reply(200, map[string]any{"services": out, "failures": []any{}})
		default:
			reply(400, map[string]string{"__type": "InvalidParameterException", "message": "unexpected " + op})
		}
	}))
	t.Cleanup(srv.Close)
	return New(aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
}

// The guard sees every service of a cluster, not the first page's ten.
func TestCheckNoServicesReadsEveryPage(t *testing.T) {
	t.Parallel()
	err := fakeECSLimits(t, 23).checkNoServices(context.Background(), "staging")
	if err == nil || !strings.Contains(err.Error(), "svc-23") || !strings.Contains(err.Error(), "svc-1,") {
		t.Fatalf("err = %v, want every service named", err)
	}
}

// fakeECSScript answers DescribeServices with the next of replies (the last
// repeats) and counts the calls.
func fakeECSScript(t *testing.T, replies ...string) (*Manager, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeServices") {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"__type":"InvalidParameterException","message":"unexpected"}`))
			return
		}
		n := int(calls.Add(1)) - 1
		_, _ = w.Write([]byte(replies[min(n, len(replies)-1)]))
	}))
	t.Cleanup(srv.Close)
	m := New(aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	m.PollInterval, m.Timeout = time.Millisecond, 2*time.Second
	return m, &calls
}

// Converge returns once the platform's new tasks run, not when ECS has
// merely accepted the update: services deployed next need them.
func TestWaitPlatformServicesWaitsForTasks(t *testing.T) {
	t.Parallel()
	const (
		starting = `{"services":[{"serviceName":"otel-collector","runningCount":0,"deployments":[{"status":"PRIMARY","rolloutState":"IN_PROGRESS"}]}]}`
		draining = `{"services":[{"serviceName":"otel-collector","runningCount":1,"deployments":[{"status":"PRIMARY","rolloutState":"IN_PROGRESS"},{"status":"ACTIVE","rolloutState":"COMPLETED"}]}]}`
		running  = `{"services":[{"serviceName":"otel-collector","runningCount":1,"deployments":[{"status":"PRIMARY","rolloutState":"COMPLETED"}]}]}`
	)
	m, calls := fakeECSScript(t, starting, draining, running)
	if err := m.waitPlatformServices(context.Background(), "staging", []string{"otel-collector"}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("DescribeServices called %d times, want 3 (returned before the tasks ran)", n)
	}

	failed := `{"services":[{"serviceName":"nats","runningCount":1,"deployments":[{"status":"PRIMARY","rolloutState":"IN_PROGRESS"},{"status":"ACTIVE","rolloutState":"FAILED","rolloutStateReason":"tasks failed to start"}]}]}`
	m, _ = fakeECSScript(t, failed)
	if err := m.waitPlatformServices(context.Background(), "staging", []string{"nats"}); err == nil || !strings.Contains(err.Error(), "tasks failed to start") {
		t.Fatalf("failed rollout: %v", err)
	}
}
