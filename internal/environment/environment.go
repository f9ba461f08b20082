package environment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/ingress"
)

// ErrNotFound means the environment (its ECS cluster) does not exist.
var ErrNotFound = errors.New("environment not found")

// Manager builds environments in one account and region.
type Manager struct {
	ecs     *ecs.Client
	sd      *sd.Client
	ssm     *ssm.Client
	logs    *cloudwatchlogs.Client
	iam     *iam.Client
	ec2     *ec2.Client
	sts     *sts.Client
	ingress *ingress.Client
	region  string

	// PollInterval is the first wait between status checks; Timeout bounds
	// each wait. Zero means the defaults (2 seconds; per-wait defaults in
	// minutes).
	PollInterval time.Duration
	Timeout      time.Duration
}

// New returns a manager acting with an SDK configuration.
func New(cfg aws.Config) *Manager {
	return &Manager{
		ecs: ecs.NewFromConfig(cfg), sd: sd.NewFromConfig(cfg), ssm: ssm.NewFromConfig(cfg),
		logs: cloudwatchlogs.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		sts: sts.NewFromConfig(cfg), ingress: ingress.New(cfg, nil), region: cfg.Region,
	}
}

func (m *Manager) poll() time.Duration {
	if m.PollInterval > 0 {
		return m.PollInterval
	}
	return 2 * time.Second
}

func (m *Manager) timeout(def time.Duration) time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return def
}

// State is an environment as it is. Spec holds what was found in the
// shape of a Spec (Stage, ContainerInsights, Collector, NATS, Ingress as
// read back); secrets the environment generated are not in it.
type State struct {
	Spec Spec

	ClusterARN    string
	NamespaceARN  string
	NamespaceID   string
	NamespaceName string
	LogGroupName  string
	LogGroupARN   string
	// LogGroupExists is false when the log group is gone (Spec's retention
	// is then meaningless).
	LogGroupExists   bool
	ExecutionRoleARN string

	// Effective placement of the platform services (what pivot_service
	// should use).
	VPCID          string
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
	// IngressSecurityGroup is the load balancer's group, which service
	// security groups must admit.
	IngressSecurityGroup string

	// Parameters are the platform parameters by short name.
	Parameters   map[string]Parameter
	LoadBalancer *ingress.LoadBalancer

	// Components lists, by key (see Spec.ExpectedComponents), every part
	// that exists and is as Apply leaves it, with its ID.
	Components map[string]string
}

// OTLPEndpoint is the collector's address inside the namespace.
func (s State) OTLPEndpoint() string { return OTLPEndpoint() }

// Apply creates the environment or converges an existing one to spec,
// then reads back its whole state.
func (m *Manager) Apply(ctx context.Context, spec Spec) (State, error) {
	if _, err := m.Converge(ctx, spec); err != nil {
		return State{}, err
	}
	return m.Read(ctx, spec.Name)
}

// Placement is where a converged environment runs services: what a caller
// deploying into it needs, without reading everything else back.
type Placement struct {
	ClusterARN     string
	NamespaceARN   string
	Subnets        []string
	SecurityGroups []string
	AssignPublicIP bool
}

// OTLPEndpoint is where the environment's tasks send traces.
func (Placement) OTLPEndpoint() string { return OTLPEndpoint() }

// Converge creates the environment or converges an existing one to spec
// and returns its placement. A tenant roll-out uses it instead of Apply:
// reading the whole state back costs some twenty calls per tenant.
func (m *Manager) Converge(ctx context.Context, spec Spec) (Placement, error) {
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return Placement{}, err
	}
	// These steps use different APIs and need nothing of one another (the
	// cluster only the namespace), so they run at once: sequential, a new
	// account waited on each API's first answer in turn.
	var (
		net        placement
		ns         sdtypes.Namespace
		created    bool
		clusterARN string
		role       string
		params     map[string]Parameter
	)
	err := concurrently(
		func() (err error) {
			net, err = m.resolveNetwork(ctx, spec)
			return err
		},
		func() (err error) {
			if ns, created, err = m.ensureNamespace(ctx, spec.Name); err != nil {
				return err
			}
			clusterARN, err = m.ensureCluster(ctx, spec, aws.ToString(ns.Arn))
			return err
		},
		func() error { return m.ensureLogGroup(ctx, spec) },
		func() error {
			account, err := m.accountID(ctx)
			if err != nil {
				return err
			}
			role, err = m.ensureExecutionRole(ctx, spec.Name, account)
			return err
		},
		func() (err error) {
			params, err = m.applyParams(ctx, spec)
			return err
		},
	)
	if err != nil {
		return Placement{}, err
	}

	// The platform services and the load balancer are independent too.
	err = concurrently(
		func() error {
			return m.convergePlatformServices(ctx, spec, params, net, aws.ToString(ns.Arn), role, created)
		},
		func() error { return m.convergeIngress(ctx, spec, net) },
	)
	if err != nil {
		return Placement{}, err
	}
	return Placement{
		ClusterARN: clusterARN, NamespaceARN: aws.ToString(ns.Arn),
		Subnets: sortedCopy(net.Subnets), SecurityGroups: sortedCopy(net.SecurityGroups), AssignPublicIP: net.AssignPublicIP,
	}, nil
}

// convergePlatformServices creates, updates and deletes the platform
// services (collector, managed NATS) to match spec.
func (m *Manager) convergePlatformServices(ctx context.Context, spec Spec, params map[string]Parameter, net placement, nsARN, role string, created bool) error {
	have, err := m.readPlatformServices(ctx, NamesOf(spec.Name).Cluster())
	if err != nil {
		return err
	}
	wanted := map[string]bool{}
	var names []string
	for _, want := range platformServices(spec, params) {
		wanted[want.Name] = true
		names = append(names, want.Name)
		var cur *platformService
		if h, ok := have[want.Name]; ok {
			cur = &h
		}
		if _, err := m.applyPlatformService(ctx, spec, want, cur, net, nsARN, role, created); err != nil {
			return err
		}
	}
	// Services deployed into the environment next, and the streams put
	// into its managed NATS, need the collector and NATS running, not
	// merely accepted by ECS. That holds for those this apply left as
	// they were too: an interrupted apply may have created them a moment
	// ago, their first tasks still starting.
	if err := m.waitPlatformServices(ctx, NamesOf(spec.Name).Cluster(), names); err != nil {
		return err
	}
	for name := range have {
		if !wanted[name] {
			if err := m.deleteService(ctx, spec.Name, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// convergeIngress creates or updates the load balancer spec asks for, or
// deletes it.
func (m *Manager) convergeIngress(ctx context.Context, spec Spec, net placement) error {
	if spec.Ingress == nil {
		return m.deleteIngress(ctx, spec.Name)
	}
	subnets := spec.Ingress.Subnets
	if len(subnets) == 0 {
		subnets = net.Subnets
	}
	_, err := m.ingress.ApplyLoadBalancer(ctx, ingress.LoadBalancerSpec{
		Name: NamesOf(spec.Name).LoadBalancer(), Subnets: subnets, SecurityGroups: []string{net.IngressGroup},
		CertificateARN: spec.Ingress.CertificateARN, Tags: map[string]string{"pivot:environment": spec.Name},
	})
	return err
}

// concurrently runs each step in its own goroutine and returns their
// errors, joined, once all are done.
func concurrently(steps ...func() error) error {
	errs := make([]error, len(steps))
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() { errs[i] = step() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Cluster returns the ARN of the environment's cluster, or ErrNotFound: one
// call, for callers that only need to know the environment is there (a
// tenant's refresh), where Read costs about twenty.
func (m *Manager) Cluster(ctx context.Context, name string) (string, error) {
	clusters, err := m.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{NamesOf(name).Cluster()}})
	if err != nil {
		return "", fmt.Errorf("describe cluster %s: %w", name, err)
	}
	if len(clusters.Clusters) == 0 || aws.ToString(clusters.Clusters[0].Status) != "ACTIVE" {
		return "", ErrNotFound
	}
	return aws.ToString(clusters.Clusters[0].ClusterArn), nil
}

// Read reports the environment, or ErrNotFound when its cluster is gone.
func (m *Manager) Read(ctx context.Context, name string) (State, error) {
	names := NamesOf(name)
	clusters, err := m.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{names.Cluster()}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings}})
	if err != nil {
		return State{}, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	if len(clusters.Clusters) == 0 || aws.ToString(clusters.Clusters[0].Status) != "ACTIVE" {
		return State{}, ErrNotFound
	}
	c := clusters.Clusters[0]
	st := State{
		Spec:       Spec{Name: name},
		ClusterARN: aws.ToString(c.ClusterArn),
		Components: map[string]string{"cluster": aws.ToString(c.ClusterArn)},
	}
	for _, s := range c.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights {
			st.Spec.ContainerInsights = aws.ToString(s.Value)
		}
	}
	if st.Spec.ContainerInsights == "" {
		st.Spec.ContainerInsights = "disabled"
	}

	if d := c.ServiceConnectDefaults; d != nil && aws.ToString(d.Namespace) != "" {
		st.NamespaceARN = aws.ToString(d.Namespace)
		ns, err := m.sd.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(lastSegment(st.NamespaceARN))})
		var nf *sdtypes.NamespaceNotFound
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return State{}, fmt.Errorf("read namespace %s: %w", st.NamespaceARN, err)
		default:
			st.NamespaceID, st.NamespaceName = aws.ToString(ns.Namespace.Id), aws.ToString(ns.Namespace.Name)
			if st.NamespaceName == names.Namespace() && ns.Namespace.Type == sdtypes.NamespaceTypeHttp {
				st.Components["namespace"] = st.NamespaceARN
			}
		}
	}

	st.LogGroupName = names.LogGroup()
	groups, err := m.logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(names.LogGroup())})
	if err != nil {
		return State{}, fmt.Errorf("describe log group %s: %w", names.LogGroup(), err)
	}
	for _, g := range groups.LogGroups {
		if aws.ToString(g.LogGroupName) == names.LogGroup() {
			st.LogGroupExists = true
			st.LogGroupARN = strings.TrimSuffix(aws.ToString(g.Arn), ":*")
			st.Spec.LogRetentionDays = int(aws.ToInt32(g.RetentionInDays))
			st.Components["log_group"] = st.LogGroupARN
		}
	}

	if err := m.readExecutionRole(ctx, &st); err != nil {
		return State{}, err
	}
	sgs, err := m.findSecurityGroups(ctx, names.ServicesSecurityGroup(), names.IngressSecurityGroup())
	if err != nil {
		return State{}, err
	}
	if id := sgs[names.ServicesSecurityGroup()]; id != "" {
		st.Components["security_group/services"] = id
	}
	if id := sgs[names.IngressSecurityGroup()]; id != "" {
		st.Components["security_group/ingress"] = id
		st.IngressSecurityGroup = id
	}

	params, err := m.readParams(ctx, name)
	if err != nil {
		return State{}, err
	}
	st.Parameters = params
	services, err := m.readPlatformServices(ctx, names.Cluster())
	if err != nil {
		return State{}, err
	}
	if err := m.readServicesAndParams(ctx, &st, services); err != nil {
		return State{}, err
	}

	lb, err := m.ingress.ReadLoadBalancer(ctx, names.LoadBalancer())
	switch {
	case errors.Is(err, ingress.ErrNotFound):
	case err != nil:
		return State{}, err
	default:
		st.LoadBalancer = &lb
		st.Spec.Ingress = &Ingress{CertificateARN: lb.CertificateARN}
		if !slices.Equal(lb.Subnets, st.Subnets) {
			st.Spec.Ingress.Subnets = lb.Subnets
		}
		st.Components["load_balancer"] = lb.ARN
		if lb.HTTPListener != "" && lb.HTTPRedirects == (lb.HTTPSListener != "") {
			st.Components["listener/http"] = lb.HTTPListener
		}
		if lb.HTTPSListener != "" {
			st.Components["listener/https"] = lb.HTTPSListener
		}
	}
	return st, nil
}

// readServicesAndParams fills the collector, NATS and parameter parts of
// st from the platform services and parameters found.
func (m *Manager) readServicesAndParams(ctx context.Context, st *State, services map[string]platformService) error {
	names := NamesOf(st.Spec.Name)
	params := st.Parameters
	if p, ok := params[ParamStage]; ok {
		st.Spec.Stage = p.value
		st.Components["parameter/"+ParamStage] = p.ARN
	}
	if p, ok := params[ParamOTLPEndpoint]; ok && p.value == OTLPEndpoint() {
		st.Components["parameter/"+ParamOTLPEndpoint] = p.ARN
	}
	owned := func(ps platformService) bool {
		return ps.LogGroup == names.LogGroup() && ps.ExecutionRoleARN == st.ExecutionRoleARN && ps.ExecutionRoleARN != ""
	}

	if col, ok := services[CollectorService]; ok {
		st.Spec.Collector = Collector{Image: col.Image, Config: col.Env["OTEL_CONFIG"], CPU: col.CPU, Memory: col.Memory, DesiredCount: col.DesiredCount}
		if owned(col) && slices.Equal(col.Command, []string{"--config=env:OTEL_CONFIG"}) {
			st.Components["service/"+CollectorService] = col.ServiceARN
		}
		if col.Network != nil {
			st.Subnets, st.SecurityGroups, st.AssignPublicIP = col.Network.Subnets, col.Network.SecurityGroups, col.Network.AssignPublicIP
		}
	}
	if len(st.Subnets) > 0 {
		out, err := m.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: st.Subnets[:1]})
		if err == nil && len(out.Subnets) > 0 {
			st.VPCID = aws.ToString(out.Subnets[0].VpcId)
		}
	}

	var natsNodes []platformService
	for _, n := range allPlatformServiceNames() {
		if ps, ok := services[n]; ok && n != CollectorService {
			natsNodes = append(natsNodes, ps)
		}
	}
	if len(natsNodes) > 0 {
		first := natsNodes[0]
		st.Spec.NATS = NATS{Managed: true, Image: first.Image, Replicas: len(natsNodes), CPU: first.CPU, Memory: first.Memory}
		wantNames := NATSServices(len(natsNodes))
		for _, node := range natsNodes {
			if owned(node) && slices.Contains(wantNames, node.Name) && node.Env["NATS_CONFIG"] == NATSConfig(st.Spec.Name, node.Name, wantNames) &&
				node.Secrets[ParamNATSPassword] == params[ParamNATSPassword].ARN {
				st.Components["service/"+node.Name] = node.ServiceARN
			}
		}
		if p, ok := params[ParamNATSURL]; ok && p.value == ManagedNATSURL(len(natsNodes)) {
			st.Components["parameter/"+ParamNATSURL] = p.ARN
		}
		if p, ok := params[ParamNATSUser]; ok && p.value == ManagedNATSUser {
			st.Components["parameter/"+ParamNATSUser] = p.ARN
		}
		if p, ok := params[ParamNATSPassword]; ok && p.Secure {
			st.Components["parameter/"+ParamNATSPassword] = p.ARN
		}
		return nil
	}
	for short, field := range map[string]*string{
		ParamNATSURL: &st.Spec.NATS.URL, ParamNATSUser: &st.Spec.NATS.User,
		ParamNATSPassword: &st.Spec.NATS.Password, ParamNATSCredential: &st.Spec.NATS.Credentials,
	} {
		if p, ok := params[short]; ok {
			*field = p.value
			if p.Secure == (short == ParamNATSPassword || short == ParamNATSCredential) {
				st.Components["parameter/"+short] = p.ARN
			}
		}
	}
	return nil
}

// Delete removes everything the environment owns. Services deployed into
// it must go first: ECS refuses to delete a cluster with active services,
// and the error says which.
func (m *Manager) Delete(ctx context.Context, name string) error {
	names := NamesOf(name)
	clusters, err := m.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{names.Cluster()}})
	if err != nil {
		return fmt.Errorf("describe cluster %s: %w", name, err)
	}
	clusterActive := len(clusters.Clusters) > 0 && aws.ToString(clusters.Clusters[0].Status) == "ACTIVE"
	nsARN := ""
	if clusterActive {
		if d := clusters.Clusters[0].ServiceConnectDefaults; d != nil {
			nsARN = aws.ToString(d.Namespace)
		}
		services, err := m.readPlatformServices(ctx, names.Cluster())
		if err != nil {
			return err
		}
		for n := range services {
			if err := m.deleteService(ctx, name, n); err != nil {
				return err
			}
		}
		if err := m.checkNoServices(ctx, names.Cluster()); err != nil {
			return err
		}
	}
	if err := m.deleteIngress(ctx, name); err != nil {
		return err
	}
	if err := m.deleteSecurityGroup(ctx, names.ServicesSecurityGroup()); err != nil {
		return err
	}
	if clusterActive {
		if _, err := m.ecs.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(names.Cluster())}); err != nil && !isECSNotFound(err) {
			return fmt.Errorf("delete cluster %s: %w", name, err)
		}
	}
	if err := m.deleteNamespace(ctx, name, nsARN); err != nil {
		return err
	}
	if _, err := m.logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(names.LogGroup())}); err != nil {
		var nf *logtypes.ResourceNotFoundException
		if !errors.As(err, &nf) {
			return fmt.Errorf("delete log group %s: %w", names.LogGroup(), err)
		}
	}
	if err := m.deleteExecutionRole(ctx, name); err != nil {
		return err
	}
	for _, short := range platformParamNames {
		if err := m.deleteParam(ctx, names.Parameter(short)); err != nil {
			return err
		}
	}
	return nil
}

// checkNoServices fails with the names of services still in the cluster,
// which Terraform should have destroyed first. ListServices pages (10 a
// page unless asked for up to 100) and DescribeServices takes 10 names.
func (m *Manager) checkNoServices(ctx context.Context, cluster string) error {
	var arns []string
	p := ecs.NewListServicesPaginator(m.ecs, &ecs.ListServicesInput{Cluster: aws.String(cluster), MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list services of %s: %w", cluster, err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	var active []string
	for chunk := range slices.Chunk(arns, 10) {
		desc, err := m.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: chunk})
		if err != nil {
			return fmt.Errorf("describe services of %s: %w", cluster, err)
		}
		if err := ecsdeploy.FailuresError("describe services of "+cluster, desc.Failures); err != nil {
			return err
		}
		for _, s := range desc.Services {
			if aws.ToString(s.Status) == "ACTIVE" {
				active = append(active, aws.ToString(s.ServiceName))
			}
		}
	}
	if len(active) > 0 {
		return fmt.Errorf("cluster %s still runs services %s; destroy them (their pivot_service resources) before the environment", cluster, strings.Join(active, ", "))
	}
	return nil
}

func (m *Manager) deleteIngress(ctx context.Context, name string) error {
	names := NamesOf(name)
	if err := m.ingress.DeleteLoadBalancer(ctx, names.LoadBalancer()); err != nil {
		return err
	}
	ingressGroup, err := m.findSecurityGroup(ctx, "", names.IngressSecurityGroup())
	if errors.Is(err, errNoGroup) {
		return nil
	}
	if err != nil {
		return err
	}
	if services, err := m.findSecurityGroup(ctx, "", names.ServicesSecurityGroup()); err == nil {
		if err := m.revokeIngressFrom(ctx, services, ingressGroup); err != nil {
			return err
		}
	}
	return m.deleteSecurityGroup(ctx, names.IngressSecurityGroup())
}

func (m *Manager) accountID(ctx context.Context) (string, error) {
	out, err := m.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("get caller identity: %w", err)
	}
	return aws.ToString(out.Account), nil
}

// ensureNamespace finds or creates the environment's HTTP namespace,
// reporting whether it was created now.
func (m *Manager) ensureNamespace(ctx context.Context, env string) (sdtypes.Namespace, bool, error) {
	name := NamesOf(env).Namespace()
	if ns, err := m.findNamespace(ctx, name); err == nil {
		return ns, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return sdtypes.Namespace{}, false, err
	}
	op, err := m.sd.CreateHttpNamespace(ctx, &sd.CreateHttpNamespaceInput{
		Name:        aws.String(name),
		Description: aws.String("Service Connect namespace of Pivot environment " + env),
		Tags: []sdtypes.Tag{
			{Key: aws.String("pivot:environment"), Value: aws.String(env)},
			{Key: aws.String("pivot:managed-by"), Value: aws.String("terraform-provider-pivot")},
		},
	})
	if err != nil {
		return sdtypes.Namespace{}, false, fmt.Errorf("create namespace %s: %w", name, err)
	}
	if _, err := m.waitOperation(ctx, aws.ToString(op.OperationId)); err != nil {
		return sdtypes.Namespace{}, false, fmt.Errorf("create namespace %s: %w", name, err)
	}
	ns, err := m.findNamespace(ctx, name)
	return ns, true, err
}

func (m *Manager) findNamespace(ctx context.Context, name string) (sdtypes.Namespace, error) {
	p := sd.NewListNamespacesPaginator(m.sd, &sd.ListNamespacesInput{Filters: []sdtypes.NamespaceFilter{
		{Name: sdtypes.NamespaceFilterNameType, Values: []string{string(sdtypes.NamespaceTypeHttp)}, Condition: sdtypes.FilterConditionEq},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return sdtypes.Namespace{}, fmt.Errorf("list namespaces: %w", err)
		}
		for _, ns := range page.Namespaces {
			if aws.ToString(ns.Name) == name && ns.Type == sdtypes.NamespaceTypeHttp {
				return sdtypes.Namespace{Arn: ns.Arn, Id: ns.Id, Name: ns.Name, Type: ns.Type}, nil
			}
		}
	}
	return sdtypes.Namespace{}, ErrNotFound
}

func (m *Manager) deleteNamespace(ctx context.Context, env, arn string) error {
	id := lastSegment(arn)
	if id == "" {
		ns, err := m.findNamespace(ctx, NamesOf(env).Namespace())
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		id = aws.ToString(ns.Id)
	}
	// Service Connect registers a Cloud Map service per discovery name, and
	// a namespace with services cannot be deleted; ECS deregisters their
	// instances as tasks stop, which may take a while after the services go.
	deadline := time.Now().Add(m.timeout(10 * time.Minute))
	for interval := m.poll(); ; interval = min(2*interval, 15*time.Second) {
		err := m.deleteNamespaceOnce(ctx, id)
		var inUse *sdtypes.ResourceInUse
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &inUse) || time.Now().After(deadline):
			return err
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func (m *Manager) deleteNamespaceOnce(ctx context.Context, id string) error {
	p := sd.NewListServicesPaginator(m.sd, &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{
		{Name: sdtypes.ServiceFilterNameNamespaceId, Values: []string{id}, Condition: sdtypes.FilterConditionEq},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list services of namespace %s: %w", id, err)
		}
		for _, svc := range page.Services {
			if _, err := m.sd.DeleteService(ctx, &sd.DeleteServiceInput{Id: svc.Id}); err != nil {
				var nf *sdtypes.ServiceNotFound
				if !errors.As(err, &nf) {
					return fmt.Errorf("delete Cloud Map service %s: %w", aws.ToString(svc.Name), err)
				}
			}
		}
	}
	out, err := m.sd.DeleteNamespace(ctx, &sd.DeleteNamespaceInput{Id: aws.String(id)})
	var nf *sdtypes.NamespaceNotFound
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", id, err)
	}
	if _, err := m.waitOperation(ctx, aws.ToString(out.OperationId)); err != nil {
		return fmt.Errorf("delete namespace %s: %w", id, err)
	}
	return nil
}

func (m *Manager) waitOperation(ctx context.Context, id string) (*sdtypes.Operation, error) {
	deadline := time.Now().Add(m.timeout(5 * time.Minute))
	for interval := m.poll(); ; interval = min(2*interval, 10*time.Second) {
		out, err := m.sd.GetOperation(ctx, &sd.GetOperationInput{OperationId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("get operation %s: %w", id, err)
		}
		switch out.Operation.Status {
		case sdtypes.OperationStatusSuccess:
			return out.Operation, nil
		case sdtypes.OperationStatusFail:
			return nil, fmt.Errorf("operation %s failed: %s", id, aws.ToString(out.Operation.ErrorMessage))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("timed out waiting for operation %s", id)
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, err
		}
	}
}

func (m *Manager) ensureCluster(ctx context.Context, spec Spec, nsARN string) (string, error) {
	name := NamesOf(spec.Name).Cluster()
	settings := []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String(spec.ContainerInsights)}}
	defaults := &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String(nsARN)}
	out, err := m.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings}})
	if err != nil {
		return "", fmt.Errorf("describe cluster %s: %w", name, err)
	}
	if len(out.Clusters) == 0 || aws.ToString(out.Clusters[0].Status) != "ACTIVE" {
		created, err := ecsdeploy.CreateCluster(ctx, m.ecs, &ecs.CreateClusterInput{
			ClusterName: aws.String(name), Settings: settings, ServiceConnectDefaults: defaults, Tags: ecsTags(spec.Name),
		})
		if err != nil {
			return "", fmt.Errorf("create cluster %s: %w", name, err)
		}
		return aws.ToString(created.Cluster.ClusterArn), nil
	}
	c := out.Clusters[0]
	insights := "disabled"
	for _, s := range c.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights {
			insights = aws.ToString(s.Value)
		}
	}
	curNS := ""
	if c.ServiceConnectDefaults != nil {
		curNS = aws.ToString(c.ServiceConnectDefaults.Namespace)
	}
	if insights == spec.ContainerInsights && curNS == nsARN {
		return aws.ToString(c.ClusterArn), nil
	}
	if _, err := m.ecs.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String(name), Settings: settings, ServiceConnectDefaults: defaults}); err != nil {
		return "", fmt.Errorf("update cluster %s: %w", name, err)
	}
	return aws.ToString(c.ClusterArn), nil
}

func (m *Manager) ensureLogGroup(ctx context.Context, spec Spec) error {
	name := NamesOf(spec.Name).LogGroup()
	_, err := m.logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String(name),
		Tags:         map[string]string{"pivot:environment": spec.Name, "pivot:managed-by": "terraform-provider-pivot"},
	})
	var exists *logtypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create log group %s: %w", name, err)
	}
	if spec.LogRetentionDays == 0 {
		_, err = m.logs.DeleteRetentionPolicy(ctx, &cloudwatchlogs.DeleteRetentionPolicyInput{LogGroupName: aws.String(name)})
	} else {
		_, err = m.logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(int32(spec.LogRetentionDays))})
	}
	if err != nil {
		return fmt.Errorf("set retention of %s: %w", name, err)
	}
	return nil
}

const executionPolicyName = "platform"

// executionPolicy lets the platform tasks write their logs and read the
// environment's platform parameters, nothing else.
func executionPolicy(region, account, env string) string {
	names := NamesOf(env)
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Sid": "Logs", "Effect": "Allow", "Action": []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				"Resource": []string{fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", region, account, names.LogGroup())}},
			{"Sid": "PlatformParameters", "Effect": "Allow", "Action": []string{"ssm:GetParameters"},
				"Resource": []string{fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s/*", region, account, names.PlatformPath())}},
			{"Sid": "DecryptParameters", "Effect": "Allow", "Action": []string{"kms:Decrypt"}, "Resource": []string{"*"},
				"Condition": map[string]map[string]string{"StringEquals": {"kms:ViaService": "ssm." + region + ".amazonaws.com"}}},
		},
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

const ecsTrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func (m *Manager) ensureExecutionRole(ctx context.Context, env, account string) (string, error) {
	name := NamesOf(env).ExecutionRole()
	var arn string
	got, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	switch {
	case awsx.ErrorCode(err) == "NoSuchEntity":
		out, err := m.iam.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(ecsTrustPolicy),
			Description: aws.String("Execution role of Pivot environment " + env + "'s platform tasks (collector, NATS)"),
		})
		if awsx.ErrorCode(err) == "EntityAlreadyExists" {
			// A create whose answer was lost and that the SDK sent again:
			// the role is there (IAM may take a moment to show it).
			for i := 0; i < 30; i++ {
				got, err = m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
				if awsx.ErrorCode(err) != "NoSuchEntity" {
					break
				}
				time.Sleep(time.Second)
			}
			if err != nil {
				return "", fmt.Errorf("get role %s: %w", name, err)
			}
			arn = aws.ToString(got.Role.Arn)
			break
		}
		if err != nil {
			return "", fmt.Errorf("create role %s: %w", name, err)
		}
		arn = aws.ToString(out.Role.Arn)
	case err != nil:
		return "", fmt.Errorf("get role %s: %w", name, err)
	default:
		arn = aws.ToString(got.Role.Arn)
	}
	_, err = m.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(name), PolicyName: aws.String(executionPolicyName), PolicyDocument: aws.String(executionPolicy(m.region, account, env)),
	})
	if err != nil {
		return "", fmt.Errorf("put policy of role %s: %w", name, err)
	}
	return arn, nil
}

func (m *Manager) readExecutionRole(ctx context.Context, st *State) error {
	name := NamesOf(st.Spec.Name).ExecutionRole()
	got, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get role %s: %w", name, err)
	}
	st.ExecutionRoleARN = aws.ToString(got.Role.Arn)
	pol, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(executionPolicyName)})
	if awsx.ErrorCode(err) == "NoSuchEntity" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get policy of role %s: %w", name, err)
	}
	doc, err := url.QueryUnescape(aws.ToString(pol.PolicyDocument))
	if err != nil {
		doc = aws.ToString(pol.PolicyDocument)
	}
	account := accountOfARN(st.ExecutionRoleARN)
	if jsonEqual(doc, executionPolicy(m.region, account, st.Spec.Name)) {
		st.Components["execution_role"] = st.ExecutionRoleARN
	}
	return nil
}

func (m *Manager) deleteExecutionRole(ctx context.Context, env string) error {
	name := NamesOf(env).ExecutionRole()
	_, err := m.iam.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(executionPolicyName)})
	if err != nil && awsx.ErrorCode(err) != "NoSuchEntity" {
		return fmt.Errorf("delete policy of role %s: %w", name, err)
	}
	if _, err := m.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil && awsx.ErrorCode(err) != "NoSuchEntity" {
		return fmt.Errorf("delete role %s: %w", name, err)
	}
	return nil
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 5 {
		return ""
	}
	return parts[4]
}

func lastSegment(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return ""
}
