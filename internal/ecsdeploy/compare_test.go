package ecsdeploy_test

import (
	"slices"
	"testing"

	"github.com/pivotapp/platform/internal/ecsdeploy"
)

func TestChanges(t *testing.T) {
	base := ecsdeploy.Spec{
		Name: "messenger", Environment: "acme", Cluster: "acme",
		Image: ecsdeploy.Image{Repository: "111111111111.dkr.ecr.eu-west-1.amazonaws.com/pivot/messenger", Tag: "aaa111"},
		CPU:   256, Memory: 512, DesiredCount: 1,
		Ports:   []ecsdeploy.Port{{Name: "grpc", ContainerPort: 8080}},
		Env:     map[string]string{"LOG_LEVEL": "info"},
		Secrets: []string{"JWT_KEY"},
		Network: ecsdeploy.Network{Subnets: []string{"subnet-1"}},
	}
	have := ecsdeploy.Deployed{Spec: base, TaskDefinitionARN: "arn:td:1", TaskRoleARN: "arn:task", ExecutionRoleARN: "arn:exec"}
	if got := ecsdeploy.Changes(base, have); len(got) != 0 {
		t.Fatalf("an unchanged service has changes %v", got)
	}
	for _, tc := range []struct {
		name string
		edit func(*ecsdeploy.Spec)
		want []string
	}{
		{"env with the same tag", func(s *ecsdeploy.Spec) { s.Env = map[string]string{"LOG_LEVEL": "debug"} }, []string{"task definition"}},
		{"secret added", func(s *ecsdeploy.Spec) { s.Secrets = []string{"JWT_KEY", "DATABASE_URL"} }, []string{"task definition"}},
		{"size", func(s *ecsdeploy.Spec) { s.CPU, s.Memory = 512, 1024 }, []string{"task definition"}},
		{"port", func(s *ecsdeploy.Spec) { s.Ports = []ecsdeploy.Port{{Name: "grpc", ContainerPort: 9090}} }, []string{"task definition", "service connect"}},
		{"health check", func(s *ecsdeploy.Spec) { s.HealthCheck.Path = "/ready" }, []string{"task definition"}},
		{"count", func(s *ecsdeploy.Spec) { s.DesiredCount = 3 }, []string{"desired count"}},
		{"network", func(s *ecsdeploy.Spec) { s.Network.Subnets = []string{"subnet-2"} }, []string{"network"}},
		{"tag", func(s *ecsdeploy.Spec) { s.Image.Tag = "bbb222" }, []string{"task definition"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := base
			want.Env, want.Ports = map[string]string{"LOG_LEVEL": "info"}, slices.Clone(base.Ports)
			tc.edit(&want)
			if got := ecsdeploy.Changes(want, have); !slices.Equal(got, tc.want) {
				t.Errorf("Changes = %v, want %v", got, tc.want)
			}
		})
	}
	// What Refresh cannot vouch for is always deployed over.
	unmanaged := have
	unmanaged.Unmanaged = true
	if got := ecsdeploy.Changes(base, unmanaged); !slices.Equal(got, []string{"task definition"}) {
		t.Errorf("an unmanaged revision: Changes = %v", got)
	}
	noRoles := have
	noRoles.TaskRoleARN = ""
	if got := ecsdeploy.Changes(base, noRoles); !slices.Equal(got, []string{"roles"}) {
		t.Errorf("roles not known: Changes = %v", got)
	}
}
