// Package procgroup starts a child process in a group of its own and kills
// the whole group, so that a timed-out p4 (and anything it started, such
// as a P4LOGINSSO helper) leaves nothing behind. Unix uses a process
// group; Windows a new process group killed as a tree.
package procgroup
