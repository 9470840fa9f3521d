package bridge_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// onlyHelix hides the p4 client's optional methods (GroupsOfUser), as a
// Helix that implements only the interface would.
type onlyHelix struct{ bridge.Helix }

// TestGroupsOf: a user's groups (direct membership, without the deny
// group) in one p4 command, whether one user is asked for (groups -u) or
// several (one groups listing), and with a Helix that cannot list one
// user's groups.
func TestGroupsOf(t *testing.T) {
	ctx := context.Background()
	svc, env, client := newService(t, bridge.Config{DenyGroup: "p4scim-denied"})
	for _, name := range []string{"ada", "bob", "cy"} {
		if _, err := svc.CreateUser(ctx, map[string]any{"userName": name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	members := func(ids ...string) []any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	for name, ids := range map[string][]string{"eng": {"ada", "bob"}, "ops": {"ada"}} {
		if _, err := svc.CreateGroup(ctx, map[string]any{"displayName": name, "members": members(ids...)}); err != nil {
			t.Fatal(err)
		}
	}
	// bob is deactivated: the deny group holds him, and is not shown.
	if _, err := svc.PatchUser(ctx, "bob", func(doc map[string]any) error { doc["active"] = false; return nil }); err != nil {
		t.Fatal(err)
	}
	fallback, err := bridge.New(onlyHelix{client}, bridge.Config{P4User: env.User, DenyGroup: "p4scim-denied"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		svc     *bridge.Service
		users   []string
		want    string
		command string // the one p4 command, with its arguments
	}{
		{"one user", svc, []string{"ada"}, "map[ada:[eng ops]]", "groups -u ada"},
		{"one user, deny group left out", svc, []string{"bob"}, "map[bob:[eng]]", "groups -u bob"},
		{"one user in no group", svc, []string{"cy"}, "map[]", "groups -u cy"},
		{"a page", svc, []string{"ada", "bob", "cy"}, "map[ada:[eng ops] bob:[eng]]", "groups"},
		{"one user, no groups -u", fallback, []string{"ada"}, "map[ada:[eng ops]]", "groups"},
		{"none", svc, nil, "map[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Server.ResetInvocations()
			got, err := tt.svc.GroupsOf(ctx, tt.users...)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("groups %v, want %s", got, tt.want)
			}
			var cmds []string
			for _, inv := range env.Server.Invocations() {
				// Args is the whole argv: global flags, then the command.
				for i, a := range inv.Args {
					if a == inv.Command {
						cmds = append(cmds, strings.Join(inv.Args[i:], " "))
						break
					}
				}
			}
			if strings.Join(cmds, "; ") != tt.command {
				t.Errorf("p4 commands %q, want %q", cmds, tt.command)
			}
		})
	}
}

// TestIfMatch: every write applies only when If-Match names the current
// version (weakly compared, or *), and writes nothing otherwise.
func TestIfMatch(t *testing.T) {
	ctx := context.Background()
	svc, env, _ := newService(t, bridge.Config{})
	u, err := svc.CreateUser(ctx, map[string]any{"userName": "ver@example.com", "displayName": "Ver"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "vergroup"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.Version(), `W/"`) || u.Version() == g.Version() {
		t.Fatalf("versions %s %s", u.Version(), g.Version())
	}
	rename := func(doc map[string]any) error { doc["displayName"] = "Renamed"; return nil }
	writes := map[string]func(tags ...string) error{
		"ReplaceUser": func(tags ...string) error {
			_, err := svc.ReplaceUser(ctx, "ver", map[string]any{"userName": "ver@example.com", "displayName": "Put"}, bridge.IfMatch(tags...))
			return err
		},
		"PatchUser": func(tags ...string) error {
			_, err := svc.PatchUser(ctx, "ver", rename, bridge.IfMatch(tags...))
			return err
		},
		"DeleteUser": func(tags ...string) error { return svc.DeleteUser(ctx, "ver", bridge.IfMatch(tags...)) },
		"ReplaceGroup": func(tags ...string) error {
			_, err := svc.ReplaceGroup(ctx, "vergroup", map[string]any{"displayName": "vergroup", "title": "x"}, bridge.IfMatch(tags...))
			return err
		},
		"PatchGroup": func(tags ...string) error {
			_, err := svc.PatchGroup(ctx, "vergroup", rename, bridge.IfMatch(tags...))
			return err
		},
		"DeleteGroup": func(tags ...string) error { return svc.DeleteGroup(ctx, "vergroup", bridge.IfMatch(tags...)) },
	}
	for _, name := range []string{"ReplaceUser", "PatchUser", "ReplaceGroup", "PatchGroup", "DeleteUser", "DeleteGroup"} {
		t.Run(name, func(t *testing.T) {
			write := writes[name]
			before := specState(env)
			for _, stale := range [][]string{{`W/"0000"`}, {`"0000"`, `W/"1111"`}} {
				if err := write(stale...); bridge.ErrorCode(err) != bridge.EPrecondition {
					t.Fatalf("stale %v: %v, want %s", stale, err, bridge.EPrecondition)
				}
			}
			if after := specState(env); after != before {
				t.Fatalf("a stale write changed Helix Core:\n%s\n%s", before, after)
			}
			current := currentVersion(t, svc, name)
			// The strong spelling of the current tag, among others, applies.
			if err := write(`W/"0000"`, strings.TrimPrefix(current, "W/")); err != nil {
				t.Fatalf("current: %v", err)
			}
			if !strings.HasPrefix(name, "Delete") {
				if err := write(current); bridge.ErrorCode(err) != bridge.EPrecondition {
					t.Fatalf("the version before the write: %v", err)
				}
				if err := write("*"); err != nil {
					t.Fatalf("*: %v", err)
				}
			}
		})
	}
}

// specState is what a write could change in Helix Core: users' fields
// (not their access times, which every command of P4USER moves), groups and
// keys other than locks.
func specState(env *p4emutest.Env) string {
	var b strings.Builder
	for _, u := range env.Server.Users() {
		fmt.Fprintf(&b, "user %s %q %q\n", u.Name, u.Email, u.FullName)
	}
	fmt.Fprintf(&b, "groups %v\n", env.Server.Groups())
	keys := env.Server.Keys()
	for k := range keys {
		if strings.Contains(k, ".lock.") {
			delete(keys, k)
		}
	}
	fmt.Fprintf(&b, "keys %v\n", keys)
	return b.String()
}

func currentVersion(t *testing.T, svc *bridge.Service, write string) string {
	t.Helper()
	if strings.HasSuffix(write, "User") {
		u, err := svc.GetUser(context.Background(), "ver")
		if err != nil {
			t.Fatal(err)
		}
		return u.Version()
	}
	g, err := svc.GetGroup(context.Background(), "vergroup")
	if err != nil {
		t.Fatal(err)
	}
	return g.Version()
}

// TestIfMatchConcurrent: writers that read the same version race; the
// check runs inside the write's lock, so exactly one of them applies and
// the others get EPrecondition.
func TestIfMatchConcurrent(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t, bridge.Config{})
	u, err := svc.CreateUser(ctx, map[string]any{"userName": "race@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "racegroup"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		write func(i int) error
	}{
		{"user", func(i int) error {
			_, err := svc.PatchUser(ctx, u.ID, func(doc map[string]any) error { doc["title"] = fmt.Sprint(i); return nil }, bridge.IfMatch(u.Version()))
			return err
		}},
		{"group", func(i int) error {
			_, err := svc.PatchGroup(ctx, g.ID, func(doc map[string]any) error { doc["title"] = fmt.Sprint(i); return nil }, bridge.IfMatch(g.Version()))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const writers = 6
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() { errs[i] = tt.write(i) })
			}
			wg.Wait()
			applied := 0
			for _, err := range errs {
				switch {
				case err == nil:
					applied++
				case bridge.ErrorCode(err) != bridge.EPrecondition:
					t.Fatalf("unexpected error %v", err)
				}
			}
			if applied != 1 {
				t.Fatalf("%d conditional writes applied, want 1: %v", applied, errs)
			}
		})
	}
}

// TestControlCharacterPolicy: control characters are refused where a value
// becomes a Helix Core name or spec field, and kept verbatim elsewhere.
func TestControlCharacterPolicy(t *testing.T) {
	ctx := context.Background()
	svc, env, _ := newService(t, bridge.Config{})
	tests := []struct {
		name    string
		doc     map[string]any
		refused bool
	}{
		{"newline in userName", map[string]any{"userName": "a\nb@example.com"}, true},
		{"newline in displayName", map[string]any{"displayName": "Eve\nUser: root"}, true},
		{"tab in name.givenName", map[string]any{"name": map[string]any{"givenName": "E\tve"}}, true},
		{"NUL in name.familyName", map[string]any{"name": map[string]any{"familyName": "E\x00ve"}}, true},
		{"CR in name.formatted", map[string]any{"name": map[string]any{"formatted": "E\rve"}}, true},
		{"newline in an email", map[string]any{"emails": []any{map[string]any{"value": "e\n@example.com"}}}, true},
		{"escape in externalId", map[string]any{"externalId": "x\x1by"}, true},
		{"newline in addresses.formatted", map[string]any{"addresses": []any{map[string]any{"formatted": "1 Main St\nTown"}}}, false},
		{"tab in title", map[string]any{"title": "a\tb"}, false},
		{"C1 in an extension", map[string]any{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R\u0085D"}}, false},
		{"newline in name.middleName", map[string]any{"name": map[string]any{"middleName": "J\nK"}}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := map[string]any{"userName": fmt.Sprintf("cc%d@example.com", i)}
			for k, v := range tt.doc {
				doc[k] = v
			}
			u, err := svc.CreateUser(ctx, doc)
			if tt.refused {
				if bridge.ErrorCode(err) != bridge.EInvalid || !strings.Contains(bridge.ErrorMessage(err), "control character") {
					t.Fatalf("err %v, want a control character refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := svc.GetUser(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.doc {
				if fmt.Sprintf("%q", got.Doc[k]) != fmt.Sprintf("%q", v) {
					t.Fatalf("%s = %q, want %q", k, got.Doc[k], v)
				}
			}
		})
	}
	for _, u := range env.Server.Users() {
		if strings.ContainsFunc(u.Name+u.Email+u.FullName, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
			t.Fatalf("control character in a spec: %+v", u)
		}
	}
}
