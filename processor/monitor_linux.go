package processor

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the child when the monitor dies,
// even by SIGKILL, so that no child runs on unwatched.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
