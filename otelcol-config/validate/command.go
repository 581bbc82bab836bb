package main

import (
	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/otelcol"
)

// newCommand is the Collector's command line with args set.
func newCommand(args []string) *cobra.Command {
	cmd := otelcol.NewCommand(settings())
	cmd.SetArgs(args)
	return cmd
}
