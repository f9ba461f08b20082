package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/awsx"
	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/svcinfo"
)

func init() { extraCommands = append(extraCommands, newSvcCmd) }

// svcOpts says where a service is read from. AWS access comes from the
// usual environment (AWS_*, AWS_ENDPOINT_URL for the local stack), through
// --role-arn when given, as `pivotctl release show` does.
type svcOpts struct {
	roleARN  string
	cluster  string
	release  string
	logGroup string
	localDir string
}

func newSvcCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "svc", Short: "Look at one deployed service: status and logs (AWS or the local stack)"}
	var o svcOpts
	def := os.Getenv("PIVOT_LOCAL_DIR")
	if def == "" {
		def = defaultLocalDir
	}
	cmd.PersistentFlags().StringVar(&o.roleARN, "role-arn", "", "role to act through in the environment's account (default: the ambient AWS identity)")
	cmd.PersistentFlags().StringVar(&o.cluster, "cluster", "", "the environment's ECS cluster (default: the environment's name)")
	cmd.PersistentFlags().StringVar(&o.localDir, "local-dir", def, "state folder of the local stack, used when AWS_ENDPOINT_URL is the stack's (env PIVOT_LOCAL_DIR)")

	var events int
	status := &cobra.Command{
		Use:   "status <environment> <service>",
		Short: "Tasks, revision, health, last deployment and its events, image tag against the release",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := sessions().For(cmd.Context(), awsx.Target{RoleARN: o.roleARN})
			if err != nil {
				return err
			}
			st, err := svcinfo.New(cfg).Status(cmd.Context(), svcinfo.Query{
				Environment: args[0], Service: args[1], Cluster: o.cluster, Release: o.release, Events: events,
			})
			if err != nil {
				return err
			}
			printServiceStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	status.Flags().StringVar(&o.release, "release", "", "release record to compare the image tag with (default: the environment's name; - to skip)")
	status.Flags().IntVar(&events, "events", 5, "how many service events to show")

	var follow bool
	var since time.Duration
	logs := &cobra.Command{
		Use:   "logs <environment> <service>",
		Short: "Print the service's logs (its CloudWatch log group; on the local stack, its tasks' output)",
		Long: "On AWS this reads the service's log group, /pivot/<environment>/<service> unless --log-group says\n" +
			"otherwise. On the local stack (AWS_ENDPOINT_URL is the stack's, see `pivotctl local env`) the\n" +
			"runtime keeps each task's output instead of shipping it to CloudWatch, so that is what is printed.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := sessions().For(ctx, awsx.Target{RoleARN: o.roleARN})
			if err != nil {
				return err
			}
			var src logSource
			if st, ok := localStack(o.localDir); ok {
				id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					return fmt.Errorf("read caller identity: %w", err)
				}
				cluster := o.cluster
				if cluster == "" {
					cluster = args[0]
				}
				src = &localLogs{endpoints: st.Endpoints, account: *id.Account, cluster: cluster, service: args[1], offsets: map[string]int64{}}
			} else {
				group := o.logGroup
				if group == "" {
					group = svcinfo.LogGroup(args[0], args[1])
				}
				src = &svcinfo.CloudWatchLogs{API: cloudwatchlogs.NewFromConfig(cfg), Group: group}
			}
			return streamLogs(ctx, cmd.OutOrStdout(), src, time.Now().Add(-since), follow)
		},
	}
	logs.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	logs.Flags().DurationVar(&since, "since", time.Hour, "how far back to start")
	logs.Flags().StringVar(&o.logGroup, "log-group", "", "the service's log group (default /pivot/<environment>/<service>)")
	cmd.AddCommand(status, logs)
	return cmd
}

// logSource yields log lines from a time on; see svcinfo.CloudWatchLogs.
type logSource interface {
	Fetch(ctx context.Context, since time.Time) ([]svcinfo.LogLine, time.Time, error)
}

// streamLogs prints what src has, and with follow keeps asking every
// second until the context ends.
func streamLogs(ctx context.Context, w io.Writer, src logSource, since time.Time, follow bool) error {
	for {
		lines, next, err := src.Fetch(ctx, since)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.At.IsZero() {
				// The local runtime's output has no timestamps of its own.
				fmt.Fprintf(w, "%s %s\n", l.Stream, l.Message)
				continue
			}
			fmt.Fprintf(w, "%s %s %s\n", l.At.UTC().Format(time.RFC3339), l.Stream, l.Message)
		}
		since = next
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// localStack returns the local stack's state when AWS_ENDPOINT_URL points
// at it (through its ECS runtime).
func localStack(dir string) (localstack.State, bool) {
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint == "" {
		return localstack.State{}, false
	}
	st, err := localstack.ReadState(dir)
	if err != nil || !st.Endpoints.ECSRuntime() || strings.TrimRight(st.Endpoints.AWS, "/") != strings.TrimRight(endpoint, "/") {
		return localstack.State{}, false
	}
	return st, true
}

// localLogs reads the local runtime's task output files: each Fetch prints
// what each task of the service wrote since the last one.
type localLogs struct {
	endpoints                 localstack.Endpoints
	account, cluster, service string
	offsets                   map[string]int64
}

func (l *localLogs) Fetch(ctx context.Context, since time.Time) ([]svcinfo.LogLine, time.Time, error) {
	tasks, err := localstack.Tasks(ctx, l.endpoints)
	if err != nil {
		return nil, since, err
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].CreatedAt.Before(tasks[j].CreatedAt) })
	var out []svcinfo.LogLine
	found := false
	for _, t := range tasks {
		if t.Account != l.account || t.Cluster != l.cluster || t.Service != l.service {
			continue
		}
		found = true
		if !t.StoppedAt.IsZero() && t.StoppedAt.Before(since) {
			continue
		}
		lines, off, err := readFrom(t.Output, l.offsets[t.TaskID])
		if err != nil {
			return nil, since, err
		}
		l.offsets[t.TaskID] = off
		for _, s := range lines {
			out = append(out, svcinfo.LogLine{Stream: "task/" + t.TaskID[:min(12, len(t.TaskID))], Message: s})
		}
	}
	if !found {
		return nil, since, fmt.Errorf("no task of service %s in cluster %s of account %s on the local stack; `pivotctl local status` lists them", l.service, l.cluster, l.account)
	}
	return out, since, nil
}

// readFrom returns the complete lines of a file from offset on and the
// offset after them.
func readFrom(name string, offset int64) ([]string, int64, error) {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, offset, nil
	}
	if err != nil {
		return nil, offset, fmt.Errorf("read task output: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, fmt.Errorf("read task output: %w", err)
	}
	var lines []string
	r := bufio.NewReader(f)
	for {
		s, err := r.ReadString('\n')
		if err != nil {
			// A partial last line waits for its newline.
			return lines, offset, nil
		}
		offset += int64(len(s))
		lines = append(lines, strings.TrimRight(s, "\n"))
	}
}

func printServiceStatus(w io.Writer, st *svcinfo.Status) {
	fmt.Fprintf(w, "service %s (cluster %s): %s\n", st.Service, st.Cluster, st.State)
	mark := "ok"
	if !st.Healthy {
		mark = "NOT STEADY"
	}
	fmt.Fprintf(w, "  health:    %s (%s)\n", mark, st.Health)
	fmt.Fprintf(w, "  tasks:     %d running, %d pending, %d desired\n", st.Running, st.Pending, st.Desired)
	fmt.Fprintf(w, "  revision:  %s\n", st.Revision)
	fmt.Fprintf(w, "  image:     %s\n", st.Image)
	switch {
	case st.ReleaseName == "":
	case st.ReleaseError != "":
		fmt.Fprintf(w, "  release:   %s (%s)\n", st.ReleaseName, st.ReleaseError)
	case st.ReleaseTag == "":
		fmt.Fprintf(w, "  release:   %s does not name %s\n", st.ReleaseName, st.Service)
	case st.ReleaseTag == st.Tag:
		fmt.Fprintf(w, "  release:   %s names %s: runs the release\n", st.ReleaseName, st.ReleaseTag)
	default:
		fmt.Fprintf(w, "  release:   %s names %s, but the service runs %s\n", st.ReleaseName, st.ReleaseTag, st.Tag)
	}
	if len(st.Deployments) > 0 {
		fmt.Fprintln(w, "\ndeployments (newest first):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tSTATUS\tROLLOUT\tREVISION\tRUNNING\tFAILED\tUPDATED\tREASON")
		for _, d := range st.Deployments {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d/%d\t%d\t%s\t%s\n", d.ID, d.Status, d.Rollout, d.Revision, d.Running, d.Desired, d.Failed, d.Updated.UTC().Format(time.RFC3339), d.Reason)
		}
		_ = tw.Flush()
	}
	if len(st.Events) > 0 {
		fmt.Fprintln(w, "\nevents (newest first):")
		for _, e := range st.Events {
			fmt.Fprintf(w, "  %s  %s\n", e.At.UTC().Format(time.RFC3339), e.Message)
		}
	}
	fmt.Fprintln(w, "\ntasks:")
	if len(st.Tasks) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  TASK\tREVISION\tSTATUS\tHEALTH\tSTARTED\tSTOPPED REASON")
	for _, t := range st.Tasks {
		started := ""
		if !t.StartedAt.IsZero() {
			started = t.StartedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Revision, t.LastStatus, t.Health, started, t.StoppedReason)
	}
	_ = tw.Flush()
}
