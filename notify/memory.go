package notify

import (
	"container/list"
	"time"
)

// groupMemory is what this process notified about a group.
type groupMemory struct {
	fp            string
	announced     bool      // a new-group notification went out (or the store knew the group)
	regressionFor time.Time // the resolve a regression notification answered
	wokeFor       time.Time // the ignore a wake-up notification answered
	threshold     uint64    // the highest threshold crossed and notified (or passed while quiet)
	thresholdAt   time.Time // when
	spikeDay      string    // the UTC day of the last spike notification
	seen          uint64    // occurrences this process saw, for use without a store
	oldFor        time.Time // the resolve in the next release that oldReleases answer
	oldReleases   []string  // releases the group had seen before that resolve (at most maxOldReleases)
}

// memory remembers at most max groups, forgetting the least recently
// used: a long-running process sees an unbounded number of fingerprints,
// and what is forgotten is decided again from the store and its claims.
type memory struct {
	max   int
	order *list.List // of *groupMemory, most recent first
	byFP  map[string]*list.Element
}

func newMemory(max int) *memory {
	return &memory{max: max, order: list.New(), byFP: map[string]*list.Element{}}
}

// get returns the group's memory, created if needed, as the most recent.
func (m *memory) get(fp string) *groupMemory {
	if e, ok := m.byFP[fp]; ok {
		m.order.MoveToFront(e)
		return e.Value.(*groupMemory)
	}
	g := &groupMemory{fp: fp}
	m.byFP[fp] = m.order.PushFront(g)
	for m.order.Len() > m.max {
		old := m.order.Back()
		m.order.Remove(old)
		delete(m.byFP, old.Value.(*groupMemory).fp)
	}
	return g
}

// len is the number of groups remembered.
func (m *memory) len() int { return m.order.Len() }
