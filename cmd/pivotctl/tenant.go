package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/repo"
	"github.com/pivotapp/platform/internal/tfc"
)

func init() { extraCommands = append(extraCommands, newTenantCmd) }

func newTenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage single-tenant private deployments (envs/tenants/tenants.tf)"}
	root := repoFlag(cmd)

	var t hcledit.Tenant
	var tf tfcFlags
	var noWorkspace bool
	add := &cobra.Command{
		Use:   "add <name> --account-id <12 digits> --region <region> [--domain <dns name>]",
		Short: "Add a tenant entry; review, commit and apply it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t.Name = args[0]
			r, err := root()
			if err != nil {
				return err
			}
			path := filepath.Join(r, repo.TenantsFile)
			if err := hcledit.AddTenant(path, t); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added tenant %s (account %s, %s) to %s\n\n", t.Name, t.AccountID, t.Region, repo.TenantsFile)
			// The tenant's own Terraform Cloud workspace: created when a
			// token is at hand, otherwise printed for whoever has one.
			spec := tfc.TenantWorkspaceSpec(t.Name)
			workspaceStep := fmt.Sprintf("Create its Terraform Cloud workspace: pivotctl tfc tenant-workspace %s (with TFC_TOKEN), i.e.", t.Name)
			if os.Getenv("TFC_TOKEN") != "" && !noWorkspace {
				c, err := tf.client()
				if err != nil {
					return err
				}
				if err := ensureTenantWorkspace(cmd.Context(), c, spec, cmd); err != nil {
					return fmt.Errorf("tenant %s was added to %s, but its workspace was not: %w", t.Name, repo.TenantsFile, err)
				}
				workspaceStep = ""
			}
			fmt.Fprintf(out, "Next steps:\n")
			step := 1
			if workspaceStep != "" {
				fmt.Fprintf(out, "  %d. %s\n", step, workspaceStep)
				spec.Print(&indented{w: out}, tf.org)
				step++
			}
			fmt.Fprintf(out, "  %d. In the tenant's account %s, create the role pivot-deployer trusting the platform's deploy role,\n", step, t.AccountID)
			fmt.Fprintf(out, "     with the tenant's external ID (see envs/tenants/README.md).\n")
			fmt.Fprintf(out, "  %d. Store the external ID in the workspace %s (sensitive variable tenant_external_ids = { %s = \"...\" }).\n", step+1, spec.Name, t.Name)
			fmt.Fprintf(out, "  %d. Open a pull request with this change; the speculative plan shows the tenant's new deployment\n", step+2)
			fmt.Fprintf(out, "     and account %s added to the registry's pull grant (pivot_registry_access.tenants, workspace platform-tenants).\n", t.AccountID)
			fmt.Fprintf(out, "  %d. Merge; the next production release reaches %s (trigger-production-deploys runs %s).\n", step+3, t.Name, spec.Name)
			return nil
		},
	}
	add.Flags().StringVar(&t.AccountID, "account-id", "", "the tenant's 12-digit AWS account ID (required)")
	add.Flags().StringVar(&t.Region, "region", "", "AWS region of the deployment, e.g. eu-west-1 (required)")
	add.Flags().StringVar(&t.Domain, "domain", "", "public domain of the tenant, e.g. acme.pivot.app (default <name>.<platform zone>)")
	add.Flags().BoolVar(&noWorkspace, "no-workspace", false, "do not create the tenant's Terraform Cloud workspace even with TFC_TOKEN set; print what it needs")
	tf.add(add)
	_ = add.MarkFlagRequired("account-id")
	_ = add.MarkFlagRequired("region")

	var listJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			ts, err := hcledit.ListTenants(filepath.Join(r, repo.TenantsFile))
			if err != nil {
				return err
			}
			if listJSON {
				names := []string{}
				for _, t := range ts {
					names = append(names, t.Name)
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(names)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tACCOUNT\tREGION\tDOMAIN\tPROTECTED")
			for _, t := range ts {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", t.Name, t.AccountID, t.Region, t.Domain, t.DeletionProtection)
			}
			return w.Flush()
		},
	}

	list.Flags().BoolVar(&listJSON, "json", false, "print the names as a JSON array (for a GitHub Actions matrix)")

	remove := &cobra.Command{
		Use:   "remove <name>",
		Short: "Remove a tenant entry; refused while its deletion_protection is true",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			if err := hcledit.RemoveTenant(filepath.Join(r, repo.TenantsFile), args[0]); err != nil {
				return err
			}
			ws := tfc.TenantWorkspace(args[0])
			fmt.Fprintf(cmd.OutOrStdout(), "removed tenant %s from %s; once merged, a run of its workspace destroys its deployment:\n", args[0], repo.TenantsFile)
			fmt.Fprintf(cmd.OutOrStdout(), "  pivotctl tfc run --workspace %s --wait\n", ws)
			fmt.Fprintf(cmd.OutOrStdout(), "then delete the workspace %s (the fan-out no longer runs it) and apply platform-tenants (the registry grant).\n", ws)
			return nil
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// indented prefixes every line with five spaces (a step's details).
type indented struct{ w io.Writer }

func (i *indented) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		if _, err := io.WriteString(i.w, "     "+l); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
