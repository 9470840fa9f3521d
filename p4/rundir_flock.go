//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package p4

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockDir creates and locks path (flock), for as long as the process
// lives or until unlock. The file is locked under another name and then
// renamed (the lock stays with the file), so nobody ever finds path
// unlocked while its client lives.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path+".new", os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	if err := os.Rename(path+".new", path); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// lockHeld reports whether some process holds the lock on path. Testing
// takes the lock for a moment, which is harmless: whoever finds it free
// removes the directory. Anything but a regular file counts as held: the
// open neither follows a symlink nor waits on a FIFO.
func lockHeld(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		return true, nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return true, nil
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// ownedByUs reports whether this process's user owns fi.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
