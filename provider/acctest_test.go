package provider

import (
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/pivotapp/platform/internal/acctest"
)

// testAccProtoV6ProviderFactories serves the provider in-process to the
// Terraform CLI that terraform-plugin-testing drives.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"pivot": func() (tfprotov6.ProviderServer, error) { return NewServer("test")(), nil },
}

func TestMain(m *testing.M) {
	// As main does: loggers Terraform would drop are off (TF_LOG unset).
	SetLogLevels()
	if path := os.Getenv(benchProviderEnvFile); path != "" {
		if err := serveBenchProvider(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	acctest.Main(m)
}
