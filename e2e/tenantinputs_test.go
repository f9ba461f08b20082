package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pivotapp/platform/internal/localstack"
)

// tenantNATS stands in for each tenant's managed NATS where moto runs no
// task: a server of the test's per tenant, where Terraform puts the
// tenant's streams. It returns the operator-supplied inputs of envs/tenants
// as HCL maps: tenant_nats_passwords and tenant_jetstream_urls.
func tenantNATS(t testing.TB, names ...string) (passwords, urls string) {
	t.Helper()
	var pw, us []string
	for _, name := range names {
		n, err := localstack.StartNATS(localstack.NATSOptions{StoreDir: filepath.Join(t.TempDir(), "nats-"+name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Stop)
		pw = append(pw, fmt.Sprintf("%q = %q", name, randomHex(t, 16)))
		us = append(us, fmt.Sprintf("%q = %q", name, n.URL))
	}
	return "{ " + strings.Join(pw, ", ") + " }", "{ " + strings.Join(us, ", ") + " }"
}
