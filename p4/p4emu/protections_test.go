package p4emu_test

import (
	"testing"

	"github.com/p4scim/p4scim/p4/marshal"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestProtections: the table follows §5.2/§5.5: user and group lines,
// subgroup inheritance, -a/-u/-g listings with their tagged markers, and
// -m as the highest level that applies (exclusions ignored).
func TestProtections(t *testing.T) {
	env := start(t, p4emu.Options{})
	for _, u := range []string{"ada", "bob", "cy", "dee"} {
		if err := env.Server.CreateUser(p4emu.User{Name: u}, "Abcdefg1"); err != nil {
			t.Fatal(err)
		}
	}
	// p4admins (super) includes the subgroup ops, which includes oncall:
	// dee, in oncall, is super through two levels of nesting.
	for _, g := range []p4emu.Group{
		{Name: "p4admins", Users: []string{"ada"}, Subgroups: []string{"ops"}},
		{Name: "ops", Subgroups: []string{"oncall"}},
		{Name: "oncall", Users: []string{"dee"}},
		{Name: "helpdesk", Users: []string{"cy"}, Owners: []string{"bob"}},
	} {
		if err := env.Server.SaveGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.SetProtections([]p4emu.ProtectLine{
		{Perm: "write", Name: "*"},
		{Perm: "super", Name: "super"},
		{Perm: "super", Group: true, Name: "p4admins"},
		{Perm: "admin", Group: true, Name: "helpdesk"},
		{Perm: "read", Name: "bob", Path: "//secret/...", Unmap: true},
	}); err != nil {
		t.Fatal(err)
	}
	perm := func(p string) []marshal.Dict { return []marshal.Dict{d("code", "stat", "permMax", p)} }
	line := func(n, perm, name, path string, marks ...string) marshal.Dict {
		var kv []any
		for _, m := range marks {
			kv = append(kv, m, "")
		}
		kv = append(kv, "line", n, "perm", perm, "user", name, "host", "*", "depotFile", path)
		return d(append([]any{"code", "stat"}, kv...)...)
	}
	runSteps(t, env, []step{
		{name: "direct group member", args: []string{"protects", "-u", "ada", "-m"}, want: perm("super")},
		{name: "nested subgroup member", args: []string{"protects", "-u", "dee", "-m"}, want: perm("super")},
		{name: "admin group", args: []string{"protects", "-u", "cy", "-m"}, want: perm("admin")},
		// bob owns helpdesk: owners are not members.
		{name: "owner and exclusion", args: []string{"protects", "-u", "bob", "-m"}, want: perm("write")},
		{name: "group", args: []string{"protects", "-g", "p4admins", "-m"}, want: perm("super")},
		{name: "subgroup inherits", args: []string{"protects", "-g", "oncall", "-m"}, want: perm("super")},
		{name: "deleted or future group", args: []string{"protects", "-g", "nosuch", "-m"}, want: perm("none")},
		{name: "-u listing", args: []string{"protects", "-u", "dee"}, want: []marshal.Dict{
			line("1", "write", "*", "//..."), line("3", "super", "p4admins", "//...", "isgroup")}},
		{name: "-g listing", args: []string{"protects", "-g", "helpdesk"}, want: []marshal.Dict{
			line("4", "admin", "helpdesk", "//...", "isgroup")}},
		{name: "-a listing", args: []string{"protects", "-a"}, want: []marshal.Dict{
			line("1", "write", "*", "//..."), line("2", "super", "super", "//..."),
			line("3", "super", "p4admins", "//...", "isgroup"), line("4", "admin", "helpdesk", "//...", "isgroup"),
			line("5", "read", "bob", "-//secret/...", "unmap")}},
		{name: "-u with -g", args: []string{"protects", "-u", "ada", "-g", "ops"}, want: []marshal.Dict{
			errDict("Usage: protects [-s spec] [ -a | -g group | -u user ] [ -h host | -H ] [-S | -A] [ -m ] [ file ... ]\nMissing/wrong number of arguments.", 3, 1)}, exit: 1},
	})

	// Another user's protections need super, and the caller's own -m
	// follows its groups: ada is super through p4admins.
	if r := env.Run(t, []byte("Abcdefg1\n"), []string{"P4USER=cy"}, "login"); r.Exit != 0 {
		t.Fatalf("login cy: %s", r.Stderr)
	}
	denied := errDict("You don't have permission for this operation.", 3, 6)
	runSteps(t, env, []step{
		{name: "admin is not super", env: []string{"P4USER=cy"}, args: []string{"protects", "-a"}, want: []marshal.Dict{denied}, exit: 1},
		{name: "own -m", env: []string{"P4USER=cy"}, args: []string{"protects", "-m"}, want: perm("admin")},
	})
	if !env.Server.IsSuper("dee") || env.Server.IsSuper("cy") {
		t.Error("IsSuper does not follow the group lines")
	}
	// Leaving the nested group ends the grant.
	oncall, _ := env.Server.Group("oncall")
	oncall.Users = []string{"bob"}
	if err := env.Server.SaveGroup(oncall); err != nil {
		t.Fatal(err)
	}
	if got := env.Server.MaxAccess("dee"); got != "write" {
		t.Errorf("after leaving oncall: %s, want write", got)
	}
	if err := env.Server.SetProtections([]p4emu.ProtectLine{{Perm: "owner", Name: "x"}}); err == nil {
		t.Error("a level outside list..super was accepted")
	}
}

// TestProtectionsFollowUsers: user -d -F drops the user's lines and
// renameuser renames them (§2.3, §2.7).
func TestProtectionsFollowUsers(t *testing.T) {
	env := start(t, p4emu.Options{})
	for _, u := range []string{"old", "gone"} {
		if err := env.Server.CreateUser(p4emu.User{Name: u}, ""); err != nil {
			t.Fatal(err)
		}
		env.Server.SetSuper(u, true)
	}
	if r := env.Run(t, nil, nil, "renameuser", "--from=old", "--to=new"); r.Exit != 0 {
		t.Fatalf("renameuser: %s", r.Stderr)
	}
	if r := env.Run(t, nil, nil, "user", "-d", "-f", "-F", "gone"); r.Exit != 0 {
		t.Fatalf("user -d -F: %s", r.Stderr)
	}
	if !env.Server.IsSuper("new") || env.Server.IsSuper("old") || env.Server.IsSuper("gone") {
		t.Errorf("protections after rename and delete: %+v", env.Server.Protections())
	}
}

// TestConfigureShow: the security configurables of §5.6, documented
// defaults until set.
func TestConfigureShow(t *testing.T) {
	env := start(t, p4emu.Options{SecurityLevel: 4})
	if err := env.Server.SetConfigurable("dm.keys.hide", "2"); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.SetConfigurable("security", "1"); err == nil {
		t.Error("security is an Option, but SetConfigurable took it")
	}
	show := func(kind, name, value string) []marshal.Dict {
		return []marshal.Dict{d("code", "stat", "ServerName", "any", "Type", kind, "Name", name, "Value", value)}
	}
	runSteps(t, env, []step{
		{name: "security", args: []string{"configure", "show", "security"}, want: show("configure", "security", "4")},
		{name: "set", args: []string{"configure", "show", "dm.keys.hide"}, want: show("configure", "dm.keys.hide", "2")},
		{name: "default", args: []string{"configure", "show", "dm.user.setinitialpasswd"}, want: show("default", "dm.user.setinitialpasswd", "1")},
		{name: "unknown", args: []string{"configure", "show", "no.such"}},
	})
}
