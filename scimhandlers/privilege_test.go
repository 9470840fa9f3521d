package scimhandlers_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// The passwords the privileged accounts start with: every attempt must
// leave them working.
const (
	rootPassword  = "R00t-Original!"
	adaPassword   = "Ada-Original-1"
	evePassword   = "Eve-Original-1"
	gracePassword = "Grace-Original-1"
	newPassword   = "Seized-Passw0rd!"
)

// privilegedDirectory builds the server the least-privilege issue was
// tried against: a second super user made by hand (root), a group
// p4admins the protections give super (ada in it, the subgroup ops nested
// under it), a group helpdesk given admin whose subgroup l2 holds eve
// (admin through a subgroup), an ordinary group devs an admin made with
// the bridge's P4USER among its Users, an ordinary unlinked user bob, and
// a protections line naming a group nobody created yet.
func privilegedDirectory(t *testing.T, cfg bridge.Config) *stacktest.Stack {
	t.Helper()
	st := stacktest.Start(t, stacktest.Options{Bridge: cfg})
	emu := st.Emu.Server
	for _, u := range []struct{ name, password string }{
		{"root", rootPassword}, {"ada", adaPassword}, {"eve", evePassword}, {"dee", "Dee-Original-1"}, {"bob", "Bob-Original-1"},
	} {
		if err := emu.CreateUser(p4emu.User{Name: u.name, Email: u.name + "@example.com", FullName: strings.ToUpper(u.name)}, u.password); err != nil {
			t.Fatal(err)
		}
	}
	admins := p4emu.NewGroup("p4admins")
	admins.Description, admins.Timeout = "Helix Core administrators", "3600"
	admins.Users, admins.Subgroups = []string{"ada"}, []string{"ops"}
	ops := p4emu.NewGroup("ops")
	ops.Users = []string{"dee"}
	helpdesk := p4emu.NewGroup("helpdesk")
	helpdesk.Subgroups = []string{"l2"}
	l2 := p4emu.NewGroup("l2")
	l2.Users = []string{"eve"}
	devs := p4emu.NewGroup("devs")
	devs.Users = []string{st.Emu.User, "dee"}
	for _, g := range []p4emu.Group{admins, ops, helpdesk, l2, devs} {
		if err := emu.SaveGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := emu.SetProtections([]p4emu.ProtectLine{
		{Perm: "write", Name: "*"},
		{Perm: "super", Name: st.Emu.User},
		{Perm: "super", Name: "root"},
		{Perm: "super", Group: true, Name: "p4admins"},
		{Perm: "admin", Group: true, Name: "helpdesk"},
		{Perm: "super", Group: true, Name: "future-admins"},
		{Perm: "super", Name: "newboss"},
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestPrivilegeAttempts tries, end to end through HTTP against the
// emulator, every way the least-privilege issue found for a SCIM token to
// seize or grant Helix Core privilege. Each gets 403 with a detail naming
// why and what would allow it, and Helix Core is left as it was.
func TestPrivilegeAttempts(t *testing.T) {
	st := privilegedDirectory(t, bridge.Config{ProtectedGroups: []string{"release"}})
	emu := st.Emu.Server
	release := p4emu.NewGroup("release")
	release.Users = []string{"bob"}
	if err := emu.SaveGroup(release); err != nil {
		t.Fatal(err)
	}
	// grace is a user p4scim created and an admin later made super by hand.
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "grace@example.com", "password": gracePassword}).Must(t, 201)
	st.Do("PATCH", "/Users/grace", patch(map[string]any{"op": "replace", "path": "displayName", "value": "Grace before"})).Must(t, 200)
	emu.SetSuper("grace", true)
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "hank@example.com"}).Must(t, 201)

	passwords := map[string]string{"root": rootPassword, "ada": adaPassword, "eve": evePassword, "grace": gracePassword}
	groupsBefore := map[string]p4emu.Group{}
	for _, g := range emu.Groups() {
		groupsBefore[g.Name] = g
	}
	usersBefore := map[string]p4emu.User{}
	for _, u := range emu.Users() {
		usersBefore[u.Name] = u
	}
	member := func(v string) []any { return []any{map[string]any{"value": v}} }

	type attempt struct {
		name         string
		method, path string
		body         any
		detail       []string // what the 403 detail must name
	}
	var attempts []attempt
	userWhy := map[string][]string{
		"root":  {`"root" has super access`, "ALLOW_PRIVILEGED_USERS=true"},
		"ada":   {`"ada" has super access`, "through a group", "ALLOW_PRIVILEGED_USERS=true"},
		"eve":   {`"eve" has admin access`, "through a group", "ALLOW_PRIVILEGED_USERS=true"},
		"grace": {`"grace" has super access`, "ALLOW_PRIVILEGED_USERS=true"},
	}
	for _, who := range []string{"root", "ada", "eve", "grace"} {
		attempts = append(attempts,
			attempt{who + ": PATCH password", "PATCH", "/Users/" + who, patch(map[string]any{"op": "replace", "value": map[string]any{"password": newPassword}}), userWhy[who]},
			attempt{who + ": PATCH active=false", "PATCH", "/Users/" + who, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), userWhy[who]},
			attempt{who + ": PATCH profile", "PATCH", "/Users/" + who, patch(map[string]any{"op": "replace", "path": "displayName", "value": "Seized"}), userWhy[who]},
			attempt{who + ": PUT with password", "PUT", "/Users/" + who, map[string]any{"schemas": []string{userSchema}, "userName": who + "@example.com", "password": newPassword}, userWhy[who]},
			attempt{who + ": DELETE", "DELETE", "/Users/" + who, nil, userWhy[who]},
		)
	}
	admins := []string{`"p4admins" gives its members super access`, "p4 protect"}
	opsWhy := []string{`"ops" gives its members super access`, "as a subgroup"}
	attempts = append(attempts,
		attempt{"POST a user the protections already make super", "POST", "/Users",
			map[string]any{"schemas": []string{userSchema}, "userName": "newboss@example.com", "password": newPassword}, []string{`"newboss" has super access`}},
		attempt{"POST the bridge's own P4USER", "POST", "/Users",
			map[string]any{"schemas": []string{userSchema}, "userName": st.Emu.User}, []string{"bridge's own P4USER"}},
		attempt{"p4admins: PATCH add a member", "PATCH", "/Groups/p4admins", patch(map[string]any{"op": "add", "path": "members", "value": member("bob")}), admins},
		attempt{"p4admins: PATCH add a SCIM-provisioned user", "PATCH", "/Groups/p4admins", patch(map[string]any{"op": "add", "path": "members", "value": member("hank")}), admins},
		attempt{"p4admins: PATCH remove a member", "PATCH", "/Groups/p4admins", patch(map[string]any{"op": "remove", "path": `members[value eq "ada"]`}), admins},
		attempt{"p4admins: PATCH replace members", "PATCH", "/Groups/p4admins", patch(map[string]any{"op": "replace", "path": "members", "value": member("bob")}), admins},
		attempt{"p4admins: PUT replacing its members", "PUT", "/Groups/p4admins",
			map[string]any{"schemas": []string{groupSchema}, "displayName": "p4admins", "members": member("bob")}, admins},
		attempt{"p4admins: PUT adding a subgroup", "PUT", "/Groups/p4admins",
			map[string]any{"schemas": []string{groupSchema}, "displayName": "p4admins", "members": []any{
				map[string]any{"value": "ada"}, map[string]any{"value": "ops", "type": "Group"}, map[string]any{"value": "devs", "type": "Group"}}}, admins},
		attempt{"p4admins: DELETE", "DELETE", "/Groups/p4admins", nil, admins},
		attempt{"ops (subgroup of p4admins): PATCH add a member", "PATCH", "/Groups/ops", patch(map[string]any{"op": "add", "path": "members", "value": member("bob")}), opsWhy},
		attempt{"ops (subgroup of p4admins): DELETE", "DELETE", "/Groups/ops", nil, opsWhy},
		attempt{"l2 (subgroup of admin helpdesk): PATCH add a member", "PATCH", "/Groups/l2", patch(map[string]any{"op": "add", "path": "members", "value": member("bob")}),
			[]string{`"l2" gives its members admin access`}},
		attempt{"POST a group the protections already make super", "POST", "/Groups",
			map[string]any{"schemas": []string{groupSchema}, "displayName": "future-admins", "members": member("bob")}, []string{`"future-admins" gives its members super access`}},
		attempt{"PROTECTED_GROUPS release: PATCH add a member", "PATCH", "/Groups/release", patch(map[string]any{"op": "add", "path": "members", "value": member("dee")}),
			[]string{`"release" is listed in PROTECTED_GROUPS`, "remove it from PROTECTED_GROUPS"}},
		attempt{"PROTECTED_GROUPS release: DELETE", "DELETE", "/Groups/release", nil, []string{"PROTECTED_GROUPS"}},
	)
	for _, a := range attempts {
		r := st.Do(a.method, a.path, a.body)
		detail := r.Str("detail")
		t.Logf("%-55s %s %s -> %d %s", a.name, a.method, a.path, r.Status, detail)
		if r.Status != 403 {
			t.Errorf("%s: status %d, want 403; body %s", a.name, r.Status, r.Body)
			continue
		}
		for _, w := range a.detail {
			if !strings.Contains(detail, w) {
				t.Errorf("%s: detail %q does not name %q", a.name, detail, w)
			}
		}
	}

	// Nothing changed in Helix Core.
	for who, pw := range passwords {
		if !emu.CheckPassword(who, pw) {
			t.Errorf("%s: password changed", who)
		}
	}
	for _, u := range emu.Users() {
		if b, ok := usersBefore[u.Name]; !ok || b.FullName != u.FullName || b.Email != u.Email {
			t.Errorf("user %s changed: %+v, was %+v", u.Name, u, b)
		}
	}
	if _, ok := emu.User("newboss"); ok {
		t.Error("newboss was created")
	}
	for _, g := range emu.Groups() {
		if b, ok := groupsBefore[g.Name]; !ok || !slices.Equal(b.Users, g.Users) || !slices.Equal(b.Subgroups, g.Subgroups) ||
			b.Description != g.Description || b.Timeout != g.Timeout {
			t.Errorf("group %s changed: %+v, was %+v", g.Name, g, b)
		}
	}
	if len(emu.Groups()) != len(groupsBefore) {
		t.Errorf("groups: %d, were %d", len(emu.Groups()), len(groupsBefore))
	}
	// Privileged groups stay readable.
	r := st.Do("GET", "/Groups/p4admins", nil).Must(t, 200)
	if ms, _ := r.JSON["members"].([]any); len(ms) != 2 {
		t.Errorf("p4admins members as read: %v", r.JSON["members"])
	}
	st.Do("GET", "/Users/root", nil).Must(t, 200)
}

// TestPrivilegePositiveControls: the gate refuses privilege only. An
// ordinary existing user is still adopted, an ordinary admin-made group
// still gains and loses members, a group PUT keeps P4USER among its Users,
// and a privileged group still takes a write that leaves its members as
// they are (Okta renames a group to its own name before each push).
func TestPrivilegePositiveControls(t *testing.T) {
	st := privilegedDirectory(t, bridge.Config{})
	emu := st.Emu.Server
	member := func(v string) []any { return []any{map[string]any{"value": v}} }

	// Adopt bob, an existing unlinked user, by a PATCH.
	r := st.Do("PATCH", "/Users/bob", patch(map[string]any{"op": "replace", "path": "displayName", "value": "Bob Adopted"}))
	t.Logf("adopt bob: PATCH /Users/bob -> %d", r.Status)
	r.Must(t, 200)
	if _, linked := emu.Key("p4scim.user.bob"); !linked || r.Str("displayName") != "Bob Adopted" {
		t.Errorf("bob not adopted: record %v, %s", linked, r.Body)
	}
	// The ordinary admin-made group devs gains bob.
	r = st.Do("PATCH", "/Groups/devs", patch(map[string]any{"op": "add", "path": "members", "value": member("bob")}))
	t.Logf("devs gains bob: PATCH /Groups/devs -> %d", r.Status)
	r.Must(t, 204)
	// A PUT of devs with the IdP's members only keeps P4USER in its Users.
	r = st.Do("PUT", "/Groups/devs", map[string]any{"schemas": []string{groupSchema}, "displayName": "devs", "members": member("bob")})
	t.Logf("devs PUT without P4USER: PUT /Groups/devs -> %d", r.Status)
	r.Must(t, 200)
	g, _ := emu.Group("devs")
	if !slices.Equal(g.Users, []string{"bob", st.Emu.User}) {
		t.Errorf("devs Users after PUT = %v, want bob and P4USER %s", g.Users, st.Emu.User)
	}
	// A PATCH removing P4USER explicitly keeps it too.
	r = st.Do("PATCH", "/Groups/devs", patch(map[string]any{"op": "remove", "path": `members[value eq "` + st.Emu.User + `"]`}))
	t.Logf("devs PATCH remove P4USER: -> %d", r.Status)
	if g, _ := emu.Group("devs"); !slices.Contains(g.Users, st.Emu.User) {
		t.Errorf("P4USER removed from devs: %v", g.Users)
	}
	// A write to p4admins that leaves the members alone is not refused.
	r = st.Do("PATCH", "/Groups/p4admins", patch(map[string]any{"op": "replace", "path": "displayName", "value": "p4admins"}))
	t.Logf("p4admins no-op rename: PATCH /Groups/p4admins -> %d", r.Status)
	r.Must(t, 204)
}

// TestPrivilegeGrantHonouredNextWrite: a user p4scim manages is refused
// from the first write after an admin makes it super by hand, and
// managed again once the grant is withdrawn.
func TestPrivilegeGrantHonouredNextWrite(t *testing.T) {
	st := privilegedDirectory(t, bridge.Config{})
	emu := st.Emu.Server
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "ivy@example.com", "password": "Ivy-Original-1"}).Must(t, 201)
	pw := func(p string) any {
		return patch(map[string]any{"op": "replace", "value": map[string]any{"password": p}})
	}
	st.Do("PATCH", "/Users/ivy", pw("Ivy-Second-1")).Must(t, 200)
	// ivy joins p4admins by hand: super through a group.
	g, _ := emu.Group("p4admins")
	g.Users = append(g.Users, "ivy")
	if err := emu.SaveGroup(g); err != nil {
		t.Fatal(err)
	}
	st.Do("PATCH", "/Users/ivy", pw(newPassword)).Must(t, 403)
	if !emu.CheckPassword("ivy", "Ivy-Second-1") {
		t.Error("password changed after the grant")
	}
	g.Users = slices.DeleteFunc(g.Users, func(u string) bool { return u == "ivy" })
	if err := emu.SaveGroup(g); err != nil {
		t.Fatal(err)
	}
	st.Do("PATCH", "/Users/ivy", pw("Ivy-Third-1")).Must(t, 200)
}

// TestAllowPrivilegedUsers: the opt-in hands admin and super users to the
// IdP, and nothing else: P4USER and privileged groups stay refused.
func TestAllowPrivilegedUsers(t *testing.T) {
	st := privilegedDirectory(t, bridge.Config{AllowPrivilegedUsers: true})
	emu := st.Emu.Server
	st.Do("PATCH", "/Users/root", patch(map[string]any{"op": "replace", "value": map[string]any{"password": newPassword}})).Must(t, 200)
	if !emu.CheckPassword("root", newPassword) {
		t.Error("root's password not set with ALLOW_PRIVILEGED_USERS")
	}
	st.Do("PATCH", "/Users/"+st.Emu.User, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).Must(t, 403)
	st.Do("PATCH", "/Groups/p4admins", patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "bob"}}})).Must(t, 403)
	st.Do("DELETE", "/Groups/p4admins", nil).Must(t, 403)
}

// TestPrivilegeCheckFailsClosed: when the protections cannot be read, no
// write is made: each write path answers 503 and Helix Core is unchanged.
func TestPrivilegeCheckFailsClosed(t *testing.T) {
	st := privilegedDirectory(t, bridge.Config{})
	emu := st.Emu.Server
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "ivy@example.com", "password": "Ivy-Original-1"}).Must(t, 201)
	emu.SetFault("protects", p4emu.Fault{Drop: true})
	member := []any{map[string]any{"value": "bob"}}
	for _, a := range []struct {
		name, method, path string
		body               any
	}{
		{"user password", "PATCH", "/Users/ivy", patch(map[string]any{"op": "replace", "value": map[string]any{"password": newPassword}})},
		{"user delete", "DELETE", "/Users/ivy", nil},
		{"user create", "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "jo@example.com"}},
		{"group member add", "PATCH", "/Groups/devs", patch(map[string]any{"op": "add", "path": "members", "value": member})},
		{"group delete", "DELETE", "/Groups/devs", nil},
		{"group create", "POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "newgroup"}},
	} {
		r := st.Do(a.method, a.path, a.body)
		if r.Status != 503 {
			t.Errorf("%s: status %d, want 503; body %s", a.name, r.Status, r.Body)
		}
	}
	if !emu.CheckPassword("ivy", "Ivy-Original-1") {
		t.Error("ivy's password changed without a privilege check")
	}
	if _, ok := emu.User("jo"); ok {
		t.Error("jo created without a privilege check")
	}
	if g, ok := emu.Group("devs"); !ok || slices.Contains(g.Users, "bob") {
		t.Errorf("devs changed without a privilege check: %+v", g)
	}
	if _, ok := emu.Group("newgroup"); ok {
		t.Error("newgroup created without a privilege check")
	}
}
