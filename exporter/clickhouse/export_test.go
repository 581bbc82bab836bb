package clickhouse

import (
	"context"

	"github.com/errortracker/errortracker/exporter"
)

// ListFromSnapshot lists as ListGroups does, reading the sorted list's
// snapshot and the groups changed since it only (sortsnapshot.go). It
// reports false when there is no usable snapshot, or when that read could
// not fill the page (ListGroups would then read every group).
func (e *Exporter) ListFromSnapshot(ctx context.Context, q exporter.GroupQuery) (exporter.GroupPage, bool, error) {
	q, err := q.Normalize()
	if err != nil {
		return exporter.GroupPage{}, false, err
	}
	m, err := e.readMerges(ctx)
	if err != nil {
		return exporter.GroupPage{}, false, err
	}
	a, ok := e.snapshotAttempt(ctx, q, m)
	if !ok {
		return exporter.GroupPage{}, false, nil
	}
	return e.listGroups(ctx, q, m, []listAttempt{a})
}
