package processor

import (
	"github.com/errortracker/errortracker/exporter"
	"github.com/errortracker/errortracker/maskattr"
)

// Deliver hands records built elsewhere — by package intake from OTLP, as
// the Collector's errortracker exporter does — to the processor's filters,
// queues and exporters, as OnEnd does with the records of a span. The
// records must be masked and fingerprinted already (intake.Fingerprint);
// the previous versions' fingerprints are added on each exporter's
// goroutine. Like OnEnd it never blocks on I/O: what does not fit in a
// queue is dropped and counted. Deliver after Shutdown drops the records.
func (p *Processor) Deliver(records []exporter.Record) {
	if p.stopped.Load() || len(records) == 0 {
		return
	}
	p.deliver(records)
}

// MaskRules returns the masking rules c configures: those of the masker
// the processor builds from c ([Processor.Masker]). The Collector's
// masking processor builds its masker from them, so that both mask alike.
func (c Config) MaskRules() maskattr.Rules { return c.maskRules() }
