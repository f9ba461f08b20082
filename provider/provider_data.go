package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/nats-io/nats.go"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/cfdns"
	"github.com/pivotapp/platform/internal/natsconn"
)

// providerData is what Configure hands to every resource and data source.
// Each client is built on first use, so a configuration that never touches
// NATS never dials it.
type providerData struct {
	aws *awsx.Sessions

	cloudflareToken   string
	cloudflareBaseURL string
	cfOnce            sync.Once
	cf                *cfdns.Client
	cfErr             error

	natsDefault natsconn.Config
	nats        *natsconn.Pool

	postgresAdminURL string
}

// AWS returns the SDK configuration for a target (zero = the provider's).
func (d *providerData) AWS(ctx context.Context, t awsx.Target) (aws.Config, error) {
	return d.aws.For(ctx, t)
}

// Cloudflare returns the DNS client.
func (d *providerData) Cloudflare() (*cfdns.Client, error) {
	d.cfOnce.Do(func() {
		d.cf, d.cfErr = cfdns.New(cfdns.Config{APIToken: d.cloudflareToken, BaseURL: d.cloudflareBaseURL})
	})
	return d.cf, d.cfErr
}

// NATS returns a connection for a resource: its own connection block when it
// has one, the provider's otherwise.
func (d *providerData) NATS(override *natsconn.Config) (*nats.Conn, error) {
	cfg := d.natsDefault
	if override != nil && !override.IsZero() {
		cfg = *override
	}
	if cfg.IsZero() {
		return nil, errors.New("no NATS connection configured: set servers in the provider's nats block, the resource's connection block, or NATS_URL")
	}
	return d.nats.Get(cfg)
}

// PostgresAdminURL returns the cluster's admin URL (the master user).
func (d *providerData) PostgresAdminURL() (string, error) {
	if d.postgresAdminURL == "" {
		return "", errors.New("no Postgres admin access configured: set admin_url in the provider's postgres block or PIVOT_POSTGRES_ADMIN_URL")
	}
	return d.postgresAdminURL, nil
}

// providerDataFrom is the shared body of every Configure method.
func providerDataFrom(raw any, diags *diag.Diagnostics) *providerData {
	// Always perform a nil check when handling ProviderData because Terraform
	// sets that data after it calls the ConfigureProvider RPC.
	if raw == nil {
		return nil
	}
	d, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data Type",
			fmt.Sprintf("Expected *providerData, got: %T. Please report this issue to the provider developers.", raw))
		return nil
	}
	return d
}
