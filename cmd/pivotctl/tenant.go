package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
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
			secrets, err := repo.DeclaredSecrets(r)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "added tenant %s (account %s, %s) to %s\n\n", t.Name, t.AccountID, t.Region, repo.TenantsFile)
			fmt.Fprint(out, tenantNextSteps(t, secrets))
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

// tenantNextSteps is what an operator supplies besides the reviewed change:
// the deployer role, and every value the plan checks and refuses the
// tenant without (its secrets, its NATS password, the path to its NATS).
func tenantNextSteps(t hcledit.Tenant, secrets map[string][]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Operator-supplied, outside this change (the plan refuses the tenant while one is missing):\n")
	fmt.Fprintf(&b, "  1. In account %s, the role pivot-deployer trusting the platform's deploy role, with an external ID\n", t.AccountID)
	fmt.Fprintf(&b, "     (see envs/tenants/README.md); the external ID in the envs/tenants workspace: tenant_external_ids[%q].\n", t.Name)
	fmt.Fprintf(&b, "  2. SecureString parameters in account %s (region %s):\n", t.AccountID, t.Region)
	for _, svc := range slices.Sorted(maps.Keys(secrets)) {
		for _, name := range secrets[svc] {
			fmt.Fprintf(&b, "       /%s/%s/%s\n", t.Name, svc, name)
		}
	}
	fmt.Fprintf(&b, "  3. In the envs/tenants workspace (sensitive): tenant_nats_passwords[%q], at least 16 characters.\n", t.Name)
	fmt.Fprintf(&b, "  4. Where the workspace reaches the tenant's NATS: tenant_jetstream_urls[%q] (or jetstream_url in the entry).\n", t.Name)
	fmt.Fprintf(&b, "Then open a pull request with this change; the speculative plan shows the tenant's stack (its VPC,\n")
	fmt.Fprintf(&b, "database, NATS, services) and account %s added to the registry's pull grant. Merge; the next\n", t.AccountID)
	fmt.Fprintf(&b, "production release reaches %s with the verified prod image set.\n", t.Name)
	return b.String()
}
