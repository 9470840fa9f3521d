package p4emu_test

import (
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestFaultAfterCommitAndFlag: a fault limited to `user -i` leaves
// `user -o` alone, and an AfterCommit failure keeps the saved spec while
// the client sees only the trigger's error.
func TestFaultAfterCommitAndFlag(t *testing.T) {
	const trig = "'ldap-sync' validation failed: sync script exited 1"
	tests := []struct {
		name       string
		fault      p4emu.Fault
		wantStderr string // "" = the trigger's error dict on stdout
		wantSaved  bool
	}{
		{"fail before save", p4emu.Fault{Fail: trig, Generic: 5, Flag: "-i"}, "", false},
		{"fail after commit", p4emu.Fault{Fail: trig, Generic: 5, Flag: "-i", AfterCommit: true}, "", true},
		{"answer lost after commit", p4emu.Fault{Drop: true, Flag: "-i", AfterCommit: true},
			"Perforce client error:\n\tPartner exited unexpectedly.\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := start(t, p4emu.Options{})
			env.Server.SetFault("user", tt.fault)
			r := env.Run(t, input(t, "User", "bob", "Email", "bob@x.com", "FullName", "Bob Smith"), nil, "-G", "user", "-i", "-f")
			if tt.wantStderr == "" {
				wantBytes(t, r.Stdout, errDict(trig, 3, 5))
			} else if string(r.Stderr) != tt.wantStderr || len(r.Stdout) != 0 {
				t.Errorf("stdout %q stderr %q", r.Stdout, r.Stderr)
			}
			if r.Exit != 1 {
				t.Errorf("exit %d, want 1", r.Exit)
			}
			if _, ok := env.Server.User("bob"); ok != tt.wantSaved {
				t.Errorf("user saved = %v, want %v", ok, tt.wantSaved)
			}
			// The flag limits the fault: user -o runs normally.
			if r := env.Run(t, nil, nil, "-G", "user", "-o", "bob"); r.Exit != 0 {
				t.Errorf("user -o hit the -i fault: exit %d %q", r.Exit, r.Stdout)
			}
		})
	}
}
