package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/localstack"
	"github.com/pivotapp/platform/internal/localstack/ecsrt"
	"github.com/pivotapp/platform/internal/localstack/ecsrt/otelsink"
	"github.com/pivotapp/platform/internal/svcinfo"
	"github.com/pivotapp/platform/services/probe"
)

// newLocalProbeCmd sends a message through an environment the local ECS
// runtime runs, as a client would, and prints the path and trace it took.
func newLocalProbeCmd(dir *string) *cobra.Command {
	var audience string
	var databaseServices []string
	cmd := &cobra.Command{
		Use:   "probe <account> <environment>",
		Short: "Send a message through friend -> messenger -> JetStream -> notifier of a deployed environment; print its path and trace",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			account, env := args[0], args[1]
			st, err := localstack.ReadState(*dir)
			if err != nil {
				return errors.New("not running; start it with `pivotctl local up`")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			secret, err := localstack.GetSecret(ctx, st.Endpoints, account, "/"+env+"/friend/JWT_HS256_SECRET")
			if err != nil {
				return fmt.Errorf("read friend's JWT secret: %w", err)
			}
			tasks := func() ([]ecsrt.TaskStatus, error) { return localstack.Tasks(ctx, st.Endpoints) }
			res, err := probe.SendMessage(ctx, probe.Options{
				JWTSecret: secret, Audience: audience,
				Dial: func(ctx context.Context, service string, port int) (net.Conn, error) {
					ts, err := tasks()
					if err != nil {
						return nil, err
					}
					for _, t := range ts {
						if t.Account == account && t.Cluster == env && t.Service == service && t.Netns != "" {
							return ecsrt.DialTask(ctx, t.Netns, port)
						}
					}
					return nil, fmt.Errorf("no running task of %s in %s (account %s)", service, env, account)
				},
			})
			if err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: message %s: alice -> friend (JWT) -> messenger -> JetStream -> notifier -> bob's notification\n", env, res.MessageID)
			deadline := time.Now().Add(30 * time.Second)
			for {
				ts, err := tasks()
				if err != nil {
					return err
				}
				var spans []otelsink.Span
				for _, t := range ts {
					if t.Account == account && t.Cluster == env && t.Spans != "" {
						got, err := otelsink.Read(t.Spans)
						if err != nil {
							return err
						}
						spans = append(spans, got...)
					}
				}
				id, path := ecsrt.MessageTrace(spans)
				if id != "" && strings.Contains(strings.Join(path, " "), "messenger") {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: trace %s at the environment's collector, spans from %s\n", env, id, strings.Join(path, ", "))
					return checkDatabaseReach(ctx, cmd, st.Endpoints, account, env, databaseServices)
				}
				if time.Now().After(deadline) {
					return fmt.Errorf("%s: the message arrived, but the collector has no trace through friend and messenger", env)
				}
				time.Sleep(time.Second)
			}
		},
	}
	cmd.Flags().StringVar(&audience, "audience", "pivot-api", "friend's JWT_AUDIENCE")
	cmd.Flags().StringSliceVar(&databaseServices, "database-services", []string{"messenger", "notifier"},
		"services whose path to the environment's Aurora cluster (same VPC, admitted on 5432) is checked; empty for none")
	return cmd
}

// checkDatabaseReach checks what the local stack does not enforce but AWS
// would: each service's tasks can reach the environment's Aurora cluster
// (named after the environment).
func checkDatabaseReach(ctx context.Context, cmd *cobra.Command, e localstack.Endpoints, account, env string, services []string) error {
	if len(services) == 0 {
		return nil
	}
	cfg, err := localstack.AccountConfig(ctx, e, account)
	if err != nil {
		return err
	}
	for _, svc := range services {
		r, err := svcinfo.ReadDatabaseReach(ctx, cfg, env, svc, env)
		if err != nil {
			return fmt.Errorf("%s: %w", env, err)
		}
		if p := r.Problems(); len(p) > 0 {
			return fmt.Errorf("%s: %s", env, strings.Join(p, "; "))
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", env, r)
	}
	return nil
}
