package bridge_test

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
)

// TestKeyLayoutDocumented checks the key table of doc.go against the keys
// the bridge writes: every key written matches a documented layout, and
// every documented layout is written.
func TestKeyLayoutDocumented(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^//\t<prefix>(\S+)\s`)
	name := `(?:[A-Za-z0-9._-]+|=[0-9a-f]+)`
	var layouts []string
	var patterns []*regexp.Regexp
	for _, m := range row.FindAllStringSubmatch(string(src), -1) {
		p := regexp.QuoteMeta("p4scim." + m[1])
		p = strings.ReplaceAll(p, "<name>", name)
		p = strings.ReplaceAll(p, "<hex>", "[0-9a-f]+")
		layouts = append(layouts, "<prefix>"+m[1])
		patterns = append(patterns, regexp.MustCompile("^"+p+"$"))
	}
	if len(patterns) == 0 {
		t.Fatal("no key table in doc.go")
	}

	ctx := context.Background()
	svc, env, client := newService(t, bridge.Config{Delete: bridge.DeleteDeactivates, AllowUserRename: true})
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "hid@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(ctx, "hid"); err != nil { // hidden, not deleted
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "ada@example.com", "externalId": "ext-ada",
		"emails": []any{map[string]any{"value": "ada@example.com", "primary": true}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PatchUser(ctx, "bob", func(doc map[string]any) error { // renamed: its alias
		doc["userName"] = "robert@example.com"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "Build Engineers"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PatchGroup(ctx, g.ID, func(doc map[string]any) error {
		doc["members"] = []any{map[string]any{"value": "ada"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A released user and the sweep's lease (release.go, reclaim.go).
	releasing, err := bridge.New(client, bridge.Config{P4User: env.User, Deactivate: bridge.DeactivateDelete})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := releasing.CreateUser(ctx, map[string]any{"userName": "rel@example.com", "active": false}); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := releasing.Sweep(ctx, time.Minute); err != nil || !ran {
		t.Fatalf("sweep: ran %v, %v", ran, err)
	}
	used := make([]bool, len(patterns))
	for k := range env.Server.Keys() {
		hit := false
		for i, p := range patterns {
			if p.MatchString(k) {
				used[i], hit = true, true
			}
		}
		if !hit {
			t.Errorf("key %q matches no layout documented in doc.go %v", k, layouts)
		}
	}
	for i, u := range used {
		if !u {
			t.Errorf("doc.go documents %s, but the bridge wrote no such key", layouts[i])
		}
	}
}

// TestChangeCounts: OnChange (the provisioning_operations_total metric)
// counts an update only when something changed in Helix Core. No-op
// writes, such as Okta's rename of a group to its own name before each
// membership change, or a PUT that sends back what a GET returned, count
// nothing.
func TestChangeCounts(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	counts := map[string]int{}
	svc, _, _ := newService(t, bridge.Config{OnChange: func(resource, action string, n int) {
		mu.Lock()
		counts[resource+"/"+action] += n
		mu.Unlock()
	}})
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "ada@example.com", "name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "Staff"})
	if err != nil {
		t.Fatal(err)
	}
	set := func(attr string, v any) func(map[string]any) error {
		return func(doc map[string]any) error { doc[attr] = v; return nil }
	}
	members := func(ids ...string) []any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	replaceWithGET := func(get func() (map[string]any, error), replace func(map[string]any) error) error {
		doc, err := get()
		if err != nil {
			return err
		}
		return replace(doc)
	}
	tests := []struct {
		name string
		op   func() error
		want map[string]int // counts added by op; missing = 0
	}{
		{"group renamed to its own name", func() error { _, err := svc.PatchGroup(ctx, g.ID, set("displayName", "Staff")); return err }, nil},
		{"group members added", func() error { _, err := svc.PatchGroup(ctx, g.ID, set("members", members("ada", "bob"))); return err },
			map[string]int{"group/updated": 1, "member/added": 2}},
		{"group members set to the same", func() error { _, err := svc.PatchGroup(ctx, g.ID, set("members", members("bob", "ada"))); return err }, nil},
		{"group PUT of what GET returned", func() error {
			return replaceWithGET(func() (map[string]any, error) { g, err := svc.GetGroup(ctx, g.ID); return g.Doc, err },
				func(doc map[string]any) error { _, err := svc.ReplaceGroup(ctx, g.ID, doc); return err })
		}, nil},
		{"group renamed", func() error { _, err := svc.PatchGroup(ctx, g.ID, set("displayName", "All Staff")); return err },
			map[string]int{"group/updated": 1}},
		{"group member removed", func() error { _, err := svc.PatchGroup(ctx, g.ID, set("members", members("ada"))); return err },
			map[string]int{"group/updated": 1, "member/removed": 1}},
		{"user PUT of what GET returned", func() error {
			return replaceWithGET(func() (map[string]any, error) { u, err := svc.GetUser(ctx, "ada"); return u.Doc, err },
				func(doc map[string]any) error { _, err := svc.ReplaceUser(ctx, "ada", doc); return err })
		}, nil},
		{"user userName set to the same", func() error { _, err := svc.PatchUser(ctx, "ada", set("userName", "ada@example.com")); return err }, nil},
		{"user FullName changed", func() error {
			_, err := svc.PatchUser(ctx, "ada", set("name", map[string]any{"givenName": "Augusta", "familyName": "Lovelace"}))
			return err
		}, map[string]int{"user/updated": 1}},
		{"user deactivated", func() error { _, err := svc.PatchUser(ctx, "bob", set("active", false)); return err },
			map[string]int{"user/deactivated": 1}},
		{"user deactivated again", func() error { _, err := svc.PatchUser(ctx, "bob", set("active", false)); return err }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			before := map[string]int{}
			for k, v := range counts {
				before[k] = v
			}
			mu.Unlock()
			if err := tt.op(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			got := map[string]int{}
			for k, v := range counts {
				if d := v - before[k]; d != 0 {
					got[k] = d
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("counted %v, want %v", got, tt.want)
			}
		})
	}
}
