package ecsdeploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
)

// TestDeploy_waitsForCallees: a client created alongside its server starts
// only once the server exists, since its tasks would never resolve an
// endpoint created after them; a callee that never comes fails the create
// by name, with nothing left behind.
func TestDeploy_waitsForCallees(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	ecsdeploytest.PutSecret(t, cfg, "/staging/friend/JWT_KEY", "s3cret")
	c := ecsdeploy.New(cfg)
	ctx := context.Background()

	server := testSpec(env)
	server.Deployment.SkipWait = true
	client := testSpec(env)
	client.Name, client.Calls = "friend", []string{"messenger"}
	client.Deployment.SkipWait = true

	done := make(chan error, 1)
	go func() {
		_, err := c.Deploy(ctx, client, nil)
		done <- err
	}()
	time.Sleep(2 * time.Second)
	api := ecs.NewFromConfig(cfg)
	out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"friend"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) > 0 {
		t.Fatalf("friend was created before messenger, which it calls: %+v", out.Services[0])
	}
	if _, err := c.Deploy(ctx, server, nil); err != nil {
		t.Fatalf("deploy messenger: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("deploy friend: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("friend was not created within a minute of messenger")
	}
	out, err = api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"messenger", "friend"}})
	if err != nil || len(out.Services) != 2 {
		t.Fatalf("describe: %v %+v", err, out)
	}
	if aws.ToTime(out.Services[1].CreatedAt).Before(aws.ToTime(out.Services[0].CreatedAt)) {
		t.Errorf("friend created at %s, before messenger at %s", out.Services[1].CreatedAt, out.Services[0].CreatedAt)
	}

	// A callee that never appears.
	lonely := testSpec(env)
	lonely.Name, lonely.Calls = "notifier", []string{"billing"}
	lonely.Deployment = ecsdeploy.Deployment{SkipWait: true, Timeout: 10 * time.Second}
	ecsdeploytest.PutSecret(t, cfg, "/staging/notifier/JWT_KEY", "s3cret")
	_, err = c.Deploy(ctx, lonely, nil)
	if err == nil || !strings.Contains(err.Error(), "notifier calls billing through Service Connect") || !strings.Contains(err.Error(), "remove it from calls") {
		t.Fatalf("deploy with a callee that never comes: %v", err)
	}
	out, err = api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"notifier"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Services) > 0 && aws.ToString(out.Services[0].Status) == "ACTIVE" {
		t.Errorf("notifier exists after its create failed")
	}
}

func TestSpec_validatesCalls(t *testing.T) {
	s := testSpec(ecsdeploytest.Env{Cluster: "c", Namespace: "ns", Subnet: "subnet-1", SecurityGroup: "sg-1"})
	s.Calls = []string{"messenger", "Not_A_Name"}
	var got []string
	for _, fe := range s.WithDefaults().Validate() {
		if fe.Field == "calls" {
			got = append(got, fe.Summary)
		}
	}
	if strings.Join(got, "|") != "Invalid Called Service|Service Calls Itself" {
		t.Errorf("calls problems = %q", got)
	}
}

// TestDeploy_redeploysForLateCallee: a service that starts calling a
// server created after its current deployment is deployed again, since
// its running tasks cannot resolve the server; one whose callee is older
// is not.
func TestDeploy_redeploysForLateCallee(t *testing.T) {
	needMoto(t)
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")
	ecsdeploytest.PutSecret(t, cfg, "/staging/friend/JWT_KEY", "s3cret")
	var forced []bool
	recorded := cfg.Copy()
	recorded.APIOptions = append(recorded.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("recordForce",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if u, ok := in.Parameters.(*ecs.UpdateServiceInput); ok {
					forced = append(forced, u.ForceNewDeployment)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	c := ecsdeploy.New(recorded)
	ctx := context.Background()

	client := testSpec(env)
	client.Name = "friend"
	client.Deployment.SkipWait = true
	d, err := c.Deploy(ctx, client, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // moto's times have a resolution of a second
	server := testSpec(env)
	server.Deployment.SkipWait = true
	if _, err := c.Deploy(ctx, server, nil); err != nil {
		t.Fatal(err)
	}
	calling := client
	calling.Calls = []string{"messenger"}
	if d, err = c.Deploy(ctx, calling, d); err != nil {
		t.Fatal(err)
	}
	if len(forced) != 1 || !forced[0] {
		t.Fatalf("UpdateService calls forcing a deployment: %v, want one forced", forced)
	}
	// Deployed again after messenger: nothing more to force.
	forced = nil
	calling.Env = map[string]string{"LOG_LEVEL": "debug"}
	if _, err = c.Deploy(ctx, calling, d); err != nil {
		t.Fatal(err)
	}
	if len(forced) != 1 || forced[0] {
		t.Fatalf("UpdateService calls forcing a deployment: %v, want one, not forced", forced)
	}
}
