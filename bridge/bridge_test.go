package bridge_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

// newService runs the bridge on the real p4 client against the emulator.
func newService(t *testing.T, cfg bridge.Config) (*bridge.Service, *p4emutest.Env, *p4.Client) {
	t.Helper()
	env := p4emutest.Start(t, p4emu.Options{})
	c, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: env.Password,
		Tickets: env.Tickets, Trust: env.Trust, CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Login(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.P4User = env.User
	svc, err := bridge.New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return svc, env, c
}

func TestUserLifecycle(t *testing.T) {
	ctx := context.Background()
	svc, env, client := newService(t, bridge.Config{DenyGroup: "p4scim-denied"})
	u, err := svc.CreateUser(ctx, map[string]any{
		"userName": "Grace@Example.com", "name": map[string]any{"givenName": "Grace", "familyName": "Hopper"},
		"emails": []any{map[string]any{"value": "grace@example.com", "type": "work"}}, "password": "Passw0rd-1",
		"externalId": "ext-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "Grace" || u.Doc["password"] != nil {
		t.Fatalf("created %+v", u)
	}
	spec, ok := env.Server.User("Grace")
	if !ok || spec.Email != "grace@example.com" || spec.FullName != "Grace Hopper" || !env.Server.CheckPassword("Grace", "Passw0rd-1") {
		t.Fatalf("spec %+v", spec)
	}
	found, err := svc.FindUserByUserName(ctx, "grace@EXAMPLE.com")
	if err != nil || found == nil || found.ID != "Grace" {
		t.Fatalf("find: %+v %v", found, err)
	}
	// Unchanged in Helix Core: a GET shows exactly what the IdP wrote.
	if got, _ := svc.GetUser(ctx, "Grace"); got.Doc["displayName"] != nil || got.Doc["externalId"] != "ext-1" {
		t.Fatalf("read back %+v", got.Doc)
	}
	// An admin edits FullName in Helix Core: the spec wins on read.
	full, _, err := client.UserSpec(ctx, "Grace")
	if err != nil {
		t.Fatal(err)
	}
	full.FullName = "Rear Admiral Hopper"
	if err := client.SaveUser(ctx, full); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.GetUser(ctx, "Grace"); got.Doc["displayName"] != "Rear Admiral Hopper" {
		t.Fatalf("admin's FullName not shown: %+v", got.Doc)
	}
	// Deactivate through PATCH-like mutation.
	if _, err := svc.PatchUser(ctx, "Grace", func(doc map[string]any) error { doc["active"] = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if env.Server.CheckPassword("Grace", "Passw0rd-1") {
		t.Fatal("password survived deactivation")
	}
	if g, ok := env.Server.Group("p4scim-denied"); !ok || len(g.Users) != 1 || g.Users[0] != "Grace" {
		t.Fatalf("deny group = %+v %v", g, ok)
	}
	if _, err := svc.PatchUser(ctx, "Grace", func(doc map[string]any) error { doc["active"] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if g, _ := env.Server.Group("p4scim-denied"); len(g.Users) != 0 {
		t.Fatalf("deny group after reactivation = %+v", g)
	}
	// The deny group is never offered to SCIM.
	groups, err := svc.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := groups.Each(ctx, func(g bridge.Group) {
		if g.ID == "p4scim-denied" {
			t.Error("deny group listed")
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(ctx, "Grace"); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Server.User("Grace"); ok {
		t.Fatal("user not deleted")
	}
	if _, ok := env.Server.Key("p4scim.user.Grace"); ok {
		t.Fatal("record not removed")
	}
}

func TestDeletePolicyDeactivate(t *testing.T) {
	ctx := context.Background()
	svc, env, _ := newService(t, bridge.Config{Delete: bridge.DeleteDeactivates})
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "kept@example.com", "password": "Passw0rd-1"}); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteUser(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.Server.User("kept"); !ok {
		t.Fatal("deactivate policy deleted the Helix Core user")
	}
	if _, err := svc.GetUser(ctx, "kept"); bridge.ErrorCode(err) != bridge.ENotFound {
		t.Fatalf("hidden user readable: %v", err)
	}
	if _, err := svc.CreateUser(ctx, map[string]any{"userName": "listed@example.com"}); err != nil {
		t.Fatal(err)
	}
	all, err := svc.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	page, err := all.Range(ctx, 0, 10)
	if err != nil || all.Len() != 1 || len(page) != 1 || page[0].ID != "listed" {
		t.Fatalf("listing has %d users (%v), want only listed (the hidden user is not listed)", all.Len(), err)
	}
	if _, ok := env.Server.Key("p4scim.hidden.kept"); !ok {
		t.Fatal("no hidden marker for the hidden user")
	}
	// The IdP provisions it again: relinked, active.
	u, err := svc.CreateUser(ctx, map[string]any{"userName": "kept@example.com"})
	if err != nil || u.ID != "kept" || u.Doc["active"] != true {
		t.Fatalf("re-create: %+v %v", u, err)
	}
	if _, ok := env.Server.Key("p4scim.hidden.kept"); ok {
		t.Fatal("hidden marker left after the user was relinked")
	}
	if all, err := svc.ListUsers(ctx); err != nil || all.Len() != 2 {
		t.Fatalf("relinked user not listed: %d users, %v", all.Len(), err)
	}
}

func TestGroupMembersConcurrent(t *testing.T) {
	ctx := context.Background()
	svc, env, client := newService(t, bridge.Config{})
	second, err := bridge.New(client, bridge.Config{P4User: env.User, ReplicaID: "two"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 20 {
		u, err := svc.CreateUser(ctx, map[string]any{"userName": fmt.Sprintf("m%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "Team Rocket"})
	if err != nil || g.ID != "Team_Rocket" {
		t.Fatalf("group %+v %v", g, err)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := svc
			if i%2 == 1 {
				s = second
			}
			_, err := s.PatchGroup(ctx, g.ID, func(doc map[string]any) error {
				doc["members"] = append(doc["members"].([]any), map[string]any{"value": id})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	spec, _ := env.Server.Group("Team_Rocket")
	got := append([]string(nil), spec.Users...)
	sort.Strings(got)
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("members = %v, want %v", got, ids)
	}
	found, err := svc.FindGroupByDisplayName(ctx, "team rocket")
	if err != nil || found == nil || found.ID != "Team_Rocket" {
		t.Fatalf("find group: %+v %v", found, err)
	}
}

// TestLockLeftByOwnFailedRelease: a lock key still held in this process's
// name (its release failed when Helix Core went away) is taken back at
// once, while one held by another replica is waited for until its TTL.
func TestLockLeftByOwnFailedRelease(t *testing.T) {
	ctx := context.Background()
	svc, env, client := newService(t, bridge.Config{ReplicaID: "one", LockWait: time.Second})
	other, err := bridge.New(client, bridge.Config{P4User: env.User, ReplicaID: "two", LockWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.CreateGroup(ctx, map[string]any{"displayName": "Locked"})
	if err != nil {
		t.Fatal(err)
	}
	stale := "one/" + strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	env.Server.SetKey("p4scim.lock."+g.ID, stale)
	rename := func(s *bridge.Service, name string) error {
		_, err := s.PatchGroup(ctx, g.ID, func(doc map[string]any) error { doc["displayName"] = name; return nil })
		return err
	}
	// Replica two must not take it: for all it knows, one is working.
	if err := rename(other, "By two"); bridge.ErrorCode(err) != bridge.EUnavailable {
		t.Fatalf("other replica took a live lock: %v", err)
	}
	if err := rename(svc, "By one"); err != nil { // without the take-back: 503 after LockWait
		t.Fatalf("own stale lock not taken back: %v", err)
	}
	if v, _ := env.Server.Key("p4scim.lock." + g.ID); v != "1" {
		t.Fatalf("lock after the write = %q, want free", v)
	}
}
