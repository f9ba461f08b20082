package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/pivotapp/platform/internal/acctest"
)

func testAccEnvironmentConfig(a acctest.AWS, body string) string {
	return acctest.ProviderConfig(a.ProviderBlock()) + fmt.Sprintf(`
resource "pivot_environment" "test" {
  name = "staging"
%s
}
`, body)
}

const testAccEnvironmentExternalNATS = `
  nats = {
    url      = "nats://nats.example.com:4222"
    user     = "svc"
    password = "s3cret"
  }
`

// platformParams reads /<env>/_platform/* with the SDK, as TYPE=value.
func platformParams(ctx context.Context, cfg aws.Config, env string) (map[string]string, error) {
	out, err := ssm.NewFromConfig(cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/" + env + "/_platform"), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	got := map[string]string{}
	for _, p := range out.Parameters {
		got[strings.TrimPrefix(aws.ToString(p.Name), "/"+env+"/_platform/")] = string(p.Type) + "=" + aws.ToString(p.Value)
	}
	return got, nil
}

func TestAccEnvironment_lifecycle(t *testing.T) {
	t.Parallel()
	a := acctest.NewAWS(t)
	cfg := a.Config(t)
	ctx := context.Background()
	ecsc := ecs.NewFromConfig(cfg)
	const res = "pivot_environment.test"
	var clusterARN string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             func(*terraform.State) error { return environmentGone(ctx, cfg, "staging") },
		Steps: []resource.TestStep{
			// Create with an existing NATS system.
			{
				Config: testAccEnvironmentConfig(a, testAccEnvironmentExternalNATS),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("cluster_name"), knownvalue.StringExact("staging")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("namespace_name"), knownvalue.StringExact("staging")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("stage"), knownvalue.StringExact("staging")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("otlp_endpoint"), knownvalue.StringExact("http://otel-collector:4318")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("log_group_name"), knownvalue.StringExact("/pivot/staging")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("parameter_root"), knownvalue.StringExact("/staging")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("nats_url_parameter"), knownvalue.StringExact("/staging/_platform/NATS_URL")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("collector").AtMapKey("image"), knownvalue.StringExact("otel/opentelemetry-collector-contrib:0.116.1")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("platform_parameters").AtMapKey("NATS_PASSWORD"), knownvalue.StringExact("/staging/_platform/NATS_PASSWORD")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("load_balancer_arn"), knownvalue.Null()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("components"), knownvalue.MapSizeExact(11)),
				},
				Check: func(s *terraform.State) error {
					clusterARN = s.RootModule().Resources[res].Primary.Attributes["cluster_arn"]
					cl, err := ecsc.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"staging"}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings}})
					if err != nil || len(cl.Clusters) != 1 {
						return fmt.Errorf("cluster: %w", err)
					}
					c := cl.Clusters[0]
					ns, err := sd.NewFromConfig(cfg).GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(lastPart(aws.ToString(c.ServiceConnectDefaults.Namespace)))})
					if err != nil || ns.Namespace.Type != "HTTP" || aws.ToString(ns.Namespace.Name) != "staging" {
						return fmt.Errorf("service connect namespace: %+v %w", ns, err)
					}
					if aws.ToString(c.Settings[0].Value) != "enabled" {
						return fmt.Errorf("container insights %s", aws.ToString(c.Settings[0].Value))
					}
					params, err := platformParams(ctx, cfg, "staging")
					if err != nil {
						return err
					}
					want := "map[NATS_PASSWORD:SecureString=s3cret NATS_URL:String=nats://nats.example.com:4222 NATS_USER:String=svc OTEL_EXPORTER_OTLP_ENDPOINT:String=http://otel-collector:4318 STAGE:String=staging]"
					if fmt.Sprint(params) != want {
						return fmt.Errorf("parameters %v", params)
					}
					svc, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"otel-collector"}})
					if err != nil || len(svc.Services) != 1 || aws.ToString(svc.Services[0].Status) != "ACTIVE" || svc.Services[0].LaunchType != "FARGATE" {
						return fmt.Errorf("collector service: %w", err)
					}
					return nil
				},
			},
			// Import by name. Nothing is ignored: every input is read back from AWS.
			{ResourceName: res, ImportState: true, ImportStateId: "staging", ImportStateVerify: true},
			// Update in place: settings, the collector, a managed NATS cluster and a load balancer.
			{
				Config: testAccEnvironmentConfig(a, `
  container_insights = "disabled"
  log_retention_days = 90
  stage              = "production"
  collector = {
    desired_count = 2
    cpu           = 512
    memory        = 1024
  }
  nats = {
    managed  = true
    replicas = 3
  }
  ingress = {}
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("nats").AtMapKey("image"), knownvalue.StringExact("nats:2.11-alpine")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("nats").AtMapKey("url"), knownvalue.Null()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("load_balancer_dns_name"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("components"), knownvalue.MapSizeExact(17)),
				},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[res].Primary.Attributes["cluster_arn"]; got != clusterARN {
						return fmt.Errorf("cluster replaced: %s -> %s", clusterARN, got)
					}
					svcs, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"nats-1", "nats-2", "nats-3", "otel-collector"}})
					if err != nil || len(svcs.Services) != 4 {
						return fmt.Errorf("services: %w", err)
					}
					if svcs.Services[3].DesiredCount != 2 {
						return fmt.Errorf("collector desired count %d", svcs.Services[3].DesiredCount)
					}
					params, err := platformParams(ctx, cfg, "staging")
					if err != nil {
						return err
					}
					if params["NATS_URL"] != "String=nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222" || params["STAGE"] != "String=production" ||
						!strings.HasPrefix(params["NATS_PASSWORD"], "SecureString=") || params["NATS_PASSWORD"] == "SecureString=s3cret" {
						return fmt.Errorf("parameters %v", params)
					}
					lbs, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"staging"}})
					if err != nil || len(lbs.LoadBalancers) != 1 {
						return fmt.Errorf("load balancer: %w", err)
					}
					return nil
				},
			},
			// Drift: parts deleted or edited out of band plan an in-place update that restores them.
			{
				PreConfig: func() {
					if _, err := ecsc.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String("otel-collector"), Force: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
					if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/staging/_platform/NATS_URL"),
						Value: aws.String("nats://elsewhere:4222"), Type: "String", Overwrite: aws.Bool(true)}); err != nil {
						t.Fatal(err)
					}
					if _, err := ecsc.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("staging"),
						Settings: []ecstypes.ClusterSetting{{Name: "containerInsights", Value: aws.String("enhanced")}}}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccEnvironmentConfig(a, `
  container_insights = "disabled"
  log_retention_days = 90
  stage              = "production"
  collector = {
    desired_count = 2
    cpu           = 512
    memory        = 1024
  }
  nats = {
    managed  = true
    replicas = 3
  }
  ingress = {}
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(res, tfjsonpath.New("components")),
				}},
				Check: func(*terraform.State) error {
					params, err := platformParams(ctx, cfg, "staging")
					if err != nil {
						return err
					}
					if params["NATS_URL"] != "String=nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222" {
						return fmt.Errorf("NATS_URL not restored: %v", params["NATS_URL"])
					}
					svc, err := ecsc.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("staging"), Services: []string{"otel-collector"}})
					if err != nil || len(svc.Services) != 1 || aws.ToString(svc.Services[0].Status) != "ACTIVE" {
						return fmt.Errorf("collector not restored: %w", err)
					}
					return nil
				},
			},
			// Deleted out of band (the cluster and its services): plans as a create.
			{
				PreConfig: func() {
					for _, s := range []string{"otel-collector", "nats-1", "nats-2", "nats-3"} {
						if _, err := ecsc.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("staging"), Service: aws.String(s), Force: aws.Bool(true)}); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := ecsc.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("staging")}); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccEnvironmentConfig(a, testAccEnvironmentExternalNATS),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

// environmentGone inspects the account with the SDK: nothing of the
// environment is left.
func environmentGone(ctx context.Context, cfg aws.Config, env string) error {
	var left []string
	cl, err := ecs.NewFromConfig(cfg).DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{env}})
	if err != nil {
		return err
	}
	for _, c := range cl.Clusters {
		if aws.ToString(c.Status) == "ACTIVE" {
			left = append(left, "cluster")
		}
	}
	tds, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(env + "-")})
	if err != nil {
		return err
	}
	if len(tds.TaskDefinitionArns) > 0 {
		left = append(left, fmt.Sprintf("task definitions %v", tds.TaskDefinitionArns))
	}
	nss, err := sd.NewFromConfig(cfg).ListNamespaces(ctx, &sd.ListNamespacesInput{})
	if err != nil {
		return err
	}
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == env {
			left = append(left, "namespace")
		}
	}
	groups, err := cloudwatchlogs.NewFromConfig(cfg).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/pivot/" + env)})
	if err != nil {
		return err
	}
	if len(groups.LogGroups) > 0 {
		left = append(left, "log group")
	}
	if _, err := iam.NewFromConfig(cfg).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(env + "-platform-execution")}); err == nil {
		left = append(left, "execution role")
	}
	params, err := ssm.NewFromConfig(cfg).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/" + env), Recursive: aws.Bool(true)})
	if err != nil {
		return err
	}
	if len(params.Parameters) > 0 {
		left = append(left, fmt.Sprintf("%d parameters", len(params.Parameters)))
	}
	sgs, err := ec2.NewFromConfig(cfg).DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:pivot:environment"), Values: []string{env}}}})
	if err != nil {
		return err
	}
	if len(sgs.SecurityGroups) > 0 {
		left = append(left, "security groups")
	}
	lbs, err := elb.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	if err != nil {
		return err
	}
	if len(lbs.LoadBalancers) > 0 {
		left = append(left, "load balancer")
	}
	if len(left) > 0 {
		return fmt.Errorf("environment %s left behind: %s", env, strings.Join(left, ", "))
	}
	return nil
}

func lastPart(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func TestAccEnvironment_validation(t *testing.T) {
	t.Parallel()
	nats := `nats = { url = "nats://n:4222" }`
	cases := map[string]struct {
		body string
		want string
	}{
		"name":            {`name = "Staging_1"` + "\n" + nats, `(?s)Invalid Environment Name.*must be a DNS label`},
		"name length":     {`name = "` + strings.Repeat("a", 33) + `"` + "\n" + nats, `(?s)Invalid Environment Name.*1 to 32 characters`},
		"name internal":   {`name = "internal-x"` + "\n" + nats, `(?s)Invalid Environment Name.*load balancer names reserve`},
		"name hyphens":    {`name = "a--b"` + "\n" + nats, `(?s)Invalid Environment Name.*two consecutive hyphens`},
		"insights":        {`name = "s"` + "\n" + nats + "\ncontainer_insights = \"on\"", `(?s)container_insights.*value must be one of`},
		"retention":       {`name = "s"` + "\n" + nats + "\nlog_retention_days = 10", `(?s)log_retention_days.*value must be one of`},
		"collector size":  {`name = "s"` + "\n" + nats + "\ncollector = { cpu = 256, memory = 4096 }", `(?s)Invalid Environment Collector.*memory 4096 MiB does not fit cpu 256`},
		"collector cpu":   {`name = "s"` + "\n" + nats + "\ncollector = { cpu = 300 }", `(?s)Invalid Environment Collector.*cpu 300 is not a Fargate size`},
		"collector count": {`name = "s"` + "\n" + nats + "\ncollector = { desired_count = 0 }", `(?s)desired_count.*value must be at least 1`},
		"collector yaml":  {`name = "s"` + "\n" + nats + "\ncollector = { config = \"receivers: [\" }", `(?s)Invalid Collector Configuration.*not valid YAML`},
		"collector keys":  {`name = "s"` + "\n" + nats + "\ncollector = { config = \"receivers: {}\" }", `(?s)Invalid Collector Configuration.*missing the top-level "exporters" section`},
		"nats none":       {`name = "s"` + "\nnats = {}", `(?s)Invalid Environment NATS.*set url to an existing NATS system, or managed = true`},
		"nats both":       {`name = "s"` + "\nnats = { url = \"nats://n:4222\", managed = true }", `(?s)Invalid Environment NATS.*not both`},
		"nats url":        {`name = "s"` + "\nnats = { url = \"http://n:4222\" }", `(?s)Invalid Environment NATS.*is not a NATS URL`},
		"nats user":       {`name = "s"` + "\nnats = { url = \"nats://n:4222\", user = \"u\" }", `(?s)Invalid Environment NATS.*user and password must be set together`},
		"nats creds+user": {`name = "s"` + "\nnats = { url = \"nats://n:4222\", user = \"u\", password = \"p\", credentials = \"-----BEGIN NATS USER JWT-----\" }", `(?s)Invalid Environment NATS.*set either credentials or user/password, not both`},
		"nats creds":      {`name = "s"` + "\nnats = { url = \"nats://n:4222\", credentials = \"x\" }", `(?s)Invalid Environment NATS.*contents of a .creds file`},
		"nats replicas":   {`name = "s"` + "\nnats = { managed = true, replicas = 2 }", `(?s)nats.replicas.*value must be one of`},
		"nats size":       {`name = "s"` + "\nnats = { managed = true, cpu = 256, memory = 8192 }", `(?s)Invalid Environment NATS.*does not fit cpu 256`},
		"subnet":          {`name = "s"` + "\n" + nats + "\nnetwork = { subnet_ids = [\"sn-1\"] }", `(?s)Invalid Environment Network.*"sn-1" is not a subnet ID`},
		"security group":  {`name = "s"` + "\n" + nats + "\nnetwork = { subnet_ids = [\"subnet-1\"], security_group_ids = [\"g-1\"] }", `(?s)Invalid Environment Network.*"g-1" is not a security group ID`},
		"groups, no nets": {`name = "s"` + "\n" + nats + "\nnetwork = { security_group_ids = [\"sg-1\"] }", `(?s)Invalid Environment Network.*security groups need subnet_ids too`},
		"certificate":     {`name = "s"` + "\n" + nats + "\ningress = { certificate_arn = \"my-cert\" }", `(?s)Invalid Environment Ingress.*not an ACM certificate ARN`},
		"ingress subnets": {`name = "s"` + "\n" + nats + "\ningress = { subnet_ids = [\"subnet-1\"] }", `(?s)Invalid Environment Ingress.*at least two availability zones`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:   acctest.ProviderConfig() + "resource \"pivot_environment\" \"test\" {\n" + tc.body + "\n}\n",
					PlanOnly: true,
					// Terraform wraps long messages, so any space may be a line break.
					ExpectError: regexp.MustCompile(strings.ReplaceAll(tc.want, " ", `\s+`)),
				}},
			})
		})
	}
}
