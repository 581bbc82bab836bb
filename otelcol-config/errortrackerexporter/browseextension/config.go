package browseextension

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Config configures the extension.
type Config struct {
	// Endpoint is where the pages listen (BROWSE_ADDR, default
	// 127.0.0.1:8080).
	Endpoint string `mapstructure:"endpoint"`
	// URLPrefix is where the pages live (APP_ERROR_URL_PREFIX, default
	// /dev/error).
	URLPrefix string `mapstructure:"url_prefix"`
	// User and Password let one user browse with HTTP Basic
	// authentication (APP_ERROR_BROWSE_USER, APP_ERROR_BROWSE_PASSWORD).
	// Without both, every request is denied (401): the pages show stack
	// traces and request data.
	User     string              `mapstructure:"user"`
	Password configopaque.String `mapstructure:"password"`
	// Secret derives the tokens of the action forms
	// (APP_ERROR_BROWSE_SECRET); instances behind one load balancer need
	// the same. Empty means a random one per process.
	Secret configopaque.String `mapstructure:"secret"`
	// ClickHouse is the store.
	ClickHouse ClickHouseConfig `mapstructure:"clickhouse"`
}

// ClickHouseConfig locates the store.
type ClickHouseConfig struct {
	// Addr is the native-protocol host:port (CLICKHOUSE_ADDR, default
	// 127.0.0.1:9000); several are comma-separated.
	Addr string `mapstructure:"addr"`
	// Database is created when missing (CLICKHOUSE_DATABASE, default
	// errortracker).
	Database string `mapstructure:"database"`
	// Username and Password authenticate (default user "default", no
	// password).
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
}

var _ component.Config = (*Config)(nil)

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Endpoint); err != nil {
		errs = append(errs, fmt.Errorf("endpoint %q: %w", c.Endpoint, err))
	}
	if c.URLPrefix != "" && !strings.HasPrefix(c.URLPrefix, "/") {
		errs = append(errs, fmt.Errorf("url_prefix %q must start with /", c.URLPrefix))
	}
	if (c.User == "") != (c.Password == "") {
		errs = append(errs, errors.New("user and password: set both or neither"))
	}
	for _, a := range c.addrs() {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("clickhouse.addr %q: %w", a, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) addrs() []string {
	var out []string
	for a := range strings.SplitSeq(c.ClickHouse.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
