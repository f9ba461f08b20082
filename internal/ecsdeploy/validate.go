package ecsdeploy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pivotapp/platform/internal/awsx"
)

// FieldError is a problem with one field of a Spec. Field is a dotted path
// in the provider's attribute names (ports.1.protocol), so callers can point
// at the attribute.
type FieldError struct {
	Field   string
	Summary string
	Detail  string
	// Warning marks a problem that does not stop a deployment.
	Warning bool
}

func (e FieldError) Error() string { return e.Field + ": " + e.Detail }

func fieldError(field, summary, detail string) FieldError {
	return FieldError{Field: field, Summary: summary, Detail: detail}
}

var (
	nameRE        = regexp.MustCompile(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	envVarRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	portNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	discoveryRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	dnsNameRE     = regexp.MustCompile(`^[a-z0-9_][a-z0-9_.-]{0,126}$`)
	tagRE         = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE      = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	logGroupRE    = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	repositoryRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$`)
	maxNameLen    = 32
	maxEnvNameLen = 24
)

// ValidateName checks a service name: it becomes the ECS service name, the
// Cloud Map discovery name and part of IAM role names (64 characters at most).
func ValidateName(s string) error {
	if len(s) < 2 || len(s) > maxNameLen || !nameRE.MatchString(s) {
		return fmt.Errorf("%q is not a valid service name: use 2 to %d lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen (e.g. messenger)", s, maxNameLen)
	}
	return nil
}

// ValidateEnvironment checks an environment name (staging, prod, a tenant).
func ValidateEnvironment(s string) error {
	if len(s) < 2 || len(s) > maxEnvNameLen || !nameRE.MatchString(s) {
		return fmt.Errorf("%q is not a valid environment name: use 2 to %d lowercase letters, digits and hyphens, starting with a letter (e.g. staging)", s, maxEnvNameLen)
	}
	return nil
}

// ValidateEnvVarName checks an environment variable (and secret) name.
func ValidateEnvVarName(s string) error {
	if len(s) > 128 || !envVarRE.MatchString(s) {
		return fmt.Errorf("%q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit (e.g. JWT_KEY)", s)
	}
	return nil
}

// fargateSizes lists, per task CPU unit count, the memory range (MiB) and
// step Fargate accepts.
var fargateSizes = []struct{ cpu, min, max, step int }{
	{256, 512, 2048, 0}, // 512, 1024, 2048
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
}

// ValidateFargateSize checks cpu/memory against Fargate's task sizes, which
// the API otherwise rejects only at deploy time ("No Fargate configuration
// exists for given values").
func ValidateFargateSize(cpu, memory int) error {
	var cpus []string
	for _, f := range fargateSizes {
		cpus = append(cpus, fmt.Sprint(f.cpu))
		if f.cpu != cpu {
			continue
		}
		valid := fargateMemory(f.cpu)
		if slices.Contains(valid, memory) {
			return nil
		}
		return fmt.Errorf("Fargate has no task size with cpu = %d and memory = %d; with cpu = %d, memory must be %s", cpu, memory, cpu, describeMemory(f.cpu, valid))
	}
	return fmt.Errorf("Fargate has no task size with cpu = %d; cpu must be one of %s", cpu, strings.Join(cpus, ", "))
}

func fargateMemory(cpu int) []int {
	for _, f := range fargateSizes {
		if f.cpu != cpu {
			continue
		}
		if f.step == 0 {
			return []int{512, 1024, 2048}
		}
		var out []int
		for m := f.min; m <= f.max; m += f.step {
			out = append(out, m)
		}
		return out
	}
	return nil
}

func describeMemory(cpu int, valid []int) string {
	if len(valid) <= 4 {
		var s []string
		for _, v := range valid {
			s = append(s, fmt.Sprint(v))
		}
		return "one of " + strings.Join(s, ", ")
	}
	for _, f := range fargateSizes {
		if f.cpu == cpu {
			return fmt.Sprintf("between %d and %d in steps of %d", f.min, f.max, f.step)
		}
	}
	return ""
}

// Validate checks the spec (after WithDefaults) without calling AWS and
// returns every problem found.
var targetGroupARN = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/[A-Za-z0-9-]+/[0-9a-f]+$`)

func (s Spec) Validate() []FieldError {
	var errs []FieldError
	add := func(field, summary, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Summary: summary, Detail: fmt.Sprintf(format, args...)})
	}
	if err := ValidateName(s.Name); err != nil {
		add("name", "Invalid Service Name", "%s.", err)
	}
	if err := ValidateEnvironment(s.Environment); err != nil {
		add("environment", "Invalid Environment Name", "%s.", err)
	}
	if s.Cluster == "" {
		add("cluster", "Missing Cluster", "Set cluster to the name or ARN of the environment's ECS cluster.")
	}
	if s.TargetGroupARN != "" && !targetGroupARN.MatchString(s.TargetGroupARN) {
		add("target_group_arn", "Invalid Target Group ARN", "%q is not a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>).", s.TargetGroupARN)
	}
	if s.TargetGroupARN != "" && len(s.Ports) == 0 {
		add("target_group_arn", "Target Group Without Port", "Service %s has no ports, so nothing can be registered in its target group; add a port or remove target_group_arn.", s.Name)
	}
	for _, name := range s.Calls {
		switch {
		case ValidateName(name) != nil:
			add("calls", "Invalid Called Service", "%q is not a service name: calls lists the names of the services this one calls through Service Connect (e.g. messenger).", name)
		case name == s.Name:
			add("calls", "Service Calls Itself", "%s lists itself in calls; a service reaches its own tasks without waiting for them, so remove %q.", s.Name, name)
		}
	}
	if s.Namespace == "" {
		add("service_connect_namespace", "Missing Service Connect Namespace", "Set service_connect_namespace to the name or ARN of the environment's Cloud Map namespace.")
	}
	repo := s.Image.Repository
	if last := repo[strings.LastIndex(repo, "/")+1:]; !repositoryRE.MatchString(repo) || strings.Contains(repo, "@") || strings.Contains(last, ":") {
		add("image.repository", "Invalid Image Repository", "%q is not an image repository: give the repository without a tag, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/%s, and the tag in image.tag.", repo, s.Name)
	}
	if t := s.Image.Tag; !tagRE.MatchString(t) && !digestRE.MatchString(t) {
		add("image.tag", "Invalid Image Tag", "%q is not an image tag: use up to 128 letters, digits, '.', '_' and '-' (e.g. a Git SHA), or a digest sha256:<64 hex digits>.", t)
	}
	if !slices.Contains(CPUArchitectures, s.CPUArchitecture) {
		add("cpu_architecture", "Invalid CPU Architecture", "%q is not a CPU architecture; use X86_64 or ARM64.", s.CPUArchitecture)
	}
	if !slices.Contains(LaunchTypes, s.LaunchType) {
		add("launch_type", "Invalid Launch Type", "%q is not a launch type; use FARGATE or EC2.", s.LaunchType)
	}
	if s.LaunchType == "FARGATE" {
		if err := ValidateFargateSize(s.CPU, s.Memory); err != nil {
			add("memory", "Invalid Fargate Task Size", "%s.", err)
		}
	} else if s.CPU < 128 || s.Memory < 128 {
		add("memory", "Invalid Task Size", "Task cpu (%d) and memory (%d) must both be at least 128.", s.CPU, s.Memory)
	}
	if s.DesiredCount < 0 {
		add("desired_count", "Invalid Desired Count", "desired_count is %d; it must be 0 or more.", s.DesiredCount)
	}
	errs = append(errs, s.validatePorts()...)
	for _, k := range sortedKeys(s.Env) {
		if err := ValidateEnvVarName(k); err != nil {
			add("env", "Invalid Environment Variable Name", "%s.", err)
		}
	}
	for _, k := range s.Secrets {
		if err := ValidateEnvVarName(k); err != nil {
			add("secrets", "Invalid Secret Name", "%s; it names the parameter %s and the variable the app reads.", err, s.ParameterName(k))
			continue
		}
		if _, clash := s.Env[k]; clash {
			add("secrets", "Secret Also Set In Env", "%s is set both in env and in secrets; keep it only in secrets so its value stays in Parameter Store.", k)
		}
	}
	for _, k := range s.PlatformSecrets {
		if err := ValidateEnvVarName(k); err != nil {
			add("platform_secrets", "Invalid Secret Name", "%s; it names the parameter /%s/_platform/%s and the variable the app reads.", err, s.Environment, k)
			continue
		}
		if _, clash := s.Env[k]; clash || slices.Contains(s.Secrets, k) {
			add("platform_secrets", "Secret Set Twice", "%s comes from /%s/_platform/ and also from env or secrets; keep one source.", k, s.Environment)
		}
	}
	errs = append(errs, s.validateHealthCheck()...)
	errs = append(errs, s.validateLogging()...)
	if e := s.Tracing.OTLPEndpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("tracing.otlp_endpoint", "Invalid OTLP Endpoint", "%q is not an http(s) URL; use the collector's OTLP/HTTP base URL, e.g. http://otel-collector.%s.local:4318.", e, s.Environment)
		}
	}
	d := s.Deployment
	if m := d.MinimumHealthyPercent; m != nil && (*m < 0 || *m > 100) {
		add("deployment.minimum_healthy_percent", "Invalid Minimum Healthy Percent", "minimum_healthy_percent is %d; it must be between 0 and 100.", *m)
	}
	if d.MaximumPercent < 100 || d.MaximumPercent > 200 {
		add("deployment.maximum_percent", "Invalid Maximum Percent", "maximum_percent is %d; it must be between 100 and 200.", d.MaximumPercent)
	}
	if m := d.MinimumHealthyPercent; m != nil && *m == 100 && d.MaximumPercent == 100 {
		add("deployment.maximum_percent", "Deployment Cannot Progress", "With minimum_healthy_percent = 100 and maximum_percent = 100 ECS can neither stop an old task nor start a new one; raise maximum_percent (e.g. 200) or lower minimum_healthy_percent.")
	}
	if d.Timeout < 10*time.Second || d.Timeout > 3*time.Hour {
		add("deployment.timeout", "Invalid Deployment Timeout", "timeout is %s; use a duration between 10s and 3h, e.g. \"10m\".", d.Timeout)
	}
	if len(s.Network.Subnets) == 0 {
		add("network.subnets", "Missing Subnets", "Fargate tasks run in awsvpc mode and need at least one subnet ID (subnet-...).")
	}
	for _, sn := range s.Network.Subnets {
		if !strings.HasPrefix(sn, "subnet-") {
			add("network.subnets", "Invalid Subnet ID", "%q is not a subnet ID; use subnet-... IDs.", sn)
		}
	}
	for _, sg := range s.Network.SecurityGroups {
		if !strings.HasPrefix(sg, "sg-") {
			add("network.security_groups", "Invalid Security Group ID", "%q is not a security group ID; use sg-... IDs.", sg)
		}
	}
	for _, k := range sortedKeys(s.Tags) {
		if strings.HasPrefix(k, "pivot:") || strings.HasPrefix(strings.ToLower(k), "aws:") {
			add("tags", "Reserved Tag Key", "Tag key %q is reserved (pivot: is set by the provider, aws: by AWS); choose another key.", k)
		}
	}
	if s.Bucket != "" {
		if err := awsx.ValidateBucketName(s.Bucket); err != nil {
			add("s3_bucket", "Invalid Bucket Name", "%s.", err)
		}
	}
	// pivot:environment and pivot:service are added to every object.
	for _, err := range awsx.ValidateTags(s.Tags, 2) {
		add("tags", "Invalid Tags", "%s.", err)
	}
	return errs
}

func (s Spec) validatePorts() []FieldError {
	var errs []FieldError
	names := map[string]int{}
	numbers := map[int]int{}
	discovery := map[string]int{}
	for i, p := range s.Ports {
		at := func(f string) string { return fmt.Sprintf("ports.%d.%s", i, f) }
		if !portNameRE.MatchString(p.Name) {
			errs = append(errs, fieldError(at("name"), "Invalid Port Name", fmt.Sprintf("%q is not a valid port name: use up to 64 lowercase letters, digits, '_' and '-', not starting with '-' or '_' (e.g. grpc).", p.Name)))
		} else if j, dup := names[p.Name]; dup {
			errs = append(errs, fieldError(at("name"), "Duplicate Port Name", fmt.Sprintf("Ports %d and %d are both named %q; port names must be unique.", j, i, p.Name)))
		}
		names[p.Name] = i
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			errs = append(errs, fieldError(at("container_port"), "Invalid Container Port", fmt.Sprintf("container_port is %d; it must be between 1 and 65535.", p.ContainerPort)))
		} else if j, dup := numbers[p.ContainerPort]; dup {
			errs = append(errs, fieldError(at("container_port"), "Duplicate Container Port", fmt.Sprintf("Ports %d and %d both use container port %d.", j, i, p.ContainerPort)))
		}
		numbers[p.ContainerPort] = i
		if !slices.Contains(PortProtocols, p.Protocol) {
			errs = append(errs, fieldError(at("protocol"), "Invalid Port Protocol", fmt.Sprintf("%q is not an app protocol; use grpc, http or http2.", p.Protocol)))
		}
		dn := s.DiscoveryName(i)
		if !discoveryRE.MatchString(dn) {
			errs = append(errs, fieldError(at("discovery_name"), "Invalid Discovery Name", fmt.Sprintf("%q is not a valid Cloud Map discovery name: use up to 64 lowercase letters, digits, '_' and '-'.", dn)))
		} else if j, dup := discovery[dn]; dup {
			errs = append(errs, fieldError(at("discovery_name"), "Duplicate Discovery Name", fmt.Sprintf("Ports %d and %d both register %q in the namespace; give one a discovery_name.", j, i, dn)))
		}
		discovery[dn] = i
		if a := p.ClientAlias; a != nil {
			if a.Port != 0 && (a.Port < 1 || a.Port > 65535) {
				errs = append(errs, fieldError(at("client_alias.port"), "Invalid Client Alias Port", fmt.Sprintf("client_alias.port is %d; it must be between 1 and 65535.", a.Port)))
			}
			if a.DNSName != "" && !dnsNameRE.MatchString(a.DNSName) {
				errs = append(errs, fieldError(at("client_alias.dns_name"), "Invalid Client Alias DNS Name", fmt.Sprintf("%q is not a valid DNS name: use up to 127 lowercase letters, digits, '_', '-' and '.', not starting with '-' or '.'.", a.DNSName)))
			}
		}
	}
	return errs
}

func (s Spec) validateHealthCheck() []FieldError {
	h := s.HealthCheck
	if h.Disabled {
		return nil
	}
	var errs []FieldError
	rng := func(field string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fieldError("health_check."+field, "Invalid Health Check Setting", fmt.Sprintf("health_check.%s is %d; ECS accepts %d to %d seconds.", field, v, lo, hi)))
		}
	}
	rng("interval", h.Interval, 5, 300)
	rng("timeout", h.Timeout, 2, 60)
	rng("start_period", h.StartPeriod, 0, 300)
	if h.Retries < 1 || h.Retries > 10 {
		errs = append(errs, fieldError("health_check.retries", "Invalid Health Check Setting", fmt.Sprintf("health_check.retries is %d; ECS accepts 1 to 10.", h.Retries)))
	}
	if h.Timeout >= h.Interval && h.Interval >= 5 && h.Timeout >= 2 {
		errs = append(errs, fieldError("health_check.timeout", "Invalid Health Check Setting", fmt.Sprintf("health_check.timeout (%ds) must be shorter than health_check.interval (%ds).", h.Timeout, h.Interval)))
	}
	if len(h.Command) == 0 {
		if !strings.HasPrefix(h.Path, "/") {
			errs = append(errs, fieldError("health_check.path", "Invalid Health Check Path", fmt.Sprintf("%q is not an HTTP path; start it with /, e.g. /health.", h.Path)))
		}
		if s.HealthPort() == 0 {
			errs = append(errs, fieldError("health_check", "Health Check Has No Port", fmt.Sprintf("Service %s has no ports, so the default GET %s check has nothing to call; set health_check.port, health_check.command, or health_check.enabled = false.", s.Name, h.Path)))
		} else if s.HealthPort() < 1 || s.HealthPort() > 65535 {
			errs = append(errs, fieldError("health_check.port", "Invalid Health Check Port", fmt.Sprintf("health_check.port is %d; it must be between 1 and 65535.", s.HealthPort())))
		}
	} else if c := h.Command[0]; c != "CMD" && c != "CMD-SHELL" {
		errs = append(errs, fieldError("health_check.command", "Invalid Health Check Command", fmt.Sprintf("health_check.command starts with %q; start it with \"CMD\" (exec form) or \"CMD-SHELL\" (shell form), e.g. [\"CMD\", \"/app\", \"-healthcheck\"].", c)))
	}
	return errs
}

func (s Spec) validateLogging() []FieldError {
	l := s.Logging
	var errs []FieldError
	if !slices.Contains(LogDestinations, l.Destination) {
		return []FieldError{fieldError("logging.destination", "Invalid Log Destination", fmt.Sprintf("%q is not a log destination; use cloudwatch or fluentbit.", l.Destination))}
	}
	switch l.Destination {
	case "cloudwatch":
		if l.Output != "" {
			errs = append(errs, fieldError("logging.output", "Output Needs Fluentbit Destination", fmt.Sprintf("logging.output (%q) names a Fluent Bit output, which only applies with destination = \"fluentbit\"; remove it or change the destination.", l.Output)))
		}
		if g := s.EffectiveLogGroup(); !logGroupRE.MatchString(g) {
			errs = append(errs, fieldError("logging.log_group", "Invalid Log Group Name", fmt.Sprintf("%q is not a valid log group name: use up to 512 letters, digits and . - _ / #.", g)))
		}
		if !slices.Contains(LogRetentionDays, l.RetentionDays) {
			errs = append(errs, fieldError("logging.retention_in_days", "Invalid Log Retention", fmt.Sprintf("retention_in_days is %d; CloudWatch accepts 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653.", l.RetentionDays)))
		}
	case "fluentbit":
		if l.Output == "" {
			errs = append(errs, fieldError("logging.output", "Missing Fluent Bit Output", "destination = \"fluentbit\" needs logging.output, the Fluent Bit output plugin name (e.g. \"loki\", \"datadog\", \"http\"), and its settings in logging.options."))
		}
		if l.LogGroup != "" {
			errs = append(errs, fieldError("logging.log_group", "Log Group Needs Cloudwatch Destination", "logging.log_group only applies with destination = \"cloudwatch\"; remove it or change the destination."))
		}
	}
	if _, ok := l.Options["Name"]; ok {
		errs = append(errs, fieldError("logging.options", "Reserved Log Option", "logging.options must not set Name; the output plugin is chosen by destination and output."))
	}
	return errs
}

// EnvVar is one entry of a service binary's env contract, as printed by
// `<binary> --print-env-schema` (services/kit.EnvVar).
type EnvVar struct {
	Name     string `json:"name"`
	Required bool   `json:"required"`
	Default  string `json:"default,omitempty"`
	Secret   bool   `json:"secret"`
}

// ParseEnvSchema reads an env contract.
func ParseEnvSchema(s string) ([]EnvVar, error) {
	var vars []EnvVar
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&vars); err != nil {
		return nil, fmt.Errorf("env_schema_json is not a JSON array of {\"name\", \"required\", ...} objects (the output of --print-env-schema): %w", err)
	}
	for i, v := range vars {
		if v.Name == "" {
			return nil, fmt.Errorf("env_schema_json entry %d has no name", i)
		}
	}
	return vars, nil
}

// EnvContract is what a service's binary needs from its environment.
type EnvContract struct {
	Required []string
	Schema   []EnvVar
	// Injected names variables provided outside env and secrets (e.g. a
	// database attachment), besides the platform's own (InjectedEnvNames).
	Injected []string
}

// CheckEnvContract returns an error per required variable that comes from
// none of env, secrets or injected variables, and a warning per variable the
// contract marks secret that is set in plain env.
func (s Spec) CheckEnvContract(c EnvContract) (errs, warnings []FieldError) {
	provided := map[string]string{}
	for k := range s.Env {
		provided[k] = "env"
	}
	for _, k := range s.Secrets {
		provided[k] = "secrets"
	}
	for _, k := range s.PlatformSecrets {
		provided[k] = "platform_secrets"
	}
	for _, k := range append(s.InjectedEnvNames(), c.Injected...) {
		if _, ok := provided[k]; !ok {
			provided[k] = "injected"
		}
	}
	required := slices.Clone(c.Required)
	for _, v := range c.Schema {
		if v.Required {
			required = append(required, v.Name)
		}
		if v.Secret && provided[v.Name] == "env" {
			warnings = append(warnings, FieldError{Field: "env", Warning: true, Summary: "Secret Variable In Plain Env",
				Detail: fmt.Sprintf("Service %s marks %s as a secret, but environment %s sets it in env, where its value is stored in the Terraform state and the task definition. Move it to secrets and store it with aws ssm put-parameter --type SecureString --name %s.", s.Name, v.Name, s.Environment, s.ParameterName(v.Name))})
		}
	}
	for _, name := range sortedSet(required) {
		if _, ok := provided[name]; ok {
			continue
		}
		field := "required_env"
		if !slices.Contains(c.Required, name) {
			field = "env_schema_json"
		}
		errs = append(errs, FieldError{Field: field, Summary: "Required Environment Variable Not Set",
			Detail: fmt.Sprintf("Service %s requires %s, but environment %s provides it from none of env, secrets or the platform's injected variables (%s). Add it to env, or to secrets with aws ssm put-parameter --type SecureString --name %s, or to injected_env if the environment provides it.",
				s.Name, name, s.Environment, strings.Join(append(s.InjectedEnvNames(), c.Injected...), ", "), s.ParameterName(name))})
	}
	return errs, warnings
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
