package converge_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
)

const (
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	denyGroup   = "p4scim-denied"
	keyPrefix   = "p4scim."

	createPassword = "Create-Pw1"
	reactPassword  = "React-Pw2"
)

// passwords are the ones a scenario may leave working; the final state
// says which of them each user's password is.
var passwords = []string{createPassword, reactPassword}

// step is one SCIM request.
type step struct {
	method, path string
	body         any
}

// client is what a scenario needs from a running p4scim: send a request,
// and log a user in (so that it has a session deactivation must end).
type client interface {
	do(t testing.TB, s step) (status int, body map[string]any)
	login(t testing.TB, user, password string)
	emu() *p4emu.Server
}

// scenario is one lifecycle operation: setup brings Helix Core to the
// state before it (with the fault-free bridge), op is the request faulted.
type scenario struct {
	name  string
	setup func(t testing.TB, c client)
	op    step
	// deletePolicy is DELETE_POLICY ("" = delete).
	deletePolicy string
	// deactivateDelete runs it with DEACTIVATE_POLICY=delete and
	// DEACTIVATE_DELETE_AFTER=0s (release_test.go).
	deactivateDelete bool
	// promise, if set, checks the fault-free run's state against what the
	// operation promises (checkPromise).
	promise func(t testing.TB, st helixState)
	// renames runs the scenario with ALLOW_USER_RENAME on.
	renames bool
}

func user(userName string, extra ...any) map[string]any {
	doc := map[string]any{"schemas": []string{userSchema}, "userName": userName,
		"name":   map[string]any{"givenName": "Test", "familyName": userName},
		"emails": []any{map[string]any{"value": userName, "type": "work", "primary": true}}}
	for i := 0; i < len(extra); i += 2 {
		doc[extra[i].(string)] = extra[i+1]
	}
	return doc
}

func patchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{patchSchema}, "Operations": list}
}

func must(t testing.TB, c client, s step, want int) map[string]any {
	t.Helper()
	got, body := c.do(t, s)
	if got != want {
		t.Fatalf("setup %s %s: status %d, want %d: %v", s.method, s.path, got, want, body)
	}
	return body
}

// activeUser creates an active user with a password, a session, and a
// membership.
func activeUser(t testing.TB, c client, name string) {
	must(t, c, step{"POST", "/Users", user(name+"@example.com", "externalId", "ext-"+name, "password", createPassword)}, 201)
	must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Eng " + name,
		"members": []any{map[string]any{"value": name}}}}, 201)
	c.login(t, name, createPassword)
}

// renamableUser is activeUser that also owns a group, so that a rename
// has memberships and ownerships to carry.
func renamableUser(t testing.TB, c client, name string) {
	activeUser(t, c, name)
	must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Leads " + name}}, 201)
	g, _ := c.emu().Group("Leads_" + name)
	g.Owners = append(g.Owners, name)
	if err := c.emu().SaveGroup(g); err != nil {
		t.Fatal(err)
	}
}

func scenarios() []scenario {
	deactivate := patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	return []scenario{
		{name: "create with password", op: step{"POST", "/Users", user("ada@example.com", "externalId", "ext-ada", "password", createPassword)}},
		{name: "create without password", op: step{"POST", "/Users", user("bob@example.com", "externalId", "ext-bob")}},
		{name: "PATCH active=false", setup: func(t testing.TB, c client) { activeUser(t, c, "carol") },
			op: step{"PATCH", "/Users/carol", deactivate}},
		{name: "PUT active=false", setup: func(t testing.TB, c client) { activeUser(t, c, "dan") },
			op: step{"PUT", "/Users/dan", user("dan@example.com", "externalId", "ext-dan", "active", false)}},
		{name: "PUT profile (new e-mail and externalId)", setup: func(t testing.TB, c client) { activeUser(t, c, "ned") },
			op: step{"PUT", "/Users/ned", user("ned.new@example.com", "externalId", "ext-ned-2", "password", createPassword)}},
		{name: "POST active=false", op: step{"POST", "/Users", user("eve@example.com", "active", false, "password", createPassword)}},
		{name: "reactivate with password", setup: func(t testing.TB, c client) {
			activeUser(t, c, "fay")
			must(t, c, step{"PATCH", "/Users/fay", deactivate}, 200)
		}, op: step{"PATCH", "/Users/fay", patchOp(map[string]any{"op": "replace", "value": map[string]any{"active": true, "password": reactPassword}})}},
		{name: "DELETE user", setup: func(t testing.TB, c client) {
			activeUser(t, c, "gus")
			// Owner of another group: DELETE must take that away too.
			must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Leads"}}, 201)
			g, _ := c.emu().Group("Leads")
			g.Owners = append(g.Owners, "gus")
			if err := c.emu().SaveGroup(g); err != nil {
				t.Fatal(err)
			}
		}, op: step{"DELETE", "/Users/gus", nil}},
		{name: "DELETE user, policy deactivate", deletePolicy: "deactivate", setup: func(t testing.TB, c client) { activeUser(t, c, "ola") },
			op: step{"DELETE", "/Users/ola", nil}},
		{name: "rename PUT", renames: true, setup: func(t testing.TB, c client) { renamableUser(t, c, "lee") },
			op: step{"PUT", "/Users/lee", user("leo@example.com", "externalId", "ext-lee")}},
		{name: "rename PATCH", renames: true, setup: func(t testing.TB, c client) { renamableUser(t, c, "max") },
			op: step{"PATCH", "/Users/max", patchOp(map[string]any{"op": "Replace", "path": "userName", "value": "maxine@example.com"})}},
		{name: "group create", setup: func(t testing.TB, c client) {
			must(t, c, step{"POST", "/Users", user("hal@example.com")}, 201)
		}, op: step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Ops Team", "externalId": "ext-ops",
			"members": []any{map[string]any{"value": "hal"}}}}},
		{name: "group PATCH add", setup: func(t testing.TB, c client) {
			must(t, c, step{"POST", "/Users", user("ida@example.com")}, 201)
			must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "QA"}}, 201)
		}, op: step{"PATCH", "/Groups/QA", patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "ida"}}})}},
		{name: "group PATCH remove", setup: func(t testing.TB, c client) {
			must(t, c, step{"POST", "/Users", user("jon@example.com")}, 201)
			must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "QA",
				"members": []any{map[string]any{"value": "jon"}}}}, 201)
		}, op: step{"PATCH", "/Groups/QA", patchOp(map[string]any{"op": "remove", "path": `members[value eq "jon"]`})}},
		{name: "group PUT (rename, members replaced)", setup: func(t testing.TB, c client) {
			must(t, c, step{"POST", "/Users", user("lee@example.com")}, 201)
			must(t, c, step{"POST", "/Users", user("mia@example.com")}, 201)
			must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Web",
				"members": []any{map[string]any{"value": "lee"}}}}, 201)
		}, op: step{"PUT", "/Groups/Web", map[string]any{"schemas": []string{groupSchema}, "displayName": "Web Team",
			"externalId": "ext-web", "members": []any{map[string]any{"value": "mia"}}}}},
		{name: "group DELETE", setup: func(t testing.TB, c client) {
			must(t, c, step{"POST", "/Users", user("kim@example.com")}, 201)
			must(t, c, step{"POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Gone Group",
				"externalId": "ext-gone", "members": []any{map[string]any{"value": "kim"}}}}, 201)
		}, op: step{"DELETE", "/Groups/Gone_Group", nil}},
	}
}

// maxAttempts is how many times the IdP sends a request that fails with
// a server error or a lost connection (Okta and Entra retry for longer;
// one fault needs one retry).
const maxAttempts = 4

// send sends s as an IdP does: again after a 5xx or a lost connection
// (status 0). It returns the last status.
func send(t testing.TB, c client, s step) (int, map[string]any) {
	t.Helper()
	var status int
	var body map[string]any
	for range maxAttempts {
		status, body = c.do(t, s)
		if status != 0 && status < 500 {
			break
		}
	}
	return status, body
}

// helixState is what the IdP's intent is about, as Helix Core holds it.
type helixState struct {
	Users  map[string]string // name -> spec fields, password state, sessions
	Groups map[string]string // name -> Users / Owners / Subgroups
	Keys   map[string]string // the bridge's keys; a lock is "free" or "held"
}

func capture(s *p4emu.Server) helixState {
	st := helixState{Users: map[string]string{}, Groups: map[string]string{}, Keys: map[string]string{}}
	for _, u := range s.Users() {
		var works []string
		for _, pw := range passwords {
			if s.CheckPassword(u.Name, pw) {
				works = append(works, pw)
			}
		}
		sessions := s.Tickets(u.Name)
		if u.Name == s.Options().SuperUser {
			sessions = 0 // the bridge's own: every p4scim process logs in
		}
		st.Users[u.Name] = fmt.Sprintf("email=%s fullName=%s type=%s auth=%s hasPassword=%v passwordIs=%v sessions=%d",
			u.Email, u.FullName, u.Type, u.AuthMethod, u.HasPassword, works, sessions)
	}
	for _, g := range s.Groups() {
		st.Groups[g.Name] = fmt.Sprintf("users=%v owners=%v subgroups=%v", g.Users, g.Owners, g.Subgroups)
	}
	for k, v := range s.Keys() {
		if !strings.HasPrefix(k, keyPrefix) {
			continue
		}
		if strings.HasPrefix(k, keyPrefix+"lock.") {
			// A lock's number changes with every key -i; only free or held
			// matters, and a holder past its expiry (a crashed replica's,
			// "<replica>/<expiry unix ms>", bridge/lock.go) holds nothing:
			// the next writer takes it over.
			_, exp, _ := strings.Cut(v, "/")
			ms, err := strconv.ParseInt(exp, 10, 64)
			if _, nerr := strconv.ParseInt(v, 10, 64); nerr == nil || (err == nil && time.Now().UnixMilli() > ms) {
				v = "free"
			} else {
				v = "held"
			}
		}
		st.Keys[k] = normaliseRecord(v)
	}
	return st
}

// normaliseRecord drops a record's timestamps, which a real daemon takes
// from its clock (the deactivation's too, release_test.go).
func normaliseRecord(v string) string {
	var m map[string]any
	if !strings.HasPrefix(v, "{") || json.Unmarshal([]byte(v), &m) != nil {
		return v
	}
	delete(m, "created")
	delete(m, "modified")
	delete(m, "deactivatedAt")
	b, _ := json.Marshal(m)
	return string(b)
}

// diff describes how got differs from want, "" if not at all.
func (want helixState) diff(got helixState) string {
	var out []string
	cmp := func(what string, w, g map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if g[k] != w[k] {
				out = append(out, fmt.Sprintf("%s %s: got %q, want %q", what, k, g[k], w[k]))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s %s: got %q, want none", what, k, g[k]))
			}
		}
	}
	cmp("user", want.Users, got.Users)
	cmp("group", want.Groups, got.Groups)
	cmp("key", want.Keys, got.Keys)
	return strings.Join(out, "\n")
}
