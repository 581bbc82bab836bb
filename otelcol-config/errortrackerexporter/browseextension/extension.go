package browseextension

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter"
)

// TypeStr is the extension's type in a Collector configuration.
const TypeStr = errortrackerexporter.BrowseType

// NewFactory returns the extension's factory.
func NewFactory() extension.Factory {
	return extension.NewFactory(component.MustNewType(TypeStr), createDefaultConfig, create, component.StabilityLevelAlpha)
}

func createDefaultConfig() component.Config {
	return &Config{
		Endpoint:   "127.0.0.1:8080",
		URLPrefix:  browse.DefaultURLPrefix,
		ClickHouse: ClickHouseConfig{Addr: clickhouse.DefaultAddr, Database: clickhouse.DefaultDatabase},
	}
}

func create(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return &browseExtension{cfg: cfg.(*Config)}, nil
}

// browseExtension owns the store and serves the pages.
type browseExtension struct {
	cfg *Config

	mu    sync.Mutex
	store *clickhouse.Exporter
	srv   *http.Server
	done  chan error
}

var _ errortrackerexporter.StoreOwner = (*browseExtension)(nil)

// Store returns the store; nil before Start.
func (b *browseExtension) Store() errortrackerexporter.StoreExporter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.store == nil {
		return nil
	}
	return b.store
}

// Start opens the store (it connects in the background: a ClickHouse that
// is down keeps nothing from starting; the pages answer 503 until it is
// up) and starts serving the pages.
func (b *browseExtension) Start(ctx context.Context, _ component.Host) error {
	store, err := clickhouse.New(ctx, clickhouse.Config{
		Addrs:    b.cfg.addrs(),
		Database: b.cfg.ClickHouse.Database,
		Username: b.cfg.ClickHouse.Username,
		Password: string(b.cfg.ClickHouse.Password),
	})
	if err != nil {
		return fmt.Errorf("errortracker_browse: store: %w", err)
	}
	var authorize func(*http.Request) bool
	if b.cfg.User != "" && b.cfg.Password != "" {
		authorize = browse.BasicAuth(b.cfg.User, string(b.cfg.Password))
	}
	prefix := b.cfg.URLPrefix
	if prefix == "" {
		prefix = browse.DefaultURLPrefix
	}
	pages, err := browse.New(store, browse.Config{URLPrefix: prefix, Authorize: authorize, Secret: string(b.cfg.Secret)})
	if err != nil {
		return errors.Join(fmt.Errorf("errortracker_browse: %w", err), store.Shutdown(ctx))
	}
	mux := http.NewServeMux()
	mux.Handle(prefix+"/", pages)
	mux.Handle(prefix, pages)
	l, err := net.Listen("tcp", b.cfg.Endpoint)
	if err != nil {
		return errors.Join(fmt.Errorf("errortracker_browse: %w", err), store.Shutdown(ctx))
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	b.mu.Lock()
	b.store, b.srv, b.done = store, srv, done
	b.mu.Unlock()
	return nil
}

// Shutdown stops serving and closes the store, within ctx. The Collector
// calls it after the pipelines shut down, so the exporter's last records
// have reached the store.
func (b *browseExtension) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	store, srv, done := b.store, b.srv, b.done
	b.store, b.srv = nil, nil
	b.mu.Unlock()
	var errs []error
	if srv != nil {
		errs = append(errs, srv.Shutdown(ctx))
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if store != nil {
		errs = append(errs, store.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
