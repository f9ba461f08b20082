package provider

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/ecsdeploy/ecsdeploytest"
	"github.com/pivotapp/platform/internal/iamscope"
)

const (
	svcTestAddr = "pivot_service.test"
	// svcTestRepo is friend's image: the acceptance tests' AWS endpoint is
	// the local ECS runtime's proxy, which runs the services' tasks as the
	// tree's friend binary, so what they deploy really starts.
	svcTestRepo = ecsdeploytest.RunnableRepository
)

// svcTestService is one pivot_service block in a test configuration.
type svcTestService struct {
	Name string
	Tag  string
	// Env is added to ecsdeploytest.RunnableEnv, which the tasks need to
	// start (a key given here wins).
	Env     map[string]string
	Secrets []string
	// Extra is HCL added inside the block.
	Extra string
	// Cluster overrides the environment's cluster expression (an HCL
	// expression, not a string).
	Cluster string
}

func (s svcTestService) hcl(env ecsdeploytest.Env, label string) string {
	name := s.Name
	if name == "" {
		name = "messenger"
	}
	tag := s.Tag
	if tag == "" {
		tag = "aaa111"
	}
	cluster := s.Cluster
	if cluster == "" {
		cluster = fmt.Sprintf("%q", env.Cluster)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `
resource "pivot_service" %[1]q {
  name                      = %[2]q
  environment               = "staging"
  cluster                   = %[3]s
  service_connect_namespace = %[4]q
  cpu                       = 256
  memory                    = 512

  image {
    repository = %[5]q
    tag        = %[6]q
  }

  ports = [{ name = "grpc", container_port = 8080 }]

  network = {
    subnets         = [%[7]q]
    security_groups = [%[8]q]
  }
`, label, name, cluster, env.Namespace, svcTestRepo, tag, env.Subnet, env.SecurityGroup)
	envs := ecsdeploytest.RunnableEnv()
	maps.Copy(envs, s.Env)
	keys := slices.Sorted(maps.Keys(envs))
	b.WriteString("  env = {\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "    %q = %q\n", k, envs[k])
	}
	b.WriteString("  }\n")
	if s.Secrets != nil {
		fmt.Fprintf(&b, "  secrets = [%s]\n", svcHCLList(s.Secrets))
	}
	b.WriteString(s.Extra)
	b.WriteString("\n}\n")
	return b.String()
}

func svcHCLList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func testAccServiceConfig(a acctest.AWS, env ecsdeploytest.Env, s svcTestService) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + s.hcl(env, "test")
}

// svcInspector looks at an account with the AWS SDK, independently of the
// provider.
type svcInspector struct {
	t   *testing.T
	cfg aws.Config
	env ecsdeploytest.Env
}

func (i svcInspector) service(name string) (*ecstypes.Service, error) {
	out, err := ecs.NewFromConfig(i.cfg).DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(i.env.Cluster), Services: []string{name},
	})
	if err != nil {
		return nil, err
	}
	if len(out.Services) == 0 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
		return nil, nil
	}
	return &out.Services[0], nil
}

func (i svcInspector) taskDefinition(arn string) (*ecstypes.TaskDefinition, error) {
	out, err := ecs.NewFromConfig(i.cfg).DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	return out.TaskDefinition, nil
}

func (i svcInspector) activeRevisions(family string) []string {
	out, err := ecs.NewFromConfig(i.cfg).ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive,
	})
	if err != nil {
		i.t.Fatalf("list task definitions: %v", err)
	}
	var revs []string
	for _, a := range out.TaskDefinitionArns {
		revs = append(revs, a[strings.LastIndex(a, ":")+1:])
	}
	sort.Strings(revs)
	return revs
}

func (i svcInspector) rolePolicy(role string) (iamscope.Document, error) {
	out, err := iam.NewFromConfig(i.cfg).GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String("pivot-scoped")})
	if err != nil {
		return iamscope.Document{}, err
	}
	raw, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		raw = aws.ToString(out.PolicyDocument)
	}
	return iamscope.ParseDocument(raw)
}

// nothingLeft is the CheckDestroy of every service test: no service, no
// ACTIVE revision, no role, no log group, in any environment the tests use.
func (i svcInspector) nothingLeft(names ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, name := range names {
			if svc, err := i.service(name); err != nil || svc != nil {
				return fmt.Errorf("service %s still ACTIVE after destroy (%w)", name, err)
			}
			for _, env := range []string{"staging", "qa"} {
				if revs := i.activeRevisions(env + "-" + name); len(revs) > 0 {
					return fmt.Errorf("ACTIVE task definition revisions of %s-%s left: %v", env, name, revs)
				}
				for _, role := range []string{env + "-" + name + "-task", env + "-" + name + "-exec"} {
					if _, err := iam.NewFromConfig(i.cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)}); err == nil {
						return fmt.Errorf("role %s left after destroy", role)
					}
				}
			}
		}
		groups, err := cloudwatchlogs.NewFromConfig(i.cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/")})
		if err != nil {
			return err
		}
		if len(groups.LogGroups) > 0 {
			return fmt.Errorf("log groups left after destroy: %s", aws.ToString(groups.LogGroups[0].LogGroupName))
		}
		return nil
	}
}

func svcContainer(td *ecstypes.TaskDefinition, name string) *ecstypes.ContainerDefinition {
	for i := range td.ContainerDefinitions {
		if aws.ToString(td.ContainerDefinitions[i].Name) == name {
			return &td.ContainerDefinitions[i]
		}
	}
	return nil
}

func svcEnvOf(c *ecstypes.ContainerDefinition) map[string]string {
	out := map[string]string{}
	for _, e := range c.Environment {
		out[aws.ToString(e.Name)] = aws.ToString(e.Value)
	}
	return out
}

// inspectCreated checks what the first apply created, with the SDK.
func (i svcInspector) inspectCreated(*terraform.State) error {
	svc, err := i.service("messenger")
	if err != nil || svc == nil {
		return fmt.Errorf("service messenger not ACTIVE: %v", err)
	}
	if svc.DesiredCount != 1 || svc.LaunchType != ecstypes.LaunchTypeFargate {
		return fmt.Errorf("service: desired %d, launch type %s", svc.DesiredCount, svc.LaunchType)
	}
	if nc := svc.NetworkConfiguration; nc == nil || !slices.Equal(nc.AwsvpcConfiguration.Subnets, []string{i.env.Subnet}) {
		return fmt.Errorf("service network configuration = %+v", nc)
	}
	td, err := i.taskDefinition(aws.ToString(svc.TaskDefinition))
	if err != nil {
		return err
	}
	if aws.ToString(td.Family) != "staging-messenger" || aws.ToString(td.Cpu) != "256" || aws.ToString(td.Memory) != "512" || td.NetworkMode != ecstypes.NetworkModeAwsvpc {
		return fmt.Errorf("task definition: family %s cpu %s memory %s network %s", aws.ToString(td.Family), aws.ToString(td.Cpu), aws.ToString(td.Memory), td.NetworkMode)
	}
	if len(td.ContainerDefinitions) != 2 {
		return fmt.Errorf("task definition has %d containers, want app and log_router", len(td.ContainerDefinitions))
	}
	app, router := svcContainer(td, "app"), svcContainer(td, "log_router")
	if app == nil || router == nil {
		return fmt.Errorf("containers app and log_router expected")
	}
	if got := aws.ToString(app.Image); got != svcTestRepo+":aaa111" {
		return fmt.Errorf("app image = %s", got)
	}
	if len(app.PortMappings) != 1 || aws.ToString(app.PortMappings[0].Name) != "grpc" || aws.ToInt32(app.PortMappings[0].ContainerPort) != 8080 ||
		app.PortMappings[0].AppProtocol != ecstypes.ApplicationProtocolGrpc {
		return fmt.Errorf("port mappings = %+v", app.PortMappings)
	}
	wantSecret := fmt.Sprintf("arn:aws:ssm:us-east-1:%s:parameter/staging/messenger/JWT_KEY", i.env.AccountID)
	if len(app.Secrets) != 1 || aws.ToString(app.Secrets[0].Name) != "JWT_KEY" || aws.ToString(app.Secrets[0].ValueFrom) != wantSecret {
		return fmt.Errorf("secrets = %+v, want JWT_KEY from %s", app.Secrets, wantSecret)
	}
	env := svcEnvOf(app)
	if env["LOG_LEVEL"] != "info" || env["PORT"] != "8080" || env["OTEL_EXPORTER_OTLP_ENDPOINT"] != "http://otel-collector.staging.pivot.local:4318" ||
		env["OTEL_SERVICE_NAME"] != "messenger" || !strings.Contains(env["OTEL_RESOURCE_ATTRIBUTES"], "deployment.environment.name=staging") {
		return fmt.Errorf("app environment = %v", env)
	}
	if _, leaked := env["JWT_KEY"]; leaked {
		return fmt.Errorf("secret JWT_KEY leaked into the plain environment")
	}
	hc := app.HealthCheck
	if hc == nil || len(hc.Command) != 2 || hc.Command[0] != "CMD-SHELL" || !strings.Contains(hc.Command[1], "http://localhost:8080/health") ||
		aws.ToInt32(hc.Interval) != 15 || aws.ToInt32(hc.Timeout) != 5 || aws.ToInt32(hc.Retries) != 3 || aws.ToInt32(hc.StartPeriod) != 30 {
		return fmt.Errorf("health check = %+v", hc)
	}
	if l := app.LogConfiguration; l == nil || l.LogDriver != ecstypes.LogDriverAwsfirelens || l.Options["Name"] != "cloudwatch_logs" ||
		l.Options["log_group_name"] != "/pivot/staging/messenger" {
		return fmt.Errorf("app log configuration = %+v", l)
	}
	if f := router.FirelensConfiguration; f == nil || f.Type != ecstypes.FirelensConfigurationTypeFluentbit {
		return fmt.Errorf("log_router FireLens configuration = %+v", f)
	}
	if l := router.LogConfiguration; l == nil || l.LogDriver != ecstypes.LogDriverAwslogs || l.Options["awslogs-group"] != "/pivot/staging/messenger" {
		return fmt.Errorf("log_router log configuration = %+v", l)
	}
	if !strings.HasSuffix(aws.ToString(td.TaskRoleArn), ":role/pivot/staging/staging-messenger-task") ||
		!strings.HasSuffix(aws.ToString(td.ExecutionRoleArn), ":role/pivot/staging/staging-messenger-exec") {
		return fmt.Errorf("roles = %s, %s", aws.ToString(td.TaskRoleArn), aws.ToString(td.ExecutionRoleArn))
	}

	// The policies grant exactly the service's own paths.
	acct := i.env.AccountID
	exec, err := i.rolePolicy("staging-messenger-exec")
	if err != nil {
		return err
	}
	wantExec := map[string][]string{
		"ReadOwnSecrets":    {"arn:aws:ssm:us-east-1:" + acct + ":parameter/staging/messenger/*"},
		"DecryptOwnSecrets": {"arn:aws:kms:us-east-1:" + acct + ":key/*"},
		"ECRAuth":           {"*"},
		"PullOwnImage":      {"arn:aws:ecr:us-east-1:123456789012:repository/friend"},
		"WriteOwnLogs":      {"arn:aws:logs:us-east-1:" + acct + ":log-group:/pivot/staging/messenger:*"},
	}
	if err := svcPolicyGrants(exec, wantExec); err != nil {
		return fmt.Errorf("execution role: %w", err)
	}
	task, err := i.rolePolicy("staging-messenger-task")
	if err != nil {
		return err
	}
	wantTask := map[string][]string{
		"ReadOwnParameters":   {"arn:aws:ssm:us-east-1:" + acct + ":parameter/staging/messenger", "arn:aws:ssm:us-east-1:" + acct + ":parameter/staging/messenger/*"},
		"DecryptOwnSecrets":   {"arn:aws:kms:us-east-1:" + acct + ":key/*"},
		"ListOwnBucket":       {"arn:aws:s3:::staging-messenger-files"},
		"UseOwnBucketObjects": {"arn:aws:s3:::staging-messenger-files/*"},
		"WriteOwnLogs":        {"arn:aws:logs:us-east-1:" + acct + ":log-group:/pivot/staging/messenger:*"},
	}
	if err := svcPolicyGrants(task, wantTask); err != nil {
		return fmt.Errorf("task role: %w", err)
	}
	for _, st := range exec.Statement {
		if st.Sid == "ReadOwnSecrets" && !slices.Equal(st.Action, []string{"ssm:GetParameters"}) {
			return fmt.Errorf("execution role may %v on its secrets; want only ssm:GetParameters", st.Action)
		}
		if st.Sid == "DecryptOwnSecrets" && st.Condition["StringEquals"]["kms:ViaService"] != "ssm.us-east-1.amazonaws.com" {
			return fmt.Errorf("KMS decrypt is not limited to Parameter Store: %v", st.Condition)
		}
	}

	groups, err := cloudwatchlogs.NewFromConfig(i.cfg).DescribeLogGroups(context.Background(), &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/staging/messenger")})
	if err != nil || len(groups.LogGroups) != 1 || aws.ToInt32(groups.LogGroups[0].RetentionInDays) != 30 {
		return fmt.Errorf("log group /pivot/staging/messenger with 30 days retention expected: %+v, %v", groups, err)
	}
	return nil
}

// svcPolicyGrants checks that a document's statements, by Sid, grant on
// exactly the wanted resources, and that there are no other statements.
func svcPolicyGrants(d iamscope.Document, want map[string][]string) error {
	got := map[string][]string{}
	for _, st := range d.Statement {
		got[st.Sid] = st.Resource
	}
	if len(got) != len(want) {
		return fmt.Errorf("statements %v, want %v", got, want)
	}
	for sid, res := range want {
		if !slices.Equal(got[sid], res) {
			return fmt.Errorf("statement %s grants on %v, want %v", sid, got[sid], res)
		}
	}
	return nil
}

func TestAccService_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}
	ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/JWT_KEY", "s3cret")

	extra := `
  s3_bucket = "staging-messenger-files"
  tracing = { otlp_endpoint = "http://otel-collector.staging.pivot.local:4318" }
  tags    = { team = "chat" }
`
	base := svcTestService{Env: map[string]string{"LOG_LEVEL": "info"}, Secrets: []string{"JWT_KEY"}, Extra: extra}
	bumped := base
	bumped.Tag = "bbb222"
	envChanged := bumped
	envChanged.Env = map[string]string{"LOG_LEVEL": "debug", "FEATURE_X": "on"}
	secretAdded := envChanged
	secretAdded.Secrets = []string{"JWT_KEY", "SMTP_PASSWORD"}
	secretAdded.Extra = strings.Replace(extra, `tags    = { team = "chat" }`, `tags    = { team = "chat", tier = "1" }`, 1)

	var firstTD, bumpTD string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{
			// Create, then inspect with the SDK.
			{
				Config: testAccServiceConfig(a, env, base),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("id"), knownvalue.StringExact("staging/messenger")),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("log_group_name"), knownvalue.StringExact("/pivot/staging/messenger")),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("task_definition_arn"),
						knownvalue.StringRegexp(regexp.MustCompile(`:task-definition/staging-messenger:1$`))),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("health_check").AtMapKey("path"), knownvalue.StringExact("/health")),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("deployment").AtMapKey("circuit_breaker"), knownvalue.Bool(true)),
				},
				Check: func(s *terraform.State) error {
					firstTD = s.RootModule().Resources[svcTestAddr].Primary.Attributes["task_definition_arn"]
					return in.inspectCreated(s)
				},
			},
			// An image bump is an in-place update with exactly one new revision.
			{
				Config: testAccServiceConfig(a, env, bumped),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(svcTestAddr, tfjsonpath.New("task_definition_arn")),
				}},
				Check: func(s *terraform.State) error {
					bumpTD = s.RootModule().Resources[svcTestAddr].Primary.Attributes["task_definition_arn"]
					if !strings.HasSuffix(bumpTD, ":2") {
						return fmt.Errorf("bump registered %s, want revision 2", bumpTD)
					}
					if revs := in.activeRevisions("staging-messenger"); !slices.Equal(revs, []string{"1", "2"}) {
						return fmt.Errorf("active revisions %v, want [1 2]: exactly one new", revs)
					}
					svc, err := in.service("messenger")
					if err != nil || aws.ToString(svc.TaskDefinition) != bumpTD {
						return fmt.Errorf("service not updated to %s: %v", bumpTD, err)
					}
					td, err := in.taskDefinition(bumpTD)
					if err != nil || aws.ToString(svcContainer(td, "app").Image) != svcTestRepo+":bbb222" {
						return fmt.Errorf("new revision's image: %v", err)
					}
					return nil
				},
			},
			// A plan with nothing changed keeps the revision known.
			{
				Config:   testAccServiceConfig(a, env, bumped),
				PlanOnly: true,
			},
			// An env change is also in place; the revision before last is retired.
			{
				Config: testAccServiceConfig(a, env, envChanged),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
				}},
				Check: func(s *terraform.State) error {
					arn := s.RootModule().Resources[svcTestAddr].Primary.Attributes["task_definition_arn"]
					td, err := in.taskDefinition(arn)
					if err != nil {
						return err
					}
					if e := svcEnvOf(svcContainer(td, "app")); e["LOG_LEVEL"] != "debug" || e["FEATURE_X"] != "on" {
						return fmt.Errorf("environment after update = %v", e)
					}
					if revs := in.activeRevisions("staging-messenger"); !slices.Equal(revs, []string{"2", "3"}) {
						return fmt.Errorf("active revisions %v, want [2 3] (current and rollback target)", revs)
					}
					if firstTD == "" || bumpTD == "" {
						return fmt.Errorf("earlier steps did not record their revisions")
					}
					return nil
				},
			},
			// A new secret whose parameter is missing fails the plan, naming the fix.
			{
				Config: testAccServiceConfig(a, env, secretAdded),
				ExpectError: svcExpectError(`Secret Parameter Not Found.*Parameter /staging/messenger/SMTP_PASSWORD does not exist in us-east-1, but service messenger of ` +
					`environment staging reads it as a secret. Store it first: aws ssm put-parameter --region us-east-1 --type SecureString --name /staging/messenger/SMTP_PASSWORD`),
			},
			// Once the parameter exists the same configuration applies.
			{
				PreConfig: func() { ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/SMTP_PASSWORD", "pw") },
				Config:    testAccServiceConfig(a, env, secretAdded),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("secrets"),
						knownvalue.SetExact([]knownvalue.Check{knownvalue.StringExact("JWT_KEY"), knownvalue.StringExact("SMTP_PASSWORD")})),
				},
				// The new tag reaches the service, the roles and the log group.
				Check: func(*terraform.State) error {
					ctx := context.Background()
					svc, err := ecs.NewFromConfig(cfg).DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"messenger"}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
					if err != nil || !slices.ContainsFunc(svc.Services[0].Tags, func(t ecstypes.Tag) bool { return aws.ToString(t.Key) == "tier" }) {
						return fmt.Errorf("service tags %+v, %v", svc, err)
					}
					role, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-task")})
					if err != nil || !slices.ContainsFunc(role.Role.Tags, func(t iamtypes.Tag) bool { return aws.ToString(t.Key) == "tier" }) {
						return fmt.Errorf("role tags %+v, %v", role, err)
					}
					lt, err := cloudwatchlogs.NewFromConfig(cfg).ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{
						ResourceArn: aws.String("arn:aws:logs:us-east-1:" + env.AccountID + ":log-group:/pivot/staging/messenger")})
					if err != nil || lt.Tags["tier"] != "1" {
						return fmt.Errorf("log group tags %+v, %v", lt, err)
					}
					return nil
				},
			},
			// Import by cluster/service.
			{
				ResourceName:      svcTestAddr,
				ImportState:       true,
				ImportStateId:     "staging/messenger",
				ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{
					// moto does not store Service Connect settings, so an import
					// cannot read the namespace back (real ECS reports it on the
					// PRIMARY deployment).
					"service_connect_namespace",
				},
			},
		},
	})
}

func TestAccService_drift(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}
	ctx := context.Background()
	client := ecs.NewFromConfig(cfg)
	config := testAccServiceConfig(a, env, svcTestService{Env: map[string]string{"LOG_LEVEL": "info"}})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{
			{Config: config},
			// Someone scales the service by hand: the plan shows it and apply restores it.
			{
				PreConfig: func() {
					if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(env.Cluster), Service: aws.String("messenger"), DesiredCount: aws.Int32(3)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("desired_count"), knownvalue.Int64Exact(1)),
				}},
				Check: func(*terraform.State) error {
					svc, err := in.service("messenger")
					if err != nil || svc.DesiredCount != 1 {
						return fmt.Errorf("desired count not restored: %+v, %v", svc, err)
					}
					return nil
				},
			},
			// Someone deploys another image with a hand-registered revision.
			{
				PreConfig: func() {
					svcRegisterOutOfBand(t, in, func(app *ecstypes.ContainerDefinition) { app.Image = aws.String(svcTestRepo + ":hotfix") })
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(svcTestAddr, tfjsonpath.New("task_definition_arn")),
				}},
				Check: func(*terraform.State) error {
					svc, err := in.service("messenger")
					if err != nil {
						return err
					}
					td, err := in.taskDefinition(aws.ToString(svc.TaskDefinition))
					if err != nil || aws.ToString(svcContainer(td, "app").Image) != svcTestRepo+":aaa111" {
						return fmt.Errorf("image not restored: %v", err)
					}
					return nil
				},
			},
			// Someone changes an env value with a hand-registered revision.
			{
				PreConfig: func() {
					svcRegisterOutOfBand(t, in, func(app *ecstypes.ContainerDefinition) {
						for i := range app.Environment {
							if aws.ToString(app.Environment[i].Name) == "LOG_LEVEL" {
								app.Environment[i].Value = aws.String("debug")
							}
						}
					})
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(svcTestAddr, tfjsonpath.New("task_definition_arn")),
				}},
			},
			// A hand-registered revision that differs only in what no attribute
			// shows (a command override) is still replaced by a clean one.
			{
				PreConfig: func() {
					svcRegisterOutOfBand(t, in, func(app *ecstypes.ContainerDefinition) { app.Command = []string{"sleep", "infinity"} })
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(svcTestAddr, tfjsonpath.New("task_definition_arn")),
				}},
				Check: func(*terraform.State) error {
					svc, err := in.service("messenger")
					if err != nil {
						return err
					}
					td, err := in.taskDefinition(aws.ToString(svc.TaskDefinition))
					if err != nil || len(svcContainer(td, "app").Command) != 0 {
						return fmt.Errorf("out-of-band command not removed: %v", err)
					}
					return nil
				},
			},
			// Deleted out of band: planned as a create, and recreated.
			{
				PreConfig: func() {
					if _, err := client.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(env.Cluster), Service: aws.String("messenger"), Force: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					if svc, err := in.service("messenger"); err != nil || svc == nil {
						return fmt.Errorf("service not recreated: %v", err)
					}
					return nil
				},
			},
			// Moving the service to another environment's names is in place:
			// new roles, family and log group; the old ones are removed.
			{
				Config: strings.Replace(config, `environment               = "staging"`, `environment               = "qa"`, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(svcTestAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("task_definition_arn"), knownvalue.StringRegexp(regexp.MustCompile(`:task-definition/qa-messenger:1$`))),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("task_role_arn"), knownvalue.StringRegexp(regexp.MustCompile(`:role/pivot/qa/qa-messenger-task$`))),
					statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("log_group_name"), knownvalue.StringExact("/pivot/qa/messenger")),
				},
				Check: func(*terraform.State) error {
					if revs := in.activeRevisions("staging-messenger"); len(revs) > 0 {
						return fmt.Errorf("revisions of the old family left: %v", revs)
					}
					if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-exec")}); err == nil {
						return fmt.Errorf("the old execution role was left behind")
					}
					groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/staging/")})
					if err != nil || len(groups.LogGroups) > 0 {
						return fmt.Errorf("the old log group was left behind: %+v, %v", groups, err)
					}
					return nil
				},
			},
		},
	})
}

// svcRegisterOutOfBand deploys, the way someone with the AWS CLI would, a
// copy of the running revision with change applied to its app container.
func svcRegisterOutOfBand(t *testing.T, in svcInspector, change func(*ecstypes.ContainerDefinition)) {
	t.Helper()
	ctx := context.Background()
	client := ecs.NewFromConfig(in.cfg)
	svc, err := in.service("messenger")
	if err != nil || svc == nil {
		t.Fatalf("service messenger: %v", err)
	}
	td, err := in.taskDefinition(aws.ToString(svc.TaskDefinition))
	if err != nil {
		t.Fatal(err)
	}
	cds := slices.Clone(td.ContainerDefinitions)
	for i := range cds {
		if aws.ToString(cds[i].Name) == "app" {
			change(&cds[i])
		}
	}
	out, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, ContainerDefinitions: cds, Cpu: td.Cpu, Memory: td.Memory, NetworkMode: td.NetworkMode,
		RequiresCompatibilities: td.RequiresCompatibilities, TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn,
		RuntimePlatform: td.RuntimePlatform,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(in.env.Cluster), Service: aws.String("messenger"), TaskDefinition: out.TaskDefinition.TaskDefinitionArn}); err != nil {
		t.Fatal(err)
	}
}

// With a target block, everything lands in the target account and nothing
// in the provider's own.
func TestAccService_crossAccount(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	other := acctest.NewAWS(t)
	otherCfg := other.Config(t)
	env := ecsdeploytest.NewEnv(t, otherCfg, "staging")
	ownCfg := a.Config(t)
	ecsdeploytest.PutSecret(t, otherCfg, "/staging/messenger/JWT_KEY", "s3cret")
	in := svcInspector{t: t, cfg: otherCfg, env: env}
	own := svcInspector{t: t, cfg: ownCfg, env: env}
	extra := fmt.Sprintf(`
  target {
    role_arn = %q
  }
`, acctest.RoleARN(other.AccountID))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{{
			Config: testAccServiceConfig(a, env, svcTestService{Secrets: []string{"JWT_KEY"}, Extra: extra}),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("arn"),
					knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:ecs:us-east-1:`+other.AccountID+`:service/`))),
				statecheck.ExpectKnownValue(svcTestAddr, tfjsonpath.New("task_role_arn"),
					knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:iam::`+other.AccountID+`:role/`))),
			},
			Check: func(*terraform.State) error {
				if svc, err := in.service("messenger"); err != nil || svc == nil {
					return fmt.Errorf("service missing in the target account: %v", err)
				}
				td, err := in.taskDefinition("staging-messenger")
				if err != nil {
					return err
				}
				if got := aws.ToString(svcContainer(td, "app").Secrets[0].ValueFrom); !strings.Contains(got, ":"+other.AccountID+":parameter/") {
					return fmt.Errorf("secret read from %s, not the target account", got)
				}
				// The provider's own account got nothing.
				ctx := context.Background()
				if revs := own.activeRevisions("staging-messenger"); len(revs) > 0 {
					return fmt.Errorf("task definitions in the provider's own account: %v", revs)
				}
				if _, err := iam.NewFromConfig(ownCfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("staging-messenger-task")}); err == nil {
					return fmt.Errorf("role created in the provider's own account")
				}
				groups, err := cloudwatchlogs.NewFromConfig(ownCfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
				if err != nil || len(groups.LogGroups) > 0 {
					return fmt.Errorf("log groups in the provider's own account: %+v, %v", groups, err)
				}
				clusters, err := ecs.NewFromConfig(ownCfg).ListClusters(ctx, &ecs.ListClustersInput{})
				if err != nil || len(clusters.ClusterArns) > 0 {
					return fmt.Errorf("clusters in the provider's own account: %v, %v", clusters, err)
				}
				return nil
			},
		}},
	})
}

// A deployment that never becomes steady fails within its timeout and says
// what it saw; the service stays in the state (tainted) and destroys clean.
func TestAccService_steadyStateTimeout(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}
	// The tasks start at once, but the container health check first runs
	// an interval (15s) after start, so within 10s none is healthy and the
	// rollout cannot complete.
	extra := `
  desired_count = 3
  deployment    = { timeout = "10s" }
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{{
			Config:      testAccServiceConfig(a, env, svcTestService{Extra: extra}),
			ExpectError: svcExpectError(`Service Did Not Reach Steady State.*service messenger in cluster staging did not reach steady state within 10s: [0-3] of 3 tasks running, 1 deployment\(s\), rollout IN_PROGRESS`),
		}},
	})
}

// svcTasks returns the service's tasks with the given desired status, as
// ECS describes them (the local ECS runtime's, through its proxy).
func (i svcInspector) tasks(name string, desired ecstypes.DesiredStatus) ([]ecstypes.Task, error) {
	ctx := context.Background()
	client := ecs.NewFromConfig(i.cfg)
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(i.env.Cluster), ServiceName: aws.String(name), DesiredStatus: desired})
	if err != nil || len(list.TaskArns) == 0 {
		return nil, err
	}
	out, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(i.env.Cluster), Tasks: list.TaskArns})
	if err != nil {
		return nil, err
	}
	return out.Tasks, nil
}

// runningTasks checks that exactly want tasks of revision taskDef run and
// pass their container health check.
func (i svcInspector) runningTasks(name string, want int, taskDef func() string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		tasks, err := i.tasks(name, ecstypes.DesiredStatusRunning)
		if err != nil {
			return err
		}
		if len(tasks) != want {
			return fmt.Errorf("%d tasks of %s running, want %d", len(tasks), name, want)
		}
		for _, tk := range tasks {
			if aws.ToString(tk.LastStatus) != "RUNNING" || tk.HealthStatus != ecstypes.HealthStatusHealthy || aws.ToString(tk.TaskDefinitionArn) != taskDef() {
				return fmt.Errorf("task %s: %s, %s, revision %s; want RUNNING, HEALTHY, %s",
					aws.ToString(tk.TaskArn), aws.ToString(tk.LastStatus), tk.HealthStatus, aws.ToString(tk.TaskDefinitionArn), taskDef())
			}
		}
		svc, err := i.service(name)
		if err != nil || svc == nil || svc.RunningCount != int32(want) || svc.PendingCount != 0 || len(svc.Deployments) != 1 {
			return fmt.Errorf("service %s not steady with %d running: %+v, %v", name, want, svc, err)
		}
		return nil
	}
}

// Deployed means running: desired_count = 2 is steady only once two tasks
// run and pass their health check; a revision whose app refuses its
// environment at start-up fails the apply with the tasks' stop reasons and
// the circuit breaker's rollback, and the previous revision keeps running.
func TestAccService_runsTasks(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}
	two := svcTestService{Extra: "\n  desired_count = 2\n"}
	// friend refuses a JWT key that is not a PEM RSA public key, exiting 2.
	broken := two
	broken.Tag = "bbb222"
	broken.Env = map[string]string{"JWT_RS256_PUBLIC_KEY": "not a key"}
	var firstTD string
	first := func() string { return firstTD }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{
			{
				Config: testAccServiceConfig(a, env, two),
				Check: resource.ComposeTestCheckFunc(
					func(s *terraform.State) error {
						firstTD = s.RootModule().Resources[svcTestAddr].Primary.Attributes["task_definition_arn"]
						return nil
					},
					in.runningTasks("messenger", 2, first),
				),
			},
			{
				Config: testAccServiceConfig(a, env, broken),
				ExpectError: svcExpectError(`Service Deployment Rolled Back.*deployment of service messenger in cluster staging failed and the circuit breaker rolled it back: ` +
					`ECS deployment circuit breaker: tasks failed to start. Rolling back to \S+:task-definition/staging-messenger:1.*Stopped tasks:.*` +
					`Essential container in task exited \(app: exit 2`),
			},
			// The rollback left revision 1 running, which is what the
			// configuration asks for again. The apply comes once ECS's
			// rollback has finished, as an operator's would.
			{
				PreConfig: func() {
					api := ecs.NewFromConfig(cfg)
					deadline := time.Now().Add(3 * time.Minute)
					for {
						out, err := api.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(env.Cluster), Services: []string{"messenger"}})
						if err == nil && len(out.Services) == 1 && len(out.Services[0].Deployments) == 1 &&
							out.Services[0].Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted && out.Services[0].RunningCount == 2 {
							return
						}
						if time.Now().After(deadline) {
							t.Fatalf("the rollback did not finish within 3 minutes: %v %+v", err, out)
						}
						time.Sleep(time.Second)
					}
				},
				Config: testAccServiceConfig(a, env, two),
				Check: resource.ComposeTestCheckFunc(
					in.runningTasks("messenger", 2, first),
					func(*terraform.State) error {
						stopped, err := in.tasks("messenger", ecstypes.DesiredStatusStopped)
						if err != nil {
							return err
						}
						failed := 0
						for _, tk := range stopped {
							if strings.HasSuffix(aws.ToString(tk.TaskDefinitionArn), ":2") && aws.ToString(tk.StoppedReason) == "Essential container in task exited" &&
								tk.StopCode == ecstypes.TaskStopCodeEssentialContainerExited {
								failed++
							}
						}
						if failed < 3 {
							return fmt.Errorf("%d stopped tasks of revision 2 say their app exited, want the circuit breaker's 3 at least", failed)
						}
						return nil
					},
				),
			},
		},
	})
}

// A cluster and secrets known only at apply (created in the same apply)
// do not fail the plan; apply checks them instead.
func TestAccService_unknownAtPlan(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	in := svcInspector{t: t, cfg: cfg, env: env}
	later := fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = %q
}
resource "terraform_data" "secrets" {
  input = ["LATE_SECRET"]
}
`, env.Cluster)
	svc := svcTestService{Cluster: "terraform_data.cluster.output", Extra: "  secrets = terraform_data.secrets.output\n"}
	config := acctest.ProviderConfig(a.ProviderBlock()) + later + svc.hcl(env, "test")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             in.nothingLeft("messenger"),
		Steps: []resource.TestStep{
			{
				Config:      config,
				ExpectError: svcExpectError(`Error running apply.*Secret Parameter Not Found.*Parameter /staging/messenger/LATE_SECRET does not exist`),
			},
			{
				PreConfig: func() { ecsdeploytest.PutSecret(t, cfg, "/staging/messenger/LATE_SECRET", "x") },
				Config:    config,
			},
		},
	})
}

func TestAccService_dependenciesMissing(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	noCluster := env
	noCluster.Cluster = "prod"
	noNamespace := env
	noNamespace.Namespace = "prod.pivot.local"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      testAccServiceConfig(a, noCluster, svcTestService{}),
				ExpectError: svcExpectError(`ECS Cluster Not Found.*ECS cluster "prod" does not exist in us-east-1, so service messenger of environment staging has nowhere to run`),
			},
			{
				Config:      testAccServiceConfig(a, noNamespace, svcTestService{}),
				ExpectError: svcExpectError(`Service Connect Namespace Not Found.*namespace "prod.pivot.local" does not exist.*create-http-namespace`),
			},
		},
	})
}

func TestAccService_importBadID(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	env := ecsdeploytest.NewEnv(t, cfg, "staging")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:        testAccServiceConfig(a, env, svcTestService{}),
			ResourceName:  svcTestAddr,
			ImportState:   true,
			ImportStateId: "messenger",
			ExpectError:   svcExpectError(`Unexpected format of ID \("messenger"\), expected <cluster>/<service>`),
		}},
	})
}

// Every validation rule, each asserting its message.
func TestAccService_validation(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	// Validation runs before any AWS call: a made-up network is fine.
	env := ecsdeploytest.Env{Cluster: "staging", Namespace: "staging.pivot.local", Subnet: "subnet-0a", SecurityGroup: "sg-0a"}
	cases := []struct {
		name string
		svc  svcTestService
		want string
	}{
		{"fargate memory", svcTestService{Extra: "memory = 4096"}, `Invalid Fargate Task Size.*cpu = 256 and memory = 4096.*one of 512, 1024, 2048`},
		{"fargate cpu", svcTestService{Extra: "cpu = 300"}, `Invalid Fargate Task Size.*cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384`},
		{"ec2 size", svcTestService{Extra: "launch_type = \"EC2\"\nmemory = 64"}, `Invalid Task Size.*must both be at least 128`},
		{"service name", svcTestService{Name: "Messenger_1"}, `Invalid Service Name.*"Messenger_1" is not a valid service name`},
		{"environment name", svcTestService{Extra: `environment = "x"`}, `Invalid Environment Name.*"x" is not a valid environment name`},
		{"cpu architecture", svcTestService{Extra: `cpu_architecture = "ARM"`}, `Invalid CPU Architecture.*use X86_64 or ARM64`},
		{"launch type", svcTestService{Extra: `launch_type = "EXTERNAL"`}, `Invalid Launch Type.*use FARGATE or EC2`},
		{"repository with tag", svcTestService{}, ``},
		{"image tag", svcTestService{Tag: "not a tag"}, `Invalid Image Tag.*"not a tag" is not an image tag`},
		{"desired count", svcTestService{Extra: "desired_count = -1"}, `Invalid Desired Count.*must be 0 or more`},
		{"port protocol", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080, protocol = "tcp" }]`}, `Invalid Port Protocol.*"tcp" is not an app protocol; use grpc, http or http2`},
		{"port name", svcTestService{Extra: `ports = [{ name = "-grpc", container_port = 8080 }]`}, `Invalid Port Name.*"-grpc" is not a valid port name`},
		{"port number", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 70000 }]`}, `Invalid Container Port.*container_port is 70000`},
		{"duplicate port name", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080 }, { name = "grpc", container_port = 9090 }]`}, `Duplicate Port Name.*both named "grpc"`},
		{"duplicate container port", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080 }, { name = "admin", container_port = 8080 }]`}, `Duplicate Container Port.*both use container port 8080`},
		{"discovery name", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080, discovery_name = "Bad Name" }]`}, `Invalid Discovery Name.*"Bad Name" is not a valid Cloud Map discovery name`},
		{"duplicate discovery name", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080 }, { name = "admin", container_port = 9090, discovery_name = "messenger" }]`}, `Duplicate Discovery Name.*both register "messenger"`},
		{"client alias port", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080, client_alias = { port = 0 } }]`}, ``},
		{"client alias dns name", svcTestService{Extra: `ports = [{ name = "grpc", container_port = 8080, client_alias = { dns_name = "-bad" } }]`}, `Invalid Client Alias DNS Name.*"-bad" is not a valid DNS name`},
		{"env name", svcTestService{Env: map[string]string{"1BAD": "x"}}, `Invalid Environment Variable Name.*"1BAD" is not a valid environment variable name`},
		{"secret name", svcTestService{Secrets: []string{"jwt-key"}}, `Invalid Secret Name.*"jwt-key" is not a valid environment variable name.*parameter /staging/messenger/jwt-key`},
		{"secret also in env", svcTestService{Env: map[string]string{"JWT_KEY": "x"}, Secrets: []string{"JWT_KEY"}}, `Secret Also Set In Env.*JWT_KEY is set both in env and in secrets`},
		{"calls itself", svcTestService{Extra: `calls = ["messenger"]`}, `Service Calls Itself.*messenger lists itself in calls`},
		{"calls a bad name", svcTestService{Extra: `calls = ["Friend"]`}, `Invalid Called Service.*"Friend" is not a service name`},
		{"required env", svcTestService{Extra: `required_env = ["NATS_URL"]`}, `Required Environment Variable Not Set.*Service messenger requires NATS_URL, but environment staging provides it from none of env, secrets`},
		{"env schema", svcTestService{Extra: `env_schema_json = jsonencode([{ name = "DATABASE_URL", required = true }, { name = "PORT", required = true }])`}, `Required Environment Variable Not Set.*Service messenger requires DATABASE_URL`},
		{"env schema json", svcTestService{Extra: `env_schema_json = "{\"name\": \"X\"}"`}, `Invalid Env Schema.*not a JSON array`},
		{"health interval", svcTestService{Extra: `health_check = { interval = 1 }`}, `Invalid Health Check Setting.*health_check.interval is 1; ECS accepts 5 to 300`},
		{"health timeout", svcTestService{Extra: `health_check = { timeout = 1 }`}, `Invalid Health Check Setting.*health_check.timeout is 1; ECS accepts 2 to 60`},
		{"health timeout over 60", svcTestService{Extra: `health_check = { interval = 90, timeout = 61 }`}, `Invalid Health Check Setting.*health_check.timeout is 61; ECS accepts 2 to 60`},
		{"health timeout over interval", svcTestService{Extra: `health_check = { interval = 10, timeout = 10 }`}, `health_check.timeout \(10s\) must be shorter than health_check.interval \(10s\)`},
		{"health retries", svcTestService{Extra: `health_check = { retries = 11 }`}, `health_check.retries is 11; ECS accepts 1 to 10`},
		{"health start period", svcTestService{Extra: `health_check = { start_period = 301 }`}, `health_check.start_period is 301; ECS accepts 0 to 300`},
		{"health path", svcTestService{Extra: `health_check = { path = "health" }`}, `Invalid Health Check Path.*"health" is not an HTTP path`},
		{"health port", svcTestService{Extra: `health_check = { port = 70000 }`}, `Invalid Health Check Port.*health_check.port is 70000`},
		{"health command", svcTestService{Extra: `health_check = { command = ["curl", "x"] }`}, `Invalid Health Check Command.*starts with "curl"`},
		{"health without port", svcTestService{Extra: `ports = []`}, `Health Check Has No Port.*Service messenger has no ports`},
		{"log destination", svcTestService{Extra: `logging = { destination = "splunk" }`}, `Invalid Log Destination.*"splunk" is not a log destination`},
		{"log output needs fluentbit", svcTestService{Extra: `logging = { output = "loki" }`}, `Output Needs Fluentbit Destination`},
		{"fluentbit needs output", svcTestService{Extra: `logging = { destination = "fluentbit" }`}, `Missing Fluent Bit Output.*needs logging.output`},
		{"fluentbit log group", svcTestService{Extra: `logging = { destination = "fluentbit", output = "loki", log_group = "/x" }`}, `Log Group Needs Cloudwatch Destination`},
		{"log group name", svcTestService{Extra: `logging = { log_group = "bad group!" }`}, `Invalid Log Group Name.*"bad group!" is not a valid log group name`},
		{"log retention", svcTestService{Extra: `logging = { retention_in_days = 10 }`}, `Invalid Log Retention.*retention_in_days is 10`},
		{"log options name", svcTestService{Extra: `logging = { options = { Name = "x" } }`}, `Reserved Log Option.*must not set Name`},
		{"otlp endpoint", svcTestService{Extra: `tracing = { otlp_endpoint = "collector:4318" }`}, `Invalid OTLP Endpoint.*"collector:4318" is not an http\(s\) URL`},
		{"minimum healthy", svcTestService{Extra: `deployment = { minimum_healthy_percent = 101 }`}, `Invalid Minimum Healthy Percent.*minimum_healthy_percent is 101`},
		{"maximum percent", svcTestService{Extra: `deployment = { maximum_percent = 300 }`}, `Invalid Maximum Percent.*maximum_percent is 300`},
		{"deployment stuck", svcTestService{Extra: `deployment = { maximum_percent = 100 }`}, `Deployment Cannot Progress`},
		{"timeout format", svcTestService{Extra: `deployment = { timeout = "ten minutes" }`}, `Invalid Deployment Timeout.*"ten minutes" is not a duration`},
		{"timeout range", svcTestService{Extra: `deployment = { timeout = "5s" }`}, `Invalid Deployment Timeout.*timeout is 5s; use a duration between 10s and 3h`},
		{"subnet id", svcTestService{}, ``},
		{"security group id", svcTestService{}, ``},
		{"reserved tag", svcTestService{Extra: `tags = { "pivot:owner" = "x" }`}, `Reserved Tag Key.*"pivot:owner" is reserved`},
		{"tag value length", svcTestService{Extra: `tags = { team = "` + strings.Repeat("x", 300) + `" }`}, `Invalid Tags.*the value of tag "team" has 300 characters; AWS allows 256`},
		{"subnet exists", svcTestService{}, `Subnet Not Found.*subnet subnet-0a does not exist in us-east-1`},
		{"security group exists", svcTestService{}, `Security Group Not Found.*security group sg-0a does not exist`},
		{"tag characters", svcTestService{Extra: `tags = { "team#1" = "x" }`}, `Invalid Tags.*tag "team#1": keys and values may hold only letters`},
		{"empty cluster", svcTestService{Cluster: `""`}, `Missing Cluster.*Set cluster to the name or ARN of the environment's ECS cluster`},
		{"empty namespace", svcTestService{}, `Missing Service Connect Namespace.*Set service_connect_namespace`},
		{"no subnets", svcTestService{}, `Missing Subnets.*need at least one subnet ID`},
		{"missing image", svcTestService{}, `Invalid Block.*Block image must have a configuration value`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := env
			want := tc.want
			config := testAccServiceConfig(a, e, tc.svc)
			switch tc.name {
			case "repository with tag":
				config = strings.Replace(config, svcTestRepo+`"`, svcTestRepo+`:v1"`, 1)
				want = `Invalid Image Repository.*is not an image repository: give the repository without a tag`
			case "client alias port":
				want = `Invalid Client Alias Port.*client_alias.port is -1`
				config = strings.Replace(config, "client_alias = { port = 0 }", "client_alias = { port = -1 }", 1)
			case "subnet id":
				config = strings.Replace(config, `"subnet-0a"`, `"vpc-0a"`, 1)
				want = `Invalid Subnet ID.*"vpc-0a" is not a subnet ID`
			case "empty namespace":
				config = strings.Replace(config, `"staging.pivot.local"`, `""`, 1)
			case "no subnets":
				config = strings.Replace(config, `subnets         = ["subnet-0a"]`, `subnets         = []`, 1)
			case "missing image":
				config = regexp.MustCompile(`(?s)  image \{.*?\n  \}\n`).ReplaceAllString(config, "")
			case "security group id":
				config = strings.Replace(config, `"sg-0a"`, `"0a"`, 1)
				want = `Invalid Security Group ID.*"0a" is not a security group ID`
			}
			// Extra attributes that repeat one in the base block replace it.
			config = svcDedupeAttributes(config)
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      config,
					PlanOnly:    true,
					ExpectError: svcExpectError(want),
				}},
			})
		})
	}
}

// svcExpectError matches a diagnostic however Terraform wraps it: every
// space in pattern also matches a line break and the "│" gutter.
func svcExpectError(pattern string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)` + strings.ReplaceAll(pattern, " ", `[\s│]+`))
}

// svcDedupeAttributes drops a base attribute (cpu, memory, ports,
// environment) from the block when Extra sets it again, keeping the later.
func svcDedupeAttributes(config string) string {
	lines := strings.Split(config, "\n")
	last := map[string]int{}
	for i, l := range lines {
		key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
		if slices.Contains([]string{"cpu", "memory", "ports", "environment"}, key) {
			last[key] = i
		}
	}
	var out []string
	for i, l := range lines {
		key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
		if j, ok := last[key]; ok && j != i {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
