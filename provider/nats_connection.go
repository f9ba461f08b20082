package provider

import (
	"errors"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/natsconn"
)

// natsModel is the provider's nats block and a resource's connection block:
// the same attributes, so one can stand in for the other.
type natsModel struct {
	Servers         []types.String `tfsdk:"servers"`
	CredentialsFile types.String   `tfsdk:"credentials_file"`
	Credentials     types.String   `tfsdk:"credentials"`
	NKey            types.String   `tfsdk:"nkey"`
	User            types.String   `tfsdk:"user"`
	Password        types.String   `tfsdk:"password"`
	Token           types.String   `tfsdk:"token"`
	TLS             *natsTLSModel  `tfsdk:"tls"`
}

type natsTLSModel struct {
	CAFile   types.String `tfsdk:"ca_file"`
	CertFile types.String `tfsdk:"cert_file"`
	KeyFile  types.String `tfsdk:"key_file"`
}

var natsAttrDescriptions = map[string]string{
	"servers":          "NATS server URLs, e.g. `[\"nats://127.0.0.1:4222\"]`. Defaults to `NATS_URL` (comma-separated).",
	"credentials_file": "Path to a `.creds` file (JWT + nkey). Defaults to `NATS_CREDS`.",
	"credentials":      "Inline contents of a `.creds` file.",
	"nkey":             "Inline nkey user seed (`SU...`). Defaults to `NATS_NKEY`.",
	"user":             "User name for user/password authentication. Defaults to `NATS_USER`.",
	"password":         "Password, with `user`. Defaults to `NATS_PASSWORD`.",
	"token":            "Authentication token. Defaults to `NATS_TOKEN`.",
}

var natsSensitive = map[string]bool{"credentials": true, "nkey": true, "password": true, "token": true}

func natsConnectionAttributes() map[string]schema.Attribute {
	out := map[string]schema.Attribute{}
	for name, desc := range natsAttrDescriptions {
		if name == "servers" {
			out[name] = schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: desc}
			continue
		}
		out[name] = schema.StringAttribute{Optional: true, Sensitive: natsSensitive[name], MarkdownDescription: desc}
	}
	return out
}

func natsTLSBlock() schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: "TLS settings. Defaults to `NATS_CA`, `NATS_CERT`, `NATS_KEY`.",
		Attributes: map[string]schema.Attribute{
			"ca_file":   schema.StringAttribute{Optional: true, MarkdownDescription: "CA certificate file."},
			"cert_file": schema.StringAttribute{Optional: true, MarkdownDescription: "Client certificate file."},
			"key_file":  schema.StringAttribute{Optional: true, MarkdownDescription: "Client key file."},
		},
	}
}

// natsConnectionResourceBlock is the per-resource `connection` block, which
// lets one configuration manage several NATS systems or accounts.
func natsConnectionResourceBlock() rschema.SingleNestedBlock {
	attrs := map[string]rschema.Attribute{}
	for name, desc := range natsAttrDescriptions {
		if name == "servers" {
			attrs[name] = rschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: desc}
			continue
		}
		attrs[name] = rschema.StringAttribute{Optional: true, Sensitive: natsSensitive[name], MarkdownDescription: desc}
	}
	return rschema.SingleNestedBlock{
		MarkdownDescription: "Connection for this resource only, instead of the provider's `nats` block. Environment defaults do not apply here.",
		Attributes:          attrs,
		Blocks: map[string]rschema.Block{
			"tls": rschema.SingleNestedBlock{
				MarkdownDescription: "TLS settings.",
				Attributes: map[string]rschema.Attribute{
					"ca_file":   rschema.StringAttribute{Optional: true, MarkdownDescription: "CA certificate file."},
					"cert_file": rschema.StringAttribute{Optional: true, MarkdownDescription: "Client certificate file."},
					"key_file":  rschema.StringAttribute{Optional: true, MarkdownDescription: "Client key file."},
				},
			},
		},
	}
}

func (m *natsModel) allKnown() bool {
	for _, s := range m.Servers {
		if s.IsUnknown() {
			return false
		}
	}
	for _, v := range []types.String{m.CredentialsFile, m.Credentials, m.NKey, m.User, m.Password, m.Token} {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

// config converts the block; a nil block is the zero Config.
func (m *natsModel) config() natsconn.Config {
	if m == nil {
		return natsconn.Config{}
	}
	c := natsconn.Config{
		CredentialsFile: m.CredentialsFile.ValueString(),
		Credentials:     m.Credentials.ValueString(),
		NKeySeed:        m.NKey.ValueString(),
		User:            m.User.ValueString(),
		Password:        m.Password.ValueString(),
		Token:           m.Token.ValueString(),
	}
	for _, s := range m.Servers {
		c.Servers = append(c.Servers, splitServers(s.ValueString())...)
	}
	if t := m.TLS; t != nil && (t.CAFile.ValueString() != "" || t.CertFile.ValueString() != "" || t.KeyFile.ValueString() != "") {
		c.TLS = &natsconn.TLS{CAFile: t.CAFile.ValueString(), CertFile: t.CertFile.ValueString(), KeyFile: t.KeyFile.ValueString()}
	}
	return c
}

func natsFromEnv() natsconn.Config {
	c := natsconn.Config{
		Servers:         splitServers(os.Getenv("NATS_URL")),
		CredentialsFile: os.Getenv("NATS_CREDS"),
		NKeySeed:        os.Getenv("NATS_NKEY"),
		User:            os.Getenv("NATS_USER"),
		Password:        os.Getenv("NATS_PASSWORD"),
		Token:           os.Getenv("NATS_TOKEN"),
	}
	if ca, cert, key := os.Getenv("NATS_CA"), os.Getenv("NATS_CERT"), os.Getenv("NATS_KEY"); ca != "" || cert != "" || key != "" {
		c.TLS = &natsconn.TLS{CAFile: ca, CertFile: cert, KeyFile: key}
	}
	return c
}

// mergeNATS lays explicit settings over the environment's. Authentication
// is taken as a whole from whichever side sets any of it, so an env user
// never mixes with a configured credentials file.
func mergeNATS(env, cfg natsconn.Config) natsconn.Config {
	out := env
	if len(cfg.Servers) > 0 {
		out.Servers = cfg.Servers
	}
	if cfg.CredentialsFile != "" || cfg.Credentials != "" || cfg.NKeySeed != "" || cfg.NKeySeedFile != "" || cfg.User != "" || cfg.Password != "" || cfg.Token != "" {
		out.CredentialsFile, out.Credentials, out.NKeySeed, out.NKeySeedFile = cfg.CredentialsFile, cfg.Credentials, cfg.NKeySeed, cfg.NKeySeedFile
		out.User, out.Password, out.Token = cfg.User, cfg.Password, cfg.Token
	}
	if cfg.TLS != nil {
		out.TLS = cfg.TLS
	}
	return out
}

// addNATSConfigErrors turns natsconn's field errors into attribute
// diagnostics under base (the provider's nats block or a connection block).
func addNATSConfigErrors(diags *diag.Diagnostics, base path.Path, c natsconn.Config) {
	err := c.Validate()
	if err == nil {
		return
	}
	var joined interface{ Unwrap() []error }
	errs := []error{err}
	if errors.As(err, &joined) {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe *natsconn.FieldError
		if errors.As(e, &fe) {
			diags.AddAttributeError(base.AtName(fe.Field), "Invalid NATS Connection", fe.Err.Error())
			continue
		}
		diags.AddAttributeError(base, "Invalid NATS Connection", e.Error())
	}
}
