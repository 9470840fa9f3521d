package converge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
)

// deactivatePolicy is the bridge's DEACTIVATE_POLICY for a scenario:
// delete (with no grace period) for the release scenarios below.
func deactivatePolicy(sc scenario) bridge.DeactivatePolicy {
	if sc.deactivateDelete {
		return bridge.DeactivateDelete
	}
	return bridge.DeactivateKeep
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

// releaseScenarios extend the enumeration (TestFaultAtEveryStep,
// TestCrashAtEveryStep) with DEACTIVATE_POLICY=delete and no grace
// period: a deactivation that deletes the Helix Core user, and the
// reactivation that re-creates it.
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
		// A create that is inactive from the start keeps its user for the
		// next sweep: its retry contract (201) holds.
		{name: "POST active=false, deleted by the sweep", deactivateDelete: true,
			op: step{"POST", "/Users", user("pia@example.com", "active", false, "password", createPassword)},
			promise: func(t testing.TB, st helixState) {
				if !strings.Contains(st.Users["pia"], "hasPassword=true passwordIs=[] sessions=0") || strings.Contains(st.Keys[keyPrefix+"user.pia"], `"released"`) {
					t.Errorf("pia: %q, record %s", st.Users["pia"], st.Keys[keyPrefix+"user.pia"])
				}
			}},
		{name: "PATCH active=false deletes", deactivateDelete: true, setup: setup("lea", false),
			op: step{"PATCH", "/Users/lea", deactivate}, promise: released("lea")},
		{name: "PUT active=false deletes", deactivateDelete: true, setup: setup("max", false),
			op:      step{"PUT", "/Users/max", user("max@example.com", "externalId", "ext-max", "active", false)},
			promise: released("max")},
		{name: "PATCH reactivate a released user with password", deactivateDelete: true, setup: setup("ned", true),
			op: step{"PATCH", "/Users/ned", patchOp(map[string]any{"op": "replace",
				"value": map[string]any{"active": true, "password": reactPassword}})},
			promise: restored("ned", reactPassword)},
		{name: "PUT reactivate a released user without password", deactivateDelete: true, setup: setup("oli", true),
			op:      step{"PUT", "/Users/oli", user("oli@example.com", "externalId", "ext-oli", "active", true)},
			promise: restored("oli", "")},
	}
}
