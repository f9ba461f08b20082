package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/repo"
)

func init() { extraCommands = append(extraCommands, newTenantCmd) }

func newTenantCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage single-tenant private deployments (envs/tenants/tenants.tf)"}
	root := repoFlag(cmd)

	var t hcledit.Tenant
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
			fmt.Fprintf(out, "Next steps:\n")
			fmt.Fprintf(out, "  1. In the tenant's account %s, create the role pivot-deployer trusting the platform's deploy role,\n", t.AccountID)
			fmt.Fprintf(out, "     with the tenant's external ID (see envs/tenants/README.md).\n")
			fmt.Fprintf(out, "  2. Store the external ID in the Terraform Cloud workspace for envs/tenants (variable tenant_external_ids[%q]).\n", t.Name)
			fmt.Fprintf(out, "  3. Open a pull request with this change; the speculative plan shows the tenant's new deployment\n")
			fmt.Fprintf(out, "     and account %s added to the registry's pull grant (pivot_registry_access.tenants).\n", t.AccountID)
			fmt.Fprintf(out, "  4. Merge; the next production release reaches %s with the verified prod image set.\n", t.Name)
			return nil
		},
	}
	add.Flags().StringVar(&t.AccountID, "account-id", "", "the tenant's 12-digit AWS account ID (required)")
	add.Flags().StringVar(&t.Region, "region", "", "AWS region of the deployment, e.g. eu-west-1 (required)")
	add.Flags().StringVar(&t.Domain, "domain", "", "public domain of the tenant, e.g. acme.pivot.app (default <name>.<platform zone>)")
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
			fmt.Fprintf(cmd.OutOrStdout(), "removed tenant %s from %s; the next apply destroys its deployment\n", args[0], repo.TenantsFile)
			return nil
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}
