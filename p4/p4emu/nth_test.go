package p4emu_test

import (
	"sync/atomic"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestFaultNth: only the N-th command after arming is faulted, each kind
// as documented (not run, run with the answer lost, crash callback then not
// run), and the fault fires once.
func TestFaultNth(t *testing.T) {
	tests := []struct {
		kind      p4emu.FaultKind
		wantSaved bool
		wantCrash bool
	}{
		{p4emu.FaultNotRun, false, false},
		{p4emu.FaultReplyLost, true, false},
		{p4emu.FaultCrash, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			env := start(t, p4emu.Options{})
			var crashed atomic.Bool
			env.Server.FaultNth(p4emu.NthFault{N: 2, Kind: tt.kind, Crash: func() { crashed.Store(true) }})
			if r := env.Run(t, nil, nil, "-G", "key", "first", "1"); r.Exit != 0 {
				t.Fatalf("command 1 was faulted: exit %d %q %q", r.Exit, r.Stdout, r.Stderr)
			}
			if env.Server.NthFired() {
				t.Fatal("fired on command 1")
			}
			r := env.Run(t, nil, nil, "-G", "key", "second", "2")
			if r.Exit != 1 || string(r.Stderr) != "Perforce client error:\n\tPartner exited unexpectedly.\n" {
				t.Errorf("command 2: exit %d stdout %q stderr %q, want a lost connection", r.Exit, r.Stdout, r.Stderr)
			}
			if _, saved := env.Server.Key("second"); saved != tt.wantSaved {
				t.Errorf("command 2 ran = %v, want %v", saved, tt.wantSaved)
			}
			if crashed.Load() != tt.wantCrash || !env.Server.NthFired() {
				t.Errorf("crash called = %v (want %v), fired = %v", crashed.Load(), tt.wantCrash, env.Server.NthFired())
			}
			if r := env.Run(t, nil, nil, "-G", "key", "third", "3"); r.Exit != 0 {
				t.Errorf("command 3 was faulted: exit %d", r.Exit)
			}
		})
	}
}

// TestSnapshotRestore: a restore brings back users, passwords, groups,
// keys and tickets as they were, and the snapshot survives later changes.
func TestSnapshotRestore(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.CreateUser(p4emu.User{Name: "ada"}, "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.SaveGroup(p4emu.Group{Name: "eng", Users: []string{"ada"}}); err != nil {
		t.Fatal(err)
	}
	env.Server.SetKey("k", "v")
	tickets := env.Server.Tickets(env.User)
	snap := env.Server.Snapshot()

	_ = env.Server.SetPassword("ada", "Other1!x")
	_ = env.Server.DeleteUser("ada")
	_ = env.Server.SaveGroup(p4emu.Group{Name: "eng"})
	env.Server.SetKey("k", "")
	env.Server.Restore(snap)
	env.Login(t) // a session made after the snapshot
	tickets++
	env.Server.Restore(snap, env.User) // a snapshot restores more than once, keeping sessions if asked

	if !env.Server.CheckPassword("ada", "Passw0rd!") {
		t.Error("ada's password not restored")
	}
	if g, ok := env.Server.Group("eng"); !ok || len(g.Users) != 1 {
		t.Errorf("group eng = %+v, %v", g, ok)
	}
	if v, _ := env.Server.Key("k"); v != "v" {
		t.Errorf("key k = %q", v)
	}
	if got := env.Server.Tickets(env.User); got != tickets || tickets == 0 {
		t.Errorf("super tickets = %d, want %d (>0)", got, tickets)
	}
	if r := env.Run(t, nil, nil, "-G", "key", "k"); r.Exit != 0 {
		t.Errorf("the super user's session did not survive the restore: exit %d", r.Exit)
	}
}
