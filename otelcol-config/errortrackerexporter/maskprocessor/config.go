package maskprocessor

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/errortracker/errortracker/maskattr"
)

// Config holds the masking settings: the APP_ERROR_* keys of the Go
// processor. Lists are comma-separated; empty means the default, since the
// Collector's environment expansion cannot tell an unset variable from an
// empty one.
type Config struct {
	// MaskWith replaces masked values (APP_ERROR_MASK_WITH, default
	// fourteen stars).
	MaskWith string `mapstructure:"mask_with"`
	// MaskedKeyHas lists the substrings that make a key secret
	// (APP_ERROR_MASKED_KEY_HAS, default maskattr.DefaultKeyHas).
	MaskedKeyHas string `mapstructure:"masked_key_has"`
	// MaskAllowKeys lists keys never masked by key
	// (APP_ERROR_MASK_ALLOW_KEYS, default maskattr.DefaultAllowKeys).
	MaskAllowKeys string `mapstructure:"mask_allow_keys"`
}

var _ component.Config = (*Config)(nil)

// Validate builds the masker once, which reports every bad setting.
func (c *Config) Validate() error {
	if _, err := maskattr.New(c.rules()); err != nil {
		return fmt.Errorf("masking: %w", err)
	}
	return nil
}

func (c *Config) rules() maskattr.Rules {
	return maskattr.Rules{KeyHas: list(c.MaskedKeyHas), AllowKeys: list(c.MaskAllowKeys), MaskWith: c.MaskWith}
}

func list(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
