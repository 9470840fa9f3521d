package converge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
)

// TestReleaseFaultAtEveryStep is the enumeration for DEACTIVATE_POLICY=
// delete with no grace period (DEACTIVATE_DELETE_AFTER=0s): a
// deactivation that deletes the Helix Core user, and the reactivation
// that re-creates it, faulted at every p4 command in both ways, end after
// the IdP's retries in the fault-free run's state.
func TestReleaseFaultAtEveryStep(t *testing.T) {
	p4bin, _ := binaries(t)
	cfg := bridge.Config{DenyGroup: denyGroup, Now: func() time.Time { return fixedNow },
		Deactivate: bridge.DeactivateDelete, DeleteAfter: 0}
	cases := 0
	for _, sc := range releaseScenarios() {
		cases += faultEveryStep(t, p4bin, cfg, sc)
	}
	t.Logf("%d (operation, position, kind) cases", cases)
}

// TestReleaseCrashAtEveryStep is the crash kind of the release
// enumeration: real `p4scim serve` processes with DEACTIVATE_POLICY=delete
// and DEACTIVATE_DELETE_AFTER=0s, killed before each p4 command in turn
// (RECLAIM_INTERVAL long enough that no sweep runs meanwhile).
func TestReleaseCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a p4scim process per case")
	}
	p4bin, p4scim := binaries(t)
	env := []string{"DEACTIVATE_POLICY=delete", "DEACTIVATE_DELETE_AFTER=0s", "RECLAIM_INTERVAL=24h"}
	cases := 0
	for _, sc := range releaseScenarios() {
		cases += crashEveryStep(t, p4bin, p4scim, env, sc)
	}
	t.Logf("%d (operation, position, crash) cases", cases)
}

// ownerOfLeads makes name an owner of a group it is not a member of: a
// release records ownership too, and a reactivation restores it.
func ownerOfLeads(t testing.TB, c client, name string) {
	t.Helper()
	must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Leads"}}, 201)
	g, _ := c.emu().Group("Leads")
	g.Owners = append(g.Owners, name)
	if err := c.emu().SaveGroup(g); err != nil {
		t.Fatal(err)
	}
}

// released checks the promise of a release: no Helix Core user, no group
// naming it, its record holding the memberships, its marker set.
func released(name string) func(t testing.TB, st helixState) {
	return func(t testing.TB, st helixState) {
		t.Helper()
		if _, ok := st.Users[name]; ok {
			t.Errorf("%s not deleted", name)
		}
		for g, m := range st.Groups {
			if strings.Contains(m, name) {
				t.Errorf("group %s still names %s: %s", g, name, m)
			}
		}
		var rec struct {
			Doc      map[string]any `json:"doc"`
			Released struct {
				Groups, Owns []string
			} `json:"released"`
		}
		if err := json.Unmarshal([]byte(st.Keys[keyPrefix+"user."+name]), &rec); err != nil {
			t.Fatalf("record of %s: %v", name, err)
		}
		if rec.Doc["active"] != false || !slices.Equal(rec.Released.Groups, []string{"Eng_" + name}) ||
			!slices.Equal(rec.Released.Owns, []string{"Leads"}) {
			t.Errorf("record of %s: %s", name, st.Keys[keyPrefix+"user."+name])
		}
		if st.Keys[keyPrefix+"released."+name] != name {
			t.Errorf("released marker of %s: %q", name, st.Keys[keyPrefix+"released."+name])
		}
	}
}

// restored checks the promise of a reactivation of a released user.
func restored(name, password string) func(t testing.TB, st helixState) {
	return func(t testing.TB, st helixState) {
		t.Helper()
		if !strings.Contains(st.Users[name], "hasPassword=true passwordIs=["+password+"]") {
			t.Errorf("%s: %q, want a password that is [%s]", name, st.Users[name], password)
		}
		if !strings.Contains(st.Groups["Eng_"+name], "users=[") || !strings.Contains(st.Groups["Eng_"+name], name) {
			t.Errorf("%s not back in Eng_%s: %s", name, name, st.Groups["Eng_"+name])
		}
		if !strings.Contains(st.Groups["Leads"], "owners=[") || !strings.Contains(st.Groups["Leads"], name) {
			t.Errorf("%s not back as an owner of Leads: %s", name, st.Groups["Leads"])
		}
		if strings.Contains(st.Groups[denyGroup], name) {
			t.Errorf("%s still in the deny group: %s", name, st.Groups[denyGroup])
		}
		if _, ok := st.Keys[keyPrefix+"released."+name]; ok || strings.Contains(st.Keys[keyPrefix+"user."+name], `"released"`) {
			t.Errorf("%s still marked released: %s", name, st.Keys[keyPrefix+"user."+name])
		}
	}
}

func releaseScenarios() []scenario {
	deactivate := patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	setup := func(name string, release bool) func(t testing.TB, c client) {
		return func(t testing.TB, c client) {
			activeUser(t, c, name)
			ownerOfLeads(t, c, name)
			if release {
				must(t, c, step{"PATCH", "/Users/" + name, deactivate}, 200)
			}
		}
	}
	return []scenario{
		{name: "PATCH active=false deletes", setup: setup("lea", false),
			op: step{"PATCH", "/Users/lea", deactivate}, promise: released("lea")},
		{name: "PUT active=false deletes", setup: setup("max", false),
			op:      step{"PUT", "/Users/max", user("max@example.com", "externalId", "ext-max", "active", false)},
			promise: released("max")},
		{name: "PATCH reactivate a released user with password", setup: setup("ned", true),
			op: step{"PATCH", "/Users/ned", patchOp(map[string]any{"op": "replace",
				"value": map[string]any{"active": true, "password": reactPassword}})},
			promise: restored("ned", reactPassword)},
		{name: "PUT reactivate a released user without password", setup: setup("oli", true),
			op:      step{"PUT", "/Users/oli", user("oli@example.com", "externalId", "ext-oli", "active", true)},
			promise: restored("oli", "")},
	}
}
