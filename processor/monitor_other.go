//go:build !linux

package processor

import "os/exec"

// setDeathSignal does nothing where the kernel cannot kill a child with
// its parent: a monitor killed outright leaves its child running.
func setDeathSignal(*exec.Cmd) {}
