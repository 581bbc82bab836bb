// Command webapp is the Go twin of the Python error-tracker's Flask
// example: a net/http app wrapped with otelhttp and scope.Middleware whose
// errors go to ClickHouse, to e-mail and a webhook, and to the browse
// pages. It is configured only by the environment:
//
//	APP_ERROR_*                      the tracker's settings (see the README), with
//	APP_ERROR_WEBHOOK_URL, _SECRET, _FORMAT  the webhook (json or slack)
//	ADDR                             listen address (127.0.0.1:8080)
//	CLICKHOUSE_ADDR                  ClickHouse native protocol (127.0.0.1:9000)
//	CLICKHOUSE_DATABASE              database (errortracker)
//	SMTP_ADDR                        mail server (needed when APP_ERROR_RECIPIENT_EMAIL is set)
//	SMTP_USERNAME, SMTP_PASSWORD     mail credentials
//	SMTP_TLS                         none, starttls or tls (none on loopback, else starttls)
//	APP_ERROR_BROWSE_USER, _PASSWORD basic auth for the pages; unset: 401
//	OTEL_EXPORTER_OTLP_ENDPOINT      also send the masked spans over OTLP/HTTP
//	OTEL_SERVICE_NAME                service name (webapp)
//	OTEL_RESOURCE_ATTRIBUTES         resource, e.g. service.version=1.4.0,deployment.environment.name=prod
//	APP_ERROR_SPOOL_DIR              disk spool, and crash capture in its crash/ (unset: neither)
//	CRASH_MONITOR                    1: run under processor.MonitorCrashesAndReport (needs APP_ERROR_SPOOL_DIR)
//
// A configuration mistake stops it with one line on standard error; a
// ClickHouse that is down does not (the store connects in the background).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/setup"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

func main() {
	if dir := os.Getenv(processor.EnvSpoolDir); dir != "" && os.Getenv("CRASH_MONITOR") == "1" {
		// First of all: the monitor runs this program again as its child,
		// and reports a crash at once with exporters of its own.
		if cfg, err := processor.ConfigFromEnv(); err == nil {
			processor.MonitorCrashesAndReport(crashDir(dir), cfg, func(ctx context.Context) ([]processor.Option, error) {
				opts, _, err := exporters(ctx, cfg, env("ADDR", "127.0.0.1:8080"))
				return opts, err
			})
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context) error {
	cfg, err := processor.ConfigFromEnv()
	if err != nil {
		return fmt.Errorf("configuration: %w", oneLine(err))
	}
	addr := env("ADDR", "127.0.0.1:8080")

	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	opts, store, err := exporters(startCtx, cfg, addr)
	if err != nil {
		return err
	}
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		otlp, err := otlptracehttp.New(startCtx) // reads the OTEL_EXPORTER_OTLP_* variables
		if err != nil {
			return fmt.Errorf("OTLP exporter: %w", err)
		}
		opts = append(opts, processor.WithNext(sdktrace.NewBatchSpanProcessor(otlp, sdktrace.WithBatchTimeout(time.Second))))
	}
	if cfg.SpoolDir != "" {
		// The spool (APP_ERROR_SPOOL_DIR, read by processor.New) keeps what
		// ClickHouse and the mail server have not taken across a kill; a
		// crash is kept beside it and reported on the next start.
		opts = append(opts, processor.WithCrashCapture(crashDir(cfg.SpoolDir)))
	}
	p, err := processor.New(cfg, opts...)
	if err != nil {
		return oneLine(err)
	}
	res := resource.Default() // honours OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		if res, err = resource.Merge(res, resource.NewSchemaless(semconv.ServiceName("webapp"))); err != nil {
			return err
		}
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p), sdktrace.WithResource(res))

	var authorize func(*http.Request) bool
	if u, pw := os.Getenv("APP_ERROR_BROWSE_USER"), os.Getenv("APP_ERROR_BROWSE_PASSWORD"); u != "" && pw != "" {
		authorize = browse.BasicAuth(u, pw)
	}
	pages, err := browse.New(store, browse.Config{URLPrefix: cfg.URLPrefix, Authorize: authorize, Secret: os.Getenv("APP_ERROR_BROWSE_SECRET")})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	routes(mux)
	mux.Handle(cfg.URLPrefix+"/", pages)
	mux.Handle(cfg.URLPrefix, pages)
	// otelhttp names each server span by its route ("GET /value-error"),
	// which the middleware hands on from the mux: a span name per path
	// would split the group of a bare error by every id in the URL.
	app := otelhttp.NewHandler(scope.NewMiddleware(scope.WithTracerProvider(tp))(mux), "webapp",
		otelhttp.WithTracerProvider(tp))

	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}
	slog.Info("webapp listening", "url", "http://"+l.Addr().String()+"/", "errors", "http://"+l.Addr().String()+cfg.URLPrefix+"/")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancelShut := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShut()
	// In this order: the server first, so that every request's span has
	// ended; then the provider, which shuts the processor down: it exports
	// what is queued (to ClickHouse, mail, OTLP) and then shuts the store.
	srvErr := srv.Shutdown(shutCtx)
	return errors.Join(srvErr, tp.Shutdown(shutCtx))
}

// exporters builds the store and, when notifications are on, the
// notification policy with its transports, and returns the options that
// attach them: the store first.
func exporters(ctx context.Context, cfg processor.Config, addr string) ([]processor.Option, *clickhouse.Exporter, error) {
	if cfg.SendNotification && len(cfg.RecipientEmail) > 0 && os.Getenv("SMTP_ADDR") == "" {
		// Before the store, which would report first a ClickHouse that is
		// down.
		return nil, nil, errors.New("notifications: APP_ERROR_RECIPIENT_EMAIL is set but SMTP_ADDR is not")
	}
	// With ClickHouse down the app starts all the same: the store connects
	// in the background, errors wait in the processor's queue, the pages
	// answer 503 until then. Only a mistake in the configuration stops it.
	store, err := clickhouse.New(ctx, clickhouse.Config{
		Addrs:    []string{env("CLICKHOUSE_ADDR", "127.0.0.1:9000")},
		Database: env("CLICKHOUSE_DATABASE", "errortracker"),
	})
	if err != nil {
		return nil, nil, oneLine(err)
	}
	opts := []processor.Option{processor.WithExporter(store)}
	if notifyOpt, err := notifications(cfg, addr, store); err != nil {
		return nil, nil, fmt.Errorf("notifications: %w", oneLine(err))
	} else if notifyOpt != nil {
		opts = append(opts, notifyOpt)
	}
	return opts, store, nil
}

// crashDir is where crash capture writes, inside the spool's directory.
func crashDir(spoolDir string) string { return filepath.Join(spoolDir, "crash") }

// notifications attaches the notification policy when
// APP_ERROR_SEND_NOTIFICATION is on, with e-mail when
// APP_ERROR_RECIPIENT_EMAIL is set (it needs SMTP_ADDR then) and the
// webhook when APP_ERROR_WEBHOOK_URL is.
func notifications(cfg processor.Config, addr string, store *clickhouse.Exporter) (processor.Option, error) {
	smtpAddr := os.Getenv("SMTP_ADDR")
	tlsMode := smtp.TLSStartTLS
	if host, _, _ := net.SplitHostPort(smtpAddr); host == "127.0.0.1" || host == "localhost" || host == "::1" {
		tlsMode = smtp.TLSNone
	}
	if v := os.Getenv("SMTP_TLS"); v != "" {
		if err := tlsMode.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("SMTP_TLS: %w", err)
		}
	}
	opt, _, err := setup.ProcessorOption(cfg, setup.Config{
		SMTP:   smtp.Config{Addr: smtpAddr, Username: os.Getenv("SMTP_USERNAME"), Password: os.Getenv("SMTP_PASSWORD"), TLS: tlsMode},
		Policy: notify.Config{Store: store, BaseURL: "http://" + addr + cfg.URLPrefix},
	})
	return opt, err
}

// oneLine keeps a joined error on one line, for the one line of output.
func oneLine(err error) error {
	var b []byte
	for _, c := range []byte(err.Error()) {
		if c == '\n' {
			b = append(b, ';', ' ')
			continue
		}
		b = append(b, c)
	}
	return errors.New(string(b))
}
