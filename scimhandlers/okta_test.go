package scimhandlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

const (
	userSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	listSchema  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errSchema   = "urn:ietf:params:scim:api:messages:2.0:Error"
	entSchema   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

func filterQuery(f string) string { return "filter=" + url.QueryEscape(f) }

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{patchSchema}, "Operations": list}
}

func oktaUser(userName, given, family, password string) map[string]any {
	return map[string]any{
		"schemas":     []string{userSchema},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  "00ujl29u0le5T6Aj10h7",
		"groups":      []any{},
		"password":    password,
		"active":      true,
	}
}

// TestOktaOINLifecycle replays Okta's OIN sequence (idp-behaviour.md §1.2-1.5)
// and checks Helix Core after every step.
func TestOktaOINLifecycle(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	emu := st.Emu.Server

	// 1. Pre-check: no such user.
	r := st.Do("GET", "/Users?"+filterQuery(`userName eq "test.user@okta.local"`)+"&startIndex=1&count=100", nil).Must(t, 200)
	if r.JSON["totalResults"] != float64(0) || len(r.Resources()) != 0 {
		t.Fatalf("pre-check found something: %s", r.Body)
	}
	// 2. Create with Okta's placeholder password.
	r = st.Do("POST", "/Users", oktaUser("test.user@okta.local", "Test", "User", "1mz050nq")).Must(t, 201)
	id := r.Str("id")
	if id != "test.user" {
		t.Fatalf("id = %q, want the mapped Helix Core name", id)
	}
	if _, leaked := r.JSON["password"]; leaked {
		t.Fatalf("password echoed: %s", r.Body)
	}
	if loc := r.Header.Get("Location"); loc != "/scim/v2/Users/test.user" {
		t.Fatalf("Location = %q", loc)
	}
	u, ok := emu.User("test.user")
	if !ok || u.Email != "test.user@okta.local" || u.FullName != "Test User" {
		t.Fatalf("Helix Core user after create: %+v, %v", u, ok)
	}
	if !emu.CheckPassword("test.user", "1mz050nq") {
		t.Fatal("password not set in Helix Core")
	}
	// Duplicate create: 409 uniqueness.
	r = st.Do("POST", "/Users", oktaUser("test.user@okta.local", "Test", "User", "1mz050nq")).Must(t, 409)
	if r.Str("scimType") != "uniqueness" || r.Str("detail") == "" {
		t.Fatalf("duplicate: %s", r.Body)
	}
	// 3. AIW-style update: GET then PUT of the edited object.
	r = st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	put := r.JSON
	put["name"] = map[string]any{"givenName": "Another", "middleName": "Excited", "familyName": "User"}
	put["displayName"] = "Another User"
	put["groups"] = []any{}
	r = st.Do("PUT", "/Users/"+id, put).Must(t, 200)
	if u, _ := emu.User("test.user"); u.FullName != "Another User" {
		t.Fatalf("FullName after PUT = %q", u.FullName)
	}
	if got := r.JSON["name"].(map[string]any)["middleName"]; got != "Excited" {
		t.Fatalf("middleName not kept: %s", r.Body)
	}
	// 4. Deactivate: logged out everywhere, password invalidated.
	if emu.Tickets("test.user") == 0 {
		loginAs(t, st, "test.user", "1mz050nq")
	}
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).Must(t, 200)
	if r.JSON["active"] != false {
		t.Fatalf("active after deactivate: %s", r.Body)
	}
	if emu.Tickets("test.user") != 0 {
		t.Fatal("user still has tickets after deactivation")
	}
	if emu.CheckPassword("test.user", "1mz050nq") {
		t.Fatal("old password still valid after deactivation")
	}
	// Still readable, and matchable by filter (Okta CRUD test, Entra rule).
	r = st.Do("GET", "/Users?"+filterQuery(`userName eq "TEST.USER@okta.local"`), nil).Must(t, 200)
	if len(r.Resources()) != 1 || r.Resources()[0]["active"] != false {
		t.Fatalf("deactivated user not found by filter: %s", r.Body)
	}
	// 5. Reactivate, then password sync.
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": true}})).Must(t, 200)
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"password": "N3w-Passw0rd"}})).Must(t, 200)
	if !emu.CheckPassword("test.user", "N3w-Passw0rd") {
		t.Fatal("synced password not set")
	}
	r = st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	if r.JSON["active"] != true || r.Str("userName") != "test.user@okta.local" || r.Str("externalId") != "00ujl29u0le5T6Aj10h7" {
		t.Fatalf("after reactivation: %s", r.Body)
	}
	// AIW apps deactivate with a PUT of the whole user.
	loginAs(t, st, "test.user", "N3w-Passw0rd")
	put = st.Do("GET", "/Users/"+id, nil).Must(t, 200).JSON
	put["active"] = false
	r = st.Do("PUT", "/Users/"+id, put).Must(t, 200)
	if r.JSON["active"] != false || emu.Tickets("test.user") != 0 || emu.CheckPassword("test.user", "N3w-Passw0rd") {
		t.Fatalf("PUT active=false did not deactivate: %s", r.Body)
	}
	assertHelixUsers(t, st, "test.user")
	if u, _ := emu.User("test.user"); u.Email != "test.user@okta.local" || u.FullName != "Another User" {
		t.Fatalf("final Helix Core user: %+v", u)
	}
}

// loginAs gives a user a session, so that deactivation has one to end.
func loginAs(t *testing.T, st *stacktest.Stack, user, password string) {
	t.Helper()
	res := st.Emu.Run(t, []byte(password+"\n"), nil, "-u", user, "login")
	if res.Exit != 0 || st.Emu.Server.Tickets(user) == 0 {
		t.Fatalf("login %s: %+v", user, res)
	}
}

// TestOktaGroupPush replays Okta's group push (idp-behaviour.md §1.7).
func TestOktaGroupPush(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	emu := st.Emu.Server
	alice := st.Do("POST", "/Users", oktaUser("alice@example.com", "Alice", "A", "Passw0rd-1")).Must(t, 201).Str("id")
	bob := st.Do("POST", "/Users", oktaUser("bob@example.com", "Bob", "B", "Passw0rd-1")).Must(t, 201).Str("id")

	r := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Test SCIMv2", "members": []any{}}).Must(t, 201)
	gid := r.Str("id")
	if members, ok := r.JSON["members"].([]any); !ok || len(members) != 0 {
		t.Fatalf("members on create = %v, want []", r.JSON["members"])
	}
	if gid != "Test_SCIMv2" {
		t.Fatalf("group id = %q", gid)
	}
	if _, ok := emu.Group("Test_SCIMv2"); !ok {
		t.Fatal("empty group did not survive in Helix Core")
	}
	r = st.Do("GET", "/Groups?"+filterQuery(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", nil).Must(t, 200)
	if len(r.Resources()) != 1 || r.Resources()[0]["id"] != gid || r.Resources()[0]["displayName"] != "Test SCIMv2" {
		t.Fatalf("lookup by displayName: %s", r.Body)
	}
	// Rename before membership, with Okta's id in the value.
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace",
		"value": map[string]any{"id": gid, "displayName": "Test SCIMv2 renamed"}})).Must(t, 204)
	r = st.Do("GET", "/Groups/"+gid, nil).Must(t, 200)
	if r.Str("displayName") != "Test SCIMv2 renamed" || r.Str("id") != gid {
		t.Fatalf("after rename: %s", r.Body)
	}
	// Membership: add both, then remove one and add it back in one request.
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members",
		"value": []any{map[string]any{"value": alice, "display": "alice@example.com"}, map[string]any{"value": bob}}})).Must(t, 204)
	st.Do("PATCH", "/Groups/"+gid, patch(
		map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, bob)},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": alice}}},
	)).Must(t, 204)
	assertMembers(t, st, "Test_SCIMv2", alice)
	// Full push replaces the list.
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "replace", "path": "members",
		"value": []any{map[string]any{"value": bob}}})).Must(t, 204)
	assertMembers(t, st, "Test_SCIMv2", bob)
	// AIW: PUT with the full list.
	st.Do("PUT", "/Groups/"+gid, map[string]any{"schemas": []string{groupSchema}, "displayName": "Test SCIMv2 renamed",
		"members": []any{map[string]any{"value": alice}, map[string]any{"value": bob}}}).Must(t, 200)
	assertMembers(t, st, "Test_SCIMv2", alice, bob)
	// A member that is not an id is refused and changes nothing.
	r = st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members",
		"value": []any{map[string]any{"value": "nobody"}}})).Must(t, 400)
	if r.Str("scimType") != "invalidValue" {
		t.Fatalf("unknown member: %s", r.Body)
	}
	assertMembers(t, st, "Test_SCIMv2", alice, bob)
	// Unlink and delete.
	st.Do("DELETE", "/Groups/"+gid, nil).Must(t, 204)
	if _, ok := emu.Group("Test_SCIMv2"); ok {
		t.Fatal("group still in Helix Core after DELETE")
	}
	st.Do("GET", "/Groups/"+gid, nil).Must(t, 404)
	assertHelixUsers(t, st, alice, bob)
	if groups := emu.Groups(); len(groups) != 0 {
		t.Fatalf("Helix Core groups left: %+v", groups)
	}
}

// assertMembers checks the Helix Core group's Users and the bridge's owner.
func assertMembers(t *testing.T, st *stacktest.Stack, group string, want ...string) {
	t.Helper()
	g, ok := st.Emu.Server.Group(group)
	if !ok {
		t.Fatalf("group %s missing in Helix Core", group)
	}
	got := append([]string(nil), g.Users...)
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("group %s Users = %v, want %v", group, got, want)
	}
}

// TestOktaImportPaging checks stable, complete paging (idp-behaviour.md §1.6).
func TestOktaImportPaging(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	want := map[string]bool{}
	for i := range 7 {
		id := st.Do("POST", "/Users", oktaUser(fmt.Sprintf("user%02d@example.com", i), "U", fmt.Sprint(i), "Passw0rd-1")).Must(t, 201).Str("id")
		want[id] = true
	}
	// Existing Helix Core users are visible too (DESIGN §7).
	if err := st.Emu.Server.CreateUser(p4emu.User{Name: "legacy", Email: "legacy@example.com", FullName: "Legacy User"}, ""); err != nil {
		t.Fatal(err)
	}
	want["legacy"] = true
	seen := map[string]bool{}
	var order []string
	for start := 1; ; start += 3 {
		r := st.Do("GET", fmt.Sprintf("/Users?startIndex=%d&count=3", start), nil).Must(t, 200)
		total, ok := r.JSON["totalResults"].(float64)
		if !ok || int(total) != len(want) {
			t.Fatalf("totalResults = %v, want %d", r.JSON["totalResults"], len(want))
		}
		if got := r.JSON["itemsPerPage"]; got != float64(len(r.Resources())) {
			t.Fatalf("itemsPerPage = %v for %d resources", got, len(r.Resources()))
		}
		if _, ok := r.JSON["startIndex"].(float64); !ok {
			t.Fatalf("startIndex not a number: %s", r.Body)
		}
		for _, res := range r.Resources() {
			id := res["id"].(string)
			if seen[id] {
				t.Fatalf("user %s on two pages", id)
			}
			seen[id] = true
			order = append(order, id)
		}
		if start+3 > int(total) {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("paged through %v, want %v", seen, want)
	}
	if !sort.StringsAreSorted(order) {
		t.Fatalf("order not stable/sorted: %v", order)
	}
	// The bridge's own super user is never offered to the IdP.
	for id := range seen {
		if id == st.Emu.User {
			t.Fatalf("P4USER %s listed", id)
		}
	}
	r := st.Do("GET", "/Users/"+st.Emu.User, nil).Must(t, 200)
	_ = r
	r = st.Do("PATCH", "/Users/"+st.Emu.User, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).Must(t, http.StatusForbidden)
	if r.Str("detail") == "" {
		t.Fatal("protected user refusal has no detail")
	}
}

// TestPutRepeatsPassword: Okta with password sync sends the password on
// every PUT; an unchanged password is not an error (found by the load
// command: p4 answers "Password not changed.").
func TestPutRepeatsPassword(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	body := oktaUser("same.pw@example.com", "Same", "Password", "Passw0rd-same")
	id := st.Do("POST", "/Users", body).Must(t, 201).Str("id")
	body["displayName"] = "Same Password Again"
	st.Do("PUT", "/Users/"+id, body).Must(t, 200)
	st.Do("PUT", "/Users/"+id, body).Must(t, 200)
	if !st.Emu.Server.CheckPassword(id, "Passw0rd-same") {
		t.Fatal("password lost")
	}
}
