// Package environment builds one Pivot environment on AWS: the ECS cluster
// whose Service Connect namespace (a Cloud Map HTTP namespace it owns) every
// service joins, the Parameter Store root /<environment>/_platform/ holding
// what every service needs to know (stage, collector endpoint, NATS URL and
// credentials), the OpenTelemetry collector and, optionally, a NATS
// JetStream cluster run as ECS services, the log group they write to, the
// network placement services inherit, and the application load balancer
// public services are published on.
//
// Apply converges everything to a Spec and is used for both create and
// update; Read reports what exists, listing each part that exists and is as
// Apply left it in State.Components, so a caller can tell a missing or
// tampered part from a healthy one.
package environment

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Defaults of a Spec, shared with the provider's schema.
const (
	DefaultContainerInsights = "enabled"
	DefaultLogRetentionDays  = 30
	DefaultCollectorImage    = "otel/opentelemetry-collector-contrib:0.116.1"
	DefaultCollectorCPU      = 256
	DefaultCollectorMemory   = 512
	DefaultCollectorCount    = 1
	DefaultNATSImage         = "nats:2.11-alpine"
	DefaultNATSReplicas      = 1
	DefaultNATSCPU           = 512
	DefaultNATSMemory        = 1024
	// ManagedNATSUser is the user the managed NATS cluster authenticates.
	ManagedNATSUser = "pivot"
)

// Fixed names, relative to the environment.
const (
	// CollectorService is the collector's ECS service and Service Connect
	// name: services reach it at http://otel-collector:4318.
	CollectorService = "otel-collector"
	// NATSService is the managed NATS service name (with -<n> suffixes when
	// clustered).
	NATSService = "nats"
	// PlatformDir is the folder under /<environment>/ holding the platform
	// parameters; the leading underscore keeps it apart from service names.
	PlatformDir = "_platform"
	// CollectorHTTPPort and CollectorGRPCPort are the OTLP ports.
	CollectorHTTPPort = 4318
	CollectorGRPCPort = 4317
	natsClientPort    = 4222
	natsClusterPort   = 6222
	natsMonitorPort   = 8222
)

// Platform parameter names: the environment variable names services read.
const (
	ParamStage          = "STAGE"
	ParamOTLPEndpoint   = "OTEL_EXPORTER_OTLP_ENDPOINT"
	ParamNATSURL        = "NATS_URL"
	ParamNATSUser       = "NATS_USER"
	ParamNATSPassword   = "NATS_PASSWORD"
	ParamNATSCredential = "NATS_CREDENTIALS"
)

// Allowed values.
var (
	ContainerInsightsValues = []string{"enabled", "disabled", "enhanced"}
	// LogRetentionDays are the values CloudWatch Logs accepts (0 = never expire).
	LogRetentionDays = []int{0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
	// NATSReplicaCounts are the managed cluster sizes: one server, or a
	// three-node JetStream cluster that survives the loss of one.
	NATSReplicaCounts = []int{1, 3}
)

// Spec is the desired environment.
type Spec struct {
	Name string
	// Stage is the STAGE parameter services read; defaults to Name.
	Stage             string
	ContainerInsights string
	LogRetentionDays  int
	Network           Network
	Collector         Collector
	NATS              NATS
	// Ingress, when set, adds the application load balancer.
	Ingress *Ingress
}

// Network is where the environment's tasks run. Without subnets the
// account's default VPC and its default subnets are used; without security
// groups the environment creates one (<name>-services) that lets its tasks
// reach each other and the load balancer reach them.
type Network struct {
	Subnets        []string
	SecurityGroups []string
	// AssignPublicIP defaults to true in the default VPC (whose subnets have
	// no NAT, so tasks need a public address to pull images) and false
	// otherwise.
	AssignPublicIP *bool
}

// Collector is the OpenTelemetry collector.
type Collector struct {
	Image string
	// Config is the collector's YAML configuration; empty is
	// DefaultCollectorConfig.
	Config       string
	CPU          int
	Memory       int
	DesiredCount int
}

// NATS is either an existing NATS system (URL and optional credentials) or
// a managed one the environment runs on ECS.
type NATS struct {
	URL         string
	User        string
	Password    string
	Credentials string // contents of a .creds file (JWT + nkey seed)

	Managed  bool
	Image    string
	Replicas int
	CPU      int
	Memory   int
}

// Ingress is the environment's public application load balancer.
type Ingress struct {
	// CertificateARN adds an HTTPS listener (and HTTP redirects to it);
	// without it the load balancer listens on HTTP only, for Cloudflare's
	// proxy in Flexible mode or the local stack.
	CertificateARN string
	// Subnets default to the network's.
	Subnets []string
}

var nameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

// ValidateName checks an environment name. It becomes a DNS label (tenant
// subdomains), the cluster, namespace and load balancer names, and a prefix
// of IAM role and security group names, so it is a lowercase DNS label of
// at most 32 characters (the load balancer's limit).
func ValidateName(s string) error {
	switch {
	case len(s) == 0 || len(s) > 32:
		return fmt.Errorf("%q must be 1 to 32 characters long", s)
	case !nameRE.MatchString(s):
		return fmt.Errorf("%q must be a DNS label: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen", s)
	case strings.Contains(s, "--"):
		return fmt.Errorf("%q must not contain two consecutive hyphens", s)
	case strings.HasPrefix(s, "internal-"):
		return fmt.Errorf("%q must not start with \"internal-\", which load balancer names reserve", s)
	}
	return nil
}

// WithDefaults fills every defaulted field.
func (s Spec) WithDefaults() Spec {
	s.Stage = or(s.Stage, s.Name)
	s.ContainerInsights = or(s.ContainerInsights, DefaultContainerInsights)
	s.Collector.Image = or(s.Collector.Image, DefaultCollectorImage)
	s.Collector.Config = or(s.Collector.Config, DefaultCollectorConfig)
	s.Collector.CPU = orInt(s.Collector.CPU, DefaultCollectorCPU)
	s.Collector.Memory = orInt(s.Collector.Memory, DefaultCollectorMemory)
	s.Collector.DesiredCount = orInt(s.Collector.DesiredCount, DefaultCollectorCount)
	if s.NATS.Managed {
		s.NATS.Image = or(s.NATS.Image, DefaultNATSImage)
		s.NATS.Replicas = orInt(s.NATS.Replicas, DefaultNATSReplicas)
		s.NATS.CPU = orInt(s.NATS.CPU, DefaultNATSCPU)
		s.NATS.Memory = orInt(s.NATS.Memory, DefaultNATSMemory)
	}
	s.Network.Subnets = sortedCopy(s.Network.Subnets)
	s.Network.SecurityGroups = sortedCopy(s.Network.SecurityGroups)
	if s.Ingress != nil {
		in := *s.Ingress
		in.Subnets = sortedCopy(in.Subnets)
		s.Ingress = &in
	}
	return s
}

// Validate reports every problem with the spec, each prefixed by the field
// it concerns.
func (s Spec) Validate() error {
	s = s.WithDefaults()
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, &FieldError{Field: field, Err: err})
		}
	}
	add("name", ValidateName(s.Name))
	if !slices.Contains(ContainerInsightsValues, s.ContainerInsights) {
		add("container_insights", fmt.Errorf("%q is not one of %s", s.ContainerInsights, strings.Join(ContainerInsightsValues, ", ")))
	}
	if !slices.Contains(LogRetentionDays, s.LogRetentionDays) {
		add("log_retention_days", fmt.Errorf("%d is not a retention CloudWatch Logs accepts (%s)", s.LogRetentionDays, joinInts(LogRetentionDays)))
	}
	for _, id := range s.Network.Subnets {
		if !strings.HasPrefix(id, "subnet-") {
			add("network.subnet_ids", fmt.Errorf("%q is not a subnet ID (subnet-...)", id))
		}
	}
	for _, id := range s.Network.SecurityGroups {
		if !strings.HasPrefix(id, "sg-") {
			add("network.security_group_ids", fmt.Errorf("%q is not a security group ID (sg-...)", id))
		}
	}
	if len(s.Network.SecurityGroups) > 0 && len(s.Network.Subnets) == 0 {
		add("network.security_group_ids", errors.New("security groups need subnet_ids too: without subnets the default VPC is used, and its security group is created by the environment"))
	}
	add("collector.cpu", ValidateFargateSize(s.Collector.CPU, s.Collector.Memory))
	if s.Collector.DesiredCount < 1 {
		add("collector.desired_count", fmt.Errorf("%d must be at least 1: services export to the collector", s.Collector.DesiredCount))
	}
	add("collector.config", ValidateCollectorConfig(s.Collector.Config))
	add("nats", s.NATS.validate())
	if s.Ingress != nil {
		if c := s.Ingress.CertificateARN; c != "" && !strings.HasPrefix(c, "arn:") {
			add("ingress.certificate_arn", fmt.Errorf("%q is not an ACM certificate ARN", c))
		}
		for _, id := range s.Ingress.Subnets {
			if !strings.HasPrefix(id, "subnet-") {
				add("ingress.subnet_ids", fmt.Errorf("%q is not a subnet ID (subnet-...)", id))
			}
		}
		if len(s.Ingress.Subnets) == 1 {
			add("ingress.subnet_ids", errors.New("an application load balancer needs subnets in at least two availability zones"))
		}
	}
	return errors.Join(errs...)
}

func (n NATS) validate() error {
	// A managed cluster may be given its platform user's password.
	external := n.URL != "" || n.User != "" || n.Credentials != "" || (n.Password != "" && !n.Managed)
	switch {
	case n.Managed && external:
		return errors.New("set either managed = true or url (with user/password or credentials), not both")
	case !n.Managed && n.URL == "":
		return errors.New("set url to an existing NATS system, or managed = true to run one in the environment")
	case n.Managed:
		if !slices.Contains(NATSReplicaCounts, n.Replicas) {
			return fmt.Errorf("replicas %d must be 1 or 3", n.Replicas)
		}
		return ValidateFargateSize(n.CPU, n.Memory)
	}
	for _, u := range strings.Split(n.URL, ",") {
		u = strings.TrimSpace(u)
		if !regexp.MustCompile(`^(nats|tls|ws|wss)://[^/\s]+$`).MatchString(u) {
			return fmt.Errorf("url %q is not a NATS URL such as nats://nats.example.com:4222 (comma-separate several)", u)
		}
	}
	if (n.User == "") != (n.Password == "") {
		return errors.New("user and password must be set together")
	}
	if n.Credentials != "" && n.User != "" {
		return errors.New("set either credentials or user/password, not both")
	}
	if n.Credentials != "" && !strings.Contains(n.Credentials, "BEGIN NATS USER JWT") {
		return errors.New("credentials must be the contents of a .creds file (with a NATS USER JWT block)")
	}
	return nil
}

// FieldError is a problem with one field of a Spec, named as the provider's
// schema names it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fargateSizes maps CPU units to the memory (MiB) Fargate accepts with them.
var fargateSizes = map[int][]int{
	256:  {512, 1024, 2048},
	512:  rangeStep(1024, 4096, 1024),
	1024: rangeStep(2048, 8192, 1024),
	2048: rangeStep(4096, 16384, 1024),
	4096: rangeStep(8192, 30720, 1024),
}

// ValidateFargateSize checks a task's cpu/memory pair.
func ValidateFargateSize(cpu, memory int) error {
	mems, ok := fargateSizes[cpu]
	if !ok {
		return fmt.Errorf("cpu %d is not a Fargate size (256, 512, 1024, 2048 or 4096)", cpu)
	}
	if !slices.Contains(mems, memory) {
		return fmt.Errorf("memory %d MiB does not fit cpu %d on Fargate; use one of %s", memory, cpu, joinInts(mems))
	}
	return nil
}

// ValidateCollectorConfig checks the collector YAML has the sections a
// collector needs; the collector itself checks the rest at start-up.
func ValidateCollectorConfig(s string) error {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	for _, k := range []string{"receivers", "exporters", "service"} {
		if _, ok := doc[k]; !ok {
			return fmt.Errorf("missing the top-level %q section", k)
		}
	}
	return nil
}

// Names derives every AWS name from the environment's.
type Names struct{ env string }

// NamesOf returns the names of an environment's parts.
func NamesOf(env string) Names { return Names{env} }

func (n Names) Cluster() string               { return n.env }
func (n Names) Namespace() string             { return n.env }
func (n Names) LogGroup() string              { return "/pivot/" + n.env }
func (n Names) ExecutionRole() string         { return n.env + "-platform-execution" }
func (n Names) ServicesSecurityGroup() string { return n.env + "-services" }
func (n Names) IngressSecurityGroup() string  { return n.env + "-ingress" }
func (n Names) LoadBalancer() string          { return n.env }
func (n Names) ParameterRoot() string         { return "/" + n.env }
func (n Names) PlatformPath() string          { return "/" + n.env + "/" + PlatformDir }
func (n Names) Parameter(name string) string  { return n.PlatformPath() + "/" + name }
func (n Names) TaskFamily(service string) string {
	return n.env + "-" + service
}

// NATSServices returns the managed NATS service names for a replica count:
// "nats" alone, or nats-1..nats-N for a cluster (each needs its own Service
// Connect names for the cluster routes).
func NATSServices(replicas int) []string {
	if replicas <= 1 {
		return []string{NATSService}
	}
	out := make([]string, replicas)
	for i := range out {
		out[i] = NATSService + "-" + strconv.Itoa(i+1)
	}
	return out
}

// ManagedNATSURL is the NATS_URL of a managed cluster, through Service
// Connect.
func ManagedNATSURL(replicas int) string {
	var urls []string
	for _, s := range NATSServices(replicas) {
		urls = append(urls, fmt.Sprintf("nats://%s:%d", s, natsClientPort))
	}
	return strings.Join(urls, ",")
}

// OTLPEndpoint is the collector's OTLP/HTTP base URL inside the namespace.
func OTLPEndpoint() string { return fmt.Sprintf("http://%s:%d", CollectorService, CollectorHTTPPort) }

// ExpectedComponents lists the keys State.Components has when everything
// the spec asks for exists and is as Apply left it.
func (s Spec) ExpectedComponents() []string {
	s = s.WithDefaults()
	keys := []string{
		"cluster", "namespace", "log_group", "execution_role",
		"service/" + CollectorService,
		"parameter/" + ParamStage, "parameter/" + ParamOTLPEndpoint, "parameter/" + ParamNATSURL,
	}
	if len(s.Network.SecurityGroups) == 0 {
		keys = append(keys, "security_group/services")
	}
	switch {
	case s.NATS.Managed:
		for _, svc := range NATSServices(s.NATS.Replicas) {
			keys = append(keys, "service/"+svc)
		}
		keys = append(keys, "parameter/"+ParamNATSUser, "parameter/"+ParamNATSPassword)
	case s.NATS.Credentials != "":
		keys = append(keys, "parameter/"+ParamNATSCredential)
	case s.NATS.User != "":
		keys = append(keys, "parameter/"+ParamNATSUser, "parameter/"+ParamNATSPassword)
	}
	if s.Ingress != nil {
		keys = append(keys, "load_balancer", "listener/http", "security_group/ingress")
		if s.Ingress.CertificateARN != "" {
			keys = append(keys, "listener/https")
		}
	}
	slices.Sort(keys)
	return keys
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func rangeStep(from, to, step int) []int {
	var out []int
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
