package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/release"
)

// runService starts service name in cluster with the given image tag of
// friend (which the local ECS runtime behind the tests' endpoint runs) and
// waits until its task runs.
func runService(t *testing.T, a acctest.AWS, cluster, name, tag string) {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(a.Config(t))
	var env []ecstypes.KeyValuePair
	for k, v := range ecsdeploytest.RunnableEnv() {
		env = append(env, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(cluster + "-" + name), NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("registry/pivot/friend:" + tag), Essential: aws.Bool(true), Environment: env,
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Name: aws.String("grpc")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(name),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(time.Second) {
		running, err := release.Observe(ctx, client, cluster, []string{name})
		if err == nil && running[name].Steady {
			return
		}
		if time.Now().After(deadline) {
			var reasons []string
			if list, lerr := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusStopped}); lerr == nil && len(list.TaskArns) > 0 {
				if out, derr := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns}); derr == nil {
					for _, tk := range out.Tasks {
						reasons = append(reasons, aws.ToString(tk.StoppedReason))
					}
				}
			}
			t.Fatalf("service %s/%s does not run: %+v, %v; stopped tasks: %q", cluster, name, running, err, reasons)
		}
	}
}

func TestReleaseShow_tenants(t *testing.T) {
	platform := acctest.NewAWS(t)
	acme, globex := acctest.NewAccountID(t), acctest.NewAccountID(t)
	root := fakeRepo(t, "messenger")
	tenants := filepath.Join(root, "envs/tenants/tenants.tf")
	for name, acct := range map[string]string{"acme": acme, "globex": globex} {
		if err := hcledit.AddTenant(tenants, hcledit.Tenant{Name: name, AccountID: acct, Region: "us-east-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := release.NewStore(platform.Config(t)).Put(context.Background(), release.Record{Name: "prod", Images: map[string]string{"messenger": "bbb222"}}); err != nil {
		t.Fatal(err)
	}
	runService(t, acctest.AWS{Endpoint: platform.Endpoint, AccountID: acme}, "acme", "messenger", "bbb222")
	runService(t, acctest.AWS{Endpoint: platform.Endpoint, AccountID: globex}, "globex", "messenger", "aaa111")

	t.Setenv("AWS_ENDPOINT_URL", platform.Endpoint)
	t.Setenv("AWS_REGION", localstack.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	out, err := runCtl(t, "release", "show", "--tenants", "--role-arn", acctest.RoleARN(platform.AccountID), "--tenant-role", "pivot-acc", "--repo", root)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"release prod (version 1", "messenger        bbb222", "acme    messenger  bbb222   bbb222   done", "globex  messenger  aaa111   bbb222", "progress: 1/2 services in 2 tenants run release prod"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

}
