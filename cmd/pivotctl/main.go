// Command pivotctl is the Pivot platform's operator CLI: the local platform
// stack, image bumps from CI, tenants, services and promotion.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "pivotctl:", err)
		os.Exit(1)
	}
}
