package tenant

import (
	"testing"

	"github.com/pivotapp/platform/internal/ecsdeploy"
	"github.com/pivotapp/platform/internal/environment"
)

func testService() Service {
	return Service{
		Name: "messenger", ImageRepository: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/pivot/messenger",
		CPU: 256, Memory: 512, DesiredCount: 1,
		Ports:   []ecsdeploy.Port{{Name: "grpc", ContainerPort: 8080, Protocol: "grpc"}},
		Env:     map[string]string{"NATS_URL": "nats://nats:4222", "STAGE": "acme"},
		Secrets: []string{"DATABASE_URL"},
	}
}

// What a refresh reads back as a Service deploys the same thing: otherwise
// every plan would show a change, or none where there is one.
func TestServiceOfRoundTrip(t *testing.T) {
	env := environment.Placement{ClusterARN: "arn:cluster", Subnets: []string{"subnet-1"}}
	spec := serviceSpec(testService(), "aaa111", "acme", env).WithDefaults()
	have := ecsdeploy.Deployed{Spec: spec, TaskDefinitionARN: "arn:td:1", TaskRoleARN: "arn:task", ExecutionRoleARN: "arn:exec"}
	back := serviceSpec(ServiceOf(spec, ecsdeploy.EnvContract{}), "aaa111", "acme", env)
	if got := ecsdeploy.Changes(back, have); len(got) != 0 {
		t.Fatalf("round trip changes %v", got)
	}
	// A setting a Service cannot express is not silently dropped.
	spec.HealthCheck.Interval = 60
	have.Spec = spec
	back = serviceSpec(ServiceOf(spec, ecsdeploy.EnvContract{}), "aaa111", "acme", env)
	if got := ecsdeploy.Changes(back, have); len(got) == 0 {
		t.Fatal("a health check interval set out of band went unnoticed")
	}
}

func TestCheckContracts(t *testing.T) {
	svc := testService()
	svc.Contract = ecsdeploy.EnvContract{Schema: []ecsdeploy.EnvVar{
		{Name: "STAGE", Required: true}, {Name: "DATABASE_URL", Required: true, Secret: true}, {Name: "JWT_AUDIENCE", Required: true},
	}}
	spec := Spec{Tenant: "acme", Environment: environment.Spec{Name: "acme"}, Services: []Service{svc}, Images: map[string]string{"messenger": "aaa111"}}
	problems := CheckContracts(spec)
	if len(problems) != 1 || problems[0].Service != "messenger" || problems[0].Warning {
		t.Fatalf("problems = %+v, want one error about JWT_AUDIENCE", problems)
	}
}
