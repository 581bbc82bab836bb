//go:build unix

package processor

import (
	"os"
	"syscall"
)

// forwardedSignals are passed on from the crash monitor to its child.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}
