package ecsdeploy

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pivotapp/platform/internal/iamscope"
)

// Resolved is what a task definition refers to besides the spec: where it
// runs and the roles created for it.
type Resolved struct {
	Partition        string
	Region           string
	AccountID        string
	TaskRoleARN      string
	ExecutionRoleARN string
}

// Scope is the IAM scope of the spec's roles.
func (s Spec) Scope(r Resolved) iamscope.Scope {
	return iamscope.Scope{
		Partition: r.Partition, Region: r.Region, AccountID: r.AccountID,
		Environment: s.Environment, Service: s.Name,
		LogGroup: s.EffectiveLogGroup(), Image: s.Image.Ref(), Bucket: s.Bucket,
		PlatformSecrets: s.PlatformSecrets,
	}
}

// TaskDefinitionInput builds the RegisterTaskDefinition request for s (after
// WithDefaults): the app container and the FireLens log router.
func (s Spec) TaskDefinitionInput(r Resolved) *ecs.RegisterTaskDefinitionInput {
	scope := s.Scope(r)
	app := ecstypes.ContainerDefinition{
		Name:      aws.String(AppContainer),
		Image:     aws.String(s.Image.Ref()),
		Essential: aws.Bool(true),
		LogConfiguration: &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwsfirelens,
			Options:   s.firelensOptions(r.Region, true),
		},
		// The router must be up before the app writes its first line.
		DependsOn: []ecstypes.ContainerDependency{{ContainerName: aws.String(RouterContainer), Condition: ecstypes.ContainerConditionStart}},
	}
	for _, p := range s.Ports {
		app.PortMappings = append(app.PortMappings, ecstypes.PortMapping{
			Name:          aws.String(p.Name),
			ContainerPort: aws.Int32(int32(p.ContainerPort)),
			Protocol:      ecstypes.TransportProtocolTcp,
			AppProtocol:   ecstypes.ApplicationProtocol(p.Protocol),
		})
	}
	env := s.ContainerEnv()
	for _, k := range sortedKeys(env) {
		app.Environment = append(app.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(env[k])})
	}
	for _, k := range s.Secrets {
		app.Secrets = append(app.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(scope.ParameterARN(k))})
	}
	for _, k := range s.PlatformSecrets {
		app.Secrets = append(app.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(scope.PlatformParameterARN(k))})
	}
	if cmd := s.HealthCommand(); cmd != nil {
		app.HealthCheck = &ecstypes.HealthCheck{
			Command:     cmd,
			Interval:    aws.Int32(int32(s.HealthCheck.Interval)),
			Timeout:     aws.Int32(int32(s.HealthCheck.Timeout)),
			Retries:     aws.Int32(int32(s.HealthCheck.Retries)),
			StartPeriod: aws.Int32(int32(s.HealthCheck.StartPeriod)),
		}
	}
	router := ecstypes.ContainerDefinition{
		Name:      aws.String(RouterContainer),
		Image:     aws.String(s.Logging.RouterImage),
		Essential: aws.Bool(true),
		FirelensConfiguration: &ecstypes.FirelensConfiguration{
			Type:    ecstypes.FirelensConfigurationTypeFluentbit,
			Options: map[string]string{"enable-ecs-log-metadata": "true"},
		},
		MemoryReservation: aws.Int32(50),
		// AWS's Fluent Bit image must run as root to read the FireLens socket.
		User: aws.String("0"),
	}
	if g := s.EffectiveLogGroup(); g != "" {
		// The router's own logs go straight to CloudWatch: they are how a
		// broken log pipeline gets debugged.
		router.LogConfiguration = &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{
				"awslogs-group":         g,
				"awslogs-region":        r.Region,
				"awslogs-stream-prefix": "firelens",
			},
		}
	}
	compat := ecstypes.CompatibilityFargate
	if s.LaunchType == "EC2" {
		compat = ecstypes.CompatibilityEc2
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(s.Family()),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{app, router},
		Cpu:                     aws.String(strconv.Itoa(s.CPU)),
		Memory:                  aws.String(strconv.Itoa(s.Memory)),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{compat},
		RuntimePlatform: &ecstypes.RuntimePlatform{
			CpuArchitecture:       ecstypes.CPUArchitecture(s.CPUArchitecture),
			OperatingSystemFamily: ecstypes.OSFamilyLinux,
		},
		TaskRoleArn:      aws.String(r.TaskRoleARN),
		ExecutionRoleArn: aws.String(r.ExecutionRoleARN),
		Tags:             ecsTags(s.managedTags()),
	}
}

// firelensOptions are the app container's awsfirelens options; withUser
// adds the user's own logging.options on top.
func (s Spec) firelensOptions(region string, withUser bool) map[string]string {
	var o map[string]string
	switch s.Logging.Destination {
	case "fluentbit":
		o = map[string]string{"Name": s.Logging.Output}
	default:
		o = map[string]string{
			"Name":              "cloudwatch_logs",
			"region":            region,
			"log_group_name":    s.EffectiveLogGroup(),
			"log_stream_prefix": "app/",
			// The group is created (with its retention) by this package.
			"auto_create_group": "false",
		}
	}
	if withUser {
		maps.Copy(o, s.Logging.Options)
	}
	return o
}

// managedTags are the user's tags plus the ones the package finds its
// resources by.
func (s Spec) managedTags() map[string]string {
	t := maps.Clone(s.Tags)
	if t == nil {
		t = map[string]string{}
	}
	t[TagEnvironment] = s.Environment
	t[TagService] = s.Name
	return t
}

// Tags the package sets on everything it creates.
const (
	TagEnvironment = "pivot:environment"
	TagService     = "pivot:service"
)

func ecsTags(m map[string]string) []ecstypes.Tag {
	var out []ecstypes.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, ecstypes.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

// canonicalTaskDef is the part of a task definition this package manages,
// with every value the API fills in by default made explicit, so that what
// we would register and what DescribeTaskDefinition returns compare equal
// exactly when registering would change nothing.
type canonicalTaskDef struct {
	Family           string               `json:"family"`
	CPU              string               `json:"cpu"`
	Memory           string               `json:"memory"`
	NetworkMode      string               `json:"networkMode"`
	TaskRoleARN      string               `json:"taskRoleArn"`
	ExecutionRoleARN string               `json:"executionRoleArn"`
	Compatibilities  []string             `json:"requiresCompatibilities"`
	CPUArchitecture  string               `json:"cpuArchitecture"`
	OSFamily         string               `json:"osFamily"`
	Containers       []canonicalContainer `json:"containers"`
}

type canonicalContainer struct {
	Name              string            `json:"name"`
	Image             string            `json:"image"`
	Essential         bool              `json:"essential"`
	CPU               int32             `json:"cpu,omitempty"`
	Memory            int32             `json:"memory,omitempty"`
	MemoryReservation int32             `json:"memoryReservation,omitempty"`
	User              string            `json:"user,omitempty"`
	Command           []string          `json:"command,omitempty"`
	EntryPoint        []string          `json:"entryPoint,omitempty"`
	WorkingDirectory  string            `json:"workingDirectory,omitempty"`
	ReadonlyRootFS    bool              `json:"readonlyRootFilesystem,omitempty"`
	Privileged        bool              `json:"privileged,omitempty"`
	StopTimeout       int32             `json:"stopTimeout,omitempty"`
	Ports             []canonicalPort   `json:"ports,omitempty"`
	Env               [][2]string       `json:"env,omitempty"`
	EnvFiles          []string          `json:"envFiles,omitempty"`
	Secrets           [][2]string       `json:"secrets,omitempty"`
	HealthCheck       *canonicalHealth  `json:"healthCheck,omitempty"`
	LogDriver         string            `json:"logDriver,omitempty"`
	LogOptions        map[string]string `json:"logOptions,omitempty"`
	LogSecrets        [][2]string       `json:"logSecrets,omitempty"`
	FirelensType      string            `json:"firelensType,omitempty"`
	FirelensOptions   map[string]string `json:"firelensOptions,omitempty"`
	DependsOn         [][2]string       `json:"dependsOn,omitempty"`
	MountPoints       []string          `json:"mountPoints,omitempty"`
	VolumesFrom       []string          `json:"volumesFrom,omitempty"`
}

type canonicalPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
	AppProtocol   string `json:"appProtocol,omitempty"`
}

type canonicalHealth struct {
	Command     []string `json:"command"`
	Interval    int32    `json:"interval"`
	Timeout     int32    `json:"timeout"`
	Retries     int32    `json:"retries"`
	StartPeriod int32    `json:"startPeriod"`
}

// CanonicalInput is the canonical form of a RegisterTaskDefinition request.
func CanonicalInput(in *ecs.RegisterTaskDefinitionInput) string {
	var arch, os string
	if p := in.RuntimePlatform; p != nil {
		arch, os = string(p.CpuArchitecture), string(p.OperatingSystemFamily)
	}
	return canonical(aws.ToString(in.Family), aws.ToString(in.Cpu), aws.ToString(in.Memory), string(in.NetworkMode),
		aws.ToString(in.TaskRoleArn), aws.ToString(in.ExecutionRoleArn), in.RequiresCompatibilities, arch, os, in.ContainerDefinitions)
}

// CanonicalTaskDefinition is the canonical form of what
// DescribeTaskDefinition returned.
func CanonicalTaskDefinition(td *ecstypes.TaskDefinition) string {
	var arch, os string
	if p := td.RuntimePlatform; p != nil {
		arch, os = string(p.CpuArchitecture), string(p.OperatingSystemFamily)
	}
	return canonical(aws.ToString(td.Family), aws.ToString(td.Cpu), aws.ToString(td.Memory), string(td.NetworkMode),
		aws.ToString(td.TaskRoleArn), aws.ToString(td.ExecutionRoleArn), td.RequiresCompatibilities, arch, os, td.ContainerDefinitions)
}

// SameTaskDefinition reports whether registering want would produce a
// revision equivalent to have, in which case have is reused.
func SameTaskDefinition(want *ecs.RegisterTaskDefinitionInput, have *ecstypes.TaskDefinition) bool {
	return have != nil && CanonicalInput(want) == CanonicalTaskDefinition(have)
}

func canonical(family, cpu, memory, networkMode, taskRole, execRole string, compat []ecstypes.Compatibility, arch, os string, containers []ecstypes.ContainerDefinition) string {
	c := canonicalTaskDef{
		Family: family, CPU: cpu, Memory: memory, NetworkMode: networkMode,
		TaskRoleARN: taskRole, ExecutionRoleARN: execRole,
		CPUArchitecture: arch, OSFamily: os,
	}
	if c.NetworkMode == "" {
		c.NetworkMode = "bridge"
	}
	if c.CPUArchitecture == "" {
		c.CPUArchitecture = "X86_64"
	}
	if c.OSFamily == "" {
		c.OSFamily = "LINUX"
	}
	for _, x := range compat {
		c.Compatibilities = append(c.Compatibilities, string(x))
	}
	slices.Sort(c.Compatibilities)
	for _, cd := range containers {
		c.Containers = append(c.Containers, canonicalContainerOf(cd, c.NetworkMode))
	}
	slices.SortFunc(c.Containers, func(a, b canonicalContainer) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return string(b)
}

func canonicalContainerOf(cd ecstypes.ContainerDefinition, networkMode string) canonicalContainer {
	c := canonicalContainer{
		Name:              aws.ToString(cd.Name),
		Image:             aws.ToString(cd.Image),
		Essential:         cd.Essential == nil || *cd.Essential, // the API's default is true
		CPU:               cd.Cpu,
		Memory:            aws.ToInt32(cd.Memory),
		MemoryReservation: aws.ToInt32(cd.MemoryReservation),
		User:              aws.ToString(cd.User),
		Command:           nilIfEmpty(cd.Command),
		EntryPoint:        nilIfEmpty(cd.EntryPoint),
		WorkingDirectory:  aws.ToString(cd.WorkingDirectory),
		ReadonlyRootFS:    aws.ToBool(cd.ReadonlyRootFilesystem),
		Privileged:        aws.ToBool(cd.Privileged),
		StopTimeout:       aws.ToInt32(cd.StopTimeout),
	}
	for _, p := range cd.PortMappings {
		cp := canonicalPort{
			Name:          aws.ToString(p.Name),
			ContainerPort: aws.ToInt32(p.ContainerPort),
			HostPort:      aws.ToInt32(p.HostPort),
			Protocol:      string(p.Protocol),
			AppProtocol:   string(p.AppProtocol),
		}
		// In awsvpc mode the API fills hostPort with the container port.
		if cp.HostPort == 0 && networkMode == "awsvpc" {
			cp.HostPort = cp.ContainerPort
		}
		if cp.Protocol == "" {
			cp.Protocol = "tcp"
		}
		c.Ports = append(c.Ports, cp)
	}
	slices.SortFunc(c.Ports, func(a, b canonicalPort) int { return int(a.ContainerPort - b.ContainerPort) })
	for _, e := range cd.Environment {
		// The API drops variables without a value.
		if e.Value != nil {
			c.Env = append(c.Env, [2]string{aws.ToString(e.Name), *e.Value})
		}
	}
	sortPairs(c.Env)
	for _, f := range cd.EnvironmentFiles {
		c.EnvFiles = append(c.EnvFiles, string(f.Type)+":"+aws.ToString(f.Value))
	}
	for _, s := range cd.Secrets {
		c.Secrets = append(c.Secrets, [2]string{aws.ToString(s.Name), aws.ToString(s.ValueFrom)})
	}
	sortPairs(c.Secrets)
	if h := cd.HealthCheck; h != nil {
		// The API's defaults: 30s interval, 5s timeout, 3 retries, no start period.
		c.HealthCheck = &canonicalHealth{
			Command:     h.Command,
			Interval:    int32OrDefault(h.Interval, 30),
			Timeout:     int32OrDefault(h.Timeout, 5),
			Retries:     int32OrDefault(h.Retries, 3),
			StartPeriod: aws.ToInt32(h.StartPeriod),
		}
	}
	if l := cd.LogConfiguration; l != nil {
		c.LogDriver = string(l.LogDriver)
		c.LogOptions = nilIfEmptyMap(l.Options)
		for _, s := range l.SecretOptions {
			c.LogSecrets = append(c.LogSecrets, [2]string{aws.ToString(s.Name), aws.ToString(s.ValueFrom)})
		}
		sortPairs(c.LogSecrets)
	}
	if f := cd.FirelensConfiguration; f != nil {
		c.FirelensType = string(f.Type)
		c.FirelensOptions = nilIfEmptyMap(f.Options)
	}
	for _, d := range cd.DependsOn {
		c.DependsOn = append(c.DependsOn, [2]string{aws.ToString(d.ContainerName), string(d.Condition)})
	}
	sortPairs(c.DependsOn)
	for _, m := range cd.MountPoints {
		c.MountPoints = append(c.MountPoints, aws.ToString(m.SourceVolume)+":"+aws.ToString(m.ContainerPath)+":"+strconv.FormatBool(aws.ToBool(m.ReadOnly)))
	}
	for _, v := range cd.VolumesFrom {
		c.VolumesFrom = append(c.VolumesFrom, aws.ToString(v.SourceContainer)+":"+strconv.FormatBool(aws.ToBool(v.ReadOnly)))
	}
	return c
}

func int32OrDefault(v *int32, def int32) int32 {
	if v == nil || *v == 0 {
		return def
	}
	return *v
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nilIfEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func sortPairs(p [][2]string) {
	slices.SortFunc(p, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
}

// observeTaskDefinition fills what a task definition says about the service
// into a copy of prior: image, size, ports, env, secrets, health check,
// logging and tracing. Values the spec leaves to be derived stay unset when
// the observed value equals what would be derived, so reading back what was
// deployed reproduces the spec that deployed it.
func observeTaskDefinition(prior Spec, td *ecstypes.TaskDefinition) (Spec, Resolved) {
	s := prior
	res := Resolved{TaskRoleARN: aws.ToString(td.TaskRoleArn), ExecutionRoleARN: aws.ToString(td.ExecutionRoleArn)}
	if v, err := strconv.Atoi(aws.ToString(td.Cpu)); err == nil {
		s.CPU = v
	}
	if v, err := strconv.Atoi(aws.ToString(td.Memory)); err == nil {
		s.Memory = v
	}
	if p := td.RuntimePlatform; p != nil && p.CpuArchitecture != "" {
		s.CPUArchitecture = string(p.CpuArchitecture)
	}
	var app, router *ecstypes.ContainerDefinition
	for i := range td.ContainerDefinitions {
		switch aws.ToString(td.ContainerDefinitions[i].Name) {
		case AppContainer:
			app = &td.ContainerDefinitions[i]
		case RouterContainer:
			router = &td.ContainerDefinitions[i]
		}
	}
	if app == nil {
		// Not a revision this package registered: keep the image visible so
		// the plan shows a change, and nothing else can be trusted.
		if len(td.ContainerDefinitions) > 0 {
			s.Image = ParseImage(aws.ToString(td.ContainerDefinitions[0].Image))
		}
		return s, res
	}
	s.Image = ParseImage(aws.ToString(app.Image))

	ports := make([]Port, 0, len(app.PortMappings))
	for _, pm := range app.PortMappings {
		p := Port{Name: aws.ToString(pm.Name), ContainerPort: int(aws.ToInt32(pm.ContainerPort)), Protocol: string(pm.AppProtocol)}
		if p.Protocol == "" {
			p.Protocol = "http"
		}
		// Service Connect settings live on the service; keep the prior ones
		// of the same port until the service is read.
		for _, pp := range prior.Ports {
			if pp.Name == p.Name {
				p.DiscoveryName, p.ClientAlias = pp.DiscoveryName, pp.ClientAlias
			}
		}
		ports = append(ports, p)
	}
	s.Ports = ports

	env := map[string]string{}
	for _, e := range app.Environment {
		env[aws.ToString(e.Name)] = aws.ToString(e.Value)
	}
	s.Secrets, s.PlatformSecrets = nil, nil
	for _, sec := range app.Secrets {
		if strings.Contains(aws.ToString(sec.ValueFrom), ":parameter/"+s.Environment+"/_platform/") {
			s.PlatformSecrets = append(s.PlatformSecrets, aws.ToString(sec.Name))
			continue
		}
		s.Secrets = append(s.Secrets, aws.ToString(sec.Name))
	}
	slices.Sort(s.Secrets)
	slices.Sort(s.PlatformSecrets)

	// Tracing is whatever endpoint the container gets, unless the user set
	// that variable in env themselves.
	s.Tracing.OTLPEndpoint = ""
	if _, own := prior.Env["OTEL_EXPORTER_OTLP_ENDPOINT"]; !own {
		s.Tracing.OTLPEndpoint = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
	}
	for k, v := range s.InjectedEnv() {
		if _, own := prior.Env[k]; !own && env[k] == v {
			delete(env, k)
		}
	}
	s.Env = env
	if len(s.Env) == 0 && prior.Env == nil {
		s.Env = nil
	}

	s.HealthCheck = observeHealthCheck(prior, s, app.HealthCheck)
	s.Logging = observeLogging(prior, s, app, router)
	return s, res
}

func observeHealthCheck(prior, s Spec, h *ecstypes.HealthCheck) HealthCheck {
	out := prior.HealthCheck
	if h == nil {
		out.Disabled = true
		return out
	}
	out.Disabled = false
	out.Interval = int(int32OrDefault(h.Interval, 30))
	out.Timeout = int(int32OrDefault(h.Timeout, 5))
	out.Retries = int(int32OrDefault(h.Retries, 3))
	out.StartPeriod = int(aws.ToInt32(h.StartPeriod))
	s.HealthCheck = out
	s.HealthCheck.Command = nil
	if slices.Equal(h.Command, s.HealthCommand()) {
		out.Command = nil
	} else {
		out.Command = slices.Clone(h.Command)
	}
	return out
}

func observeLogging(prior, s Spec, app, router *ecstypes.ContainerDefinition) Logging {
	out := prior.Logging
	if router != nil {
		out.RouterImage = aws.ToString(router.Image)
	}
	l := app.LogConfiguration
	if l == nil || l.LogDriver != ecstypes.LogDriverAwsfirelens {
		// Logs bypass the router: show it as a change of destination.
		out.Destination = "unmanaged"
		return out
	}
	opts := maps.Clone(l.Options)
	if opts["Name"] == "cloudwatch_logs" {
		out.Destination = "cloudwatch"
		out.Output = ""
		out.LogGroup = opts["log_group_name"]
		s.Logging.LogGroup = ""
		s.Logging.Destination = "cloudwatch"
		if out.LogGroup == s.EffectiveLogGroup() && prior.Logging.LogGroup == "" {
			out.LogGroup = ""
		}
	} else {
		out.Destination = "fluentbit"
		out.Output = opts["Name"]
		out.LogGroup = ""
	}
	s.Logging.Destination, s.Logging.Output, s.Logging.LogGroup = out.Destination, out.Output, out.LogGroup
	derived := s.firelensOptions("", false)
	out.Options = map[string]string{}
	for k, v := range opts {
		if _, own := prior.Logging.Options[k]; own {
			out.Options[k] = v
			continue
		}
		if dv, ok := derived[k]; ok && (dv == v || k == "region") {
			continue
		}
		out.Options[k] = v
	}
	if len(out.Options) == 0 && prior.Logging.Options == nil {
		out.Options = nil
	}
	return out
}
