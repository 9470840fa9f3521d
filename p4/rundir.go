package p4

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// runDirPrefix names the private directories the client makes for the
// tickets and trust files it writes itself. The next start finds the ones
// a crashed daemon left by it and removes them (sweepRunDirs).
const runDirPrefix = "p4scim-run-"

// runDirLock is the file in a private directory that its client holds
// locked while it lives. The kernel drops the lock when the process dies,
// however it dies, so an unlocked directory belongs to nobody.
const runDirLock = "lock"

// runDirGrace is how old a private directory without its lock file must
// be before it counts as left behind: younger, its client may be between
// making it and locking it.
const runDirGrace = time.Minute

// defaultRunParent is where the private directories go when Config.RunDir
// is empty: the service's runtime directory when systemd gives one
// (RuntimeDirectory=, removed when the service stops, crash or not), the
// user's runtime directory (a tmpfs, 0700, emptied at logout), else the
// temporary directory. A variable naming no directory (copied into a
// container from a host, say) is passed over.
func defaultRunParent() string {
	runtimeDir, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":")
	for _, d := range []string{runtimeDir, os.Getenv("XDG_RUNTIME_DIR")} {
		if st, err := os.Stat(d); d != "" && err == nil && st.IsDir() {
			return d
		}
	}
	return os.TempDir()
}

// newRunDir removes what crashed clients left under parent, then makes a
// private (0700) directory there and locks it. release unlocks and
// removes it.
func newRunDir(parent string) (dir string, release func(), err error) {
	if parent == "" {
		parent = defaultRunParent()
	}
	sweepRunDirs(parent)
	dir, err = os.MkdirTemp(parent, runDirPrefix)
	if err != nil {
		return "", nil, err
	}
	unlock, err := lockDir(filepath.Join(dir, runDirLock))
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return dir, func() {
		_ = os.RemoveAll(dir)
		unlock()
	}, nil
}

// sweepRunDirs removes the private directories under parent that no live
// client holds: a tickets file left by a crash holds a valid super ticket.
// Only directories of this user are looked into: in a shared /tmp another
// user's could not be removed anyway, and could hold traps (a FIFO named
// lock would block the open).
func sweepRunDirs(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), runDirPrefix) {
			continue // a symlink named like one is not ours to follow
		}
		if fi, err := e.Info(); err != nil || !ownedByUs(fi) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if abandoned(dir) {
			_ = os.RemoveAll(dir)
		}
	}
}

// abandoned reports whether no live client holds dir.
func abandoned(dir string) bool {
	lock := filepath.Join(dir, runDirLock)
	held, err := lockHeld(lock)
	if errors.Is(err, fs.ErrNotExist) {
		st, serr := os.Stat(dir)
		return serr == nil && time.Since(st.ModTime()) > runDirGrace
	}
	return err == nil && !held
}
