package environment

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/ecsdeploy"
)

// The OpenTelemetry collector runs as a REPLICA service on Fargate, not as
// a DAEMON: Fargate has no DAEMON scheduling (it needs EC2 container
// instances, which the environment does not otherwise need), and on
// Fargate a per-host agent has no host to be per. Services reach it by
// its Service Connect name, http://otel-collector:4318, which load-balances
// across its replicas; desired_count scales it.

// platformService is one ECS service the environment runs for its
// services: the collector or a NATS server.
type platformService struct {
	Name         string
	Image        string
	CPU          int
	Memory       int
	DesiredCount int
	EntryPoint   []string
	Command      []string
	Env          map[string]string
	// Secrets maps environment variable names to parameter ARNs.
	Secrets map[string]string
	Ports   []platformPort
	// StopFirst replaces tasks one at a time, stopping the old before
	// starting the new: two NATS servers must never share a name.
	StopFirst bool

	// Filled from AWS by Read.
	ServiceARN        string
	TaskDefinitionARN string
	ExecutionRoleARN  string
	LogGroup          string
	Network           *placement
	// DeploymentKnown says the API reported the deployment configuration
	// (ECS always does; moto never does, so StopFirst cannot be compared
	// there and is not taken for drift).
	DeploymentKnown bool
}

type platformPort struct {
	Name        string
	Port        int
	AppProtocol ecstypes.ApplicationProtocol
	// Alias publishes the port through Service Connect under this name;
	// empty keeps it inside the task.
	Alias string
}

// platformServices derives the ECS services a spec runs.
func platformServices(spec Spec, params map[string]Parameter) []platformService {
	out := []platformService{{
		Name:         CollectorService,
		Image:        spec.Collector.Image,
		CPU:          spec.Collector.CPU,
		Memory:       spec.Collector.Memory,
		DesiredCount: spec.Collector.DesiredCount,
		// The contrib image reads its configuration from a variable, so the
		// task definition alone describes the collector.
		Command: []string{"--config=env:OTEL_CONFIG"},
		Env:     map[string]string{"OTEL_CONFIG": spec.Collector.Config},
		Ports: []platformPort{
			{Name: "otlp-http", Port: CollectorHTTPPort, AppProtocol: ecstypes.ApplicationProtocolHttp, Alias: CollectorService},
			{Name: "otlp-grpc", Port: CollectorGRPCPort, AppProtocol: ecstypes.ApplicationProtocolGrpc, Alias: CollectorService + "-grpc"},
		},
	}}
	if !spec.NATS.Managed {
		return out
	}
	names := NATSServices(spec.NATS.Replicas)
	for _, name := range names {
		ports := []platformPort{
			{Name: "client", Port: natsClientPort, Alias: name},
			{Name: "monitor", Port: natsMonitorPort},
		}
		if len(names) > 1 {
			ports = append(ports, platformPort{Name: "cluster", Port: natsClusterPort, Alias: name + "-routes"})
		}
		out = append(out, platformService{
			Name: name, Image: spec.NATS.Image, CPU: spec.NATS.CPU, Memory: spec.NATS.Memory, DesiredCount: 1,
			// The server reads its password from the environment ($NATS_PASSWORD
			// in the configuration), so it never appears in the task
			// definition; a shell writes the configuration file first.
			EntryPoint: []string{"sh", "-c"},
			Command:    []string{`printf '%s' "$NATS_CONFIG" > /tmp/nats.conf && exec nats-server -c /tmp/nats.conf`},
			Env:        map[string]string{"NATS_CONFIG": NATSConfig(spec.Name, name, names)},
			Secrets:    map[string]string{ParamNATSPassword: params[ParamNATSPassword].ARN},
			Ports:      ports,
			StopFirst:  true,
		})
	}
	return out
}

// NATSConfig is one managed server's configuration: JetStream on the
// task's storage, the platform user, and with several servers a cluster
// whose routes go through Service Connect. Routes carry no credentials
// (NATS does not expand variables inside a URL); only tasks inside the
// environment's security group reach the route port.
func NATSConfig(env, server string, all []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %s\nport: %d\nhttp_port: %d\n", server, natsClientPort, natsMonitorPort)
	b.WriteString("jetstream {\n  store_dir: /data/jetstream\n}\n")
	fmt.Fprintf(&b, "authorization {\n  user: %s\n  password: $NATS_PASSWORD\n}\n", ManagedNATSUser)
	if len(all) > 1 {
		var routes []string
		for _, s := range all {
			if s != server {
				routes = append(routes, fmt.Sprintf("    nats-route://%s-routes:%d", s, natsClusterPort))
			}
		}
		fmt.Fprintf(&b, "cluster {\n  name: %s\n  port: %d\n  routes: [\n%s\n  ]\n}\n", env, natsClusterPort, strings.Join(routes, "\n"))
	}
	return b.String()
}

// allPlatformServiceNames are every name a platform service may have, so
// Read finds them all and Apply removes those no longer wanted.
func allPlatformServiceNames() []string {
	names := []string{CollectorService, NATSService}
	for i := 1; i <= slices.Max(NATSReplicaCounts); i++ {
		names = append(names, NATSService+"-"+strconv.Itoa(i))
	}
	return names
}

// readPlatformServices describes the environment's platform services that
// are active, with their task definitions.
func (m *Manager) readPlatformServices(ctx context.Context, cluster string) (map[string]platformService, error) {
	out, err := m.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: allPlatformServiceNames()})
	if err != nil {
		return nil, fmt.Errorf("describe platform services: %w", err)
	}
	if err := ecsdeploy.FailuresError("describe platform services", out.Failures); err != nil {
		return nil, err
	}
	found := map[string]platformService{}
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "ACTIVE" {
			continue
		}
		td, err := m.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
		if err != nil {
			return nil, fmt.Errorf("describe task definition of %s: %w", aws.ToString(s.ServiceName), err)
		}
		ps := platformServiceOf(s, td.TaskDefinition)
		found[ps.Name] = ps
	}
	return found, nil
}

func platformServiceOf(s ecstypes.Service, td *ecstypes.TaskDefinition) platformService {
	ps := platformService{
		Name:              aws.ToString(s.ServiceName),
		DesiredCount:      int(s.DesiredCount),
		ServiceARN:        aws.ToString(s.ServiceArn),
		TaskDefinitionARN: aws.ToString(td.TaskDefinitionArn),
		ExecutionRoleARN:  aws.ToString(td.ExecutionRoleArn),
		Env:               map[string]string{},
		Secrets:           map[string]string{},
	}
	ps.CPU, _ = strconv.Atoi(aws.ToString(td.Cpu))
	ps.Memory, _ = strconv.Atoi(aws.ToString(td.Memory))
	if dc := s.DeploymentConfiguration; dc != nil && dc.MinimumHealthyPercent != nil {
		ps.DeploymentKnown = true
		ps.StopFirst = aws.ToInt32(dc.MinimumHealthyPercent) == 0
	}
	if len(td.ContainerDefinitions) > 0 {
		c := td.ContainerDefinitions[0]
		ps.Image, ps.EntryPoint, ps.Command = aws.ToString(c.Image), c.EntryPoint, c.Command
		for _, e := range c.Environment {
			ps.Env[aws.ToString(e.Name)] = aws.ToString(e.Value)
		}
		for _, e := range c.Secrets {
			ps.Secrets[aws.ToString(e.Name)] = aws.ToString(e.ValueFrom)
		}
		for _, p := range c.PortMappings {
			ps.Ports = append(ps.Ports, platformPort{Name: aws.ToString(p.Name), Port: int(aws.ToInt32(p.ContainerPort)), AppProtocol: p.AppProtocol})
		}
		if lc := c.LogConfiguration; lc != nil {
			ps.LogGroup = lc.Options["awslogs-group"]
		}
	}
	if nc := s.NetworkConfiguration; nc != nil && nc.AwsvpcConfiguration != nil {
		v := nc.AwsvpcConfiguration
		ps.Network = &placement{Subnets: sortedCopy(v.Subnets), SecurityGroups: sortedCopy(v.SecurityGroups), AssignPublicIP: v.AssignPublicIp == ecstypes.AssignPublicIpEnabled}
	}
	return ps
}

// sameTaskDefinition reports whether a running task definition already is
// what want asks for.
func sameTaskDefinition(want, have platformService, execRole, logGroup string) bool {
	haveAliases := map[string]int{}
	for _, p := range have.Ports {
		haveAliases[p.Name] = p.Port
	}
	wantAliases := map[string]int{}
	for _, p := range want.Ports {
		wantAliases[p.Name] = p.Port
	}
	return want.Image == have.Image && want.CPU == have.CPU && want.Memory == have.Memory &&
		slices.Equal(want.EntryPoint, have.EntryPoint) && slices.Equal(want.Command, have.Command) &&
		maps.Equal(want.Env, have.Env) && maps.Equal(nonNil(want.Secrets), have.Secrets) &&
		maps.Equal(wantAliases, haveAliases) && have.ExecutionRoleARN == execRole && have.LogGroup == logGroup
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// applyPlatformService registers a task definition when it changed and
// creates or updates the service; deployed says it did either. forceConnect
// re-sends the Service Connect configuration (the namespace was replaced):
// ECS does not report it back, so it cannot be compared.
func (m *Manager) applyPlatformService(ctx context.Context, env Spec, want platformService, have *platformService, net placement, nsARN, execRole string, forceConnect bool) (deployed bool, err error) {
	names := NamesOf(env.Name)
	tdARN := ""
	if have != nil && sameTaskDefinition(want, *have, execRole, names.LogGroup()) {
		tdARN = have.TaskDefinitionARN
	} else {
		arn, err := m.registerTaskDefinition(ctx, env, want, execRole)
		if err != nil {
			return false, err
		}
		tdARN = arn
	}
	netCfg := &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: net.Subnets, SecurityGroups: net.SecurityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
	}}
	if net.AssignPublicIP {
		netCfg.AwsvpcConfiguration.AssignPublicIp = ecstypes.AssignPublicIpEnabled
	}
	deploy := &ecstypes.DeploymentConfiguration{
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		MinimumHealthyPercent:    aws.Int32(100), MaximumPercent: aws.Int32(200),
	}
	if want.StopFirst {
		deploy.MinimumHealthyPercent, deploy.MaximumPercent = aws.Int32(0), aws.Int32(100)
	}
	connect := &ecstypes.ServiceConnectConfiguration{
		Enabled:   true,
		Namespace: aws.String(nsARN),
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": names.LogGroup(), "awslogs-region": m.region, "awslogs-stream-prefix": "service-connect/" + want.Name,
		}},
	}
	for _, p := range want.Ports {
		if p.Alias == "" {
			continue
		}
		connect.Services = append(connect.Services, ecstypes.ServiceConnectService{
			PortName: aws.String(p.Name), DiscoveryName: aws.String(p.Alias),
			ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(int32(p.Port)), DnsName: aws.String(p.Alias)}},
		})
	}

	if have == nil {
		_, err := ecsdeploy.CreateService(ctx, m.ecs, &ecs.CreateServiceInput{
			Cluster:                     aws.String(names.Cluster()),
			ServiceName:                 aws.String(want.Name),
			TaskDefinition:              aws.String(tdARN),
			DesiredCount:                aws.Int32(int32(want.DesiredCount)),
			LaunchType:                  ecstypes.LaunchTypeFargate,
			NetworkConfiguration:        netCfg,
			DeploymentConfiguration:     deploy,
			ServiceConnectConfiguration: connect,
			EnableECSManagedTags:        true,
			PropagateTags:               ecstypes.PropagateTagsService,
			Tags:                        ecsTags(env.Name),
		})
		if err != nil {
			return false, fmt.Errorf("create service %s: %w", want.Name, err)
		}
		return true, nil
	}
	sameNet := have.Network != nil && slices.Equal(have.Network.Subnets, sortedCopy(net.Subnets)) &&
		slices.Equal(have.Network.SecurityGroups, sortedCopy(net.SecurityGroups)) && have.Network.AssignPublicIP == net.AssignPublicIP
	if tdARN == have.TaskDefinitionARN && want.DesiredCount == have.DesiredCount && sameNet && (want.StopFirst == have.StopFirst || !have.DeploymentKnown) && !forceConnect {
		return false, nil
	}
	in := &ecs.UpdateServiceInput{
		Cluster:                 aws.String(names.Cluster()),
		Service:                 aws.String(want.Name),
		TaskDefinition:          aws.String(tdARN),
		DesiredCount:            aws.Int32(int32(want.DesiredCount)),
		NetworkConfiguration:    netCfg,
		DeploymentConfiguration: deploy,
	}
	if forceConnect {
		in.ServiceConnectConfiguration = connect
	}
	if _, err := m.ecs.UpdateService(ctx, in); err != nil {
		return false, fmt.Errorf("update service %s: %w", want.Name, err)
	}
	// The revision the service ran until now stays: it is what the circuit
	// breaker rolls back to, and ECS cannot run a revision being deleted.
	// Older ones go, so revisions do not pile up.
	if tdARN != have.TaskDefinitionARN {
		if err := m.deregisterTaskDefinitions(ctx, names.TaskFamily(want.Name), tdARN, have.TaskDefinitionARN); err != nil {
			return true, err
		}
	}
	return true, nil
}

// waitPlatformServices waits until each named platform service runs a task
// of its latest deployment (the previous deployment drained, at least one
// task running), so services deployed next find the collector and NATS.
// A rollout the circuit breaker failed is an error. It does not wait for
// every desired task: one running is enough for the platform to serve.
func (m *Manager) waitPlatformServices(ctx context.Context, cluster string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	deadline := time.Now().Add(m.timeout(15 * time.Minute))
	for interval := m.poll(); ; interval = min(2*interval, 15*time.Second) {
		out, err := m.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: names})
		if err != nil {
			return fmt.Errorf("describe platform services: %w", err)
		}
		if err := ecsdeploy.FailuresError("describe platform services", out.Failures); err != nil {
			return err
		}
		pending := []string{}
		for _, s := range out.Services {
			name := aws.ToString(s.ServiceName)
			for _, d := range s.Deployments {
				if d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
					return fmt.Errorf("platform service %s failed to deploy (the circuit breaker rolls it back to its previous revision): %s", name, aws.ToString(d.RolloutStateReason))
				}
			}
			if len(s.Deployments) > 1 || s.RunningCount < 1 {
				pending = append(pending, fmt.Sprintf("%s: %d running, %d deployment(s)", name, s.RunningCount, len(s.Deployments)))
			}
		}
		if len(out.Services) < len(names) {
			pending = append(pending, fmt.Sprintf("%d of %d services found", len(out.Services), len(names)))
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for the platform services to run: %s", strings.Join(pending, "; "))
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func (m *Manager) registerTaskDefinition(ctx context.Context, env Spec, s platformService, execRole string) (string, error) {
	names := NamesOf(env.Name)
	c := ecstypes.ContainerDefinition{
		Name:       aws.String(s.Name),
		Image:      aws.String(s.Image),
		Essential:  aws.Bool(true),
		EntryPoint: s.EntryPoint,
		Command:    s.Command,
		LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
			"awslogs-group": names.LogGroup(), "awslogs-region": m.region, "awslogs-stream-prefix": s.Name,
		}},
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		c.Environment = append(c.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(s.Env[k])})
	}
	for _, k := range slices.Sorted(maps.Keys(s.Secrets)) {
		c.Secrets = append(c.Secrets, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(s.Secrets[k])})
	}
	for _, p := range s.Ports {
		pm := ecstypes.PortMapping{Name: aws.String(p.Name), ContainerPort: aws.Int32(int32(p.Port)), Protocol: ecstypes.TransportProtocolTcp}
		if p.AppProtocol != "" {
			pm.AppProtocol = p.AppProtocol
		}
		c.PortMappings = append(c.PortMappings, pm)
	}
	out, err := ecsdeploy.RegisterTaskDefinition(ctx, m.ecs, &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(names.TaskFamily(s.Name)),
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String(strconv.Itoa(s.CPU)),
		Memory:                  aws.String(strconv.Itoa(s.Memory)),
		ExecutionRoleArn:        aws.String(execRole),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{c},
		Tags:                    ecsTags(env.Name),
	})
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", names.TaskFamily(s.Name), err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// deleteService removes a platform service, waits until ECS has drained
// it, and deletes its task definitions.
func (m *Manager) deleteService(ctx context.Context, env, name string) error {
	names := NamesOf(env)
	_, err := m.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(names.Cluster()), Service: aws.String(name), Force: aws.Bool(true)})
	if err != nil && !isECSNotFound(err) {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	deadline := time.Now().Add(m.timeout(10 * time.Minute))
	for interval := m.poll(); ; interval = min(2*interval, 15*time.Second) {
		out, err := m.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(names.Cluster()), Services: []string{name}})
		if err != nil && !isECSNotFound(err) {
			return fmt.Errorf("describe service %s: %w", name, err)
		}
		if err != nil || len(out.Services) == 0 || aws.ToString(out.Services[0].Status) == "INACTIVE" {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for service %s to drain", name)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
	return m.deregisterTaskDefinitions(ctx, names.TaskFamily(name))
}

// deregisterTaskDefinitions deregisters and deletes every revision of a
// family except those in keep, so replaced revisions do not pile up.
func (m *Manager) deregisterTaskDefinitions(ctx context.Context, family string, keep ...string) error {
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(m.ecs, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list task definitions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			// The prefix also matches longer families (nats matches nats-1).
			if !slices.Contains(keep, arn) && familyOf(arn) == family {
				arns = append(arns, arn)
			}
		}
	}
	for _, arn := range arns {
		if _, err := m.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return fmt.Errorf("deregister %s: %w", arn, err)
		}
	}
	for chunk := range slices.Chunk(arns, 10) {
		if _, err := m.ecs.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: chunk}); err != nil {
			return fmt.Errorf("delete task definitions of %s: %w", family, err)
		}
	}
	return nil
}

// familyOf returns the family of a task definition ARN
// (…:task-definition/<family>:<revision>).
func familyOf(arn string) string {
	_, rest, _ := strings.Cut(arn, ":task-definition/")
	fam, _, _ := strings.Cut(rest, ":")
	return fam
}

func ecsTags(env string) []ecstypes.Tag {
	return []ecstypes.Tag{
		{Key: aws.String("pivot:environment"), Value: aws.String(env)},
		{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")},
	}
}

func isECSNotFound(err error) bool {
	switch awsx.ErrorCode(err) {
	case "ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException":
		return true
	}
	return false
}
