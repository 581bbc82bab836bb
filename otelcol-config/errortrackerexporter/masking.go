package errortrackerexporter

import "github.com/errortracker/errortracker/processor"

// MaskConfig holds the masking settings, the APP_ERROR_* keys of the Go
// processor (processor.Config) under the same meaning; the exporter and
// the errortracker_mask processor both embed it. Lists are
// comma-separated; an empty value or zero means the default.
type MaskConfig struct {
	// MaskWith replaces masked values (APP_ERROR_MASK_WITH, default
	// fourteen stars).
	MaskWith string `mapstructure:"mask_with"`
	// MaskedKeyHas lists the substrings that make an attribute key secret
	// (APP_ERROR_MASKED_KEY_HAS; default maskattr.DefaultKeyHas).
	MaskedKeyHas string `mapstructure:"masked_key_has"`
	// MaskedKeySegments lists short words that make a key secret as a
	// whole segment (APP_ERROR_MASKED_KEY_SEGMENTS; default
	// maskattr.DefaultKeySegments).
	MaskedKeySegments string `mapstructure:"masked_key_segments"`
	// MaskAllowKeys lists keys never masked by key
	// (APP_ERROR_MASK_ALLOW_KEYS; default maskattr.DefaultAllowKeys).
	MaskAllowKeys string `mapstructure:"mask_allow_keys"`
	// MaskEmails masks e-mail addresses wherever they appear
	// (APP_ERROR_MASK_EMAILS, default false).
	MaskEmails bool `mapstructure:"mask_emails"`
	// MaxValueBytes, MaxMessageBytes and MaxStackBytes bound an attribute
	// value, exception.message and exception.stacktrace after masking
	// (APP_ERROR_MAX_VALUE_BYTES, APP_ERROR_MAX_MESSAGE_BYTES,
	// APP_ERROR_MAX_STACK_BYTES; zero means the processor's defaults,
	// negative no bound).
	MaxValueBytes   int `mapstructure:"max_value_bytes"`
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	MaxStackBytes   int `mapstructure:"max_stack_bytes"`
}

// Apply sets the masking fields of pc from m.
func (m MaskConfig) Apply(pc processor.Config) processor.Config {
	pc.MaskWith = m.MaskWith
	pc.MaskedKeyHas = list(m.MaskedKeyHas)
	pc.MaskedKeySegments = list(m.MaskedKeySegments)
	pc.MaskAllowKeys = list(m.MaskAllowKeys)
	pc.MaskEmails = m.MaskEmails
	pc.MaxValueBytes, pc.MaxMessageBytes, pc.MaxStackBytes = m.MaxValueBytes, m.MaxMessageBytes, m.MaxStackBytes
	return pc
}
