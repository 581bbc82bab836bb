package quickstart_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/browse"
	"github.com/errortracker/errortracker/exporter/clickhouse"
	"github.com/errortracker/errortracker/exporter/smtp"
	"github.com/errortracker/errortracker/internal/testenv"
	"github.com/errortracker/errortracker/notify"
	"github.com/errortracker/errortracker/notify/setup"
	"github.com/errortracker/errortracker/processor"
	"github.com/errortracker/errortracker/scope"
)

// README: quick start begins

// serve runs the service until ctx ends, then shuts it down in order.
func serve(ctx context.Context, addr string) error {
	cfg, err := processor.ConfigFromEnv() // the APP_ERROR_* variables
	if err != nil {
		return err
	}
	// A ClickHouse that is down does not stop the app: the store connects in the
	// background and the errors wait in the queue. A configuration mistake is an error now.
	store, err := clickhouse.New(ctx, clickhouse.Config{
		Addrs:    []string{os.Getenv("CLICKHOUSE_ADDR")}, // host:port of the native protocol
		Database: os.Getenv("CLICKHOUSE_DATABASE"),       // empty: errortracker
	})
	if err != nil {
		return err
	}
	// E-mail and the webhook, as APP_ERROR_* say; nil unless APP_ERROR_SEND_NOTIFICATION is on.
	notifications, _, err := setup.ProcessorOption(cfg, setup.Config{
		SMTP:   smtp.Config{Addr: os.Getenv("SMTP_ADDR")},
		Policy: notify.Config{Store: store}, // new groups and regressions across restarts and instances
	})
	if err != nil {
		return err
	}
	p, err := processor.New(cfg, processor.WithExporter(store), notifications)
	if err != nil {
		return err
	}
	// Service name and environment: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(p))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(p.LogProcessor()))
	logger := otelslog.NewLogger("shop", otelslog.WithLoggerProvider(lp))

	pages, err := browse.New(store, browse.Config{
		URLPrefix: cfg.URLPrefix, // APP_ERROR_URL_PREFIX, default /dev/error
		Authorize: browse.BasicAuth("admin", os.Getenv("ERRORS_PASSWORD")),
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(cfg.URLPrefix+"/", pages)
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := loadOrder(ctx, r.PathValue("id")); err != nil {
			logger.ErrorContext(ctx, "load order", scope.LogArgs(err)...) // logged and captured: one occurrence
			scope.CaptureException(ctx, err)
			http.Error(w, "no such order", http.StatusNotFound)
			return
		}
		go scope.Track(context.WithoutCancel(ctx), sendReceipt) // a job that outlives the request
	})
	srv := &http.Server{Addr: addr, Handler: otelhttp.NewHandler(scope.Middleware(mux), "shop", otelhttp.WithTracerProvider(tp))}

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// In this order: the server (requests end, and their spans), the loggers,
	// then the tracer provider, which exports what is queued and closes the store.
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(stop), lp.Shutdown(stop), tp.Shutdown(stop))
}

// README: quick start ends

// loadOrder finds only order 1.
func loadOrder(_ context.Context, id string) error {
	if id != "1" {
		return fmt.Errorf("load order %s: %w", id, sql.ErrNoRows)
	}
	return nil
}

// sendReceipt is a background job that fails, after its request has ended
// (the mail server takes its time): its error is recorded on a span of its
// own, named after it, not on the request's.
func sendReceipt(context.Context) error {
	time.Sleep(200 * time.Millisecond)
	return errors.New("send receipt: mail server refused the connection")
}

// The quick start, run: a service named by the environment, a request
// whose error is logged and captured, a background job that fails; both
// errors are on the pages once, and the service stops in order.
func Example() {
	addr := freeAddr()
	for k, v := range map[string]string{
		"CLICKHOUSE_ADDR":          os.Getenv(testenv.EnvClickHouseAddr),
		"CLICKHOUSE_DATABASE":      "quickstart_" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"ERRORS_PASSWORD":          "pw",
		"OTEL_SERVICE_NAME":        "shop",
		"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging",
	} {
		os.Setenv(k, v)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, addr) }()

	base := "http://" + addr
	waitFor(func() bool { _, code := get(base+"/orders/1", false); return code == 200 })
	get(base+"/orders/7", false)

	var list struct {
		Groups []struct {
			Service, Environment, Route, Type, Message string
			Count                                      uint64
		}
	}
	waitFor(func() bool {
		body, code := get(base+"/dev/error/api/exceptions", true)
		return code == 200 && json.Unmarshal([]byte(body), &list) == nil && len(list.Groups) == 2
	})
	sort.Slice(list.Groups, func(i, j int) bool { return list.Groups[i].Message < list.Groups[j].Message })
	for _, g := range list.Groups {
		fmt.Printf("%s %s %q %s %q ×%d\n", g.Service, g.Environment, g.Route, g.Type, g.Message, g.Count)
	}
	stop()
	fmt.Println("stopped:", <-done)
	// Output:
	// shop staging "/orders/{id}" *errors.errorString "load order 7: sql: no rows in result set" ×1
	// shop staging "" *errors.errorString "send receipt: mail server refused the connection" ×1
	// stopped: <nil>
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string, auth bool) (string, int) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	if auth {
		req.SetBasicAuth("admin", "pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// waitFor polls cond for up to a minute.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			panic("timed out")
		}
	}
}
