package processor

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/errortracker/errortracker/exporter"
)

// Defaults of the delivery options.
const (
	DefaultQueueSize     = 65536
	DefaultBatchSize     = 10000
	DefaultFlushInterval = time.Second
	DefaultExportTimeout = 30 * time.Second
	// DefaultQueueBytes bounds each exporter's queue in bytes: 64 MiB, a
	// full queue of 65,536 records of 1 KiB each, or 16,000 with 4 KiB
	// stacks.
	DefaultQueueBytes = 64 << 20
)

// Option configures [New] and [Processor.Init].
type Option interface {
	apply(settings) settings
}

type optionFunc func(settings) settings

func (f optionFunc) apply(s settings) settings { return f(s) }

type settings struct {
	next          []sdktrace.SpanProcessor
	exporters     []exporter.Exporter
	queueSize     int
	queueBytes    int64
	spool         SpoolConfig
	crashDir      string
	batchSize     int
	flushInterval time.Duration
	exportTimeout time.Duration
	retry         RetryConfig
	logger        *slog.Logger
	meterProvider metric.MeterProvider
	filters       []Filter
	noDefaultFilt bool
	baggageKeys   []string
	appPackages   []string
	groupingRules []GroupingRule
}

func newSettings(opts []Option) settings {
	s := settings{
		queueSize:     DefaultQueueSize,
		queueBytes:    DefaultQueueBytes,
		batchSize:     DefaultBatchSize,
		flushInterval: DefaultFlushInterval,
		exportTimeout: DefaultExportTimeout,
		retry:         DefaultRetry(),
	}
	return s.with(opts)
}

func (s settings) with(opts []Option) settings {
	for _, o := range opts {
		if o != nil {
			s = o.apply(s)
		}
	}
	return s
}

// WithNext adds the span processors that receive the masked spans, for
// example the batcher of an OTLP exporter. Their OnStart sees the span as it
// starts; their OnEnd sees only the masked copy. Nil processors are ignored.
func WithNext(next ...sdktrace.SpanProcessor) Option {
	return optionFunc(func(s settings) settings {
		for _, n := range next {
			if n != nil {
				s.next = append(s.next, n)
			}
		}
		return s
	})
}

// WithExporter adds an exporter of records; repeat it for several. Each
// exporter gets its own queue and goroutine. A nil exporter is ignored.
func WithExporter(e exporter.Exporter) Option {
	return optionFunc(func(s settings) settings {
		if e != nil {
			s.exporters = append(s.exporters, e)
		}
		return s
	})
}

// WithQueueSize bounds each exporter's queue, and the buffer that holds
// records before Init, to n records (default DefaultQueueSize, 65,536: a
// minute of 1,000 errors a second). Past it new records are dropped and
// counted — or, with a spool ([WithSpool]), left in the spool for the
// exporter to read once its queue is empty. Values below 1 are ignored.
func WithQueueSize(n int) Option {
	return optionFunc(func(s settings) settings {
		if n > 0 {
			s.queueSize = n
		}
		return s
	})
}

// WithQueueBytes bounds each exporter's queue, and the buffer that holds
// records before Init, to about n bytes of records (default
// DefaultQueueBytes, 64 MiB), so that large stacks cannot fill the heap
// before the record count is reached. A record counts its strings and
// attributes and a fixed overhead; the batch an exporter is working on
// counts until it is done. Values below 1 are ignored.
func WithQueueBytes(n int64) Option {
	return optionFunc(func(s settings) settings {
		if n > 0 {
			s.queueBytes = n
		}
		return s
	})
}

// WithBatchSize sets the most records one Export call receives (default
// DefaultBatchSize, 10,000: ClickHouse inserts large batches several times
// faster than small ones). A batch is sent when it is full or when the
// flush interval passes, whichever comes first. Values below 1 are ignored.
func WithBatchSize(n int) Option {
	return optionFunc(func(s settings) settings {
		if n > 0 {
			s.batchSize = n
		}
		return s
	})
}

// WithFlushInterval sets how long a record may wait for a batch to fill
// (default DefaultFlushInterval, one second). Values below 1 are ignored.
func WithFlushInterval(d time.Duration) Option {
	return optionFunc(func(s settings) settings {
		if d > 0 {
			s.flushInterval = d
		}
		return s
	})
}

// WithExportTimeout bounds one Export call (default DefaultExportTimeout,
// 30 seconds). Values below 1 are ignored.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(s settings) settings {
		if d > 0 {
			s.exportTimeout = d
		}
		return s
	})
}

// RetryConfig sets how a failed Export is retried: after Initial, doubling
// up to Max, with random jitter of up to half the wait, until MaxElapsed
// has passed since the first try; then the batch is dropped and counted.
type RetryConfig struct {
	Initial    time.Duration
	Max        time.Duration
	MaxElapsed time.Duration
}

// DefaultRetry returns the default retry policy: 200 ms doubling to 10 s,
// for up to 5 minutes, so that a store outage of a few minutes loses
// nothing that fits in the queue.
func DefaultRetry() RetryConfig {
	return RetryConfig{Initial: 200 * time.Millisecond, Max: 10 * time.Second, MaxElapsed: 5 * time.Minute}
}

// WithRetry replaces the retry policy (default [DefaultRetry]); zero fields
// keep their default.
func WithRetry(r RetryConfig) Option {
	return optionFunc(func(s settings) settings {
		if r.Initial > 0 {
			s.retry.Initial = r.Initial
		}
		if r.Max > 0 {
			s.retry.Max = r.Max
		}
		if r.MaxElapsed > 0 {
			s.retry.MaxElapsed = r.MaxElapsed
		}
		return s
	})
}

// WithLogger sets where the processor reports export failures and drops
// (default slog.Default()). Drops are logged at most once every ten seconds
// per exporter. A nil logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(s settings) settings {
		if l != nil {
			s.logger = l
		}
		return s
	})
}

// WithMeterProvider sets the provider of the processor's own metrics
// (default otel.GetMeterProvider()). A nil provider is ignored.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(s settings) settings {
		if mp != nil {
			s.meterProvider = mp
		}
		return s
	})
}

// WithFilter adds a rule for errors that are not bugs: a record for which
// any filter returns true is not exported (it is counted as dropped with
// reason "filtered"; the span event itself is kept). The default filters,
// [IgnoreCanceled] and [IgnoreAbortHandler], stay unless
// [WithoutDefaultFilters] is given.
func WithFilter(f Filter) Option {
	return optionFunc(func(s settings) settings {
		if f != nil {
			s.filters = append(s.filters, f)
		}
		return s
	})
}

// WithoutDefaultFilters records context cancellations and aborted handlers
// too.
func WithoutDefaultFilters() Option {
	return optionFunc(func(s settings) settings {
		s.noDefaultFilt = true
		return s
	})
}

// WithBaggageKeys lets the listed members of incoming W3C baggage onto
// spans as extras. Baggage comes from other services and clients, so it is
// untrusted input: nothing is copied by default.
func WithBaggageKeys(keys ...string) Option {
	return optionFunc(func(s settings) settings {
		s.baggageKeys = append(s.baggageKeys, keys...)
		return s
	})
}

// WithAppPackages sets the package path prefixes of the application's own
// code, whose stack frames identify an error in its fingerprint. The
// default is the main module's path from the build information.
func WithAppPackages(prefixes ...string) Option {
	return optionFunc(func(s settings) settings {
		s.appPackages = append(s.appPackages, prefixes...)
		return s
	})
}

// WithGroupingRules adds rules that put the exceptions they match into one
// named group each, before the fingerprint looks at message or stack. New
// rejects a rule without a Group or without a Type and a Message.
func WithGroupingRules(rules ...GroupingRule) Option {
	return optionFunc(func(s settings) settings {
		s.groupingRules = append(s.groupingRules, rules...)
		return s
	})
}
