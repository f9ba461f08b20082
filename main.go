// Command terraform-provider-pivot serves the Pivot Terraform provider.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/pivotapp/platform/provider"
)

// version is set by goreleaser at release time.
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	// Loggers Terraform would drop (TF_LOG unset) are off before the server
	// builds them; see provider.SetLogLevels.
	provider.SetLogLevels()
	provider.TuneGC()
	stopProfile, err := provider.StartCPUProfile()
	if err != nil {
		log.Fatal(err)
	}
	// As providerserver.Serve does, with the provider's own server (see
	// provider.NewServer).
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	err = tf6server.Serve(provider.Address, provider.NewServer(version), opts...)
	stopProfile()
	if err != nil {
		log.Fatal(err)
	}
}
