// Package provider is the Pivot Terraform provider: a thin layer of schemas
// and model conversion over the building blocks in internal/.
package provider

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/natsconn"
)

// Address is the provider's registry source address.
const Address = "registry.terraform.io/pivotapp/pivot"

var (
	_ provider.Provider                   = &pivotProvider{}
	_ provider.ProviderWithFunctions      = &pivotProvider{}
	_ provider.ProviderWithValidateConfig = &pivotProvider{}
)

// New returns a constructor for the provider, as providerserver wants it.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &pivotProvider{version: version}
	}
}

// extraResources and extraDataSources let each resource file register itself
// from an init function, so adding a resource touches one file.
var (
	extraResources   []func() resource.Resource
	extraDataSources []func() datasource.DataSource
)

func registerResource(f func() resource.Resource) { extraResources = append(extraResources, f) }
func registerDataSource(f func() datasource.DataSource) {
	extraDataSources = append(extraDataSources, f)
}

type pivotProvider struct {
	version string
}

func (p *pivotProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "pivot"
	resp.Version = p.version
}

func (p *pivotProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The Pivot provider deploys a service-oriented platform on AWS ECS with Service Connect, " +
			"NATS JetStream, Aurora PostgreSQL, Parameter Store and Cloudflare DNS, including single-tenant " +
			"deployments in customers' own AWS accounts. Every block is optional; clients are built only when a " +
			"resource needs them.",
		Blocks: map[string]schema.Block{
			"aws": schema.SingleNestedBlock{
				MarkdownDescription: "AWS access. Unset attributes fall back to the SDK's conventional environment " +
					"variables (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_PROFILE`, ...).",
				Attributes: map[string]schema.Attribute{
					"region":              schema.StringAttribute{Optional: true, MarkdownDescription: "Region to act in. Defaults to `AWS_REGION` / `AWS_DEFAULT_REGION`."},
					"endpoint":            schema.StringAttribute{Optional: true, MarkdownDescription: "Base endpoint for every AWS service, e.g. the local platform stack's moto server. Defaults to `AWS_ENDPOINT_URL`."},
					"access_key":          schema.StringAttribute{Optional: true, MarkdownDescription: "Static access key. Prefer the environment or a profile."},
					"secret_key":          schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Static secret key, with `access_key`."},
					"profile":             schema.StringAttribute{Optional: true, MarkdownDescription: "Shared config profile. Defaults to `AWS_PROFILE`."},
					"allowed_account_ids": schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Refuse to act in any account not listed here."},
					"max_retries":         schema.Int64Attribute{Optional: true, MarkdownDescription: "Maximum attempts for a throttled or failed AWS call (the SDK's retryer). Default 3."},
				},
				Blocks: map[string]schema.Block{
					"assume_role": schema.SingleNestedBlock{
						MarkdownDescription: "Role to assume for every AWS call, unless a resource's `target` names another.",
						Attributes: map[string]schema.Attribute{
							"role_arn":     schema.StringAttribute{Optional: true, MarkdownDescription: "ARN of the role, `arn:aws:iam::<account>:role/<name>`."},
							"external_id":  schema.StringAttribute{Optional: true, MarkdownDescription: "External ID the role's trust policy requires."},
							"session_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Session name recorded in CloudTrail. Default `pivot`."},
						},
					},
				},
			},
			"cloudflare": schema.SingleNestedBlock{
				MarkdownDescription: "Cloudflare API access for DNS records.",
				Attributes: map[string]schema.Attribute{
					"api_token": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "API token with DNS edit rights. Defaults to `CLOUDFLARE_API_TOKEN`."},
					"base_url":  schema.StringAttribute{Optional: true, MarkdownDescription: "API base URL, for the local platform stack's emulator. Defaults to `CLOUDFLARE_BASE_URL`, then the real API."},
				},
			},
			"nats": schema.SingleNestedBlock{
				MarkdownDescription: "Default NATS connection for JetStream resources. Resources may carry their own `connection` block.",
				Attributes:          natsConnectionAttributes(),
				Blocks:              map[string]schema.Block{"tls": natsTLSBlock()},
			},
			"postgres": schema.SingleNestedBlock{
				MarkdownDescription: "Administrative access to the PostgreSQL (Aurora) cluster, used to create per-service databases and roles.",
				Attributes: map[string]schema.Attribute{
					"admin_url": schema.StringAttribute{Optional: true, Sensitive: true, MarkdownDescription: "Admin connection URL, `postgres://user:password@host:port/postgres`: the Aurora master user (CREATEROLE and CREATEDB suffice; no superuser needed). Defaults to `PIVOT_POSTGRES_ADMIN_URL`, then the `PG*` variables."},
				},
			},
		},
	}
}

// providerModel is the provider block.
type providerModel struct {
	AWS        *awsModel        `tfsdk:"aws"`
	Cloudflare *cloudflareModel `tfsdk:"cloudflare"`
	NATS       *natsModel       `tfsdk:"nats"`
	Postgres   *postgresModel   `tfsdk:"postgres"`
}

type awsModel struct {
	Region            types.String     `tfsdk:"region"`
	Endpoint          types.String     `tfsdk:"endpoint"`
	AccessKey         types.String     `tfsdk:"access_key"`
	SecretKey         types.String     `tfsdk:"secret_key"`
	Profile           types.String     `tfsdk:"profile"`
	AllowedAccountIDs types.List       `tfsdk:"allowed_account_ids"`
	MaxRetries        types.Int64      `tfsdk:"max_retries"`
	AssumeRole        *assumeRoleModel `tfsdk:"assume_role"`
}

type assumeRoleModel struct {
	RoleARN     types.String `tfsdk:"role_arn"`
	ExternalID  types.String `tfsdk:"external_id"`
	SessionName types.String `tfsdk:"session_name"`
}

type cloudflareModel struct {
	APIToken types.String `tfsdk:"api_token"`
	BaseURL  types.String `tfsdk:"base_url"`
}

type postgresModel struct {
	AdminURL types.String `tfsdk:"admin_url"`
}

func (p *pivotProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Only known values can be checked here; unknown ones are checked again
	// in Configure once Terraform has them.
	if cfg.AWS != nil {
		if v := cfg.AWS.Endpoint; known(v) {
			if err := validateHTTPURL(v.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("aws").AtName("endpoint"), "Invalid AWS Endpoint", err.Error()+". Use a URL such as http://127.0.0.1:5000.")
			}
		}
		if ar := cfg.AWS.AssumeRole; ar != nil && known(ar.RoleARN) {
			if err := awsx.ValidateRoleARN(ar.RoleARN.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("aws").AtName("assume_role").AtName("role_arn"), "Invalid Role ARN", err.Error())
			}
		}
		for i, v := range cfg.AWS.AllowedAccountIDs.Elements() {
			id, ok := v.(types.String)
			if ok && known(id) && !awsx.IsAccountID(id.ValueString()) {
				resp.Diagnostics.AddAttributeError(path.Root("aws").AtName("allowed_account_ids").AtListIndex(i), "Invalid Account ID",
					fmt.Sprintf("%q is not a 12-digit AWS account ID.", id.ValueString()))
			}
		}
	}
	if cfg.Cloudflare != nil && known(cfg.Cloudflare.BaseURL) {
		if err := validateHTTPURL(cfg.Cloudflare.BaseURL.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("cloudflare").AtName("base_url"), "Invalid Cloudflare Base URL", err.Error()+". Use e.g. https://api.cloudflare.com/client/v4.")
		}
	}
	if cfg.Postgres != nil && known(cfg.Postgres.AdminURL) {
		if err := validatePostgresURL(cfg.Postgres.AdminURL.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("postgres").AtName("admin_url"), "Invalid Postgres Admin URL", err.Error())
		}
	}
	if cfg.NATS != nil && cfg.NATS.allKnown() {
		c := cfg.NATS.config()
		if !c.IsZero() {
			addNATSConfigErrors(&resp.Diagnostics, path.Root("nats"), c)
		}
	}
}

func (p *pivotProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{
		nats: natsconn.NewPool("terraform-provider-pivot/" + p.version),
	}

	awsCfg := awsx.Config{Endpoint: os.Getenv("AWS_ENDPOINT_URL")}
	if a := cfg.AWS; a != nil {
		awsCfg.Region = a.Region.ValueString()
		if v := a.Endpoint.ValueString(); v != "" {
			awsCfg.Endpoint = v
		}
		awsCfg.AccessKey = a.AccessKey.ValueString()
		awsCfg.SecretKey = a.SecretKey.ValueString()
		awsCfg.Profile = a.Profile.ValueString()
		awsCfg.MaxRetries = int(a.MaxRetries.ValueInt64())
		// An allow-list still unknown (computed from a resource) is enforced
		// when Terraform configures the provider again with it known.
		for _, v := range a.AllowedAccountIDs.Elements() {
			if id, ok := v.(types.String); ok && known(id) {
				awsCfg.AllowedAccountIDs = append(awsCfg.AllowedAccountIDs, id.ValueString())
			}
		}
		if ar := a.AssumeRole; ar != nil && ar.RoleARN.ValueString() != "" {
			awsCfg.AssumeRole = &awsx.AssumeRole{RoleARN: ar.RoleARN.ValueString(), ExternalID: ar.ExternalID.ValueString(), SessionName: ar.SessionName.ValueString()}
		}
	}
	if err := awsCfg.Validate(); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("aws"), "Invalid AWS Configuration", err.Error())
	}
	data.aws = awsx.NewSessions(awsCfg)

	data.cloudflareToken = os.Getenv("CLOUDFLARE_API_TOKEN")
	data.cloudflareBaseURL = os.Getenv("CLOUDFLARE_BASE_URL")
	if c := cfg.Cloudflare; c != nil {
		if v := c.APIToken.ValueString(); v != "" {
			data.cloudflareToken = v
		}
		if v := c.BaseURL.ValueString(); v != "" {
			data.cloudflareBaseURL = v
		}
	}

	data.natsDefault = natsFromEnv()
	if n := cfg.NATS; n != nil {
		data.natsDefault = mergeNATS(data.natsDefault, n.config())
	}
	if !data.natsDefault.IsZero() {
		addNATSConfigErrors(&resp.Diagnostics, path.Root("nats"), data.natsDefault)
	}

	data.postgresAdminURL = postgresURLFromEnv()
	if pg := cfg.Postgres; pg != nil && pg.AdminURL.ValueString() != "" {
		data.postgresAdminURL = pg.AdminURL.ValueString()
	}
	if data.postgresAdminURL != "" {
		if err := validatePostgresURL(data.postgresAdminURL); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("postgres").AtName("admin_url"), "Invalid Postgres Admin URL", err.Error())
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *pivotProvider) Resources(_ context.Context) []func() resource.Resource {
	return extraResources
}

func (p *pivotProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return extraDataSources
}

func (p *pivotProvider) Functions(_ context.Context) []func() function.Function {
	return nil
}

func known(v interface {
	IsNull() bool
	IsUnknown() bool
}) bool {
	return !v.IsNull() && !v.IsUnknown()
}

func validateHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func validatePostgresURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return fmt.Errorf("the admin URL is not a postgres:// URL; use postgres://user:password@host:port/postgres")
	}
	if u.User == nil || u.User.Username() == "" {
		return fmt.Errorf("the admin URL names no user; use postgres://user:password@host:port/postgres")
	}
	return nil
}

// postgresURLFromEnv follows libpq's conventional variables when no URL is
// given, so a shell set up for psql works unchanged.
func postgresURLFromEnv() string {
	if v := os.Getenv("PIVOT_POSTGRES_ADMIN_URL"); v != "" {
		return v
	}
	host := os.Getenv("PGHOST")
	if host == "" {
		return ""
	}
	u := url.URL{Scheme: "postgres", Host: host, Path: "/" + envOr("PGDATABASE", "postgres")}
	if port := os.Getenv("PGPORT"); port != "" {
		u.Host = host + ":" + port
	}
	if user := os.Getenv("PGUSER"); user != "" {
		u.User = url.UserPassword(user, os.Getenv("PGPASSWORD"))
	}
	if mode := os.Getenv("PGSSLMODE"); mode != "" {
		u.RawQuery = "sslmode=" + mode
	}
	return u.String()
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func splitServers(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
