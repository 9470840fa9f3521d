//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package p4_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// TestPrivateRunDir: with no P4TICKETS the client keeps its tickets in a
// 0700 directory of its own, locked while it lives and removed by Close;
// the next start removes what a crashed client left (a valid super
// ticket) and nothing else: not a live client's directory, not one being
// made, not other files.
func TestPrivateRunDir(t *testing.T) {
	env := p4emutest.Start(t, p4emu.Options{})
	parent := t.TempDir()
	cfg := p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: env.Password,
		RunDir: parent, CommandTimeout: 5 * time.Second}
	mkdir := func(name string, files ...string) string {
		t.Helper()
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	// A crashed client: its lock file is there and nobody holds it (the
	// kernel dropped the lock with the process).
	crashed := mkdir("p4scim-run-111", "lock", "tickets")
	// Crashed between making the directory and locking it, long ago.
	unlockedOld := mkdir("p4scim-run-222", "tickets")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(unlockedOld, old, old); err != nil {
		t.Fatal(err)
	}
	// Being made right now by another client.
	unlockedNew := mkdir("p4scim-run-333")
	other := mkdir("p4scim-dev-444", "tickets")
	// A trap: a FIFO named lock would block a plain open for ever.
	fifo := mkdir("p4scim-run-555")
	if err := syscall.Mkfifo(filepath.Join(fifo, "lock"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another user's (when the test may give it away): not ours to judge.
	foreign := mkdir("p4scim-run-666", "lock", "tickets")
	if os.Geteuid() == 0 {
		if err := os.Chown(foreign, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	target := mkdir("elsewhere", "keep")
	link := filepath.Join(parent, "p4scim-run-link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}

	live, err := p4.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := live.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	liveDir := ownDir(t, parent, crashed, unlockedNew, fifo, foreign)
	st, err := os.Stat(liveDir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("private directory %s: %v, mode %v", liveDir, err, st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(liveDir, "tickets")); err != nil {
		t.Fatalf("no tickets file in the private directory: %v", err)
	}

	// A second start (another replica, or the restart after a crash).
	next, err := p4.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gone := []string{crashed, unlockedOld}
	kept := []string{liveDir, unlockedNew, other, fifo, link, filepath.Join(target, "keep")}
	if os.Geteuid() == 0 {
		kept = append(kept, foreign)
	} else {
		gone = append(gone, foreign) // ours after all: crashed, and swept
	}
	for _, gone := range gone {
		if _, err := os.Lstat(gone); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", filepath.Base(gone), err)
		}
	}
	for _, kept := range kept {
		if _, err := os.Lstat(kept); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(kept), err)
		}
	}
	if err := live.Login(context.Background()); err != nil {
		t.Fatalf("the live client lost its directory: %v", err)
	}
	next.Close()
	live.Close()
	if _, err := os.Stat(liveDir); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", liveDir, err)
	}
}

// ownDir finds the one p4scim-run- directory under parent that is not
// among those the test made.
func ownDir(t *testing.T, parent string, made ...string) string {
	t.Helper()
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range entries {
		p := filepath.Join(parent, e.Name())
		if e.IsDir() && strings.HasPrefix(e.Name(), "p4scim-run-") && !slices.Contains(made, p) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("private directories %v, want one", found)
	}
	return found[0]
}

// TestRunDirParent: without RunDir the private directory goes to systemd's
// RuntimeDirectory, else the user's runtime directory, else TMPDIR; a
// variable naming no directory is passed over.
func TestRunDirParent(t *testing.T) {
	env := p4emutest.Start(t, p4emu.Options{})
	runtimeDir, xdg, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name                string
		runtime, xdgRuntime string
		want                string
	}{
		{"systemd RuntimeDirectory", runtimeDir + ":/other", xdg, runtimeDir},
		{"user runtime directory", "", xdg, xdg},
		{"RuntimeDirectory missing", missing, xdg, xdg},
		{"neither", "", missing, tmp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RUNTIME_DIRECTORY", tt.runtime)
			t.Setenv("XDG_RUNTIME_DIR", tt.xdgRuntime)
			t.Setenv("TMPDIR", tmp)
			c, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: env.Password})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			matches, _ := filepath.Glob(filepath.Join(tt.want, "p4scim-run-*"))
			if len(matches) != 1 {
				t.Fatalf("private directories under %s: %v", tt.want, matches)
			}
		})
	}
}
