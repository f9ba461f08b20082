package svcinfo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/release"
	"github.com/pivotapp/platform/internal/svcinfo"
)

func TestMain(m *testing.M) { acctest.Main(m) }

func deploy(t *testing.T, env ecsdeploytest.Env, c *ecsdeploy.Client, tag string) {
	t.Helper()
	spec := ecsdeploy.Spec{
		Name: "messenger", Environment: "staging", Cluster: env.Cluster, Namespace: env.Namespace,
		// Friend's image, which the local ECS runtime behind the tests'
		// endpoint runs, with what it needs to start.
		Image: ecsdeploy.Image{Repository: ecsdeploytest.RunnableRepository, Tag: tag},
		Env:   ecsdeploytest.RunnableEnv(),
		CPU:   256, Memory: 512, DesiredCount: 1,
		Ports:   []ecsdeploy.Port{{Name: "grpc", ContainerPort: 8080, Protocol: "grpc"}},
		Network: ecsdeploy.Network{Subnets: []string{env.Subnet}, SecurityGroups: []string{env.SecurityGroup}},
	}
	var prior *ecsdeploy.Deployed
	if d, err := c.Refresh(context.Background(), ecsdeploy.Deployed{Spec: spec.WithDefaults()}); err == nil && d != nil {
		prior = d
	}
	if _, err := c.Deploy(context.Background(), spec, prior); err != nil {
		t.Fatalf("deploy %s: %v", tag, err)
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	c := ecsdeploy.New(cfg)
	c.PollInterval = 50 * time.Millisecond
	deploy(t, env, c, "aaa111")
	r := svcinfo.New(cfg)

	st, err := r.Status(ctx, svcinfo.Query{Environment: "staging", Service: "messenger"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision != "staging-messenger:1" || st.Tag != "aaa111" || st.Desired != 1 || st.Running != 1 || !st.Healthy {
		t.Fatalf("status = %+v", st)
	}
	if st.ReleaseError != "no release record staging" {
		t.Fatalf("release error = %q", st.ReleaseError)
	}

	// Released at aaa111, then bumped past the release: status says so.
	if _, err := release.NewStore(cfg).Put(ctx, release.Record{Name: "staging", Images: map[string]string{"messenger": "aaa111"}}); err != nil {
		t.Fatal(err)
	}
	deploy(t, env, c, "bbb222")
	st, err = r.Status(ctx, svcinfo.Query{Environment: "staging", Service: "messenger"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision != "staging-messenger:2" || st.Tag != "bbb222" || st.ReleaseTag != "aaa111" {
		t.Fatalf("after the bump: %+v", st)
	}
	// The deployments are the local ECS runtime's (moto alone keeps the
	// first deployment's revision after an update): the bump's completed.
	if len(st.Deployments) != 1 || st.Deployments[0].Status != "PRIMARY" || st.Deployments[0].Revision != "staging-messenger:2" || st.Deployments[0].Running != 1 {
		t.Fatalf("deployments = %+v", st.Deployments)
	}

	if _, err := r.Status(ctx, svcinfo.Query{Environment: "staging", Service: "nope"}); !errors.Is(err, svcinfo.ErrNotFound) {
		t.Fatalf("missing service: %v", err)
	}
}

func TestCloudWatchLogsFollow(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	cw := cloudwatchlogs.NewFromConfig(cfg)
	group := svcinfo.LogGroup("staging", "messenger")
	if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app/1")}); err != nil {
		t.Fatal(err)
	}
	put := func(msg string, at time.Time) {
		if _, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("app/1"),
			LogEvents: []cwtypes.InputLogEvent{{Message: aws.String(msg), Timestamp: aws.Int64(at.UnixMilli())}}}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Minute)
	put("first", start.Add(time.Second))
	src := &svcinfo.CloudWatchLogs{API: cw, Group: group}
	lines, next, err := src.Fetch(ctx, start)
	if err != nil || len(lines) != 1 || lines[0].Message != "first" {
		t.Fatalf("first fetch: %+v, %v", lines, err)
	}
	put("second", start.Add(2*time.Second))
	lines, _, err = src.Fetch(ctx, next)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0].Message, "second") {
		t.Fatalf("follow fetch (no repeats): %+v, %v", lines, err)
	}
}
