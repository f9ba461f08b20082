package ecsdeploy

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

var resolved = Resolved{
	Region: "eu-west-1", AccountID: "123456789012",
	TaskRoleARN:      "arn:aws:iam::123456789012:role/pivot/staging/staging-messenger-task",
	ExecutionRoleARN: "arn:aws:iam::123456789012:role/pivot/staging/staging-messenger-exec",
}

func unitSpec() Spec {
	return Spec{
		Name: "messenger", Environment: "staging", Cluster: "staging", Namespace: "staging.pivot.local",
		Image: Image{Repository: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger", Tag: "3f9c2e1"},
		CPU:   512, Memory: 1024, CPUArchitecture: "ARM64",
		Ports: []Port{
			{Name: "grpc", ContainerPort: 8080, Protocol: "grpc"},
			{Name: "admin", ContainerPort: 9090, Protocol: "http", ClientAlias: &ClientAlias{Port: 80, DNSName: "messenger-admin"}},
		},
		DesiredCount: 2,
		Env:          map[string]string{"LOG_LEVEL": "debug", "STAGE": "staging"},
		Secrets:      []string{"JWT_KEY", "DATABASE_URL"},
		HealthCheck:  HealthCheck{StartPeriod: 30},
		Logging:      Logging{RetentionDays: 30},
		Tracing:      Tracing{OTLPEndpoint: "http://otel-collector.staging.pivot.local:4318"},
		Network:      Network{Subnets: []string{"subnet-b", "subnet-a"}, SecurityGroups: []string{"sg-1"}},
	}.WithDefaults()
}

func container(in *ecs.RegisterTaskDefinitionInput, name string) ecstypes.ContainerDefinition {
	for _, c := range in.ContainerDefinitions {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	return ecstypes.ContainerDefinition{}
}

func TestTaskDefinitionInput(t *testing.T) {
	s := unitSpec()
	in := s.TaskDefinitionInput(resolved)
	if aws.ToString(in.Family) != "staging-messenger" || aws.ToString(in.Cpu) != "512" || aws.ToString(in.Memory) != "1024" ||
		in.NetworkMode != ecstypes.NetworkModeAwsvpc || in.RuntimePlatform.CpuArchitecture != ecstypes.CPUArchitectureArm64 {
		t.Fatalf("task-level settings wrong: %+v", in)
	}
	app := container(in, AppContainer)
	if aws.ToString(app.Image) != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/messenger:3f9c2e1" {
		t.Errorf("image = %s", aws.ToString(app.Image))
	}
	if len(app.PortMappings) != 2 || app.PortMappings[0].AppProtocol != ecstypes.ApplicationProtocolGrpc || aws.ToString(app.PortMappings[0].Name) != "grpc" ||
		app.PortMappings[1].AppProtocol != ecstypes.ApplicationProtocolHttp {
		t.Errorf("port mappings = %+v", app.PortMappings)
	}
	var env []string
	for _, e := range app.Environment {
		env = append(env, aws.ToString(e.Name)+"="+aws.ToString(e.Value))
	}
	want := []string{
		"LOG_LEVEL=debug",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector.staging.pivot.local:4318",
		"OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=staging,service.namespace=staging,service.version=3f9c2e1",
		"OTEL_SERVICE_NAME=messenger",
		"PORT=8080",
		"STAGE=staging",
	}
	if !slices.Equal(env, want) {
		t.Errorf("environment = %q\nwant %q", env, want)
	}
	var secrets []string
	for _, s := range app.Secrets {
		secrets = append(secrets, aws.ToString(s.Name)+"="+aws.ToString(s.ValueFrom))
	}
	if !slices.Equal(secrets, []string{
		"DATABASE_URL=arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger/DATABASE_URL",
		"JWT_KEY=arn:aws:ssm:eu-west-1:123456789012:parameter/staging/messenger/JWT_KEY",
	}) {
		t.Errorf("secrets = %q", secrets)
	}
	h := app.HealthCheck
	if h == nil || !slices.Equal(h.Command, []string{"CMD-SHELL", "curl -fsS http://localhost:8080/health > /dev/null || exit 1"}) ||
		aws.ToInt32(h.Interval) != 15 || aws.ToInt32(h.Timeout) != 5 || aws.ToInt32(h.Retries) != 3 || aws.ToInt32(h.StartPeriod) != 30 {
		t.Errorf("health check = %+v", h)
	}
	if l := app.LogConfiguration; l == nil || l.LogDriver != ecstypes.LogDriverAwsfirelens || l.Options["Name"] != "cloudwatch_logs" || l.Options["log_group_name"] != "/pivot/staging/messenger" {
		t.Errorf("app log configuration = %+v", l)
	}
	router := container(in, RouterContainer)
	if f := router.FirelensConfiguration; f == nil || f.Type != ecstypes.FirelensConfigurationTypeFluentbit || aws.ToString(router.Image) != DefaultRouterImage {
		t.Errorf("router = %+v", router)
	}
	if l := router.LogConfiguration; l == nil || l.LogDriver != ecstypes.LogDriverAwslogs || l.Options["awslogs-group"] != "/pivot/staging/messenger" {
		t.Errorf("router log configuration = %+v", l)
	}
}

func TestTaskDefinitionInput_fluentbitHasNoLogGroup(t *testing.T) {
	s := unitSpec()
	s.Logging = Logging{Destination: "fluentbit", Output: "loki", Options: map[string]string{"host": "loki.internal"}}
	s = s.WithDefaults()
	in := s.TaskDefinitionInput(resolved)
	if o := container(in, AppContainer).LogConfiguration.Options; o["Name"] != "loki" || o["host"] != "loki.internal" || len(o) != 2 {
		t.Errorf("firelens options = %v", o)
	}
	if container(in, RouterContainer).LogConfiguration != nil || s.EffectiveLogGroup() != "" {
		t.Error("fluentbit destination must not use a CloudWatch log group")
	}
}

// describeLike turns a request into what DescribeTaskDefinition returns for
// it: the API fills defaults and reorders lists.
func describeLike(in *ecs.RegisterTaskDefinitionInput) *ecstypes.TaskDefinition {
	var cds []ecstypes.ContainerDefinition
	for _, c := range in.ContainerDefinitions {
		c.Cpu = 0
		c.MountPoints = []ecstypes.MountPoint{}
		c.VolumesFrom = []ecstypes.VolumeFrom{}
		c.Environment = slices.Clone(c.Environment)
		slices.Reverse(c.Environment)
		var pms []ecstypes.PortMapping
		for _, p := range c.PortMappings {
			p.HostPort = p.ContainerPort
			pms = append(pms, p)
		}
		c.PortMappings = pms
		cds = append(cds, c)
	}
	slices.Reverse(cds)
	return &ecstypes.TaskDefinition{
		Family: in.Family, Revision: 7, TaskDefinitionArn: aws.String("arn:aws:ecs:eu-west-1:123456789012:task-definition/staging-messenger:7"),
		Cpu: in.Cpu, Memory: in.Memory, NetworkMode: in.NetworkMode, TaskRoleArn: in.TaskRoleArn, ExecutionRoleArn: in.ExecutionRoleArn,
		RequiresCompatibilities: in.RequiresCompatibilities, RuntimePlatform: in.RuntimePlatform, ContainerDefinitions: cds,
		Compatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityEc2, ecstypes.CompatibilityFargate},
		Status:          ecstypes.TaskDefinitionStatusActive,
	}
}

func TestSameTaskDefinition_ignoresAPIDefaults(t *testing.T) {
	s := unitSpec()
	in := s.TaskDefinitionInput(resolved)
	have := describeLike(in)
	if !SameTaskDefinition(in, have) {
		t.Fatalf("API-filled defaults made a difference:\n%s\n%s", CanonicalInput(in), CanonicalTaskDefinition(have))
	}
	// An API that omits the health check defaults it applied compares equal
	// to a request that spells them out.
	s.HealthCheck.Interval, s.HealthCheck.Timeout, s.HealthCheck.Retries = 30, 5, 3
	in = s.TaskDefinitionInput(resolved)
	have = describeLike(in)
	for i := range have.ContainerDefinitions {
		if hc := have.ContainerDefinitions[i].HealthCheck; hc != nil {
			hc2 := *hc
			hc2.Interval, hc2.Timeout, hc2.Retries = nil, nil, nil
			have.ContainerDefinitions[i].HealthCheck = &hc2
		}
	}
	if !SameTaskDefinition(in, have) {
		t.Fatal("explicit health check defaults differ from omitted ones")
	}

	for name, change := range map[string]func(*Spec){
		"image":   func(s *Spec) { s.Image.Tag = "next" },
		"env":     func(s *Spec) { s.Env["LOG_LEVEL"] = "info" },
		"secret":  func(s *Spec) { s.Secrets = append(s.Secrets, "NEW") },
		"memory":  func(s *Spec) { s.Memory = 2048 },
		"health":  func(s *Spec) { s.HealthCheck.Path = "/ready" },
		"port":    func(s *Spec) { s.Ports[0].Protocol = "http2" },
		"logging": func(s *Spec) { s.Logging.Options = map[string]string{"log_stream_prefix": "x/"} },
	} {
		changed := unitSpec()
		change(&changed)
		if SameTaskDefinition(changed.WithDefaults().TaskDefinitionInput(resolved), describeLike(unitSpec().TaskDefinitionInput(resolved))) {
			t.Errorf("a %s change was not seen as a new revision", name)
		}
	}
	// Settings of the service, not the task definition, never need one.
	for name, change := range map[string]func(*Spec){
		"count":   func(s *Spec) { s.DesiredCount = 5 },
		"network": func(s *Spec) { s.Network.AssignPublicIP = true },
		"alias":   func(s *Spec) { s.Ports[0].DiscoveryName = "chat" },
	} {
		changed := unitSpec()
		change(&changed)
		if !SameTaskDefinition(changed.WithDefaults().TaskDefinitionInput(resolved), describeLike(unitSpec().TaskDefinitionInput(resolved))) {
			t.Errorf("a %s change asked for a new revision", name)
		}
	}
}

func TestObserveTaskDefinition_roundTrip(t *testing.T) {
	s := unitSpec()
	td := describeLike(s.TaskDefinitionInput(resolved))
	got, res := observeTaskDefinition(s, td)
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("observed spec differs:\n got %+v\nwant %+v", got, s)
	}
	if res.TaskRoleARN != resolved.TaskRoleARN || res.ExecutionRoleARN != resolved.ExecutionRoleARN {
		t.Fatalf("roles = %+v", res)
	}

	// From nothing (an import), the same task definition gives the same
	// spec, with the derived values left to be derived.
	bare := Spec{Name: s.Name, Environment: s.Environment, Cluster: s.Cluster}.WithDefaults()
	imp, _ := observeTaskDefinition(bare, td)
	if imp.Image != s.Image || !reflect.DeepEqual(imp.Env, s.Env) || !slices.Equal(imp.Secrets, s.Secrets) ||
		imp.Tracing != s.Tracing || !reflect.DeepEqual(imp.HealthCheck, s.HealthCheck) || imp.Logging.LogGroup != "" || imp.Logging.Destination != "cloudwatch" {
		t.Fatalf("import observed %+v", imp)
	}

	// Out-of-band changes show.
	oob := s.TaskDefinitionInput(resolved)
	app := &oob.ContainerDefinitions[0]
	app.Image = aws.String(s.Image.Repository + ":hotfix")
	app.Environment = append(app.Environment, ecstypes.KeyValuePair{Name: aws.String("DEBUG"), Value: aws.String("1")})
	app.HealthCheck.Command = []string{"CMD", "/bin/true"}
	got, _ = observeTaskDefinition(s, describeLike(oob))
	if got.Image.Tag != "hotfix" || got.Env["DEBUG"] != "1" || !slices.Equal(got.HealthCheck.Command, []string{"CMD", "/bin/true"}) {
		t.Fatalf("out-of-band changes not observed: %+v", got)
	}
}

func TestUserEnvOverridesInjected(t *testing.T) {
	s := unitSpec()
	s.Env["OTEL_SERVICE_NAME"] = "chat"
	if s.ContainerEnv()["OTEL_SERVICE_NAME"] != "chat" {
		t.Fatal("the user's env must win over injected variables")
	}
	got, _ := observeTaskDefinition(s, describeLike(s.TaskDefinitionInput(resolved)))
	if got.Env["OTEL_SERVICE_NAME"] != "chat" {
		t.Fatalf("an overridden injected variable must stay in env: %v", got.Env)
	}
}

func TestParseImage(t *testing.T) {
	for ref, want := range map[string]Image{
		"repo/app:abc":                          {"repo/app", "abc"},
		"localhost:5000/app:1.2":                {"localhost:5000/app", "1.2"},
		"localhost:5000/app":                    {"localhost:5000/app", "latest"},
		"app@sha256:" + strings.Repeat("a", 64): {"app", "sha256:" + strings.Repeat("a", 64)},
	} {
		if got := ParseImage(ref); got != want {
			t.Errorf("ParseImage(%q) = %+v, want %+v", ref, got, want)
		}
		if want.Tag != "latest" && want.Ref() != ref {
			t.Errorf("%+v.Ref() = %q, want %q", want, want.Ref(), ref)
		}
	}
}

func TestValidateFargateSize(t *testing.T) {
	ok := [][2]int{{256, 512}, {256, 2048}, {512, 4096}, {1024, 8192}, {4096, 30720}, {8192, 61440}, {16384, 122880}}
	for _, c := range ok {
		if err := ValidateFargateSize(c[0], c[1]); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
	bad := map[[2]int]string{
		{256, 4096}:   "with cpu = 256, memory must be one of 512, 1024, 2048",
		{512, 1536}:   "with cpu = 512, memory must be one of 1024, 2048, 3072, 4096",
		{8192, 20000}: "between 16384 and 61440 in steps of 4096",
		{300, 1024}:   "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384",
	}
	for c, want := range bad {
		if err := ValidateFargateSize(c[0], c[1]); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q", c, err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	if errs := unitSpec().Validate(); len(errs) != 0 {
		t.Fatalf("valid spec: %v", errs)
	}
	cases := map[string]struct {
		change func(*Spec)
		field  string
		want   string
	}{
		"name":          {func(s *Spec) { s.Name = "Messenger_1" }, "name", "not a valid service name"},
		"env name":      {func(s *Spec) { s.Environment = "a-very-long-environment-name-x" }, "environment", "not a valid environment name"},
		"tagged repo":   {func(s *Spec) { s.Image.Repository += ":v1" }, "image.repository", "without a tag"},
		"tag":           {func(s *Spec) { s.Image.Tag = "bad tag" }, "image.tag", "not an image tag"},
		"protocol":      {func(s *Spec) { s.Ports[0].Protocol = "tcp" }, "ports.0.protocol", "use grpc, http or http2"},
		"dup port":      {func(s *Spec) { s.Ports[1].ContainerPort = 8080 }, "ports.1.container_port", "both use container port 8080"},
		"dup discovery": {func(s *Spec) { s.Ports[1].DiscoveryName = "messenger" }, "ports.1.discovery_name", "both register \"messenger\""},
		"secret name":   {func(s *Spec) { s.Secrets = []string{"jwt-key"} }, "secrets", "not a valid environment variable name"},
		"secret in env": {func(s *Spec) { s.Env["JWT_KEY"] = "x" }, "secrets", "both in env and in secrets"},
		"interval":      {func(s *Spec) { s.HealthCheck.Interval = 1 }, "health_check.interval", "ECS accepts 5 to 300"},
		"timeout":       {func(s *Spec) { s.HealthCheck.Interval, s.HealthCheck.Timeout = 120, 61 }, "health_check.timeout", "ECS accepts 2 to 60"},
		"no port":       {func(s *Spec) { s.Ports = nil }, "health_check", "has no ports"},
		"retention":     {func(s *Spec) { s.Logging.RetentionDays = 10 }, "logging.retention_in_days", "CloudWatch accepts"},
		"output":        {func(s *Spec) { s.Logging.Destination = "fluentbit" }, "logging.output", "needs logging.output"},
		"otlp":          {func(s *Spec) { s.Tracing.OTLPEndpoint = "collector:4318" }, "tracing.otlp_endpoint", "not an http(s) URL"},
		"max percent":   {func(s *Spec) { s.Deployment.MaximumPercent = 300 }, "deployment.maximum_percent", "between 100 and 200"},
		"subnet":        {func(s *Spec) { s.Network.Subnets = []string{"vpc-1"} }, "network.subnets", "not a subnet ID"},
		"tag key":       {func(s *Spec) { s.Tags = map[string]string{"pivot:x": "y"} }, "tags", "reserved"},
	}
	for name, tc := range cases {
		s := unitSpec()
		tc.change(&s)
		errs := s.WithDefaults().Validate()
		found := false
		for _, e := range errs {
			if e.Field == tc.field && strings.Contains(e.Detail, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: errors %+v lack %s: %q", name, errs, tc.field, tc.want)
		}
	}
}

func TestCheckEnvContract(t *testing.T) {
	s := unitSpec()
	schema, err := ParseEnvSchema(`[
		{"name":"STAGE","required":true},
		{"name":"PORT","required":false,"default":"8080"},
		{"name":"JWT_KEY","required":true,"secret":true},
		{"name":"OTEL_SERVICE_NAME","required":true},
		{"name":"NATS_URL","required":true},
		{"name":"LOG_LEVEL","secret":true}
	]`)
	if err != nil {
		t.Fatal(err)
	}
	errs, warnings := s.CheckEnvContract(EnvContract{Required: []string{"DATABASE_READER_URL"}, Schema: schema, Injected: []string{"DATABASE_READER_URL"}})
	if len(errs) != 1 || errs[0].Field != "env_schema_json" || !strings.Contains(errs[0].Detail, "Service messenger requires NATS_URL, but environment staging") {
		t.Fatalf("errors = %+v", errs)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0].Detail, "marks LOG_LEVEL as a secret") {
		t.Fatalf("warnings = %+v", warnings)
	}
	errs, _ = s.CheckEnvContract(EnvContract{Required: []string{"REDIS_URL"}})
	if len(errs) != 1 || errs[0].Field != "required_env" || !strings.Contains(errs[0].Detail, "requires REDIS_URL") {
		t.Fatalf("errors = %+v", errs)
	}
	if _, err := ParseEnvSchema(`{"name":"X"}`); err == nil || !strings.Contains(err.Error(), "not a JSON array") {
		t.Fatalf("object schema: %v", err)
	}
}

// Platform secrets come from /<environment>/_platform/ and read back as
// platform secrets, not as the service's own.
func TestTaskDefinitionInput_platformSecrets(t *testing.T) {
	s := unitSpec()
	s.PlatformSecrets = []string{"NATS_PASSWORD"}
	in := s.TaskDefinitionInput(resolved)
	var from string
	for _, sec := range container(in, AppContainer).Secrets {
		if aws.ToString(sec.Name) == "NATS_PASSWORD" {
			from = aws.ToString(sec.ValueFrom)
		}
	}
	if from != "arn:aws:ssm:eu-west-1:123456789012:parameter/staging/_platform/NATS_PASSWORD" {
		t.Fatalf("NATS_PASSWORD valueFrom = %q, want the environment's platform parameter", from)
	}
	got, _ := observeTaskDefinition(s, describeLike(in))
	if !slices.Equal(got.PlatformSecrets, []string{"NATS_PASSWORD"}) || slices.Contains(got.Secrets, "NATS_PASSWORD") {
		t.Errorf("read back: secrets %v, platform secrets %v", got.Secrets, got.PlatformSecrets)
	}
}
