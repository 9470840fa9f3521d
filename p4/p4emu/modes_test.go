package p4emu_test

import (
	"os"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestLoginPromptPerMode(t *testing.T) {
	env := p4emutest.Start(t, p4emu.Options{Now: clock})
	pw := []byte(env.Password + "\n")
	tests := []struct {
		args   []string
		stdout string
	}{
		{[]string{"login"}, "Enter password: \nUser super logged in.\n"},
		{[]string{"-s", "login"}, "Enter password: \ninfo: User super logged in.\nexit: 0\n"},
		{[]string{"-ztag", "login"}, "Enter password: \nUser super logged in.\n... User super\n... TicketExpiration 43200\n\n"},
		{[]string{"-ztag", "-Mj", "login"}, "\n" + `{"data":"User super logged in.","level":0}` + "\n" + `{"TicketExpiration":"43200","User":"super"}` + "\n"},
		{[]string{"login", "-s"}, "User super ticket expires in 12 hours 0 minutes.\n"},
	}
	for _, tc := range tests {
		r := env.Run(t, pw, nil, tc.args...)
		if string(r.Stdout) != tc.stdout || r.Exit != 0 {
			t.Errorf("%v: got %q (stderr %q)", tc.args, r.Stdout, r.Stderr)
		}
	}
}

func TestLogoutKeepsOtherTicketLines(t *testing.T) {
	env := start(t, p4emu.Options{})
	other := "other:1666=bob:0123456789ABCDEF0123456789ABCDEF\n"
	b, _ := os.ReadFile(env.Tickets)
	if err := os.WriteFile(env.Tickets, append([]byte(other), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	r := env.Run(t, nil, nil, "logout")
	if string(r.Stdout) != "User super logged out.\n" {
		t.Fatalf("%q %q", r.Stdout, r.Stderr)
	}
	if b, _ := os.ReadFile(env.Tickets); string(b) != other {
		t.Errorf("tickets file %q", b)
	}
	r = env.Run(t, nil, nil, "-G", "user", "-o")
	wantBytes(t, r.Stdout, errDict("Perforce password (P4PASSWD) invalid or unset.", 3, 36))
}
