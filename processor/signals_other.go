//go:build !unix

package processor

import "os"

// forwardedSignals are passed on from the crash monitor to its child.
var forwardedSignals = []os.Signal{os.Interrupt}
