package e2e

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/release"
	"github.com/pivotapp/platform/internal/svcinfo"
)

type awsConfig = aws.Config

// runningService is what ECS says one service runs.
type runningService struct {
	Image          string            // app container image reference
	Env            map[string]string // app container environment
	TaskDefinition string
	DesiredCount   int32
	Status         string
}

// ecsServices lists the services of a cluster with the image of their app
// container, read with the AWS SDK (not through the provider).
func ecsServices(t *testing.T, cfg aws.Config, cluster string) map[string]runningService {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(cfg)
	out := map[string]runningService{}
	var arns []string
	p := ecs.NewListServicesPaginator(client, &ecs.ListServicesInput{Cluster: aws.String(cluster)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if strings.Contains(err.Error(), "ClusterNotFound") {
				return out
			}
			t.Fatalf("list services of cluster %s: %v", cluster, err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	for len(arns) > 0 {
		batch := arns[:min(10, len(arns))]
		arns = arns[len(batch):]
		res, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: batch})
		if err != nil {
			t.Fatalf("describe services of cluster %s: %v", cluster, err)
		}
		for _, svc := range res.Services {
			if aws.ToString(svc.Status) != "ACTIVE" {
				continue
			}
			td, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
			if err != nil {
				t.Fatalf("describe task definition %s: %v", aws.ToString(svc.TaskDefinition), err)
			}
			rs := runningService{TaskDefinition: aws.ToString(svc.TaskDefinition), DesiredCount: svc.DesiredCount, Status: aws.ToString(svc.Status)}
			for _, c := range td.TaskDefinition.ContainerDefinitions {
				if aws.ToString(c.Name) == "app" {
					rs.Image = aws.ToString(c.Image)
					rs.Env = map[string]string{}
					for _, kv := range c.Environment {
						rs.Env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
					}
				}
			}
			out[aws.ToString(svc.ServiceName)] = rs
		}
	}
	return out
}

// assertTasksRunning checks that every service of the cluster runs as many
// tasks of its current revision as it desires, each RUNNING and none
// failing its health check, as ECS (the local ECS runtime, through its
// proxy) describes them, and returns the count of each.
func assertTasksRunning(t *testing.T, cfg aws.Config, cluster string) map[string]int {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(cfg)
	counts := map[string]int{}
	for name, svc := range ecsServices(t, cfg, cluster) {
		list, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(name), DesiredStatus: ecstypes.DesiredStatusRunning})
		if err != nil {
			t.Fatalf("list tasks of %s/%s: %v", cluster, name, err)
		}
		if len(list.TaskArns) > 0 {
			out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: list.TaskArns})
			if err != nil {
				t.Fatalf("describe tasks of %s/%s: %v", cluster, name, err)
			}
			for _, tk := range out.Tasks {
				if aws.ToString(tk.LastStatus) == "RUNNING" && tk.HealthStatus != ecstypes.HealthStatusUnhealthy && aws.ToString(tk.TaskDefinitionArn) == svc.TaskDefinition {
					counts[name]++
				}
			}
		}
		if counts[name] != int(svc.DesiredCount) {
			t.Errorf("%s/%s: %d tasks of %s running, want %d", cluster, name, counts[name], svc.TaskDefinition, svc.DesiredCount)
		}
	}
	return counts
}

// assertImages checks that each named service runs <registry>/pivot/<name>:<tag>.
func assertImages(t *testing.T, where string, got map[string]runningService, want map[string]string) {
	t.Helper()
	for name, tag := range want {
		svc, ok := got[name]
		if !ok {
			t.Errorf("%s: service %s is not running", where, name)
			continue
		}
		if w := registry + "/pivot/" + name + ":" + tag; svc.Image != w {
			t.Errorf("%s: service %s runs %s, want %s", where, name, svc.Image, w)
		}
	}
}

// roleNames lists the IAM roles of an account whose names start with prefix.
func roleNames(t *testing.T, cfg aws.Config, prefix string) []string {
	t.Helper()
	var out []string
	p := iam.NewListRolesPaginator(iam.NewFromConfig(cfg), &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list roles: %v", err)
		}
		for _, r := range page.Roles {
			if strings.HasPrefix(aws.ToString(r.RoleName), prefix) {
				out = append(out, aws.ToString(r.RoleName))
			}
		}
	}
	return out
}

// parameters lists the Parameter Store names under path.
func parameters(t *testing.T, cfg aws.Config, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	p := ssm.NewGetParametersByPathPaginator(ssm.NewFromConfig(cfg), &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list parameters under %s: %v", path, err)
		}
		for _, prm := range page.Parameters {
			out[aws.ToString(prm.Name)] = true
		}
	}
	return out
}

func secretValue(t *testing.T, cfg aws.Config, name string) string {
	t.Helper()
	res, err := ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get parameter %s: %v", name, err)
	}
	return aws.ToString(res.Parameter.Value)
}

// releaseImages reads a release record with the release building block.
func releaseImages(t *testing.T, cfg aws.Config, name string) map[string]string {
	t.Helper()
	rec, err := release.NewStore(cfg).Get(context.Background(), name)
	if err != nil {
		t.Fatalf("read release %s: %v", name, err)
	}
	return rec.Images
}

// assertDatabaseIsolation connects with a service's own DATABASE_URL: it
// may use its database and may not connect to another service's.
func assertDatabaseIsolation(t *testing.T, cfg aws.Config, env, service, otherDatabase string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := secretValue(t, cfg, "/"+env+"/"+service+"/DATABASE_URL")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("%s/%s: connect with its own DATABASE_URL: %v", env, service, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE e2e_probe (id int PRIMARY KEY); INSERT INTO e2e_probe VALUES (1); DROP TABLE e2e_probe"); err != nil {
		t.Errorf("%s/%s: cannot use its own database: %v", env, service, err)
	}
	_ = conn.Close(ctx)

	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + otherDatabase
	other, err := pgx.Connect(ctx, u.String())
	if err == nil {
		_ = other.Close(ctx)
		t.Errorf("%s/%s: its role connected to database %s, which belongs to another service", env, service, otherDatabase)
		return
	}
	if !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("%s/%s: connecting to %s failed, but not for want of permission: %v", env, service, otherDatabase, err)
	}
}

// databaseExists asks the local PostgreSQL (as its superuser).
func databaseExists(t *testing.T, s *stack, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.pg.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// dnsRecords finds the records of a hostname in the Cloudflare emulator
// with the DNS client the provider also uses.
func dnsRecords(t *testing.T, s *stack, hostname string) []cfdns.Record {
	t.Helper()
	c, err := cfdns.New(cfdns.Config{APIToken: localstack.CloudflareToken, BaseURL: s.cf.URL})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := c.Find(context.Background(), s.zoneID, hostname, "")
	if err != nil {
		t.Fatalf("find dns records of %s: %v", hostname, err)
	}
	return recs
}

// jetStream connects to one environment's NATS system.
func jetStream(t *testing.T, natsURL string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatalf("connect to nats %s: %v", natsURL, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// assertJetStream checks the streams and the consumer the services need.
func assertJetStream(t *testing.T, natsURL string) {
	t.Helper()
	ctx := context.Background()
	js := jetStream(t, natsURL)
	st, err := js.Stream(ctx, "MESSENGER")
	if err != nil {
		t.Fatalf("stream MESSENGER: %v", err)
	}
	cfg := st.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != "messenger.v1.>" || cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 2*time.Minute {
		t.Errorf("stream MESSENGER: subjects %v, storage %v, duplicate window %v; want [messenger.v1.>], file, 2m", cfg.Subjects, cfg.Storage, cfg.Duplicates)
	}
	if _, err := js.Stream(ctx, "NOTIFIER_DEAD_LETTER"); err != nil {
		t.Errorf("stream NOTIFIER_DEAD_LETTER: %v", err)
	}
	c, err := st.Consumer(ctx, "notifier")
	if err != nil {
		t.Fatalf("consumer MESSENGER/notifier: %v", err)
	}
	cc := c.CachedInfo().Config
	if cc.Durable != "notifier" || cc.AckPolicy != jetstream.AckExplicitPolicy || cc.AckWait != 30*time.Second || cc.MaxDeliver != -1 {
		t.Errorf("consumer notifier: durable %q, ack %v, ack wait %v, max deliver %d; want notifier, explicit, 30s, -1", cc.Durable, cc.AckPolicy, cc.AckWait, cc.MaxDeliver)
	}
}

// assertNoStreams checks that destroy removed every stream.
func assertNoStreams(t *testing.T, natsURL string) {
	t.Helper()
	js := jetStream(t, natsURL)
	names := js.StreamNames(context.Background())
	var left []string
	for n := range names.Name() {
		left = append(left, n)
	}
	if err := names.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		t.Fatalf("list streams: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("streams left after destroy: %v", left)
	}
}

// assertDatabaseReachable checks, with the SDKs, that the environment's
// Aurora cluster is in the VPC its services run in and that one of its
// security groups admits theirs on 5432. Moto enforces neither; on AWS a
// cluster left in the VPC's default group cannot be reached by the tasks.
func assertDatabaseReachable(t *testing.T, cfg aws.Config, env, service string) {
	t.Helper()
	r, err := svcinfo.ReadDatabaseReach(context.Background(), cfg, env, service, env)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	for _, p := range r.Problems() {
		t.Errorf("%s: %s", env, p)
	}
}
