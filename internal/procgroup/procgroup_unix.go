//go:build unix

package procgroup

import (
	"os/exec"
	"syscall"
)

// Isolate makes cmd, once started, the leader of a new process group,
// which Kill ends as a whole.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// Kill sends SIGKILL to cmd's process group.
func Kill(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
