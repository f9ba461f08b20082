package main

import (
	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/repo"
)

// repoFlag adds --repo and returns a resolver for the repository root.
func repoFlag(cmd *cobra.Command) func() (string, error) {
	var dir string
	cmd.PersistentFlags().StringVar(&dir, "repo", ".", "the platform repository (any folder inside it)")
	return func() (string, error) { return repo.Root(dir) }
}
