package main

import (
	"github.com/spf13/cobra"
)

// version is set by goreleaser at release time.
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "pivotctl",
		Short:         "Operate the Pivot platform: local stack, images, tenants, services, releases",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newLocalCmd())
	for _, add := range extraCommands {
		root.AddCommand(add())
	}
	return root
}

// extraCommands lets each command file register itself.
var extraCommands []func() *cobra.Command
