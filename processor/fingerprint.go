package processor

import (
	"github.com/errortracker/errortracker/grouping"
	"github.com/errortracker/errortracker/scope"
)

// FingerprintVersion is mixed into every fingerprint, so that two ways of
// grouping never share a fingerprint by accident: [grouping.Version].
// Records also carry the fingerprints of the versions it replaced
// (exporter.Record.PreviousFingerprints), from which stores carry a
// group's first sighting and state over.
const FingerprintVersion = grouping.Version

// PreviousFingerprintVersion is the way of grouping that
// [FingerprintVersion] replaced; records carry older ones too.
const PreviousFingerprintVersion = grouping.V2

// FingerprintKey is the event attribute that carries the fingerprint.
//
// Deprecated: use [scope.FingerprintKey], the one key; this is its name.
const FingerprintKey = string(scope.FingerprintKey)

// GroupingRule puts every exception it matches into one group per service;
// see [grouping.Rule].
type GroupingRule = grouping.Rule
