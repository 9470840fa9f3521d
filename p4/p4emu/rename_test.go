package p4emu_test

import (
	"slices"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestRenameUserMovesEverythingNamed checks what `renameuser` carries over
// (§2.7): groups' Users and Owners follow the user, the password and the
// sessions stay with the account, the old name is gone, and the refusals
// (missing source, taken target, the caller itself) change nothing.
func TestRenameUserMovesEverythingNamed(t *testing.T) {
	env := start(t, p4emu.Options{})
	srv := env.Server
	if err := srv.CreateUser(p4emu.User{Name: "carol", Email: "c@x", FullName: "C"}, "Secret-123"); err != nil {
		t.Fatal(err)
	}
	if err := srv.CreateUser(p4emu.User{Name: "dave", Email: "d@x", FullName: "D"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, g := range []p4emu.Group{
		{Name: "dev", Users: []string{"carol", "dave"}, Owners: []string{"carol"}},
		{Name: "ops", Owners: []string{"carol"}},
		{Name: "qa", Users: []string{"dave"}},
	} {
		if err := srv.SaveGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	carolTickets := env.Dir + "/carol-tickets"
	if r := env.Run(t, []byte("Secret-123\n"), []string{"P4USER=carol", "P4TICKETS=" + carolTickets}, "login"); r.Exit != 0 {
		t.Fatalf("carol login: %s%s", r.Stdout, r.Stderr)
	}
	refusals := []struct {
		name, from, to, want string
	}{
		{name: "missing source", from: "nobody", to: "x", want: "User nobody doesn't exist."},
		{name: "taken target", from: "carol", to: "dave", want: "User dave already exists."},
		{name: "caller itself", from: env.User, to: "boss", want: "You can't rename yourself (" + env.User + ")."},
	}
	for _, tc := range refusals {
		r := env.Run(t, nil, nil, "-G", "renameuser", "--from="+tc.from, "--to="+tc.to)
		ds := decode(t, r.Stdout)
		if r.Exit != 1 || len(ds) != 1 || ds[0].String("data") != tc.want+"\n" {
			t.Errorf("%s: exit %d, %v; want %q", tc.name, r.Exit, ds, tc.want)
		}
	}
	if _, ok := srv.User("carol"); !ok {
		t.Fatal("a refused rename removed carol")
	}

	r := env.Run(t, nil, nil, "-G", "renameuser", "--from=carol", "--to=caroline")
	wantBytes(t, r.Stdout, info("User carol renamed to caroline."))

	if _, ok := srv.User("carol"); ok {
		t.Error("carol still exists")
	}
	if _, ok := srv.User("caroline"); !ok {
		t.Fatal("caroline does not exist")
	}
	wantGroups := map[string][2][]string{ // Users, Owners
		"dev": {{"caroline", "dave"}, {"caroline"}},
		"ops": {nil, {"caroline"}},
		"qa":  {{"dave"}, nil},
	}
	for name, want := range wantGroups {
		g, ok := srv.Group(name)
		if !ok {
			t.Fatalf("group %s gone", name)
		}
		if !slices.Equal(g.Users, want[0]) || !slices.Equal(g.Owners, want[1]) {
			t.Errorf("group %s: Users %v Owners %v, want %v %v", name, g.Users, g.Owners, want[0], want[1])
		}
	}
	if !srv.CheckPassword("caroline", "Secret-123") {
		t.Error("the password did not follow the rename")
	}
	if srv.CheckPassword("carol", "Secret-123") {
		t.Error("the old name still logs in")
	}
	if n := srv.Tickets("caroline"); n != 1 {
		t.Errorf("caroline has %d tickets, want the 1 carol had", n)
	}
}
