// Command otelcol-errortracker is the error tracker's Collector
// distribution: the OTLP receiver, batch, the errortracker_mask processor,
// the errortracker exporter, an OTLP/HTTP exporter that forwards the
// masked telemetry, and the errortracker_browse extension that owns the
// ClickHouse store and serves the pages. A fleet with no Go service runs
// this one binary: receive OTLP, store, mail, browse.
//
//	go build -o /tmp/otelcol-errortracker .
//	/tmp/otelcol-errortracker --config=../errortracker.yaml
//	/tmp/otelcol-errortracker validate --config=../errortracker.yaml
//
// It is a module of its own, so the library never depends on the Collector.
package main

import (
	"os"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/browseextension"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter/maskprocessor"
)

func main() {
	if err := newCommand(os.Args[1:]).Execute(); err != nil {
		os.Exit(1)
	}
}

// newCommand is the Collector's command line with args set.
func newCommand(args []string) *cobra.Command {
	cmd := otelcol.NewCommand(settings())
	cmd.SetArgs(args)
	return cmd
}

// components are the factories errortracker.yaml uses.
func components() (otelcol.Factories, error) {
	var f otelcol.Factories
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap(otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap(maskprocessor.NewFactory(), batchprocessor.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap(errortrackerexporter.NewFactory(), otlphttpexporter.NewFactory()); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap(browseextension.NewFactory()); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func settings() otelcol.CollectorSettings {
	return otelcol.CollectorSettings{
		Factories: components,
		BuildInfo: component.BuildInfo{Command: "otelcol-errortracker", Description: "the error tracker's Collector distribution", Version: "dev"},
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
			DefaultScheme:     "env",
		}},
	}
}
