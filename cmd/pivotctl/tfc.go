package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/repo"
	"github.com/pivotapp/platform/internal/tfc"
)

func init() { extraCommands = append(extraCommands, newTFCCmd) }

// tfcFlags are the connection settings every tfc subcommand shares; the
// token only comes from the environment.
type tfcFlags struct {
	address, org string
	poll         time.Duration
}

func (f *tfcFlags) add(cmd *cobra.Command) {
	address := os.Getenv("TFC_ADDRESS")
	if address == "" && os.Getenv("TFC_HOSTNAME") != "" {
		address = "https://" + os.Getenv("TFC_HOSTNAME")
	}
	if address == "" {
		address = tfc.DefaultAddress
	}
	org := os.Getenv("TFC_ORGANIZATION")
	if org == "" {
		org = "pivotapp"
	}
	cmd.PersistentFlags().StringVar(&f.address, "address", address, "Terraform Cloud address (env TFC_ADDRESS, or https://$TFC_HOSTNAME)")
	cmd.PersistentFlags().StringVar(&f.org, "organization", org, "organization (env TFC_ORGANIZATION)")
	cmd.PersistentFlags().DurationVar(&f.poll, "poll-interval", 5*time.Second, "how often a waited run is read")
}

func (f *tfcFlags) client() (*tfc.Client, error) {
	return tfc.New(tfc.Config{Address: f.address, Token: os.Getenv("TFC_TOKEN"), Organization: f.org, PollInterval: f.poll})
}

func newTFCCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tfc",
		Short: "Terraform Cloud: runs (one workspace or a fan-out), tenant workspaces, the relay's notification (token: TFC_TOKEN)",
	}
	var f tfcFlags
	f.add(cmd)
	root := repoFlag(cmd)

	var (
		workspaces, targets []string
		message             string
		wait, allTenants    bool
		timeout             time.Duration
		parallel            int
	)
	run := &cobra.Command{
		Use:   "run --workspace <name> [--workspace <name>...] [--target <address>...] [--wait]",
		Short: "Start an apply run in each workspace and, with --wait, follow them to their end",
		Long: "Starts one auto-applied run per workspace (all at once: Terraform Cloud runs one run at a time per workspace,\n" +
			"so each tenant has its own) and prints each run's URL and every status change. With --wait it exits non-zero\n" +
			"when any run did not apply, naming the workspace, the failed phase (plan, policy check, apply) and the end of\n" +
			"that phase's log. --timeout counts from when a run leaves the queue, not from its creation.\n" +
			"--tenants adds the workspace of every tenant in envs/tenants/tenants.tf (platform-tenant-<name>).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := append([]string(nil), workspaces...)
			if allTenants {
				r, err := root()
				if err != nil {
					return err
				}
				ts, err := hcledit.ListTenants(filepath.Join(r, repo.TenantsFile))
				if err != nil {
					return err
				}
				for _, t := range ts {
					names = append(names, tfc.TenantWorkspace(t.Name))
				}
			}
			if len(names) == 0 {
				return errors.New("name a --workspace (or --tenants)")
			}
			if len(targets) > 0 && len(names) > 1 {
				return errors.New("--target applies to one workspace; name one --workspace")
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			out := &lockedWriter{w: cmd.OutOrStdout()}
			runs := make([]tfc.RunOptions, len(names))
			for i, n := range names {
				runs[i] = tfc.RunOptions{Workspace: n, Message: message, Targets: targets, Wait: wait, Timeout: timeout, Progress: out}
			}
			outcomes := c.RunAll(cmd.Context(), runs, parallel)
			if len(outcomes) > 1 {
				for _, o := range outcomes {
					if o.Err == nil && o.Result != nil {
						fmt.Fprintf(out, "ok  %s %s %s\n", o.Result.Workspace, o.Result.Status, o.Result.URL)
					}
				}
			}
			if len(outcomes) == 1 {
				return outcomes[0].Err
			}
			return tfc.Errors(outcomes)
		},
	}
	run.Flags().StringArrayVar(&workspaces, "workspace", nil, "workspace to run (repeatable)")
	run.Flags().BoolVar(&allTenants, "tenants", false, "run every tenant's workspace (platform-tenant-<name> for each entry of tenants.tf)")
	run.Flags().StringArrayVar(&targets, "target", nil, "resource address to target (repeatable; one workspace only)")
	run.Flags().StringVar(&message, "message", "pivotctl tfc run", "run message")
	run.Flags().BoolVar(&wait, "wait", false, "follow the runs to their end; exit non-zero if any did not apply")
	run.Flags().DurationVar(&timeout, "timeout", time.Hour, "longest a run may take once it left the queue (0: no limit)")
	run.Flags().IntVar(&parallel, "parallel", 0, "at most this many runs at once (0: all; Terraform Cloud's own run concurrency still applies)")

	var url, workspace string
	notification := &cobra.Command{
		Use:   "setup-notification --url https://tfc-relay.<zone>/ [--workspace platform-staging]",
		Short: "Create or update the staging workspace's notification that calls tfc-relay (HMAC key: TFC_NOTIFICATION_TOKEN)",
		Long: "Points the workspace's generic notification configuration \"" + tfc.RelayNotificationName + "\" at tfc-relay for\n" +
			"run:completed and run:errored, signed with TFC_NOTIFICATION_TOKEN: the same value as the relay's SSM parameter\n" +
			"/prod/tfc-relay/TFC_NOTIFICATION_TOKEN. Terraform Cloud verifies the URL at once, so deploy the relay first.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			id, created, err := c.EnsureNotification(cmd.Context(), tfc.RelayNotification(workspace, url, os.Getenv("TFC_NOTIFICATION_TOKEN")))
			if err != nil {
				return err
			}
			verb := "updated"
			if created {
				verb = "created"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s notification configuration %s (%s) of %s -> %s\n", verb, tfc.RelayNotificationName, id, workspace, url)
			return nil
		},
	}
	notification.Flags().StringVar(&url, "url", "", "tfc-relay's public URL (envs/prod output tfc_relay_url)")
	notification.Flags().StringVar(&workspace, "workspace", "platform-staging", "the workspace whose applies start the production deploys")
	_ = notification.MarkFlagRequired("url")

	var printOnly bool
	ws := &cobra.Command{
		Use:   "tenant-workspace <tenant>",
		Short: "Create (or bring to spec) a tenant's workspace platform-tenant-<tenant>; --print shows what it needs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec := tfc.TenantWorkspaceSpec(args[0])
			if printOnly {
				spec.Print(cmd.OutOrStdout(), f.org)
				return nil
			}
			c, err := f.client()
			if err != nil {
				return err
			}
			return ensureTenantWorkspace(cmd.Context(), c, spec, cmd)
		},
	}
	ws.Flags().BoolVar(&printOnly, "print", false, "print the workspace's settings instead of creating it")

	cmd.AddCommand(run, notification, ws)
	return cmd
}

func ensureTenantWorkspace(ctx context.Context, c *tfc.Client, spec tfc.WorkspaceSpec, cmd *cobra.Command) error {
	created, err := c.EnsureWorkspace(ctx, spec)
	if err != nil {
		return err
	}
	verb := "updated"
	if created {
		verb = "created"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s Terraform Cloud workspace %s (envs/tenants, var.tenant); set its sensitive variable tenant_external_ids by hand\n", verb, spec.Name)
	return nil
}

// lockedWriter serialises the progress lines of concurrent runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
