package maskprocessor

import (
	"fmt"

	"go.opentelemetry.io/collector/component"

	"github.com/errortracker/errortracker/maskattr"
	"github.com/errortracker/errortracker/otelcol-config/errortrackerexporter"
	"github.com/errortracker/errortracker/processor"
)

// Config holds the masking settings: the APP_ERROR_* keys of the Go
// processor, as the errortracker exporter reads them. Lists are
// comma-separated; empty means the default, since the Collector's
// environment expansion cannot tell an unset variable from an empty one.
type Config struct {
	// MaskConfig holds the settings (mask_with, masked_key_has,
	// masked_key_segments, mask_allow_keys, mask_emails, max_*_bytes).
	errortrackerexporter.MaskConfig `mapstructure:",squash"`
}

var _ component.Config = (*Config)(nil)

// Validate builds the masker once, which reports every bad setting.
func (c *Config) Validate() error {
	if _, err := maskattr.New(c.rules()); err != nil {
		return fmt.Errorf("masking: %w", err)
	}
	return nil
}

// rules are the Go processor's rules for the same settings.
func (c *Config) rules() maskattr.Rules {
	return c.Apply(processor.Config{}).WithDefaults().MaskRules()
}
