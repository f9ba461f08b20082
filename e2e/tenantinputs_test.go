package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// tenantNATS gives Terraform a way to each tenant's managed NATS, which
// runs as a task in the tenant's own network on the local ECS runtime: the
// runtime publishes its port on the host, where Terraform puts the
// tenant's streams. tenants maps each tenant's name to its account. It
// returns the operator-supplied inputs of envs/tenants as HCL maps:
// tenant_nats_passwords and tenant_jetstream_urls.
func (s *stack) tenantNATS(t testing.TB, tenants map[string]string) (passwords, urls string) {
	t.Helper()
	var pw, us []string
	for _, name := range slices.Sorted(maps.Keys(tenants)) {
		addr, err := s.ecs.Publish(tenants[name], name, "nats", 4222)
		if err != nil {
			t.Fatal(err)
		}
		pw = append(pw, fmt.Sprintf("%q = %q", name, randomHex(t, 16)))
		us = append(us, fmt.Sprintf("%q = %q", name, "nats://"+addr))
	}
	return "{ " + strings.Join(pw, ", ") + " }", "{ " + strings.Join(us, ", ") + " }"
}
