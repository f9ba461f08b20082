package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/repo"
)

func init() { extraCommands = append(extraCommands, newAffectedCmd) }

func newAffectedCmd() *cobra.Command {
	var base string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "affected --base <rev>",
		Short: "List the services whose code, proto or declaration changed since base (for CI)",
	}
	root := repoFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		r, err := root()
		if err != nil {
			return err
		}
		files, err := repo.ChangedFiles(r, base)
		if err != nil {
			return err
		}
		services, err := repo.Affected(r, files)
		if err != nil {
			return err
		}
		if asJSON {
			if services == nil {
				services = []string{}
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(services)
		}
		for _, s := range services {
			fmt.Fprintln(cmd.OutOrStdout(), s)
		}
		return nil
	}
	cmd.Flags().StringVar(&base, "base", "origin/main", "the revision to compare HEAD with")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array (for a GitHub Actions matrix)")
	return cmd
}
