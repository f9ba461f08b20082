package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/release"
	"github.com/pivotapp/platform/internal/repo"
)

func init() { extraCommands = append(extraCommands, newReleaseCmd) }

// releaseOpts says where releases and tenants are read from. AWS access
// comes from the usual environment (AWS_*, including AWS_ENDPOINT_URL).
type releaseOpts struct {
	name        string
	roleARN     string // where the release record lives
	tenants     bool
	tenantRole  string // role name in every tenant account
	externalIDs map[string]string
}

func newReleaseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Show and promote releases (verified image sets)"}
	root := repoFlag(cmd)
	var o releaseOpts
	var watch time.Duration
	show := &cobra.Command{
		Use:   "show",
		Short: "Print a release and, with --tenants, what every tenant runs against it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			for {
				done, err := showRelease(cmd.Context(), cmd.OutOrStdout(), r, o)
				if err != nil || watch == 0 || done {
					return err
				}
				time.Sleep(watch)
				fmt.Fprintln(cmd.OutOrStdout())
			}
		},
	}
	show.Flags().StringVar(&o.name, "name", "prod", "release to show (staging, prod)")
	show.Flags().StringVar(&o.roleARN, "role-arn", "", "role to read the release through (default: the ambient AWS identity)")
	show.Flags().BoolVar(&o.tenants, "tenants", false, "also show every tenant's rollout of the release")
	show.Flags().StringVar(&o.tenantRole, "tenant-role", "pivot-deployer", "role name to assume in each tenant account")
	show.Flags().DurationVar(&watch, "watch", 0, "repeat every interval until every tenant runs the release (e.g. 10s)")

	var target, tenantName string
	promote := &cobra.Command{
		Use:   "promote --to prod|tenants [--tenant <name>]",
		Short: "Apply envs/prod (which deploys staging's release) or envs/tenants (prod's), showing progress",
		Long: "Runs `terraform apply` in envs/prod or envs/tenants, the same applies the trigger-production-deploys\n" +
			"workflow starts in Terraform Cloud, so promotion can be driven locally against the local platform stack.\n" +
			"The roots read the release record, so what is promoted is what the previous stage verified.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			var dir string
			var args []string
			switch target {
			case "prod":
				dir = filepath.Join(r, "envs", "prod")
			case "tenants":
				dir = filepath.Join(r, "envs", "tenants")
				if tenantName != "" {
					args = append(args, fmt.Sprintf(`-target=module.tenant[%q]`, tenantName))
				}
			default:
				return fmt.Errorf("--to must be prod or tenants, not %q", target)
			}
			if err := terraformApply(cmd.Context(), cmd.OutOrStdout(), r, dir, args); err != nil {
				return err
			}
			o.name = map[string]string{"prod": "prod", "tenants": "prod"}[target]
			o.tenants = target == "tenants"
			_, err = showRelease(cmd.Context(), cmd.OutOrStdout(), r, o)
			return err
		},
	}
	promote.Flags().StringVar(&target, "to", "", "prod or tenants (required)")
	promote.Flags().StringVar(&tenantName, "tenant", "", "promote to one tenant only")
	promote.Flags().StringVar(&o.tenantRole, "tenant-role", "pivot-deployer", "role name to assume in each tenant account")
	promote.Flags().StringVar(&o.roleARN, "role-arn", "", "role to read the release through")
	_ = promote.MarkFlagRequired("to")
	cmd.AddCommand(show, promote)
	return cmd
}

func sessions() *awsx.Sessions {
	return awsx.NewSessions(awsx.Config{Region: os.Getenv("AWS_REGION"), Endpoint: os.Getenv("AWS_ENDPOINT_URL")})
}

// showRelease prints the release and, optionally, every tenant's state. It
// reports whether every tenant runs the release, steady.
func showRelease(ctx context.Context, w io.Writer, root string, o releaseOpts) (bool, error) {
	s := sessions()
	cfg, err := s.For(ctx, awsx.Target{RoleARN: o.roleARN})
	if err != nil {
		return false, err
	}
	rec, err := release.NewStore(cfg).Get(ctx, o.name)
	if err != nil {
		return false, err
	}
	names := make([]string, 0, len(rec.Images))
	for n := range rec.Images {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "release %s (version %d, written %s)", rec.Name, rec.Version, rec.UpdatedAt.Format(time.RFC3339))
	if rec.Source != "" {
		fmt.Fprintf(w, ", promoted from %s", rec.Source)
	}
	fmt.Fprintln(w)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, rec.Images[n])
	}
	if !o.tenants {
		return true, nil
	}
	tenants, err := hcledit.ListTenants(filepath.Join(root, repo.TenantsFile))
	if err != nil {
		return false, err
	}
	type row struct {
		tenant string
		state  map[string]release.Running
		err    error
	}
	rows := make([]row, len(tenants))
	var wg sync.WaitGroup
	for i, t := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i].tenant = t.Name
			role := fmt.Sprintf("arn:aws:iam::%s:role/%s", t.AccountID, o.tenantRole)
			tcfg, err := s.For(ctx, awsx.Target{RoleARN: role, Region: t.Region, ExternalID: o.externalIDs[t.Name]})
			if err != nil {
				rows[i].err = err
				return
			}
			rows[i].state, rows[i].err = release.Observe(ctx, ecs.NewFromConfig(tcfg), t.Name, names)
		}()
	}
	wg.Wait()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTENANT\tSERVICE\tRUNNING\tRELEASE\tSTATUS")
	done, total := 0, 0
	var errs []error
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tunreachable: %v\n", r.tenant, r.err)
			errs = append(errs, fmt.Errorf("tenant %s: %w", r.tenant, r.err))
			total += len(names)
			continue
		}
		for _, n := range names {
			total++
			st := r.state[n]
			status := "rolling out"
			switch {
			case !st.Found:
				status = "missing"
			case st.HasTag(rec.Images[n]) && st.Steady:
				status = "done"
				done++
			case st.Reason != "":
				status = st.Reason
			}
			running := st.App
			if running == "" {
				running = strings.Join(st.Tags, ",")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.tenant, n, running, rec.Images[n], status)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "progress: %d/%d services in %d tenants run release %s\n", done, total, len(tenants), rec.Name)
	return done == total, errors.Join(errs...)
}

func terraformApply(ctx context.Context, w io.Writer, root, dir string, extra []string) error {
	bin := filepath.Join(root, "bin", "terraform")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("terraform"); err != nil {
			return errors.New("terraform not found in ./bin or on PATH; run `make tools`")
		}
	}
	for _, args := range [][]string{{"init", "-input=false"}, append([]string{"apply", "-auto-approve", "-input=false"}, extra...)} {
		fmt.Fprintf(w, "==> terraform %s (%s)\n", args[0], dir)
		c := exec.CommandContext(ctx, bin, args...)
		c.Dir = dir
		c.Stdout, c.Stderr = w, w
		if err := c.Run(); err != nil {
			return fmt.Errorf("terraform %s in %s: %w", args[0], dir, err)
		}
	}
	return nil
}
