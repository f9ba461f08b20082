package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
	"github.com/pivotapp/platform/internal/localstack/faults"
	"github.com/pivotapp/platform/internal/repo"
)

// defaultLocalDir is where the stack keeps its state unless PIVOT_LOCAL_DIR
// or --dir says otherwise; it is git-ignored.
const defaultLocalDir = ".pivot/local"

func newLocalCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the local platform stack (moto, nats-server, PostgreSQL, Cloudflare emulator)",
	}
	def := os.Getenv("PIVOT_LOCAL_DIR")
	if def == "" {
		def = defaultLocalDir
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", def, "state folder of the stack (env PIVOT_LOCAL_DIR)")

	var envFile string
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the stack in the background; a no-op if it already runs",
		RunE: func(cmd *cobra.Command, _ []string) error {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find own binary: %w", err)
			}
			progress := func(format string, a ...any) { fmt.Fprintf(cmd.ErrOrStderr(), "local: "+format+"\n", a...) }
			progress("starting the local platform stack in %s", abs)
			st, started, err := localstack.Up(cmd.Context(), abs, []string{self, "local", "serve", "--dir", abs}, progress)
			if err != nil {
				return err
			}
			if !started {
				progress("already running (pid %d); nothing to do", st.PID)
			}
			path := envFile
			if path == "" {
				path = filepath.Join(abs, "env")
			}
			if err := os.WriteFile(path, []byte(envText(st.Endpoints, true)), 0o644); err != nil {
				return fmt.Errorf("write env file: %w", err)
			}
			printEndpoints(cmd.OutOrStdout(), st)
			fmt.Fprintf(cmd.OutOrStdout(), "\nenv file: %s\n  load it with: set -a; . %s; set +a\n", path, path)
			return nil
		},
	}
	up.Flags().StringVar(&envFile, "env-file", "", "where to write the env file (default <dir>/env)")

	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the stack in the foreground (what `up` starts in the background)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The stack's folder lies inside the repository whose services
			// the local ECS runtime builds.
			source, err := repo.Root(dir)
			if err != nil {
				fmt.Printf("no ECS runtime: %v\n", err)
				source = ""
			}
			opts := localstack.Options{Dir: dir, SourceDir: source, Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }}
			if spec := os.Getenv("PIVOT_LOCAL_FAULTS"); spec != "" {
				f, err := faults.Parse(spec)
				if err != nil {
					return fmt.Errorf("PIVOT_LOCAL_FAULTS: %w", err)
				}
				opts.Faults = &f
			}
			return localstack.Serve(cmd.Context(), opts)
		},
	}

	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the stack and remove its data",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := localstack.Down(dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "local: stopped; removed %s\n", dir)
			return nil
		},
	}

	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the stack runs and where",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localstack.ReadState(dir)
			if errors.Is(err, os.ErrNotExist) {
				return errors.New("not running; start it with `pivotctl local up`")
			}
			if err != nil {
				return err
			}
			if err := st.Healthy(); err != nil {
				return fmt.Errorf("unhealthy: %w; restart with `pivotctl local down && pivotctl local up`", err)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printEndpoints(cmd.OutOrStdout(), st)
			if !st.Endpoints.ECSRuntime() {
				fmt.Fprintln(cmd.OutOrStdout(), "\nno ECS runtime (the stack was started outside the repository)")
				return nil
			}
			tasks, err := localstack.Tasks(cmd.Context(), st.Endpoints)
			if err != nil {
				return err
			}
			printTasks(cmd.OutOrStdout(), tasks)
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the state as JSON")

	env := &cobra.Command{
		Use:   "env",
		Short: "Print the stack's environment variables (eval \"$(pivotctl local env)\")",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localstack.ReadState(dir)
			if err != nil {
				return errors.New("not running; start it with `pivotctl local up`")
			}
			fmt.Fprint(cmd.OutOrStdout(), envText(st.Endpoints, true))
			return nil
		},
	}
	var account, value string
	putSecret := &cobra.Command{
		Use:   "put-secret <parameter name> --account <id>",
		Short: "Store a SecureString parameter in one of the stack's AWS accounts (random value unless --value)",
		Long: "Operators put a service's secrets in Parameter Store before its first apply; values never pass\n" +
			"through Terraform. This does the same on the local stack, acting in --account by assume-role.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := localstack.ReadState(dir)
			if err != nil {
				return errors.New("not running; start it with `pivotctl local up`")
			}
			if value == "" {
				value = randomSecret()
			}
			if err := localstack.PutSecret(cmd.Context(), st.Endpoints, account, args[0], value); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "local: %s stored in account %s\n", args[0], account)
			return nil
		},
	}
	putSecret.Flags().StringVar(&account, "account", localstack.DefaultAccount, "12-digit account to store it in")
	putSecret.Flags().StringVar(&value, "value", "", "the value (default: 32 random bytes, hex)")
	var taskID string
	var all bool
	logs := &cobra.Command{
		Use:   "logs <account-or-environment> <service>",
		Short: "Print the output of a service's newest task (--all: every task, oldest first)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := localstack.ReadState(dir)
			if err != nil {
				return errors.New("not running; start it with `pivotctl local up`")
			}
			tasks, err := localstack.Tasks(cmd.Context(), st.Endpoints)
			if err != nil {
				return err
			}
			var match []ecsrt.TaskStatus
			for _, t := range tasks {
				if (t.Account == args[0] || t.Cluster == args[0]) && t.Service == args[1] && (taskID == "" || t.TaskID == taskID) {
					match = append(match, t)
				}
			}
			if len(match) == 0 {
				return fmt.Errorf("no task of service %s in %s; `pivotctl local status` lists them", args[1], args[0])
			}
			if !all {
				match = match[len(match)-1:]
			}
			for _, t := range match {
				fmt.Fprintf(cmd.ErrOrStderr(), "==> task %s (%s, %s)\n", t.TaskID, t.Revision, t.LastStatus)
				b, err := os.ReadFile(t.Output)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("read task output: %w", err)
				}
				_, _ = cmd.OutOrStdout().Write(b)
			}
			return nil
		},
	}
	logs.Flags().StringVar(&taskID, "task", "", "one task's ID")
	logs.Flags().BoolVar(&all, "all", false, "every task of the service, stopped ones included")
	cmd.AddCommand(up, serve, down, status, env, putSecret, logs, newLocalProbeCmd(&dir))
	return cmd
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envText(e localstack.Endpoints, export bool) string {
	var out string
	for _, kv := range e.Env() {
		if export {
			out += "export "
		}
		out += fmt.Sprintf("%s=%q\n", kv[0], kv[1])
	}
	return out
}

// printTasks lists the local ECS runtime's tasks by environment.
func printTasks(w io.Writer, tasks []ecsrt.TaskStatus) {
	if len(tasks) == 0 {
		fmt.Fprintln(w, "\nno ECS tasks")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nACCOUNT\tCLUSTER\tSERVICE\tTASK\tREVISION\tSTATUS\tHEALTH\tSTOPPED REASON")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Account, t.Cluster, t.Service, t.TaskID[:12], t.Revision, t.LastStatus, t.Health, t.StoppedReason)
	}
	_ = tw.Flush()
}

func printEndpoints(w io.Writer, st localstack.State) {
	e := st.Endpoints
	fmt.Fprintf(w, "local platform stack (pid %d, since %s)\n", st.PID, st.StartedAt.Format("15:04:05"))
	fmt.Fprintf(w, "  aws (moto):          %s\n", e.AWS)
	fmt.Fprintf(w, "  nats (jetstream):    %s (staging), %s (prod)\n", e.NATS, e.NATSProd)
	if e.PostgresAdminURL != "" {
		fmt.Fprintf(w, "  postgres (aurora):   %s\n", e.PostgresAdminURL)
	}
	fmt.Fprintf(w, "  cloudflare (api v4): %s\n", e.CloudflareURL)
	for name, id := range e.Zones {
		fmt.Fprintf(w, "    zone %s: %s\n", name, id)
	}
}
