package maskattr

import (
	"strings"
	"sync/atomic"
	"unsafe"
)

// keyCacheSize is the number of slots of the key verdict cache.
const keyCacheSize = 1024

// keyCache remembers whether the key rule matched a key. Attribute keys
// come from a small, fixed set (semantic-convention constants, an app's own
// names), while scanning a key costs about a nanosecond a byte on every
// span; a hit costs a pointer hash and one string comparison.
//
// A slot is filled once and never replaced, so the cache allocates at most
// keyCacheSize times in a process's life, and a key that finds its slot
// taken is simply scanned. Each entry holds its own copy of the key and is
// compared by content: a wrong verdict is impossible, only a slow one.
type keyCache struct {
	slots [keyCacheSize]atomic.Pointer[keyVerdict]
}

type keyVerdict struct {
	key  string
	info keyInfo
}

// keyInfo is what the masker needs to know of an attribute key, computed
// once per key.
type keyInfo struct {
	matches   bool // the key rule masks its values
	dirty     bool // the key itself needs cleaning
	multiLine bool // its values keep line breaks
	limit     int  // the bound of its values, 0 for none
}

// slot picks a slot from the key's address: the same constant string always
// lands in the same slot without hashing its content.
func (c *keyCache) slot(key string) *atomic.Pointer[keyVerdict] {
	p := uintptr(unsafe.Pointer(unsafe.StringData(key)))
	h := (p>>3 ^ p>>13 ^ uintptr(len(key))*0x9e3779b1) % keyCacheSize
	return &c.slots[h]
}

// lookup returns the cached facts of key, if any.
func (c *keyCache) lookup(key string) (keyInfo, bool) {
	if v := c.slot(key).Load(); v != nil && v.key == key {
		return v.info, true
	}
	return keyInfo{}, false
}

// store remembers the facts of a key if its slot is still free.
func (c *keyCache) store(key string, info keyInfo) {
	s := c.slot(key)
	if s.Load() == nil {
		s.CompareAndSwap(nil, &keyVerdict{key: strings.Clone(key), info: info})
	}
}
