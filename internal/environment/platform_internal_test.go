package environment

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS always reports a service's deployment configuration; moto never
// does. A missing one must not read as "not stop-first", or every apply
// would redeploy NATS.
func TestPlatformServiceOf_deploymentConfiguration(t *testing.T) {
	td := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String("arn:td:1")}
	cases := []struct {
		name              string
		dc                *ecstypes.DeploymentConfiguration
		wantKnown, wantSF bool
	}{
		{"not reported", nil, false, false},
		{"stop first", &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(0), MaximumPercent: aws.Int32(100)}, true, true},
		{"rolling", &ecstypes.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200)}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := platformServiceOf(ecstypes.Service{ServiceName: aws.String("nats"), DeploymentConfiguration: c.dc}, td)
			if ps.DeploymentKnown != c.wantKnown || ps.StopFirst != c.wantSF {
				t.Errorf("known=%v stopFirst=%v, want %v %v", ps.DeploymentKnown, ps.StopFirst, c.wantKnown, c.wantSF)
			}
		})
	}
}
