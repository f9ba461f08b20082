package provider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/nats-io/jsm.go"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/acctest"
	"github.com/pivotapp/platform/internal/localstack"
)

// natsTestConfig renders a provider block for n followed by body.
func natsTestConfig(n *localstack.NATS, body string) string {
	return acctest.ProviderConfig(acctest.NATSBlock(n)) + body
}

// natsInspect connects to n independently of the provider, the way an
// operator with the nats CLI would, to look at or change what Terraform
// manages. opts select the account (user/password) on multi-account servers.
func natsInspect(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, *jsm.Manager) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	mgr, err := jsm.New(nc)
	if err != nil {
		t.Fatalf("jsm: %v", err)
	}
	return nc, mgr
}

// checkStreamsGone is a CheckDestroy that asks the server, not the state.
func checkStreamsGone(mgr *jsm.Manager, names ...string) func(*terraform.State) error {
	return func(*terraform.State) error {
		var errs []error
		for _, n := range names {
			known, err := mgr.IsKnownStream(n)
			if err != nil {
				errs = append(errs, fmt.Errorf("look up stream %s: %w", n, err))
			} else if known {
				errs = append(errs, fmt.Errorf("stream %s still exists after destroy", n))
			}
		}
		return errors.Join(errs...)
	}
}

// natsMustStream loads a stream through jsm or fails the check.
func natsMustStream(mgr *jsm.Manager, name string) (*jsm.Stream, error) {
	s, err := mgr.LoadStream(name)
	if err != nil {
		return nil, fmt.Errorf("load stream %s: %w", name, err)
	}
	return s, nil
}
