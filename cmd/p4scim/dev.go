package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// actAsP4 makes this binary the emulator's `p4` client when it is invoked
// under the name p4. Dev mode puts such a symlink first in line, so the
// daemon execs, marshals and parses exactly as it does against a real
// Helix Core.
func actAsP4() (exitCode int, ok bool) {
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") != "p4" {
		return 0, false
	}
	return p4emu.RunClient(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr), true
}

// devHelix is an in-memory Helix Core for dev mode: an emulator server in
// this process, and a directory holding the `p4` symlink and the tickets.
type devHelix struct {
	server   *p4emu.Server
	dir      string
	bin      string
	port     string
	user     string
	password string
}

// startDevHelix starts the emulator on loopback with a fresh super user.
func startDevHelix(user, password string) (*devHelix, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("dev mode: locating this binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "p4scim-dev-")
	if err != nil {
		return nil, fmt.Errorf("dev mode: %w", err)
	}
	bin := filepath.Join(dir, "p4")
	if runtime.GOOS == "windows" {
		bin += ".exe" // exec finds and runs only .exe files there
	}
	if err := os.Symlink(self, bin); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dev mode: linking %s as p4: %w", self, err)
	}
	srv := p4emu.New(p4emu.Options{SuperUser: user, SuperPassword: password})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dev mode: starting the Helix Core emulator: %w", err)
	}
	return &devHelix{server: srv, dir: dir, bin: bin, port: srv.Addr(), user: user, password: password}, nil
}

func (d *devHelix) Close() {
	_ = d.server.Close()
	_ = os.RemoveAll(d.dir)
}
