package maskattr

import (
	"strings"
	"sync"
)

// Bounds of the clean value cache.
const (
	minCachedValue  = 256     // shorter values are scanned faster than hashed
	maxCachedBytes  = 1 << 20 // past it the cache starts afresh
	maxCachedValues = 1024
)

// cleanCache remembers long string values that no rule changes. When an
// error repeats, its stack trace and message repeat exactly, and scanning
// a stack costs far more than hashing it. Only clean values are kept, so
// the cache holds nothing that masking would hide; it is bounded in
// entries and bytes.
type cleanCache struct {
	mu    sync.RWMutex
	m     map[string]struct{}
	bytes int
}

func (c *cleanCache) has(s string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.m[s]
	return ok
}

func (c *cleanCache) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedValues || c.bytes+len(s) > maxCachedBytes {
		c.m, c.bytes = make(map[string]struct{}), 0
	}
	c.m[strings.Clone(s)] = struct{}{}
	c.bytes += len(s)
}
