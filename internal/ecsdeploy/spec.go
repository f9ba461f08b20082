// Package ecsdeploy deploys one containerised service into one environment on
// Amazon ECS with Service Connect: its task definition (app container plus a
// FireLens/Fluent Bit log router), its ECS service, its least-privilege task
// and execution roles and its CloudWatch log group. It reads them back,
// checks what a deployment depends on (cluster, namespace, secrets), waits
// for steady state and tears everything down.
//
// It is plain Go on aws-sdk-go-v2, shared by the Terraform provider and
// pivotctl. Reads of many services are coalesced into batched API calls (see
// Client), and every call made through a Client is counted (see Calls).
package ecsdeploy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names the package gives to things.
const (
	// AppContainer is the service's own container.
	AppContainer = "app"
	// RouterContainer is the FireLens (Fluent Bit) log router.
	RouterContainer = "log_router"
	// DefaultRouterImage is AWS's Fluent Bit build for FireLens.
	DefaultRouterImage = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"
)

// Defaults of a Spec, shared with the provider's schema so both agree.
const (
	DefaultCPUArchitecture       = "X86_64"
	DefaultLaunchType            = "FARGATE"
	DefaultPortProtocol          = "grpc"
	DefaultHealthPath            = "/health"
	DefaultHealthInterval        = 15
	DefaultHealthTimeout         = 5
	DefaultHealthRetries         = 3
	DefaultHealthStartPeriod     = 30
	DefaultLogDestination        = "cloudwatch"
	DefaultLogRetentionDays      = 30
	DefaultMinimumHealthyPercent = 100
	DefaultMaximumPercent        = 200
	DefaultDeploymentTimeout     = 10 * time.Minute
)

// Allowed values.
var (
	PortProtocols    = []string{"grpc", "http", "http2"}
	CPUArchitectures = []string{"X86_64", "ARM64"}
	LaunchTypes      = []string{"FARGATE", "EC2"}
	LogDestinations  = []string{"cloudwatch", "fluentbit"}
	// LogRetentionDays are the values CloudWatch Logs accepts (0 = never expire).
	LogRetentionDays = []int{0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// Spec is the desired state of one service in one environment. Zero values
// mean "default" (see WithDefaults); fields documented as derived are
// computed from other fields when empty.
type Spec struct {
	Name        string
	Environment string
	Cluster     string
	// Namespace is the Cloud Map namespace (name or ARN) Service Connect uses.
	Namespace string

	Image           Image
	CPU             int
	Memory          int
	CPUArchitecture string
	LaunchType      string

	Ports        []Port
	DesiredCount int
	// ScaledCount means a scaler (internal/autoscale) owns the running
	// count: DesiredCount is used at create only, and updates leave the
	// count the scaler set.
	ScaledCount bool

	Env map[string]string
	// Secrets are names of SecureString parameters under
	// /<environment>/<name>/, injected as environment variables of the same
	// name. Values never pass through this package.
	Secrets []string
	// PlatformSecrets are names of the environment's SecureString
	// parameters under /<environment>/_platform/ (NATS_PASSWORD), injected
	// the same way.
	PlatformSecrets []string

	HealthCheck HealthCheck
	Logging     Logging
	Tracing     Tracing
	Deployment  Deployment
	Network     Network

	// Calls names the services of the same cluster this one calls through
	// Service Connect. A task resolves only the endpoints that existed when
	// its deployment started, so the service is created (or redeployed)
	// only once each of them exists.
	Calls []string

	// Bucket optionally grants the task role read/write on one S3 bucket.
	Bucket string
	// TargetGroupARN registers the app container's first port in a load
	// balancer target group (a public service's, see pivot_public_endpoint).
	TargetGroupARN string
	Tags           map[string]string
}

// Image is a container image reference split where CI bumps it.
type Image struct {
	Repository string
	Tag        string
}

// Ref is the image reference ECS pulls.
func (i Image) Ref() string {
	if strings.HasPrefix(i.Tag, "sha256:") {
		return i.Repository + "@" + i.Tag
	}
	return i.Repository + ":" + i.Tag
}

// ParseImage splits an image reference into repository and tag (or digest).
func ParseImage(ref string) Image {
	if repo, digest, ok := strings.Cut(ref, "@"); ok {
		return Image{Repository: repo, Tag: digest}
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return Image{Repository: ref[:i], Tag: ref[i+1:]}
	}
	return Image{Repository: ref, Tag: "latest"}
}

// Port is a named container port published through Service Connect.
type Port struct {
	Name          string
	ContainerPort int
	// Protocol is the app protocol: grpc, http or http2.
	Protocol string
	// DiscoveryName is derived when empty: the service name for the first
	// port, <service>-<port name> for the others.
	DiscoveryName string
	// ClientAlias is derived when nil: the container port, under the
	// discovery name.
	ClientAlias *ClientAlias
}

// ClientAlias is the name and port clients in the namespace dial.
type ClientAlias struct {
	Port    int
	DNSName string
}

// HealthCheck is the app container's health check.
type HealthCheck struct {
	Disabled bool
	Path     string
	// Port is derived when zero: the first port's container port.
	Port        int
	Interval    int
	Timeout     int
	Retries     int
	StartPeriod int
	// Command overrides the derived curl of http://localhost:<port><path>,
	// for images without a shell or curl.
	Command []string
}

// Logging routes the app's stdout/stderr through the FireLens log router.
type Logging struct {
	// Destination is cloudwatch or fluentbit (any Fluent Bit output).
	Destination string
	// LogGroup is derived when empty: /pivot/<environment>/<name>.
	LogGroup      string
	RetentionDays int
	// Output is the Fluent Bit output plugin (Name) for fluentbit.
	Output string
	// Options are extra Fluent Bit output options.
	Options     map[string]string
	RouterImage string
}

// Tracing points the service at its environment's OpenTelemetry collector.
type Tracing struct {
	// OTLPEndpoint is the collector's OTLP/HTTP base URL; empty disables.
	OTLPEndpoint string
}

// Deployment configures rolling deployments and the steady-state wait.
type Deployment struct {
	DisableCircuitBreaker bool
	DisableRollback       bool
	// MinimumHealthyPercent is a pointer because 0 (allow downtime) is a
	// real choice; nil means DefaultMinimumHealthyPercent.
	MinimumHealthyPercent *int
	MaximumPercent        int
	// SkipWait returns as soon as ECS accepted the change.
	SkipWait bool
	Timeout  time.Duration
}

// Network is the awsvpc placement of the tasks.
type Network struct {
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
}

// WithDefaults returns the spec with every defaulted field filled and its
// sets sorted, the form the rest of the package compares.
func (s Spec) WithDefaults() Spec {
	s.CPUArchitecture = or(s.CPUArchitecture, DefaultCPUArchitecture)
	s.LaunchType = or(s.LaunchType, DefaultLaunchType)
	ports := make([]Port, len(s.Ports))
	for i, p := range s.Ports {
		p.Protocol = or(p.Protocol, DefaultPortProtocol)
		if p.ClientAlias != nil {
			a := *p.ClientAlias
			p.ClientAlias = &a
		}
		ports[i] = p
	}
	s.Ports = ports
	s.Env = maps.Clone(s.Env)
	s.Secrets = sortedSet(s.Secrets)
	s.PlatformSecrets = sortedSet(s.PlatformSecrets)
	s.Calls = sortedSet(s.Calls)
	h := &s.HealthCheck
	h.Path = or(h.Path, DefaultHealthPath)
	h.Interval = orInt(h.Interval, DefaultHealthInterval)
	h.Timeout = orInt(h.Timeout, DefaultHealthTimeout)
	h.Retries = orInt(h.Retries, DefaultHealthRetries)
	// StartPeriod 0 is meaningful (no grace), so it has no zero default.
	h.Command = slices.Clone(h.Command)
	l := &s.Logging
	l.Destination = or(l.Destination, DefaultLogDestination)
	l.RouterImage = or(l.RouterImage, DefaultRouterImage)
	l.Options = maps.Clone(l.Options)
	d := &s.Deployment
	if d.MinimumHealthyPercent == nil {
		d.MinimumHealthyPercent = new(DefaultMinimumHealthyPercent)
	} else {
		d.MinimumHealthyPercent = new(*d.MinimumHealthyPercent)
	}
	if d.MaximumPercent == 0 {
		d.MaximumPercent = DefaultMaximumPercent
	}
	if d.Timeout == 0 {
		d.Timeout = DefaultDeploymentTimeout
	}
	s.Network.Subnets = sortedSet(s.Network.Subnets)
	s.Network.SecurityGroups = sortedSet(s.Network.SecurityGroups)
	s.Tags = maps.Clone(s.Tags)
	return s
}

// Family is the task definition family, <environment>-<name>.
func (s Spec) Family() string { return s.Environment + "-" + s.Name }

// TaskRoleName and ExecutionRoleName name the service's roles; RolePath
// groups an environment's roles so they can be listed together.
func (s Spec) TaskRoleName() string      { return s.Environment + "-" + s.Name + "-task" }
func (s Spec) ExecutionRoleName() string { return s.Environment + "-" + s.Name + "-exec" }
func (s Spec) RolePath() string          { return "/pivot/" + s.Environment + "/" }

// ParameterName is the Parameter Store name of one of the service's secrets.
func (s Spec) ParameterName(key string) string {
	return "/" + s.Environment + "/" + s.Name + "/" + key
}

// EffectiveLogGroup is the CloudWatch log group the service writes to, or ""
// when its logs go to another Fluent Bit output.
func (s Spec) EffectiveLogGroup() string {
	if s.Logging.Destination != "" && s.Logging.Destination != "cloudwatch" {
		return ""
	}
	return or(s.Logging.LogGroup, "/pivot/"+s.Environment+"/"+s.Name)
}

// DiscoveryName is port i's effective Cloud Map discovery name.
func (s Spec) DiscoveryName(i int) string {
	p := s.Ports[i]
	if p.DiscoveryName != "" {
		return p.DiscoveryName
	}
	if i == 0 {
		return s.Name
	}
	return s.Name + "-" + p.Name
}

// ClientAlias is port i's effective client alias.
func (s Spec) ClientAlias(i int) ClientAlias {
	if a := s.Ports[i].ClientAlias; a != nil {
		return ClientAlias{Port: orInt(a.Port, s.Ports[i].ContainerPort), DNSName: or(a.DNSName, s.DiscoveryName(i))}
	}
	return ClientAlias{Port: s.Ports[i].ContainerPort, DNSName: s.DiscoveryName(i)}
}

// HealthPort is the port the derived health check calls.
func (s Spec) HealthPort() int {
	if s.HealthCheck.Port != 0 {
		return s.HealthCheck.Port
	}
	if len(s.Ports) > 0 {
		return s.Ports[0].ContainerPort
	}
	return 0
}

// HealthCommand is the container health check command, or nil when the
// health check is off.
func (s Spec) HealthCommand() []string {
	h := s.HealthCheck
	if h.Disabled {
		return nil
	}
	if len(h.Command) > 0 {
		return h.Command
	}
	return derivedHealthCommand(or(h.Path, DefaultHealthPath), s.HealthPort())
}

func derivedHealthCommand(path string, port int) []string {
	return []string{"CMD-SHELL", fmt.Sprintf("curl -fsS http://localhost:%d%s > /dev/null || exit 1", port, path)}
}

// InjectedEnv is what the platform sets in the app container besides the
// user's env: PORT (the first port) and, with tracing, the OpenTelemetry
// variables. The user's env wins on a clash.
func (s Spec) InjectedEnv() map[string]string {
	out := map[string]string{}
	if len(s.Ports) > 0 {
		out["PORT"] = strconv.Itoa(s.Ports[0].ContainerPort)
	}
	if s.Tracing.OTLPEndpoint != "" {
		out["OTEL_EXPORTER_OTLP_ENDPOINT"] = s.Tracing.OTLPEndpoint
		out["OTEL_SERVICE_NAME"] = s.Name
		out["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=" + s.Environment + ",service.namespace=" + s.Environment + ",service.version=" + s.Image.Tag
	}
	return out
}

// InjectedEnvNames lists the names InjectedEnv can set, for the env
// contract: these never need to come from env or secrets.
func (s Spec) InjectedEnvNames() []string {
	return slices.Sorted(maps.Keys(s.InjectedEnv()))
}

// ContainerEnv is the app container's full environment.
func (s Spec) ContainerEnv() map[string]string {
	env := s.InjectedEnv()
	maps.Copy(env, s.Env)
	return env
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
