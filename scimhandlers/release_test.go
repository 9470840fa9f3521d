package scimhandlers_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// clock is a settable bridge.Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time         { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration)    { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }
func newClock() *clock                  { return &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }
func member(name string) map[string]any { return map[string]any{"value": name} }

// releaseStack is a stack with DEACTIVATE_POLICY=delete, the grace period
// given, and room for two users besides the bridge's own.
func releaseStack(t *testing.T, grace time.Duration, now *clock) *stacktest.Stack {
	return stacktest.Start(t, stacktest.Options{Emulator: p4emu.Options{LicenseUsers: 3},
		Bridge: bridge.Config{Deactivate: bridge.DeactivateDelete, DeleteAfter: grace, DenyGroup: "p4scim-denied", Now: now.Now}})
}

func activePatch(active bool, extra ...any) map[string]any {
	v := map[string]any{"active": active}
	for i := 0; i < len(extra); i += 2 {
		v[extra[i].(string)] = extra[i+1]
	}
	return patch(map[string]any{"op": "replace", "value": v})
}

// TestDeactivateDeleteFreesLicence: with DEACTIVATE_POLICY=delete and no
// grace period, active:false deletes the Helix Core user, whose licence a
// new user then takes; the inactive user stays readable through SCIM by
// id, by every filter and in the listing; its reactivation, refused while
// the licence is full with nothing half-made, re-creates it with its
// profile, groups, ownerships and the IdP's password.
func TestDeactivateDeleteFreesLicence(t *testing.T) {
	st := releaseStack(t, 0, newClock())
	emu := st.Emu.Server
	create := func(userName string, status int, extra ...any) stacktest.Response {
		doc := map[string]any{"schemas": []string{userSchema}, "userName": userName,
			"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}}}
		for i := 0; i < len(extra); i += 2 {
			doc[extra[i].(string)] = extra[i+1]
		}
		return st.Do("POST", "/Users", doc).Must(t, status)
	}
	create("ada@example.com", 201, "externalId", "ext-ada", "password", "Ada-Pw-1", "displayName", "Ada L")
	create("bob@example.com", 201)
	st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Eng",
		"members": []any{member("ada"), member("bob")}}).Must(t, 201)
	st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Leads"}).Must(t, 201)
	leads, _ := emu.Group("Leads")
	leads.Owners = append(leads.Owners, "ada")
	if err := emu.SaveGroup(leads); err != nil {
		t.Fatal(err)
	}
	create("cat@example.com", 403) // the licence is full

	u := st.Do("PATCH", "/Users/ada", activePatch(false)).Must(t, 200)
	if u.JSON["active"] != false {
		t.Fatalf("PATCH active=false answered %v", u.JSON)
	}
	if _, ok := emu.User("ada"); ok {
		t.Fatal("ada still exists in Helix Core")
	}
	for _, g := range emu.Groups() {
		if slices.Contains(g.Users, "ada") || slices.Contains(g.Owners, "ada") {
			t.Errorf("group %s still names ada: %+v", g.Name, g)
		}
	}
	create("cat@example.com", 201) // takes the freed licence

	// Visible, inactive, from the record.
	if got := st.Do("GET", "/Users/ada", nil).Must(t, 200); got.JSON["active"] != false || got.Str("userName") != "ada@example.com" ||
		got.Str("displayName") != "Ada L" {
		t.Fatalf("GET released user: %v", got.JSON)
	}
	for _, filter := range []string{`userName eq "ada@example.com"`, `externalId eq "ext-ada"`, `emails.value eq "ada@example.com"`, `id eq "ada"`} {
		res := st.Do("GET", "/Users?filter="+url.QueryEscape(filter), nil).Must(t, 200).Resources()
		if len(res) != 1 || res[0]["id"] != "ada" || res[0]["active"] != false {
			t.Errorf("filter %s: %v", filter, res)
		}
	}
	var listed []string
	for _, r := range st.Do("GET", "/Users", nil).Must(t, 200).Resources() {
		listed = append(listed, r["id"].(string))
		if r["id"] == "ada" && r["active"] != false {
			t.Errorf("listing shows ada active: %v", r)
		}
	}
	if !slices.Equal(listed, []string{"ada", "bob", "cat"}) {
		t.Errorf("listing: %v, want ada, bob, cat", listed)
	}
	// Its name stays its own: a create mapping to it is refused.
	create("ada@elsewhere.example", 409)
	// A retry of the deactivation changes nothing.
	st.Do("PATCH", "/Users/ada", activePatch(false)).Must(t, 200)

	// Reactivation while the licence is full: the quota 403, nothing made.
	before := emu.Snapshot()
	keysBefore := emu.Keys()
	st.Do("PATCH", "/Users/ada", activePatch(true, "password", "Ada-Pw-2")).Must(t, 403)
	if _, ok := emu.User("ada"); ok {
		t.Fatal("a refused reactivation left ada in Helix Core")
	}
	if got := emu.Keys(); !mapsEqual(got, keysBefore) {
		t.Errorf("a refused reactivation changed the keys:\n got %v\nwant %v", got, keysBefore)
	}
	if st.Do("GET", "/Users/ada", nil).Must(t, 200).JSON["active"] != false {
		t.Error("a refused reactivation shows ada active")
	}
	emu.Restore(before)

	st.Do("DELETE", "/Users/cat", nil).Must(t, 204)
	if got := st.Do("PATCH", "/Users/ada", activePatch(true, "password", "Ada-Pw-2")).Must(t, 200); got.JSON["active"] != true {
		t.Fatalf("reactivation answered %v", got.JSON)
	}
	a, ok := emu.User("ada")
	if !ok || a.Email != "ada@example.com" || a.FullName != "Ada L" {
		t.Fatalf("ada re-created as %+v (exists %v)", a, ok)
	}
	if !emu.CheckPassword("ada", "Ada-Pw-2") || emu.CheckPassword("ada", "Ada-Pw-1") {
		t.Error("the reactivation's password is not the one that works")
	}
	eng, _ := emu.Group("Eng")
	leads, _ = emu.Group("Leads")
	denied, _ := emu.Group("p4scim-denied")
	if !slices.Contains(eng.Users, "ada") || !slices.Contains(leads.Owners, "ada") || slices.Contains(denied.Users, "ada") {
		t.Errorf("memberships after reactivation: Eng %v, Leads owners %v, denied %v", eng.Users, leads.Owners, denied.Users)
	}
	if _, ok := emu.Key("p4scim.released.ada"); ok {
		t.Error("released marker left after the reactivation")
	}
	if got := st.Do("GET", "/Groups/Eng", nil).Must(t, 200); len(got.JSON["members"].([]any)) != 2 {
		t.Errorf("Eng members through SCIM: %v", got.JSON["members"])
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestReclaimHonoursGrace: with a grace period, active:false keeps the
// Helix Core user; reclaim lists it only once the period has passed,
// --apply deletes it through the daemon's path (it stays readable through
// SCIM), a user with opened files is kept and reported as a failure, and
// the scheduled sweep runs on one replica at a time.
func TestReclaimHonoursGrace(t *testing.T) {
	now := newClock()
	const grace = 48 * time.Hour
	st := releaseStack(t, grace, now)
	emu := st.Emu.Server
	ctx := context.Background()
	for _, n := range []string{"ada", "bob"} {
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": n + "@example.com"}).Must(t, 201)
		st.Do("PATCH", "/Users/"+n, activePatch(false)).Must(t, 200)
		if _, ok := emu.User(n); !ok {
			t.Fatalf("%s deleted within its grace period", n)
		}
	}
	if err := emu.SetOpenedFiles("bob", 2); err != nil {
		t.Fatal(err)
	}
	inactiveHolding := func() int {
		lic, err := st.Service.Licence(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(lic.InactiveHolding)
	}
	if n := inactiveHolding(); n != 2 {
		t.Fatalf("inactive users holding a licence: %d, want 2", n)
	}

	now.Add(grace / 2)
	r, err := st.Service.Reclaim(ctx, true)
	if err != nil || len(r.Entries) != 0 || r.Waiting != 2 {
		t.Fatalf("within the grace period: %+v, %v", r, err)
	}
	if _, ok := emu.User("ada"); !ok {
		t.Fatal("reclaim deleted a user within its grace period")
	}

	now.Add(grace/2 + time.Minute)
	r, err = st.Service.Reclaim(ctx, false)
	if err != nil || len(r.Entries) != 2 || r.Freed() != 2 || r.Failed() != 0 {
		t.Fatalf("dry run after the grace period: %+v, %v", r, err)
	}
	if _, ok := emu.User("ada"); !ok {
		t.Fatal("a dry run deleted ada")
	}

	// The sweep: replica two finds the lease held by replica one.
	other, err := bridge.New(st.Client, bridge.Config{P4User: st.Emu.User, Deactivate: bridge.DeactivateDelete,
		DeleteAfter: grace, DenyGroup: "p4scim-denied", Now: now.Now, ReplicaID: "replica-two"})
	if err != nil {
		t.Fatal(err)
	}
	const every = time.Hour
	r, ran, err := st.Service.Sweep(ctx, every)
	if err != nil || !ran {
		t.Fatalf("first sweep: ran %v, %v", ran, err)
	}
	if _, ran, err := other.Sweep(ctx, every); err != nil || ran {
		t.Fatalf("second replica swept while the lease was held: ran %v, %v", ran, err)
	}
	byName := map[string]bridge.ReclaimEntry{}
	for _, e := range r.Entries {
		byName[e.Name] = e
	}
	if e := byName["ada"]; !e.Released || e.Frees != 1 {
		t.Errorf("ada: %+v", e)
	}
	if e := byName["bob"]; e.Released || e.Blocked != "opened files" {
		t.Errorf("bob (opened files): %+v", e)
	}
	if r.Failed() != 1 || r.Freed() != 1 {
		t.Errorf("sweep: failed %d freed %d, want 1 and 1: %s", r.Failed(), r.Freed(), r.Summary())
	}
	if _, ok := emu.User("ada"); ok {
		t.Error("ada not deleted by the sweep")
	}
	if _, ok := emu.User("bob"); !ok {
		t.Error("bob, with opened files, deleted")
	}
	if got := st.Do("GET", "/Users/ada", nil).Must(t, 200); got.JSON["active"] != false {
		t.Errorf("released ada through SCIM: %v", got.JSON)
	}
	if n := inactiveHolding(); n != 1 {
		t.Errorf("inactive users holding a licence after the sweep: %d, want 1", n)
	}

	// Files reverted; the lease expired: the other replica's turn.
	if err := emu.SetOpenedFiles("bob", 0); err != nil {
		t.Fatal(err)
	}
	now.Add(every + time.Second)
	r, ran, err = other.Sweep(ctx, every)
	if err != nil || !ran || len(r.Entries) != 1 || !r.Entries[0].Released {
		t.Fatalf("sweep after the lease expired: ran %v, %+v, %v", ran, r, err)
	}
	if n := inactiveHolding(); n != 0 {
		t.Errorf("inactive users holding a licence at the end: %d, want 0", n)
	}
	// Its own lease, unexpired, it takes back; the first replica waits.
	if _, ran, err := other.Sweep(ctx, every); err != nil || !ran {
		t.Errorf("the lease holder's next pass: ran %v, %v", ran, err)
	}
	if _, ran, err := st.Service.Sweep(ctx, every); err != nil || ran {
		t.Errorf("the first replica swept while the other held the lease: ran %v, %v", ran, err)
	}
}

// TestP4CommandsRelease pins the p4 commands of the operations
// DEACTIVATE_POLICY=delete adds or changes (README cost table), for a
// user in one group and no DEPROVISION_GROUP.
func TestP4CommandsRelease(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{Bridge: bridge.Config{Deactivate: bridge.DeactivateDelete}})
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "ada@example.com", "externalId": "ext-ada"}).Must(t, 201)
	st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Eng", "members": []any{member("ada")}}).Must(t, 201)
	for _, c := range []struct {
		name         string
		method, path string
		body         any
		status, p4   int
	}{
		{"PATCH deactivate and delete", "PATCH", "/Users/ada", activePatch(false), 200, 12},
		{"GET released", "GET", "/Users/ada", nil, 200, 3},
		{"filter userName, released", "GET", "/Users?filter=" + url.QueryEscape(`userName eq "ada@example.com"`), nil, 200, 4},
		{"filter externalId, released", "GET", "/Users?filter=" + url.QueryEscape(`externalId eq "ext-ada"`), nil, 200, 4},
		{"PATCH deactivate again", "PATCH", "/Users/ada", activePatch(false), 200, 3},
		{"list", "GET", "/Users", nil, 200, 5},
		{"PATCH reactivate", "PATCH", "/Users/ada", activePatch(true), 200, 12},
	} {
		before := len(st.Emu.Server.Invocations())
		st.Do(c.method, c.path, c.body).Must(t, c.status)
		got := st.Emu.Server.Invocations()[before:]
		if len(got) != c.p4 {
			var cmds []string
			for _, inv := range got {
				cmds = append(cmds, inv.Command)
			}
			t.Errorf("%s: %d p4 commands (%v), want %d", c.name, len(got), cmds, c.p4)
		}
	}
}

// TestDeactivateDeleteOpenedFiles: a user with opened files is not
// deleted; it stays deactivated and out of its groups, the refusal is
// recorded, counted and listed by reclaim, and its reactivation puts it
// back into its groups.
func TestDeactivateDeleteOpenedFiles(t *testing.T) {
	var blocked atomic.Int64 // OnChange runs on the server's goroutines
	st := stacktest.Start(t, stacktest.Options{Bridge: bridge.Config{Deactivate: bridge.DeactivateDelete,
		OnChange: func(resource, action string, n int) {
			if resource == "user" && action == "release_blocked" {
				blocked.Add(int64(n))
			}
		}}})
	emu := st.Emu.Server
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "ada@example.com"}).Must(t, 201)
	st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Eng", "members": []any{member("ada")}}).Must(t, 201)
	if err := emu.SetOpenedFiles("ada", 1); err != nil {
		t.Fatal(err)
	}
	if got := st.Do("PATCH", "/Users/ada", activePatch(false)).Must(t, 200); got.JSON["active"] != false {
		t.Fatalf("PATCH active=false: %v", got.JSON)
	}
	if _, ok := emu.User("ada"); !ok {
		t.Fatal("a user with opened files was deleted")
	}
	if g, _ := emu.Group("Eng"); slices.Contains(g.Users, "ada") {
		t.Errorf("ada still in Eng: %v", g.Users)
	}
	if n := blocked.Load(); n != 1 {
		t.Errorf("release_blocked counted %d times, want 1", n)
	}
	r, err := st.Service.Reclaim(context.Background(), false)
	if err != nil || len(r.Entries) != 1 || r.Entries[0].Blocked != "opened files" {
		t.Fatalf("reclaim: %+v, %v", r, err)
	}
	st.Do("PATCH", "/Users/ada", activePatch(true)).Must(t, 200)
	if g, _ := emu.Group("Eng"); !slices.Contains(g.Users, "ada") {
		t.Errorf("ada not back in Eng: %v", g.Users)
	}
	if k, _ := emu.Key("p4scim.user.ada"); strings.Contains(k, "released") {
		t.Errorf("record still marked released: %s", k)
	}
}

// TestCreateInactiveDeletedBySweep: a POST with active:false under
// DEACTIVATE_POLICY=delete and no grace period keeps its Helix Core user
// (the create's retry must find it), and the next sweep deletes it.
func TestCreateInactiveDeletedBySweep(t *testing.T) {
	st := releaseStack(t, 0, newClock())
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "pia@example.com", "active": false}).Must(t, 201)
	if _, ok := st.Emu.Server.User("pia"); !ok {
		t.Fatal("the create deleted its own user")
	}
	r, ran, err := st.Service.Sweep(context.Background(), time.Hour)
	if err != nil || !ran || len(r.Entries) != 1 || !r.Entries[0].Released {
		t.Fatalf("sweep: ran %v, %+v, %v", ran, r, err)
	}
	if _, ok := st.Emu.Server.User("pia"); ok {
		t.Fatal("the sweep did not delete pia")
	}
	if got := st.Do("GET", "/Users/pia", nil).Must(t, 200); got.JSON["active"] != false {
		t.Fatalf("GET pia: %v", got.JSON)
	}
}

// TestRestoreSkipsGroupsMadePrivileged: a released user's reactivation
// rejoins the groups it was in, except one an admin made privileged
// since (a super grant to the group): SCIM never makes anyone super.
func TestRestoreSkipsGroupsMadePrivileged(t *testing.T) {
	st := releaseStack(t, 0, newClock())
	emu := st.Emu.Server
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "ada@example.com"}).Must(t, 201)
	for _, g := range []string{"Eng", "Ops"} {
		st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": g, "members": []any{member("ada")}}).Must(t, 201)
	}
	st.Do("PATCH", "/Users/ada", activePatch(false)).Must(t, 200)
	if _, ok := emu.User("ada"); ok {
		t.Fatal("ada was not released")
	}
	if err := emu.SetProtections(append(emu.Protections(), p4emu.ProtectLine{Perm: "super", Group: true, Name: "Ops"})); err != nil {
		t.Fatal(err)
	}
	st.Do("PATCH", "/Users/ada", activePatch(true)).Must(t, 200)
	eng, _ := emu.Group("Eng")
	ops, _ := emu.Group("Ops")
	if !slices.Contains(eng.Users, "ada") || slices.Contains(ops.Users, "ada") {
		t.Fatalf("after the restore: Eng %v, Ops %v; want ada back in Eng only", eng.Users, ops.Users)
	}
	if emu.MaxAccess("ada") == "super" {
		t.Fatal("the restore made ada super")
	}
}
