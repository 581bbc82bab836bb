//go:build !unix

package spool

import (
	"errors"
	"os"
)

// TryLock reports that this system has no flock: without a lock that a
// crash releases, two processes could share a spool, so there is none.
func TryLock(*os.File) error {
	return errors.New("spool: file locks (flock) are not available on this system")
}
