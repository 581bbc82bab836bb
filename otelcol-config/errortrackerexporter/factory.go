package errortrackerexporter

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// TypeStr is the exporter's type in a Collector configuration.
const TypeStr = "errortracker"

// BrowseType is the type of the extension that owns the store by default
// (package browseextension).
const BrowseType = "errortracker_browse"

// NewFactory returns the exporter's factory. The traces and logs exporters
// it creates for one component ID share one tracker (see the package doc).
func NewFactory() exporter.Factory {
	f := &factory{trackers: make(map[component.ID]*sharedTracker)}
	return exporter.NewFactory(component.MustNewType(TypeStr), createDefaultConfig,
		exporter.WithTraces(f.createTraces, component.StabilityLevelAlpha),
		exporter.WithLogs(f.createLogs, component.StabilityLevelAlpha))
}

func createDefaultConfig() component.Config {
	return &Config{Store: component.MustNewID(BrowseType)}
}

// factory keeps the trackers shared by the pipelines of one Collector.
type factory struct {
	mu       sync.Mutex
	trackers map[component.ID]*sharedTracker
}

// sharedTracker is one tracker with the number of pipeline exporters that
// use it: started by the first Start, shut down by the last Shutdown.
type sharedTracker struct {
	t     *tracker
	users int
	start sync.Once
	err   error
}

func (f *factory) acquire(set exporter.Settings, cfg *Config) *sharedTracker {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.trackers[set.ID]
	if !ok {
		s = &sharedTracker{t: newTracker(set, cfg)}
		f.trackers[set.ID] = s
	}
	s.users++
	return s
}

func (f *factory) options(set exporter.Settings, s *sharedTracker) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(func(ctx context.Context, host component.Host) error {
			s.start.Do(func() { s.err = s.t.start(ctx, host) })
			return s.err
		}),
		exporterhelper.WithShutdown(func(ctx context.Context) error {
			f.mu.Lock()
			s.users--
			last := s.users == 0
			if last {
				delete(f.trackers, set.ID)
			}
			f.mu.Unlock()
			if !last {
				return nil
			}
			return s.t.shutdown(ctx)
		}),
		// The tracker copies what it keeps: the batch is not changed.
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	}
}

func (f *factory) createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	s := f.acquire(set, cfg.(*Config))
	return exporterhelper.NewTraces(ctx, set, cfg, s.t.consumeTraces, f.options(set, s)...)
}

func (f *factory) createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	s := f.acquire(set, cfg.(*Config))
	return exporterhelper.NewLogs(ctx, set, cfg, s.t.consumeLogs, f.options(set, s)...)
}
