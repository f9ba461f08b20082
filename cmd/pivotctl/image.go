package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/hcledit"
	"github.com/pivotapp/platform/internal/repo"
)

func init() { extraCommands = append(extraCommands, newImageCmd) }

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Manage the image tags in service declarations"}
	root := repoFlag(cmd)
	bump := &cobra.Command{
		Use:   "bump <service> <git-sha>",
		Short: "Set a service's image tag to a commit SHA (what CI runs after pushing the image)",
		Long: "Edits locals.image_tag in services/<service>/service.tf and nothing else: one token changes,\n" +
			"comments and formatting stay. Running it again with the same SHA changes nothing. Each service's\n" +
			"tag lives in its own file, so CI jobs of two services can bump at the same time.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			service, sha := args[0], args[1]
			if err := hcledit.ValidateGitSHA(sha); err != nil {
				return err
			}
			r, err := root()
			if err != nil {
				return err
			}
			path, err := repo.DeclarationPath(r, service)
			if err != nil {
				return err
			}
			changed, err := hcledit.BumpImageTag(path, sha)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(r, path)
			if !changed {
				fmt.Fprintf(cmd.OutOrStdout(), "%s already at %s; nothing to do\n", service, sha)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: image_tag = %s (%s)\n", service, sha, rel)
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show [service...]",
		Short: "Print the image tag each service's declaration pins",
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			services := args
			if len(services) == 0 {
				if services, err = repo.Services(r); err != nil {
					return err
				}
			}
			for _, s := range services {
				path, err := repo.DeclarationPath(r, s)
				if err != nil {
					return err
				}
				tag, err := hcledit.ImageTag(path)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%-16s %s\n", s, tag)
			}
			return nil
		},
	}
	cmd.AddCommand(bump, show)
	return cmd
}
