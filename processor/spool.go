package processor

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/errortracker/errortracker/processor/internal/spool"
)

// Defaults of SpoolConfig.
const (
	// DefaultSpoolMaxBytes bounds the spool on disk: 256 MiB.
	DefaultSpoolMaxBytes = spool.DefaultMaxBytes
	// DefaultSpoolLockTimeout is how long a process waits for another
	// one's lock on the spool directory before it runs without the spool.
	DefaultSpoolLockTimeout = spool.DefaultLockTimeout
	// DefaultSpoolCommitInterval is how often the spool's writer commits:
	// the window W in which a SIGKILL can lose an accepted record.
	DefaultSpoolCommitInterval = spool.DefaultCommitInterval
)

// SpoolConfig configures the disk spool under the exporters' queues; see
// [WithSpool].
type SpoolConfig struct {
	// Dir holds the spool (APP_ERROR_SPOOL_DIR); empty means no spool.
	// It is created with mode 0700; its files are 0600.
	Dir string
	// MaxBytes bounds the segment files (APP_ERROR_SPOOL_MAX_BYTES,
	// default DefaultSpoolMaxBytes); past it the oldest records are
	// dropped and counted (reason "spool_full").
	MaxBytes int64
	// LockTimeout bounds the wait for another process that holds the
	// directory (default DefaultSpoolLockTimeout, 5 s): then this one runs
	// on memory alone and logs it.
	LockTimeout time.Duration
	// CommitInterval is how often the writer commits (default
	// DefaultSpoolCommitInterval, 100 ms).
	CommitInterval time.Duration
}

// WithSpool puts a disk spool in dir under the exporters' queues, with the
// default bounds; [WithSpoolConfig] sets them. See [SpoolConfig] and the
// package documentation's "Spool" section. An empty dir is ignored.
func WithSpool(dir string) Option {
	return WithSpoolConfig(SpoolConfig{Dir: dir})
}

// WithSpoolConfig is [WithSpool] with every setting; zero fields keep
// their default. A config without Dir is ignored.
func WithSpoolConfig(c SpoolConfig) Option {
	return optionFunc(func(s settings) settings {
		if c.Dir != "" {
			s.spool = c
		}
		return s
	})
}

// SpoolDir returns the directory of the spool the processor writes, empty
// when it runs without one: none configured, not initialised yet, or the
// directory locked by another process past the lock timeout.
func (p *Processor) SpoolDir() string {
	if p.loadSinks() == nil || p.spool == nil {
		return ""
	}
	return p.spool.Dir()
}

// The environment variables of the spool, read by [ConfigFromEnv].
const (
	EnvSpoolDir      = "APP_ERROR_SPOOL_DIR"
	EnvSpoolMaxBytes = "APP_ERROR_SPOOL_MAX_BYTES"
)

// spoolFromEnv reads APP_ERROR_SPOOL_DIR and APP_ERROR_SPOOL_MAX_BYTES
// into c.
func (c *Config) spoolFromEnv() []error {
	c.SpoolDir = strings.TrimSpace(os.Getenv(EnvSpoolDir))
	v := strings.TrimSpace(os.Getenv(EnvSpoolMaxBytes))
	if v == "" {
		return nil
	}
	n, err := parseBytes(v)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", EnvSpoolMaxBytes, err)}
	}
	c.SpoolMaxBytes = n
	return nil
}

// parseBytes reads a byte count: digits with an optional KiB, MiB or GiB
// suffix (or K, M, G, meaning the same).
func parseBytes(v string) (int64, error) {
	mult := int64(1)
	num := strings.TrimSpace(v)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size in bytes (e.g. 268435456 or 256MiB)", v)
	}
	return n * mult, nil
}
