package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/pivotapp/platform/internal/registry"
)

var (
	_ resource.ResourceWithConfigure   = &registryAccessResource{}
	_ resource.ResourceWithImportState = &registryAccessResource{}
)

func init() { registerResource(NewRegistryAccessResource) }

// NewRegistryAccessResource returns the pivot_registry_access resource.
func NewRegistryAccessResource() resource.Resource { return &registryAccessResource{} }

type registryAccessResource struct {
	data *providerData
}

var (
	accountIDRe      = regexp.MustCompile(`^[0-9]{12}$`)
	ecrRepositoryRe  = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	registryAccessID = "pivot-tenant-pull"
)

func (r *registryAccessResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_registry_access"
}

func (r *registryAccessResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lets other AWS accounts (the tenants') pull images from ECR repositories of this account (the " +
			"company's registry): one statement, `Sid = \"" + registry.Sid + "\"`, in each repository's policy, granting " +
			"`ecr:BatchGetImage`, `ecr:GetDownloadUrlForLayer` and `ecr:BatchCheckLayerAvailability` to exactly `account_ids`. " +
			"Statements others wrote are left alone. The tenants' execution roles (created by `pivot_service` in each tenant's account) " +
			"already allow pulling their own repository, so with this grant a tenant can start. A repository whose grant was " +
			"changed out of band shows as one to add in the next plan.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Always `" + registryAccessID + "`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"repositories": schema.SetAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "ECR repository names (without the registry host), e.g. `pivot/messenger`. They must exist.",
				Validators: []validator.Set{setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(stringvalidator.RegexMatches(ecrRepositoryRe, "must be an ECR repository name, e.g. pivot/messenger, without the registry host"))}},
			"account_ids": schema.SetAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "The accounts allowed to pull, usually every tenant's (`[for t in local.tenants : t.account_id]`). Empty removes the grant.",
				Validators:          []validator.Set{setvalidator.ValueStringsAre(stringvalidator.RegexMatches(accountIDRe, "must be a 12-digit AWS account ID"))}},
		},
		Blocks: map[string]schema.Block{"target": targetResourceBlock()},
	}
}

func (r *registryAccessResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

type registryAccessModel struct {
	ID           types.String `tfsdk:"id"`
	Repositories []string     `tfsdk:"repositories"`
	AccountIDs   []string     `tfsdk:"account_ids"`
	Target       *targetModel `tfsdk:"target"`
}

func (r *registryAccessResource) client(ctx context.Context, m registryAccessModel) (*registry.Client, error) {
	cfg, err := r.data.AWS(ctx, m.Target.target())
	if err != nil {
		return nil, err
	}
	return registry.New(cfg), nil
}

func (r *registryAccessResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan registryAccessModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.grant(ctx, plan, resp.Diagnostics.AddError) {
		return
	}
	plan.ID = types.StringValue(registryAccessID)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *registryAccessResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state registryAccessModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !r.grant(ctx, plan, resp.Diagnostics.AddError) {
		return
	}
	// Repositories dropped from the set keep no grant.
	var dropped []string
	for _, repo := range state.Repositories {
		if !slices.Contains(plan.Repositories, repo) {
			dropped = append(dropped, repo)
		}
	}
	if len(dropped) > 0 {
		c, err := r.client(ctx, plan)
		if err == nil {
			err = c.Revoke(ctx, dropped)
		}
		if err != nil {
			resp.Diagnostics.AddError("Unable To Revoke Registry Access", fmt.Sprintf("Removing the pull grant from %v failed: %s", dropped, err))
			return
		}
	}
	plan.ID = state.ID
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *registryAccessResource) grant(ctx context.Context, m registryAccessModel, addError func(string, string)) bool {
	c, err := r.client(ctx, m)
	if err == nil {
		err = c.Grant(ctx, m.Repositories, m.AccountIDs)
	}
	if err != nil {
		addError("Unable To Grant Registry Access",
			fmt.Sprintf("Granting accounts %v pull on %v failed: %s. Check that every repository exists in the registry's account and that the deployer may set repository policies (ecr:GetRepositoryPolicy, ecr:SetRepositoryPolicy, ecr:DeleteRepositoryPolicy).", m.AccountIDs, m.Repositories, err))
		return false
	}
	return true
}

func (r *registryAccessResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state registryAccessModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.client(ctx, state)
	var grants map[string][]string
	if err == nil {
		grants, err = c.Grants(ctx, state.Repositories)
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Read Registry Access", err.Error())
		return
	}
	if state.AccountIDs == nil {
		// An import names only the repositories: the first one that
		// exists says which accounts are granted.
		for _, repo := range state.Repositories {
			if have, ok := grants[repo]; ok {
				state.AccountIDs = append([]string{}, have...)
				break
			}
		}
	}
	// A repository that no longer grants exactly the accounts (or is gone)
	// leaves the set, so the plan shows it to be granted again.
	want := slices.Sorted(slices.Values(state.AccountIDs))
	want = slices.Compact(want)
	var kept []string
	for _, repo := range state.Repositories {
		if have, ok := grants[repo]; ok && slices.Equal(have, want) {
			kept = append(kept, repo)
		}
	}
	state.Repositories = kept
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *registryAccessResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state registryAccessModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c, err := r.client(ctx, state)
	if err == nil {
		err = c.Revoke(ctx, state.Repositories)
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable To Revoke Registry Access", err.Error())
	}
}

func (r *registryAccessResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	repos := strings.Split(req.ID, ",")
	for _, repo := range repos {
		if !ecrRepositoryRe.MatchString(repo) {
			resp.Diagnostics.AddError("Unexpected Import Identifier",
				fmt.Sprintf("Expected repository names separated by commas (e.g. pivot/messenger,pivot/notifier), got %q.", req.ID))
			return
		}
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), registryAccessID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("repositories"), repos)...)
}
