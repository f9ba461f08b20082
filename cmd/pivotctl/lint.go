package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/protolint"
	"github.com/pivotapp/platform/internal/repo"
)

func init() { extraCommands = append(extraCommands, newLintCmd) }

func newLintCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lint", Short: "Check house rules buf and terraform cannot"}
	root := repoFlag(cmd)
	proto := &cobra.Command{
		Use:   "proto",
		Short: "Versioned proto paths, packages matching them, and no service importing another's messages",
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			problems, err := protolint.Check(filepath.Join(r, repo.ProtoDir))
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.ErrOrStderr(), p)
			}
			if len(problems) > 0 {
				return fmt.Errorf("%d proto problem(s)", len(problems))
			}
			fmt.Fprintln(cmd.OutOrStdout(), "proto: ok")
			return nil
		},
	}
	cmd.AddCommand(proto)
	return cmd
}
