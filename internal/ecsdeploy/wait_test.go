package ecsdeploy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pivotapp/platform/internal/ecsdeploy"
)

// fakeECS answers ListServiceDeployments with listErr for the first
// failures calls, then with one SUCCESSFUL deployment; DescribeServices
// always shows a rollout still in progress, so only the deployments API
// can report the deployment done.
func fakeECS(t *testing.T, listErr string, failures int32) (*ecsdeploy.Client, *atomic.Int32) {
	t.Helper()
	var lists atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch op := r.Header.Get("X-Amz-Target"); {
		case strings.HasSuffix(op, ".ListServiceDeployments"):
			if lists.Add(1) <= failures {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"__type":"` + listErr + `","message":"no"}`))
				return
			}
			_, _ = w.Write([]byte(`{"serviceDeployments":[{"status":"SUCCESSFUL","createdAt":` + jsonTime(time.Now()) + `}]}`))
		case strings.HasSuffix(op, ".DescribeServices"):
			_, _ = w.Write([]byte(`{"services":[{"serviceName":"messenger","status":"ACTIVE","desiredCount":1,"runningCount":1,
"deployments":[{"status":"PRIMARY","rolloutState":"IN_PROGRESS"},{"status":"ACTIVE"}]}],"failures":[]}`))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"InvalidParameterException","message":"unexpected ` + op + `"}`))
		}
	}))
	t.Cleanup(srv.Close)
	c := ecsdeploy.New(aws.Config{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	})
	c.PollInterval = 20 * time.Millisecond
	return c, &lists
}

func jsonTime(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Throttling is no reason to stop using ListServiceDeployments: the next
// poll asks it again.
func TestWaitForSteadyState_keepsDeploymentsAPIAfterThrottling(t *testing.T) {
	t.Parallel()
	c, lists := fakeECS(t, "ThrottlingException", 2)
	if err := c.WaitForSteadyState(context.Background(), "staging", "messenger", time.Now(), 5*time.Second); err != nil {
		t.Fatalf("wait: %v (ListServiceDeployments called %d times)", err, lists.Load())
	}
	if n := lists.Load(); n != 3 {
		t.Fatalf("ListServiceDeployments called %d times, want 3", n)
	}
}

// An endpoint that does not know the operation is not asked again.
func TestWaitForSteadyState_dropsUnknownDeploymentsAPI(t *testing.T) {
	t.Parallel()
	c, lists := fakeECS(t, "UnknownOperationException", 1000)
	err := c.WaitForSteadyState(context.Background(), "staging", "messenger", time.Now(), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "rollout IN_PROGRESS") {
		t.Fatalf("wait: %v, want a timeout reporting the service's rollout", err)
	}
	if n := lists.Load(); n != 1 {
		t.Fatalf("ListServiceDeployments called %d times, want 1", n)
	}
}

// DescribeServices and DescribeClusters answer in part: MISSING means gone,
// any other failure says nothing about existence and must not read as gone.
func TestFailuresError(t *testing.T) {
	t.Parallel()
	missing := ecstypes.Failure{Arn: aws.String("arn:svc/a"), Reason: aws.String("MISSING")}
	if err := ecsdeploy.FailuresError("describe", []ecstypes.Failure{missing}); err != nil {
		t.Fatalf("MISSING: %v", err)
	}
	other := ecstypes.Failure{Arn: aws.String("arn:svc/b"), Reason: aws.String("INTERNAL_ERROR")}
	if err := ecsdeploy.FailuresError("describe", []ecstypes.Failure{missing, other}); err == nil || !strings.Contains(err.Error(), "arn:svc/b: INTERNAL_ERROR") {
		t.Fatalf("other failure: %v", err)
	}
}
