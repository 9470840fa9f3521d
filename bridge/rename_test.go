package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// setUserName is a PATCH that replaces the userName.
func setUserName(userName string) func(map[string]any) error {
	return func(doc map[string]any) error { doc["userName"] = userName; return nil }
}

// TestRenameEdges covers what the end-to-end tests do not: a rename back
// to the id drops the alias (the user is a never-renamed one again, GET
// costs 2), two renames in a row keep one alias, an alias left by an
// unfinished clean-up neither blocks a create nor survives it, and a
// DELETE whose clean-up stopped before the alias finishes it.
func TestRenameEdges(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(t *testing.T, svc *bridge.Service, keys func() map[string]string, set func(k, v string))
	}{
		{"rename twice, then back to the id", func(t *testing.T, svc *bridge.Service, keys func() map[string]string, _ func(k, v string)) {
			for _, userName := range []string{"ada.b@example.com", "ada.c@example.com"} {
				if u, err := svc.PatchUser(ctx, "ada", setUserName(userName)); err != nil || u.ID != "ada" {
					t.Fatalf("rename to %s: %v %v", userName, u.ID, err)
				}
			}
			if k := keys(); k["p4scim.renamed.ada"] != "ada.c" || k["p4scim.user.ada.b"] != "" {
				t.Fatalf("after two renames: alias %q, record at ada.b %q", k["p4scim.renamed.ada"], k["p4scim.user.ada.b"])
			}
			if _, err := svc.PatchUser(ctx, "ada", setUserName("ada@example.com")); err != nil {
				t.Fatal(err)
			}
			k := keys()
			if _, ok := k["p4scim.renamed.ada"]; ok {
				t.Error("alias kept after the rename back to the id")
			}
			if rec := k["p4scim.user.ada"]; rec == "" || strings.Contains(rec, `"id"`) {
				t.Errorf("record after the rename back: %q", rec)
			}
			if u, err := svc.GetUser(ctx, "ada"); err != nil || u.ID != "ada" || u.Doc["userName"] != "ada@example.com" {
				t.Errorf("GET after the rename back: %+v %v", u, err)
			}
		}},
		{"a stale alias does not reserve a name", func(t *testing.T, svc *bridge.Service, keys func() map[string]string, set func(k, v string)) {
			set("p4scim.renamed.zed", "nobody")
			if _, err := svc.CreateUser(ctx, map[string]any{"userName": "zed@example.com"}); err != nil {
				t.Fatalf("create onto a stale alias: %v", err)
			}
			if _, ok := keys()["p4scim.renamed.zed"]; ok {
				t.Error("stale alias kept")
			}
		}},
		{"DELETE finishes a clean-up left at the alias", func(t *testing.T, svc *bridge.Service, _ func() map[string]string, set func(k, v string)) {
			set("p4scim.renamed.gone", "gone.now")
			if err := svc.DeleteUser(ctx, "gone"); err != nil {
				t.Fatalf("first DELETE: %v", err)
			}
			if err := svc.DeleteUser(ctx, "gone"); bridge.ErrorCode(err) != bridge.ENotFound {
				t.Fatalf("second DELETE: %v, want not found", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, env, _ := newService(t, bridge.Config{AllowUserRename: true})
			if _, err := svc.CreateUser(ctx, map[string]any{"userName": "ada@example.com"}); err != nil {
				t.Fatal(err)
			}
			tc.run(t, svc, env.Server.Keys, env.Server.SetKey)
		})
	}
}

// TestRenamedMemberIDEncoded: a group shows a renamed member by its id
// also when the id is a name that key names hex-encode ('+').
func TestRenamedMemberIDEncoded(t *testing.T) {
	ctx := context.Background()
	svc, env, _ := newService(t, bridge.Config{AllowUserRename: true, UserNameRule: bridge.RuleVerbatim})
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "ada+old", "emails": []any{map[string]any{"value": "ada@example.com", "primary": true}}}); err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "Dev", "members": []any{map[string]any{"value": "ada+old"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PatchUser(ctx, "ada+old", setUserName("ada+new")); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Server.User("ada+new"); !ok {
		t.Fatal("not renamed")
	}
	got, err := svc.GetGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	members, _ := got.Doc["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["value"] != "ada+old" {
		t.Errorf("members %v, want the id ada+old", members)
	}
}

// renameHook runs before each `renameuser` the bridge sends.
type renameHook struct {
	bridge.Helix
	before func(ctx context.Context, from, to string) error
}

func (h renameHook) RenameUser(ctx context.Context, from, to string) error {
	if err := h.before(ctx, from, to); err != nil {
		return err
	}
	return h.Helix.RenameUser(ctx, from, to)
}

// TestRenameRefusedByHelixCore: when `renameuser` fails for good, what
// Helix Core holds decides: the same rename done by another replica
// meanwhile is carried on (200, consistent keys); a target created
// meanwhile is a 409 whose claim and alias are undone.
func TestRenameRefusedByHelixCore(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		before func(env *p4emutest.Env, h bridge.Helix) func(ctx context.Context, from, to string) error
		code   bridge.Code // "": no error
		want   string      // Helix Core user ada ends as
	}{
		{"the twin renamed it", func(_ *p4emutest.Env, h bridge.Helix) func(context.Context, string, string) error {
			return func(ctx context.Context, from, to string) error { return h.RenameUser(ctx, from, to) }
		}, "", "ada.b"},
		{"the target appeared", func(env *p4emutest.Env, _ bridge.Helix) func(context.Context, string, string) error {
			return func(_ context.Context, _, to string) error {
				return env.Server.CreateUser(p4emu.User{Name: to, Email: "x@x", FullName: "X"}, "")
			}
		}, bridge.EConflict, "ada"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, env, client := newService(t, bridge.Config{})
			svc, err := bridge.New(renameHook{Helix: client, before: tc.before(env, client)},
				bridge.Config{P4User: env.User, AllowUserRename: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CreateUser(ctx, map[string]any{"userName": "ada@example.com"}); err != nil {
				t.Fatal(err)
			}
			_, err = svc.PatchUser(ctx, "ada", setUserName("ada.b@example.com"))
			if (err == nil) != (tc.code == "") || (err != nil && bridge.ErrorCode(err) != tc.code) {
				t.Fatalf("rename: %v, want code %q", err, tc.code)
			}
			if _, ok := env.Server.User(tc.want); !ok {
				t.Errorf("Helix Core has no %s", tc.want)
			}
			keys := env.Server.Keys()
			alias, hasAlias := keys["p4scim.renamed.ada"]
			record := keys["p4scim.user."+tc.want]
			switch {
			case tc.want == "ada" && (hasAlias || keys["p4scim.user.ada.b"] != ""):
				t.Errorf("a refused rename left its claim: alias %q, claim %q", alias, keys["p4scim.user.ada.b"])
			case tc.want == "ada.b" && (alias != "ada.b" || keys["p4scim.user.ada"] != "" || strings.Contains(record, "pending")):
				t.Errorf("the carried-on rename: alias %q, old record %q, record %q", alias, keys["p4scim.user.ada"], record)
			}
			if u, err := svc.GetUser(ctx, "ada"); err != nil || u.ID != "ada" {
				t.Errorf("GET by the id: %+v %v", u, err)
			}
		})
	}
}
