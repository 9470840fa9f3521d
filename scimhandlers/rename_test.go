package scimhandlers_test

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// renameStack is a stack with ALLOW_USER_RENAME on (or off), "admin"
// protected, and user ada (userName ada@old.example) a member of group
// Dev and an owner of group Ops.
func renameStack(t *testing.T, allow bool) (st *stacktest.Stack, groupID string) {
	t.Helper()
	st = stacktest.Start(t, stacktest.Options{Bridge: bridge.Config{AllowUserRename: allow, Protected: []string{"admin"}}})
	st.Do("POST", "/Users", oktaUser("ada@old.example", "Ada", "Lovelace", "Old-Passw0rd!")).Must(t, 201)
	groupID = st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Dev",
		"members": []any{map[string]any{"value": "ada"}}}).Must(t, 201).Str("id")
	if err := st.Emu.Server.SaveGroup(p4emu.Group{Name: "Ops", Owners: []string{"ada"}}); err != nil {
		t.Fatal(err)
	}
	return st, groupID
}

// renameWrites are the two ways an IdP changes a userName.
var renameWrites = []struct {
	name string
	req  func(id, userName string) (method, path string, body any)
}{
	{"Okta PUT", func(id, userName string) (string, string, any) {
		return "PUT", "/Users/" + id, oktaUser(userName, "Ada", "Lovelace", "Old-Passw0rd!")
	}},
	{"Entra PATCH Replace userName", func(id, userName string) (string, string, any) {
		return "PATCH", "/Users/" + id, patch(map[string]any{"op": "Replace", "path": "userName", "value": userName})
	}},
}

func hexKey(s string) string { return hex.EncodeToString([]byte(strings.ToLower(s))) }

// TestRenameKeepsTheID renames ada to ada.lovelace through each IdP's
// write, with ALLOW_USER_RENAME on: the Helix Core user is renamed, its
// memberships and ownerships follow, its password still works, and the
// SCIM id stays "ada" in every read (GET, filters, listing, a group's
// members) and write (group PATCH by member id, DELETE).
func TestRenameKeepsTheID(t *testing.T) {
	for _, w := range renameWrites {
		t.Run(w.name, func(t *testing.T) {
			st, gid := renameStack(t, true)
			emu := st.Emu.Server
			method, path, body := w.req("ada", "ada.lovelace@new.example")
			r := st.Do(method, path, body).Must(t, 200)
			if r.Str("id") != "ada" || r.Str("userName") != "ada.lovelace@new.example" {
				t.Fatalf("rename answered %s", r.Body)
			}
			if _, ok := emu.User("ada"); ok {
				t.Error("Helix Core still has ada")
			}
			if _, ok := emu.User("ada.lovelace"); !ok {
				t.Fatal("Helix Core has no ada.lovelace")
			}
			if !emu.CheckPassword("ada.lovelace", "Old-Passw0rd!") {
				t.Error("the password did not follow the rename")
			}
			dev, _ := emu.Group("Dev")
			ops, _ := emu.Group("Ops")
			if !slices.Contains(dev.Users, "ada.lovelace") || !slices.Equal(ops.Owners, []string{"ada.lovelace"}) {
				t.Errorf("memberships did not follow: Dev %v, Ops owners %v", dev.Users, ops.Owners)
			}
			keys := emu.Keys()
			for k, want := range map[string]string{
				"p4scim.renamed.ada": "ada.lovelace",
				"p4scim.username." + hexKey("ada.lovelace@new.example"):              "ada.lovelace",
				"p4scim.extid." + hex.EncodeToString([]byte("00ujl29u0le5T6Aj10h7")): "ada.lovelace",
			} {
				if keys[k] != want {
					t.Errorf("key %s = %q, want %q", k, keys[k], want)
				}
			}
			for _, k := range []string{"p4scim.user.ada", "p4scim.username." + hexKey("ada@old.example")} {
				if _, ok := keys[k]; ok {
					t.Errorf("key %s left behind", k)
				}
			}

			// Every read answers the stable id.
			r = st.Do("GET", "/Users/ada", nil).Must(t, 200)
			if r.Str("id") != "ada" || r.Str("userName") != "ada.lovelace@new.example" {
				t.Errorf("GET by the id: %s", r.Body)
			}
			st.Do("GET", "/Users/ada.lovelace", nil).Must(t, 404)
			for _, f := range []string{`userName eq "ada.lovelace@new.example"`, `externalId eq "00ujl29u0le5T6Aj10h7"`} {
				r = st.Do("GET", "/Users?"+filterQuery(f), nil).Must(t, 200)
				if res := r.Resources(); len(res) != 1 || res[0]["id"] != "ada" {
					t.Errorf("filter %s: %s", f, r.Body)
				}
			}
			r = st.Do("GET", "/Users?"+filterQuery(`userName eq "ada@old.example"`), nil).Must(t, 200)
			if len(r.Resources()) != 0 {
				t.Errorf("the old userName still finds a user: %s", r.Body)
			}
			var ids []string
			for _, u := range st.Do("GET", "/Users", nil).Must(t, 200).Resources() {
				ids = append(ids, fmt.Sprint(u["id"]))
			}
			if !slices.Contains(ids, "ada") || slices.Contains(ids, "ada.lovelace") {
				t.Errorf("listing ids %v", ids)
			}
			if got := memberValues(st.Do("GET", "/Groups/"+gid, nil).Must(t, 200).JSON); !reflect.DeepEqual(got, []string{"ada"}) {
				t.Errorf("group members %v, want the stable id", got)
			}
			for _, g := range st.Do("GET", "/Groups", nil).Must(t, 200).Resources() {
				if g["id"] == gid && !reflect.DeepEqual(memberValues(g), []string{"ada"}) {
					t.Errorf("listed group members %v", memberValues(g))
				}
			}

			// The old name stays the id's: a create that maps to it is refused.
			r = st.Do("POST", "/Users", oktaUser("ada@elsewhere.example", "Other", "Ada", "Passw0rd-2!")).Must(t, 409)
			if !strings.Contains(string(r.Body), "reserved") {
				t.Errorf("create onto the old name: %s", r.Body)
			}

			// Writes by the id: group membership by member id, then DELETE.
			st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "remove", "path": `members[value eq "ada"]`})).Must(t, 204)
			if dev, _ := emu.Group("Dev"); slices.Contains(dev.Users, "ada.lovelace") {
				t.Errorf("remove by the id left %v", dev.Users)
			}
			st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "ada"}}})).Must(t, 204)
			if dev, _ := emu.Group("Dev"); !slices.Equal(dev.Users, []string{"ada.lovelace"}) {
				t.Errorf("add by the id: Dev users %v", dev.Users)
			}
			st.Do("DELETE", "/Users/ada", nil).Must(t, 204)
			if _, ok := emu.User("ada.lovelace"); ok {
				t.Error("DELETE by the id left the user")
			}
			for k := range emu.Keys() {
				if strings.HasPrefix(k, "p4scim.") && !strings.HasPrefix(k, "p4scim.group") && !strings.HasPrefix(k, "p4scim.lock") {
					t.Errorf("key %s left after DELETE", k)
				}
			}
			st.Do("GET", "/Users/ada", nil).Must(t, 404)
		})
	}
}

func memberValues(doc map[string]any) []string {
	var out []string
	for _, m := range doc["members"].([]any) {
		out = append(out, fmt.Sprint(m.(map[string]any)["value"]))
	}
	return out
}

// TestRenameRefused: a rename onto a name Helix Core has, a protected
// name, or the bridge's own user, and a rename of a protected user, are
// refused with the reason, through both IdP writes, and change nothing.
func TestRenameRefused(t *testing.T) {
	cases := []struct {
		name, id, userName string
		status             int
		reason             string
	}{
		{"target exists", "ada", "bob@new.example", 409, `Helix Core user \"bob\", which already exists`},
		{"target protected", "ada", "admin@new.example", 403, `Helix Core user \"admin\", which is protected`},
		{"target is P4USER", "ada", "super@new.example", 403, `which is protected`},
		{"target is a renamed user's id", "ada", "carol@new.example", 409, `SCIM id of another user`},
		{"user protected", "admin", "administrator@new.example", 403, `is listed in PROTECTED_USERS`},
		// The protections grant super to the name "boss" before any user
		// has it: a rename onto it would hand super to ada.
		{"target privileged", "ada", "boss@new.example", 403, `gives the Helix Core name \"boss\" super access`},
	}
	for _, w := range renameWrites {
		for _, tc := range cases {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				st, _ := renameStack(t, true)
				emu := st.Emu.Server
				if err := emu.CreateUser(p4emu.User{Name: "bob", Email: "bob@x", FullName: "Bob"}, ""); err != nil {
					t.Fatal(err)
				}
				if err := emu.CreateUser(p4emu.User{Name: "admin", Email: "admin@x", FullName: "Admin"}, ""); err != nil {
					t.Fatal(err)
				}
				if err := emu.SetProtections(append(emu.Protections(), p4emu.ProtectLine{Perm: "super", Name: "boss"})); err != nil {
					t.Fatal(err)
				}
				// carol, renamed to caroline, keeps "carol" as her id.
				st.Do("POST", "/Users", oktaUser("carol@old.example", "Carol", "C", "Passw0rd-3!")).Must(t, 201)
				st.Do("PATCH", "/Users/carol", patch(map[string]any{"op": "replace", "path": "userName", "value": "caroline@new.example"})).Must(t, 200)
				before := helixState(st)
				method, path, body := w.req(tc.id, tc.userName)
				r := st.Do(method, path, body).Must(t, tc.status)
				if !strings.Contains(string(r.Body), tc.reason) {
					t.Errorf("answer %s, want the reason %q", r.Body, tc.reason)
				}
				if after := helixState(st); after != before {
					t.Errorf("a refused rename changed Helix Core:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	}
}

// TestRenameOff: without ALLOW_USER_RENAME a userName change keeps the
// Helix Core name (today's behaviour): the new userName is stored and
// returned.
func TestRenameOff(t *testing.T) {
	for _, w := range renameWrites {
		t.Run(w.name, func(t *testing.T) {
			st, _ := renameStack(t, false)
			emu := st.Emu.Server
			method, path, body := w.req("ada", "ada.lovelace@new.example")
			r := st.Do(method, path, body).Must(t, 200)
			if r.Str("id") != "ada" || r.Str("userName") != "ada.lovelace@new.example" {
				t.Fatalf("answer %s", r.Body)
			}
			if _, ok := emu.User("ada"); !ok {
				t.Error("ada was renamed with renames off")
			}
			if _, ok := emu.User("ada.lovelace"); ok {
				t.Error("ada.lovelace exists with renames off")
			}
			if _, ok := emu.Keys()["p4scim.renamed.ada"]; ok {
				t.Error("an alias was written with renames off")
			}
		})
	}
}

// TestRenameP4Commands pins the p4 cost that renames add, with the
// setting on: none for a user never renamed (users, key, and groups -u for
// its groups attribute); three (the alias, the renamed name's `users` and
// record) for a renamed user's GET, after the id's `users` and the key a
// released user would have left; one for a missing id's GET (the alias);
// one `keys` of the aliases for a group read or write (PATCH add: 7 with
// renames off), so that members show their ids.
func TestRenameP4Commands(t *testing.T) {
	st, gid := renameStack(t, true)
	st.Do("POST", "/Users", oktaUser("bob@old.example", "Bob", "B", "Passw0rd-4!")).Must(t, 201)
	count := func(method, path string, body any, status int) int {
		before := len(st.Emu.Server.Invocations())
		st.Do(method, path, body).Must(t, status)
		return len(st.Emu.Server.Invocations()) - before
	}
	rename := count("PATCH", "/Users/ada", patch(map[string]any{"op": "replace", "path": "userName", "value": "ada.lovelace@new.example"}), 200)
	addBob := patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "bob"}}})
	for _, c := range []struct {
		name         string
		method, path string
		body         any
		status, want int
	}{
		{"GET a user never renamed", "GET", "/Users/bob", nil, 200, 3},
		{"GET a renamed user", "GET", "/Users/ada", nil, 200, 6},
		{"GET a missing user", "GET", "/Users/nobody", nil, 404, 3},
		{"GET a group", "GET", "/Groups/" + gid, nil, 200, 3},
		{"PATCH a group: add a member", "PATCH", "/Groups/" + gid, addBob, 204, 8},
	} {
		if got := count(c.method, c.path, c.body, c.status); got != c.want {
			t.Errorf("%s: %d p4 commands, want %d", c.name, got, c.want)
		}
	}
	// The rename itself: the id's read (user -o, key), the write's
	// privilege check (protects), the target's checks (protects, users,
	// key, key, userName index), the claim, renameuser, the index move,
	// the old record's delete, the record; then the write of the new
	// profile (record and indexes, old index delete).
	if rename != 15 {
		t.Errorf("rename PATCH: %d p4 commands, want 15", rename)
	}
}

// TestRenamesRace sends renames of one user to two names at once, and
// back and forth, as an IdP retrying an old change and sending a new one
// would: they are serialised on the user's lock, so the user ends under
// one of the names with its id, and no claim, old record or stale alias
// is left.
func TestRenamesRace(t *testing.T) {
	st, _ := renameStack(t, true)
	emu := st.Emu.Server
	targets := []string{"ada.one@new.example", "ada.two@new.example", "ada.one@new.example", "ada.two@new.example"}
	var wg sync.WaitGroup
	statuses := make([]int, len(targets))
	for i, userName := range targets {
		wg.Go(func() {
			statuses[i] = st.Do("PATCH", "/Users/ada", patch(map[string]any{"op": "replace", "path": "userName", "value": userName})).Status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("rename %d to %s: status %d", i, targets[i], s)
		}
	}
	r := st.Do("GET", "/Users/ada", nil).Must(t, 200)
	final := strings.TrimSuffix(r.Str("userName"), "@new.example")
	if final != "ada.one" && final != "ada.two" {
		t.Fatalf("final userName %q", r.Str("userName"))
	}
	var names []string
	for _, u := range emu.Users() {
		names = append(names, u.Name)
	}
	if !slices.Contains(names, final) || slices.Contains(names, "ada") || len(names) != 2 { // final and the super user
		t.Errorf("Helix Core users %v, want %s and the super user", names, final)
	}
	keys := emu.Keys()
	if keys["p4scim.renamed.ada"] != final {
		t.Errorf("alias = %q, want %q", keys["p4scim.renamed.ada"], final)
	}
	for k, v := range keys {
		if strings.HasPrefix(k, "p4scim.user.") && k != "p4scim.user."+final {
			t.Errorf("record %s left: %s", k, v)
		}
		if strings.Contains(v, `"pending"`) {
			t.Errorf("%s still pending: %s", k, v)
		}
	}
}
