package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/otel/attribute"

	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/internal/chtap"
)

// Defaults of Config.
const (
	DefaultAddr              = "127.0.0.1:9000"
	DefaultDatabase          = "errortracker"
	DefaultDialTimeout       = 5 * time.Second
	DefaultQueryTimeout      = 30 * time.Second
	DefaultRetentionDays     = 30
	DefaultRetentionInterval = time.Hour
)

// Config configures the exporter. The zero value connects to a local
// server without a password.
type Config struct {
	// Addrs lists the servers' native-protocol addresses (default
	// 127.0.0.1:9000). With several, the driver spreads connections.
	Addrs []string
	// Database holds the tables (default "errortracker"); it is created
	// when missing.
	Database string
	// Username and Password authenticate (default user "default").
	Username, Password string
	// TLS, when not nil, encrypts the connections.
	TLS *tls.Config
	// DialTimeout bounds opening a connection (default 5 s). It matters:
	// a new connection to a hung server waits this long, whatever the
	// context says.
	DialTimeout time.Duration
	// QueryTimeout bounds reading a reply (default 30 s).
	QueryTimeout time.Duration
	// Cluster names the ClickHouse cluster (remote_servers) to create the
	// tables on and to shard by fingerprint; empty means one server.
	Cluster string
	// Replicated makes the per-shard tables ReplicatedMergeTree (cluster
	// mode only; needs ZooKeeper and the {shard} and {replica} macros).
	Replicated bool
	// RetentionDays keeps this many days of occurrences (default 30);
	// older day partitions are dropped. Negative keeps everything.
	RetentionDays int
	// RetentionInterval is how often old partitions are dropped (default
	// one hour).
	RetentionInterval time.Duration
	// SortSnapshotInterval is how often the first groups of the list
	// sorted by first seen and by count are recorded, which keeps those
	// sorts fast at a million groups (default one minute; negative never
	// records them, and those sorts read every group). See
	// TakeSortSnapshot.
	SortSnapshotInterval time.Duration
	// Logger reports retention and carry-over failures, and the
	// background connection (default slog.Default()).
	Logger *slog.Logger
	// WaitForServer makes New fail when the server cannot be reached
	// within its context, as New did before it could connect in the
	// background. The default (false) never keeps an app from starting:
	// see New.
	WaitForServer bool
}

func (c Config) withDefaults() Config {
	if len(c.Addrs) == 0 {
		c.Addrs = []string{DefaultAddr}
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = DefaultRetentionDays
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	if c.SortSnapshotInterval == 0 {
		c.SortSnapshotInterval = DefaultSortSnapshotInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	for _, a := range c.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("address %q: %w", a, err))
		}
	}
	if err := (schemaOptions{DB: c.Database, Cluster: c.Cluster, Replicated: c.Replicated}).validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Exporter writes records to ClickHouse and implements exporter.Store.
// Its methods are safe for concurrent use.
type Exporter struct {
	conn   driver.Conn // gated: fails with exporter.ErrNotReady until ready
	raw    driver.Conn
	cfg    Config
	schema schemaOptions // written by New only: read without a lock
	insert string

	carried carried // fingerprints carried over from their previous version
	claims  claims  // this exporter's claim owner and the keys it holds (claim.go)

	ready   chan struct{} // closed once connected and migrated
	mu      sync.Mutex
	lastErr error // why it is not ready yet

	stop     chan struct{}
	done     chan struct{}
	shutdown sync.Once
}

var (
	_ exporter.Exporter = (*Exporter)(nil)
	_ exporter.Store    = (*Exporter)(nil)
)

// Backoff of the background connection.
const (
	connectRetryInitial = 500 * time.Millisecond
	connectRetryMax     = 30 * time.Second
	connectLogInterval  = time.Minute
)

// New checks the configuration, connects, creates or upgrades the schema,
// and starts the periodic retention. A configuration mistake is an error
// at once, and so is anything the server itself refuses (a wrong password,
// a missing grant).
//
// A server that cannot be reached within ctx does not keep the app from
// starting: New returns the exporter, which connects and migrates in the
// background, retrying with backoff (0.5 s doubling to 30 s) and logging
// the reason. Until then Export and every Store method fail fast with an
// error wrapping exporter.ErrNotReady and the reason: the processor keeps
// the records in its queue, the browse pages answer 503. [Exporter.Ready]
// tells whether it is ready, [Exporter.WaitReady] waits for it. Set
// Config.WaitForServer to make New fail instead.
func New(ctx context.Context, cfg Config) (*Exporter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("clickhouse: invalid configuration: %w", err)
	}
	conn, err := ch.Open(&ch.Options{
		Addr:            cfg.Addrs,
		Auth:            ch.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		TLS:             cfg.TLS,
		DialTimeout:     cfg.DialTimeout,
		ReadTimeout:     cfg.QueryTimeout,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	e := &Exporter{
		// The module's tests record what the store sends, to replay it on
		// other ClickHouse releases (internal/chtap); for everyone else
		// this is conn.
		raw: chtap.Wrap(ctx, conn), cfg: cfg,
		// Modern is the server's to tell; init passes it to the
		// migrations only, so that nothing here changes once shared.
		schema: schemaOptions{DB: cfg.Database, Cluster: cfg.Cluster, Replicated: cfg.Replicated},
		ready:  make(chan struct{}),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	e.conn = gatedConn{Conn: e.raw, e: e}
	e.insert = "INSERT INTO " + e.schema.DB + ".occurrences (" + strings.Join(occurrenceColumns, ", ") + ")"
	if err := e.init(ctx); err != nil {
		if cfg.WaitForServer || !unreachable(err) {
			conn.Close()
			return nil, err
		}
		e.setNotReady(err)
		cfg.Logger.Warn("error tracker: clickhouse is not reachable; connecting in the background, records wait in the queue", "error", err)
		go e.run(false)
		return e, nil
	}
	close(e.ready)
	go e.run(true)
	return e, nil
}

// unreachable tells a server that did not answer (refused, timed out, name
// not resolved) from one that answered with an error, which retrying
// would not fix.
func unreachable(err error) bool {
	var ex *ch.Exception
	return !errors.As(err, &ex)
}

func (e *Exporter) init(ctx context.Context) error {
	if err := e.raw.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse: cannot reach %s: %w", strings.Join(e.cfg.Addrs, ", "), err)
	}
	var version string
	if err := e.raw.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return fmt.Errorf("clickhouse: version: %w", err)
	}
	opts := e.schema
	opts.Modern = majorVersion(version) >= 20
	return migrate(ctx, e.raw, opts)
}

// Ready returns nil once the exporter has connected and migrated the
// schema, and before that an error wrapping exporter.ErrNotReady that says
// why not. It does not block.
func (e *Exporter) Ready() error {
	select {
	case <-e.ready:
		return nil
	default:
	}
	e.mu.Lock()
	last := e.lastErr
	e.mu.Unlock()
	if last == nil {
		return fmt.Errorf("clickhouse: %w: connecting to %s", exporter.ErrNotReady, strings.Join(e.cfg.Addrs, ", "))
	}
	return fmt.Errorf("clickhouse: %w (retrying in the background): %w", exporter.ErrNotReady, last)
}

// WaitReady waits until the exporter is ready, ctx ends or the exporter
// is shut down, and returns Ready's answer.
func (e *Exporter) WaitReady(ctx context.Context) error {
	select {
	case <-e.ready:
	case <-ctx.Done():
	case <-e.stop:
	}
	return e.Ready()
}

func (e *Exporter) setNotReady(err error) {
	e.mu.Lock()
	e.lastErr = err
	e.mu.Unlock()
}

// run connects in the background unless connected, then applies the
// retention and takes the sorted list's snapshots until Shutdown.
func (e *Exporter) run(connected bool) {
	defer close(e.done)
	if !connected && !e.connect() {
		return
	}
	var wg sync.WaitGroup
	wg.Go(e.snapshotLoop)
	e.retentionLoop()
	wg.Wait()
}

// connect retries init with backoff until it succeeds or Shutdown; it
// reports whether it succeeded.
func (e *Exporter) connect() bool {
	wait := connectRetryInitial
	lastLog := time.Now()
	for {
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-e.stop:
			t.Stop()
			return false
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.DialTimeout+e.cfg.QueryTimeout)
		go func() { // Shutdown ends an attempt in flight
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		err := e.init(ctx)
		cancel()
		if err == nil {
			close(e.ready)
			e.cfg.Logger.Info("error tracker: connected to clickhouse", "addrs", strings.Join(e.cfg.Addrs, ","))
			return true
		}
		e.setNotReady(err)
		if now := time.Now(); now.Sub(lastLog) >= connectLogInterval {
			lastLog = now
			e.cfg.Logger.Warn("error tracker: clickhouse still not ready; records wait in the queue", "error", err)
		}
		wait = min(2*wait, connectRetryMax)
	}
}

// Database returns the database that holds the tables.
func (e *Exporter) Database() string { return e.schema.DB }

// majorVersion reads the 18 of "18.16.1".
func majorVersion(v string) int {
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return major
}

// occurrenceColumns are inserted in this order; 18.16 needs the explicit
// list, and Nested columns go in as their parallel arrays.
var occurrenceColumns = []string{
	"id", "fingerprint", "grouping", "time", "time_ns", "type", "message", "stacktrace", "escaped",
	"service", "service_version", "environment", "span_name", "trace_id", "span_id",
	"host", "method", "path", "route", "status_code",
	"attributes.key", "attributes.value", "extras.key", "extras.value", "resource.key", "resource.value",
}

// Export inserts one batch. A failure returns an error for the processor
// to retry: the batch may then land twice, which the id-distinct counts and
// reads absorb. Errors that retrying cannot fix are marked permanent.
func (e *Exporter) Export(ctx context.Context, records []exporter.Record) error {
	if len(records) == 0 {
		return nil
	}
	if err := e.Ready(); err != nil {
		return err
	}
	batch, err := e.conn.PrepareBatch(ctx, e.insert)
	if err != nil {
		return classify(fmt.Errorf("clickhouse: prepare insert: %w", err))
	}
	for i := range records {
		r := &records[i]
		ak, av := pairs(r.Attributes)
		ek, ev := pairs(r.Extras)
		rk, rv := pairs(r.Resource)
		if err := batch.Append(
			r.ID, r.Fingerprint, r.Grouping, r.Time.UTC(), uint64(r.Time.UnixNano()), r.Type, r.Message, r.Stacktrace, boolByte(r.Escaped),
			r.Service, r.ServiceVersion, r.Environment, r.SpanName, traceID(r), spanID(r),
			r.Host, r.Method, r.Path, r.Route, uint16(max(0, min(r.StatusCode, 65535))),
			ak, av, ek, ev, rk, rv,
		); err != nil {
			_ = batch.Abort()
			return exporter.Permanent(fmt.Errorf("clickhouse: record %s: %w", r.ID, err))
		}
	}
	if err := batch.Send(); err != nil {
		return classify(fmt.Errorf("clickhouse: insert %d records: %w", len(records), err))
	}
	// The records are stored: a failed carry-over or change log must not
	// make the processor insert them again. The next batch of the group
	// retries the carry-over; the next snapshot covers the change.
	if err := e.carryOver(ctx, records); err != nil {
		e.cfg.Logger.Warn("error tracker: clickhouse: groups not carried over to the new fingerprint yet", "error", err)
	}
	// Last: the carry-over changes a group's first seen too.
	if err := e.logChanges(ctx, records); err != nil {
		e.cfg.Logger.Warn("error tracker: clickhouse: groups not logged as changed; the lists by first seen and by count may show them at their old place until the next snapshot", "error", err)
	}
	return nil
}

// classify marks server errors that retrying cannot fix as permanent;
// network trouble, timeouts and overload stay retryable.
func classify(err error) error {
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return err
	}
	switch ex.Code {
	case 16, 44, 47, 53, 60, 81: // no such column, illegal column, unknown identifier, type mismatch, unknown table, unknown database
		return exporter.Permanent(err)
	}
	return err
}

func pairs(kvs []attribute.KeyValue) (keys, values []string) {
	keys = make([]string, len(kvs))
	values = make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i], values[i] = string(kv.Key), kv.Value.Emit()
	}
	return keys, values
}

func traceID(r *exporter.Record) string {
	if !r.TraceID.IsValid() {
		return ""
	}
	return r.TraceID.String()
}

func spanID(r *exporter.Record) string {
	if !r.SpanID.IsValid() {
		return ""
	}
	return r.SpanID.String()
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Shutdown stops the background connection and the retention loop, and
// closes the connections.
func (e *Exporter) Shutdown(ctx context.Context) error {
	var err error
	e.shutdown.Do(func() {
		close(e.stop)
		select {
		case <-e.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if cerr := e.raw.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("clickhouse: close: %w", cerr)
		}
	})
	return err
}

func (e *Exporter) retentionLoop() {
	if e.cfg.RetentionDays < 0 {
		<-e.stop
		return
	}
	e.every(e.cfg.RetentionInterval, "clickhouse retention failed", func(ctx context.Context) error {
		_, err := e.ApplyRetention(ctx, time.Now())
		return err
	})
}

// every runs job now and then every interval until Shutdown, each run
// bounded by the query timeout and ended by Shutdown; a failure is logged
// with what, and the next run tries again.
func (e *Exporter) every(interval time.Duration, what string, job func(context.Context) error) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.QueryTimeout)
		go func() {
			select {
			case <-e.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		if err := job(ctx); err != nil && !errors.Is(err, context.Canceled) {
			e.cfg.Logger.Warn("error tracker: "+what, "error", err)
		}
		cancel()
		select {
		case <-e.stop:
			return
		case <-ticker.C:
		}
	}
}

// ApplyRetention drops the day partitions of occurrences, and the month
// partitions of the distinct counts, that lie wholly before now minus the
// retention, and returns them as table:partition. (Counts read only the
// days within retention, so a month kept for its later days adds nothing
// older.) The exporter runs it periodically; it is exported for tests and
// for operators who want to run it now.
func (e *Exporter) ApplyRetention(ctx context.Context, now time.Time) ([]string, error) {
	if e.cfg.RetentionDays < 0 {
		return nil, nil
	}
	sec := uint32(now.Add(-time.Duration(e.cfg.RetentionDays) * 24 * time.Hour).Unix())
	var dropped []string
	for _, old := range []struct{ table, query string }{
		{"occurrences", "SELECT DISTINCT toString(toYYYYMMDD(time)) FROM " + e.schema.DB + ".occurrences WHERE time < toStartOfDay(toDateTime(?))"},
		{"group_counts", "SELECT DISTINCT toString(toYYYYMM(day)) FROM " + e.schema.DB + ".group_counts WHERE day < toStartOfMonth(toDate(toDateTime(?)))"},
	} {
		var partitions []string
		if err := e.selectStrings(ctx, &partitions, old.query, sec); err != nil {
			return dropped, fmt.Errorf("clickhouse: list old partitions of %s: %w", old.table, err)
		}
		for _, p := range partitions {
			if _, err := strconv.ParseUint(p, 10, 32); err != nil {
				return dropped, fmt.Errorf("clickhouse: unexpected partition %q of %s", p, old.table)
			}
			stmt := "ALTER TABLE " + e.schema.DB + "." + old.table + e.schema.Local() + e.schema.OnCluster() + " DROP PARTITION " + p
			if err := e.conn.Exec(ctx, stmt); err != nil {
				return dropped, fmt.Errorf("clickhouse: drop partition %s of %s: %w", p, old.table, err)
			}
			dropped = append(dropped, old.table+":"+p)
		}
	}
	return dropped, nil
}
