package tfc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	tfe "github.com/hashicorp/go-tfe"
)

// TenantWorkspacePrefix starts every tenant's workspace name.
const TenantWorkspacePrefix = "platform-tenant-"

// TenantWorkspace is the name of a tenant's workspace.
func TenantWorkspace(tenant string) string { return TenantWorkspacePrefix + tenant }

// WorkspaceSpec is what a workspace needs: where its root is, how it
// applies, and its variables.
type WorkspaceSpec struct {
	Name             string
	WorkingDirectory string
	TerraformVersion string
	AutoApply        bool
	Tags             []string
	Description      string
	// Vars are Terraform variables (HCL when HCL is set); EnvVars are
	// environment variables. Sensitive values are never printed.
	Vars []Var
}

// Var is one workspace variable.
type Var struct {
	Key       string
	Value     string
	Category  tfe.CategoryType // tfe.CategoryTerraform or tfe.CategoryEnv
	HCL       bool
	Sensitive bool
	// Placeholder marks a value the operator sets by hand (a secret, an
	// external ID): it is created with Value and never overwritten.
	Placeholder bool
	Description string
}

// TenantWorkspaceSpec is a tenant's workspace: envs/tenants with the one
// tenant selected (var.tenant), applied automatically when a run is
// started by the fan-out, its external ID left for the operator to set.
func TenantWorkspaceSpec(tenant string) WorkspaceSpec {
	return WorkspaceSpec{
		Name:             TenantWorkspace(tenant),
		WorkingDirectory: "envs/tenants",
		TerraformVersion: "1.8.5",
		AutoApply:        false,                                            // runs started by the fan-out ask for auto-apply themselves; VCS plans wait for review
		Tags:             []string{"platform-tenants", "tenant-" + tenant}, // the cloud block's workspace tag
		Description:      "envs/tenants for tenant " + tenant + " only (var.tenant); started by trigger-production-deploys",
		Vars: []Var{
			{Key: "tenant", Value: tenant, Category: tfe.CategoryTerraform, Description: "the one tenant of tenants.tf this workspace deploys"},
			// Created as an empty map (valid HCL) for the operator to fill.
			{Key: "tenant_external_ids", Value: "{}", Category: tfe.CategoryTerraform, HCL: true, Sensitive: true, Placeholder: true,
				Description: fmt.Sprintf("{ %s = \"<external ID of the tenant's pivot-deployer role>\" }", tenant)},
		},
	}
}

// Print writes what a workspace needs, for an operator without an API
// token (or for review before it is created).
func (s WorkspaceSpec) Print(w io.Writer, org string) {
	fmt.Fprintf(w, "Terraform Cloud workspace %s (organization %s):\n", s.Name, org)
	fmt.Fprintf(w, "  working directory:  %s\n", s.WorkingDirectory)
	fmt.Fprintf(w, "  Terraform version:  %s\n", s.TerraformVersion)
	fmt.Fprintf(w, "  auto-apply:         %v\n", s.AutoApply)
	fmt.Fprintf(w, "  tags:               %s\n", strings.Join(s.Tags, ", "))
	fmt.Fprintf(w, "  variables:\n")
	for _, v := range s.Vars {
		value := fmt.Sprintf("%q", v.Value)
		if v.Placeholder {
			value = "(set by hand: " + v.Description + ")"
		}
		kind := string(v.Category)
		if v.HCL {
			kind += ", HCL"
		}
		if v.Sensitive {
			kind += ", sensitive"
		}
		fmt.Fprintf(w, "    %-22s %s [%s]\n", v.Key, value, kind)
	}
	fmt.Fprintf(w, "  plus the variable set every tenant workspace shares (AWS credentials, deployer_role_arn, image_registry).\n")
}

// EnsureWorkspace creates the workspace, or brings an existing one's
// settings and non-placeholder variables to the spec. It reports whether
// it created it.
func (c *Client) EnsureWorkspace(ctx context.Context, s WorkspaceSpec) (bool, error) {
	tags := make([]*tfe.Tag, len(s.Tags))
	for i, t := range s.Tags {
		tags[i] = &tfe.Tag{Name: t}
	}
	var ws *tfe.Workspace
	_, err := c.api.Workspaces.Read(ctx, c.org, s.Name)
	created := false
	switch {
	case errors.Is(err, tfe.ErrResourceNotFound):
		ws, err = c.api.Workspaces.Create(ctx, c.org, tfe.WorkspaceCreateOptions{
			Name: tfe.String(s.Name), WorkingDirectory: tfe.String(s.WorkingDirectory), TerraformVersion: tfe.String(s.TerraformVersion),
			AutoApply: tfe.Bool(s.AutoApply), Description: tfe.String(s.Description), Tags: tags,
		})
		if err != nil {
			return false, fmt.Errorf("create workspace %s: %w", s.Name, err)
		}
		created = true
	case err != nil:
		return false, fmt.Errorf("read workspace %s: %w", s.Name, err)
	default:
		ws, err = c.api.Workspaces.Update(ctx, c.org, s.Name, tfe.WorkspaceUpdateOptions{
			WorkingDirectory: tfe.String(s.WorkingDirectory), TerraformVersion: tfe.String(s.TerraformVersion), AutoApply: tfe.Bool(s.AutoApply),
		})
		if err != nil {
			return false, fmt.Errorf("update workspace %s: %w", s.Name, err)
		}
	}
	existing, err := c.api.Variables.List(ctx, ws.ID, nil)
	if err != nil {
		return created, fmt.Errorf("list variables of %s: %w", s.Name, err)
	}
	have := map[string]*tfe.Variable{}
	for _, v := range existing.Items {
		have[string(v.Category)+"/"+v.Key] = v
	}
	for _, v := range s.Vars {
		old := have[string(v.Category)+"/"+v.Key]
		switch {
		case old == nil:
			_, err = c.api.Variables.Create(ctx, ws.ID, tfe.VariableCreateOptions{
				Key: tfe.String(v.Key), Value: tfe.String(v.Value), Category: tfe.Category(v.Category), HCL: tfe.Bool(v.HCL),
				Sensitive: tfe.Bool(v.Sensitive), Description: tfe.String(v.Description),
			})
		case v.Placeholder:
			continue // the operator's value stays
		case old.Value != v.Value || old.HCL != v.HCL:
			_, err = c.api.Variables.Update(ctx, ws.ID, old.ID, tfe.VariableUpdateOptions{Value: tfe.String(v.Value), HCL: tfe.Bool(v.HCL)})
		}
		if err != nil {
			return created, fmt.Errorf("set variable %s of %s: %w", v.Key, s.Name, err)
		}
	}
	return created, nil
}

// TenantWorkspaces lists the tenant workspaces that exist, by tenant.
func (c *Client) TenantWorkspaces(ctx context.Context) ([]string, error) {
	var names []string
	opts := &tfe.WorkspaceListOptions{Search: TenantWorkspacePrefix, ListOptions: tfe.ListOptions{PageSize: 100}}
	for {
		page, err := c.api.Workspaces.List(ctx, c.org, opts)
		if err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		for _, ws := range page.Items {
			if strings.HasPrefix(ws.Name, TenantWorkspacePrefix) {
				names = append(names, strings.TrimPrefix(ws.Name, TenantWorkspacePrefix))
			}
		}
		if page.Pagination == nil || page.NextPage == 0 {
			break
		}
		opts.PageNumber = page.NextPage
	}
	sort.Strings(names)
	return names, nil
}

////////////////////////////////////////////////////////////////////////////////
// Notifications
////////////////////////////////////////////////////////////////////////////////

// RelayNotificationName names the staging workspace's notification
// configuration that calls tfc-relay.
const RelayNotificationName = "tfc-relay"

// NotificationSpec is a generic notification configuration.
type NotificationSpec struct {
	Workspace string
	Name      string
	URL       string
	Token     string // the HMAC key tfc-relay verifies with
	Triggers  []tfe.NotificationTriggerType
}

// RelayNotification is staging's configuration: run:completed (a
// successful apply; there is no run:applied) and run:errored, signed.
func RelayNotification(workspace, url, token string) NotificationSpec {
	return NotificationSpec{
		Workspace: workspace, Name: RelayNotificationName, URL: url, Token: token,
		Triggers: []tfe.NotificationTriggerType{tfe.NotificationTriggerCompleted, tfe.NotificationTriggerErrored},
	}
}

// EnsureNotification creates the workspace's configuration of that name or
// updates it (URL, token, triggers, enabled). Enabling it makes Terraform
// Cloud send a verification notification, which the destination must
// answer with a 2xx. It returns the configuration's ID.
func (c *Client) EnsureNotification(ctx context.Context, s NotificationSpec) (id string, created bool, err error) {
	if s.Token == "" {
		return "", false, errors.New("a notification token is required: tfc-relay refuses unsigned notifications")
	}
	ws, err := c.api.Workspaces.Read(ctx, c.org, s.Workspace)
	if err != nil {
		return "", false, fmt.Errorf("read workspace %s: %w", s.Workspace, err)
	}
	list, err := c.api.NotificationConfigurations.List(ctx, ws.ID, nil)
	if err != nil {
		return "", false, fmt.Errorf("list notification configurations of %s: %w", s.Workspace, err)
	}
	for _, nc := range list.Items {
		if nc.Name != s.Name {
			continue
		}
		_, err := c.api.NotificationConfigurations.Update(ctx, nc.ID, tfe.NotificationConfigurationUpdateOptions{
			Enabled: tfe.Bool(true), URL: tfe.String(s.URL), Token: tfe.String(s.Token), Triggers: s.Triggers,
		})
		if err != nil {
			return nc.ID, false, fmt.Errorf("update notification configuration %s: %w", s.Name, err)
		}
		return nc.ID, false, nil
	}
	dest := tfe.NotificationDestinationTypeGeneric
	nc, err := c.api.NotificationConfigurations.Create(ctx, ws.ID, tfe.NotificationConfigurationCreateOptions{
		DestinationType: &dest, Enabled: tfe.Bool(true), Name: tfe.String(s.Name), Token: tfe.String(s.Token), URL: tfe.String(s.URL),
		Triggers: s.Triggers, SubscribableChoice: &tfe.NotificationConfigurationSubscribableChoice{Workspace: ws},
	})
	if err != nil {
		return "", false, fmt.Errorf("create notification configuration %s: %w", s.Name, err)
	}
	return nc.ID, true, nil
}
