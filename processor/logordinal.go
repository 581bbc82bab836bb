package processor

import (
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/intake"
)

// logOrdinals gives the log records delivered at once (logged after their
// span ended, or in a span this processor does not see end) their
// occurrence ids, counted per span and message (intake.Ordinals): a
// logs/dup twin shares its span event's id, and a span that logs the same
// error three times counts three.
type logOrdinals struct{ o intake.Ordinals }

// setID gives rec, delivered at once, its occurrence id.
func (l *logOrdinals) setID(rec *exporter.Record) {
	if rec.TraceID.IsValid() && rec.SpanID.IsValid() {
		rec.ID = l.o.ID(rec.TraceID, rec.SpanID, rec.Message)
	}
}
