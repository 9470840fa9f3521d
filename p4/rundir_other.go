//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package p4

import "io/fs"

// lockDir is a no-op where flock is not available (Windows): the private
// directory is still removed on a clean stop.
func lockDir(string) (func(), error) { return func() {}, nil }

// lockHeld cannot tell a live client from a crashed one without flock,
// so every directory counts as held and none is swept.
func lockHeld(string) (bool, error) { return true, nil }

// ownedByUs: without locks nothing is swept, whoever owns it.
func ownedByUs(fs.FileInfo) bool { return false }
