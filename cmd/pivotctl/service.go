package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"github.com/pivotapp/platform/internal/scaffold"
)

func init() { extraCommands = append(extraCommands, newServiceCmd) }

func newServiceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Manage services"}
	root := repoFlag(cmd)
	var skipGenerate bool
	create := &cobra.Command{
		Use:   "new <name>",
		Short: "Scaffold a service from the kit: Go code, proto, Dockerfile, declaration, catalog entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root()
			if err != nil {
				return err
			}
			name := args[0]
			created, err := scaffold.New(r, name)
			if err != nil {
				return err
			}
			sort.Strings(created)
			out := cmd.OutOrStdout()
			for _, f := range created {
				fmt.Fprintf(out, "created %s\n", f)
			}
			fmt.Fprintf(out, "added %s to services/services.tf\n", name)
			if !skipGenerate {
				if err := bufGenerate(r); err != nil {
					return fmt.Errorf("generate code from proto/%s: %w (run `make generate` once buf is installed)", name, err)
				}
				fmt.Fprintf(out, "generated services/internal/gen/%s\n", name)
				if err := writeEnvSchema(r, name); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote services/%s/env-schema.json\n", name)
			}
			fmt.Fprintf(out, "\nNext: go test ./services/%s/... ; review services/%s/service.tf (size, env, secrets, database);\n", name, name)
			fmt.Fprintf(out, "open a pull request: CI builds the image and bumps its tag, and staging deploys it.\n")
			return nil
		},
	}
	create.Flags().BoolVar(&skipGenerate, "skip-generate", false, "do not run buf generate")
	cmd.AddCommand(create)
	return cmd
}

// writeEnvSchema records the new binary's env contract next to its
// declaration, as `make generate` does for every service.
func writeEnvSchema(root, name string) error {
	c := exec.Command("go", "run", "./services/"+name+"/cmd/"+name, "--print-env-schema")
	c.Dir = root
	out, err := c.Output()
	if err != nil {
		return fmt.Errorf("print env schema of %s: %w", name, err)
	}
	return os.WriteFile(filepath.Join(root, "services", name, "env-schema.json"), out, 0o644)
}

// bufGenerate runs the project's pinned buf (./bin) or one on PATH.
func bufGenerate(root string) error {
	bin := filepath.Join(root, "bin", "buf")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("buf"); err != nil {
			return fmt.Errorf("buf not found in ./bin or on PATH")
		}
	}
	c := exec.Command(bin, "generate")
	c.Dir = root
	c.Env = append(os.Environ(), "PATH="+filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
