package ecsdeploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func scService(sc *ecstypes.ServiceConnectConfiguration) ecstypes.Service {
	return ecstypes.Service{Deployments: []ecstypes.Deployment{
		{Status: aws.String("ACTIVE")},
		{Status: aws.String("PRIMARY"), ServiceConnectConfiguration: sc},
	}}
}

// Real ECS reports Service Connect on the PRIMARY deployment; what it
// reports is read back, defaults staying unset.
func TestObserveServiceConnect(t *testing.T) {
	c := New(aws.Config{Region: "eu-west-1"})
	s := unitSpec()
	same := &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String(s.Namespace), Services: []ecstypes.ServiceConnectService{
		{PortName: aws.String("grpc"), DiscoveryName: aws.String("messenger"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(8080), DnsName: aws.String("messenger")}}},
		{PortName: aws.String("admin"), DiscoveryName: aws.String("messenger-admin"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(80), DnsName: aws.String("messenger-admin")}}},
	}}
	got := c.observeServiceConnect(context.Background(), s, scService(same))
	if got.Ports[0].DiscoveryName != "" || got.Ports[0].ClientAlias != nil || *got.Ports[1].ClientAlias != (ClientAlias{80, "messenger-admin"}) {
		t.Fatalf("unchanged Service Connect read back as %+v", got.Ports)
	}

	changed := *same
	changed.Services = []ecstypes.ServiceConnectService{
		{PortName: aws.String("grpc"), DiscoveryName: aws.String("chat"), ClientAliases: []ecstypes.ServiceConnectClientAlias{{Port: aws.Int32(9000), DnsName: aws.String("chat")}}},
		same.Services[1],
	}
	got = c.observeServiceConnect(context.Background(), s, scService(&changed))
	if got.Ports[0].DiscoveryName != "chat" || got.Ports[0].ClientAlias == nil || *got.Ports[0].ClientAlias != (ClientAlias{9000, "chat"}) {
		t.Fatalf("out-of-band Service Connect change not seen: %+v", got.Ports[0])
	}

	got = c.observeServiceConnect(context.Background(), s, scService(&ecstypes.ServiceConnectConfiguration{Enabled: false}))
	if got.Namespace != "" {
		t.Fatal("Service Connect disabled out of band must show as a missing namespace")
	}

	// moto reports nothing: the configured settings stand.
	got = c.observeServiceConnect(context.Background(), s, scService(nil))
	if got.Namespace != s.Namespace || got.Ports[1].ClientAlias == nil {
		t.Fatalf("with nothing reported the configured settings must stay: %+v", got)
	}
}

func TestServiceSteady(t *testing.T) {
	since := time.Now()
	after := aws.Time(since.Add(time.Second))
	steady := ecstypes.Service{RunningCount: 2, DesiredCount: 2, Deployments: []ecstypes.Deployment{
		{Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateCompleted, CreatedAt: after},
	}}
	if done, _, err := serviceSteady("staging", "api", steady, since); !done || err != nil {
		t.Fatalf("steady service judged %v, %v", done, err)
	}

	rolling := ecstypes.Service{RunningCount: 1, DesiredCount: 2, Deployments: []ecstypes.Deployment{
		{Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateInProgress, CreatedAt: after},
		{Status: aws.String("ACTIVE"), RolloutState: ecstypes.DeploymentRolloutStateCompleted},
	}}
	done, status, err := serviceSteady("staging", "api", rolling, since)
	if done || err != nil || status != "1 of 2 tasks running, 2 deployment(s), rollout IN_PROGRESS" {
		t.Fatalf("rolling service judged %v, %q, %v", done, status, err)
	}

	rolledBack := ecstypes.Service{Deployments: []ecstypes.Deployment{
		{Status: aws.String("PRIMARY"), RolloutState: ecstypes.DeploymentRolloutStateInProgress, CreatedAt: after},
		{Status: aws.String("ACTIVE"), RolloutState: ecstypes.DeploymentRolloutStateFailed, CreatedAt: after,
			RolloutStateReason: aws.String("ECS deployment circuit breaker: tasks failed to start.")},
	}}
	_, _, err = serviceSteady("staging", "api", rolledBack, since)
	var de *DeploymentError
	if !errors.As(err, &de) || !de.RolledBack || !strings.Contains(err.Error(), "rolled it back: ECS deployment circuit breaker: tasks failed to start.") {
		t.Fatalf("rollback judged %v", err)
	}

	// A failure from before this change is history, not this deployment's.
	old := rolledBack
	old.Deployments = []ecstypes.Deployment{{Status: aws.String("ACTIVE"), RolloutState: ecstypes.DeploymentRolloutStateFailed, CreatedAt: aws.Time(since.Add(-time.Hour))}}
	if _, _, err := serviceSteady("staging", "api", old, since); err != nil {
		t.Fatalf("an old failed deployment failed this one: %v", err)
	}
}

func TestDeploymentSteady(t *testing.T) {
	if done, _, err := deploymentSteady("c", "s", ecstypes.ServiceDeploymentStatusSuccessful, ""); !done || err != nil {
		t.Fatal("SUCCESSFUL is steady")
	}
	_, _, err := deploymentSteady("c", "s", ecstypes.ServiceDeploymentStatusRollbackSuccessful, "tasks failed health checks")
	var de *DeploymentError
	if !errors.As(err, &de) || !de.RolledBack || de.Reason != "tasks failed health checks" {
		t.Fatalf("ROLLBACK_SUCCESSFUL judged %v", err)
	}
	if _, status, err := deploymentSteady("c", "s", ecstypes.ServiceDeploymentStatusInProgress, ""); err != nil || status != "deployment IN_PROGRESS" {
		t.Fatalf("IN_PROGRESS judged %q, %v", status, err)
	}
	e := &DeploymentError{Service: "s", Cluster: "c", Reason: "r", StoppedTasks: []string{"abc: Essential container in task exited (app: exit 1 )"}}
	if !strings.Contains(e.Error(), "Stopped tasks:\n  - abc: Essential container in task exited") {
		t.Fatalf("stopped tasks missing from %q", e.Error())
	}
}

func TestCheckRequestChangedSince(t *testing.T) {
	prior := Spec{
		Name: "messenger", Environment: "acme", Cluster: "acme", Namespace: "acme.pivot.local",
		Secrets: []string{"JWT_KEY"}, PlatformSecrets: []string{"NATS_PASSWORD"},
		Network: Network{Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"}},
	}
	full := CheckRequest{
		Name: "messenger", Environment: "acme", Cluster: "acme", Namespace: "acme.pivot.local",
		Secrets: []string{"JWT_KEY"}, PlatformSecrets: []string{"NATS_PASSWORD"},
		Subnets: []string{"subnet-1"}, SecurityGroups: []string{"sg-1"},
	}
	// A new image changes no dependency: nothing to ask.
	got := full.changedSince(prior)
	if got.Cluster != "" || got.Namespace != "" || len(got.Secrets)+len(got.PlatformSecrets)+len(got.Subnets)+len(got.SecurityGroups) != 0 {
		t.Errorf("an image bump still checks %+v", got)
	}
	// What changes is checked, and only that.
	changed := full
	changed.Namespace = "other.pivot.local"
	changed.Secrets = []string{"JWT_KEY", "API_KEY"}
	changed.Subnets = []string{"subnet-2"}
	got = changed.changedSince(prior)
	if got.Cluster != "" || got.Namespace != "other.pivot.local" || !slices.Equal(got.Secrets, []string{"API_KEY"}) ||
		len(got.PlatformSecrets) != 0 || !slices.Equal(got.Subnets, []string{"subnet-2"}) || !slices.Equal(got.SecurityGroups, []string{"sg-1"}) {
		t.Errorf("changed dependencies: got %+v", got)
	}
	if !slices.Equal(changed.Secrets, []string{"JWT_KEY", "API_KEY"}) {
		t.Errorf("changedSince modified its receiver's secrets: %v", changed.Secrets)
	}
	// In another environment every secret is another parameter.
	moved := full
	moved.Environment = "beta"
	if got := moved.changedSince(prior); !slices.Equal(got.Secrets, []string{"JWT_KEY"}) || !slices.Equal(got.PlatformSecrets, []string{"NATS_PASSWORD"}) {
		t.Errorf("moved environment: got %+v", got)
	}
}
