//go:build windows

package procgroup

import (
	"os/exec"
	"strconv"
	"syscall"
)

// Isolate starts cmd in a new process group (so that a console Ctrl+C
// meant for the daemon does not reach it first); Kill ends the process
// tree it heads.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// Kill ends cmd's process and every process it started. Windows has no
// group signal; taskkill /T walks the tree by parent process id. [INF]
// Not run here (no Windows machine): built by CI's cross-compile only.
// If taskkill is unavailable, the process itself is still killed.
func Kill(cmd *exec.Cmd) error {
	tree := exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid))
	if err := tree.Run(); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}
