package scimhandlers_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

func entraUser(userName, email string) map[string]any {
	return map[string]any{
		"schemas":    []string{userSchema, entSchema},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName":   userName,
		"active":     true,
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": email}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":      []any{},
		// Explicit nulls and a misspelled extension URN (idp-behaviour.md §2.4).
		"addresses": nil, "phoneNumbers": nil, "preferredLanguage": nil, "title": nil,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0User": map[string]any{"department": nil, "manager": nil},
		entSchema: map[string]any{"employeeNumber": "701984", "department": "Tools"},
	}
}

// TestEntraDefaultJob replays Entra's default provisioning job
// (idp-behaviour.md §2.3-2.10): capitalised ops, "False" strings, member
// removal by value list.
func TestEntraDefaultJob(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	emu := st.Emu.Server

	// Test connection.
	r := st.Do("GET", "/Users?"+filterQuery(`userName eq "0d8f6a1c-55a4-4b3e-9e0e-5b2a0c1e7f11"`), nil).Must(t, 200)
	if r.JSON["totalResults"] != float64(0) || r.JSON["Resources"] == nil {
		t.Fatalf("test connection: %s", r.Body)
	}
	userName := "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
	r = st.Do("POST", "/Users", entraUser(userName, "Test_User_11bb11bb@testuser.com")).Must(t, 201)
	id := r.Str("id")
	if id != userName {
		t.Fatalf("id = %q", id)
	}
	if ext, _ := r.JSON[entSchema].(map[string]any); ext["employeeNumber"] != "701984" {
		t.Fatalf("enterprise extension lost: %s", r.Body)
	}
	if u, _ := emu.User(userName); u.Email != "Test_User_11bb11bb@testuser.com" || u.FullName != "givenName familyName" {
		t.Fatalf("Helix Core user: %+v", u)
	}
	// Lookup by the enterprise / externalId forms Entra uses.
	r = st.Do("GET", "/Users?"+filterQuery(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`), nil).Must(t, 200)
	if len(r.Resources()) != 1 {
		t.Fatalf("externalId filter: %s", r.Body)
	}
	r = st.Do("GET", "/Users?"+filterQuery(`emails[type eq "work"].value eq "Test_User_11bb11bb@testuser.com"`), nil).Must(t, 200)
	if len(r.Resources()) != 1 {
		t.Fatalf("email filter: %s", r.Body)
	}
	// Replace a filtered email and the family name.
	st.Do("PATCH", "/Users/"+id, patch(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": "updatedEmail@microsoft.com"},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
	)).Must(t, 200)
	if u, _ := emu.User(userName); u.Email != "updatedEmail@microsoft.com" {
		t.Fatalf("Email after PATCH = %q", u.Email)
	}
	// Manager as a plain string (Entra) and as an object.
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Add", "path": "manager", "value": "boss-id"})).Must(t, 200)
	if ext, _ := r.JSON[entSchema].(map[string]any); ext == nil || ext["manager"].(map[string]any)["value"] != "boss-id" {
		t.Fatalf("manager string: %s", r.Body)
	}
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Add", "path": entSchema + ":manager", "value": map[string]any{"value": "boss2"}})).Must(t, 200)
	if ext, _ := r.JSON[entSchema].(map[string]any); ext["manager"].(map[string]any)["value"] != "boss2" {
		t.Fatalf("manager object: %s", r.Body)
	}
	// Add a single-valued attribute.
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Add", "path": "nickName", "value": "Babs"})).Must(t, 200)
	if r.Str("nickName") != "Babs" {
		t.Fatalf("nickName: %s", r.Body)
	}
	// Update Joining Property: a new userName; the Helix Core name (the id)
	// stays, and the new userName is what filters find.
	newName := "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "userName", "value": newName})).Must(t, 200)
	if r.Str("userName") != newName || r.Str("id") != id {
		t.Fatalf("userName change: %s", r.Body)
	}
	if got := st.Do("GET", "/Users?"+filterQuery(`userName eq "`+newName+`"`), nil).Must(t, 200).Resources(); len(got) != 1 || got[0]["id"] != id {
		t.Fatalf("new userName not found: %v", got)
	}
	if got := st.Do("GET", "/Users?"+filterQuery(`userName eq "`+userName+`"`), nil).Must(t, 200).Resources(); len(got) != 0 {
		t.Fatalf("old userName still matches: %v", got)
	}
	// Disable with a string boolean.
	r = st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "active", "value": "False"})).Must(t, 200)
	if r.JSON["active"] != false {
		t.Fatalf("active after \"False\": %s", r.Body)
	}
	// Groups: created empty, then PATCHed.
	r = st.Do("POST", "/Groups", map[string]any{
		"schemas":     []string{groupSchema, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"},
		"externalId":  "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
		"displayName": "Entra Engineers",
		"meta":        map[string]any{"resourceType": "Group"},
	}).Must(t, 201)
	gid := r.Str("id")
	r = st.Do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil).Must(t, 200)
	if _, has := r.JSON["members"]; has {
		t.Fatalf("excludedAttributes=members ignored: %s", r.Body)
	}
	r = st.Do("GET", "/Groups?excludedAttributes=members&"+filterQuery(`displayName eq "Entra Engineers"`), nil).Must(t, 200)
	if len(r.Resources()) != 1 || r.Resources()[0]["members"] != nil {
		t.Fatalf("list with excludedAttributes: %s", r.Body)
	}
	other := st.Do("POST", "/Users", entraUser("other.user", "other@testuser.com")).Must(t, 201).Str("id")
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Add", "path": "members",
		"value": []any{map[string]any{"$ref": nil, "value": id}, map[string]any{"$ref": nil, "value": other}}})).Must(t, 204)
	assertMembers(t, st, gid, id, other)
	// Membership probe.
	r = st.Do("GET", "/Groups?"+filterQuery(fmt.Sprintf(`id eq "%s" and members[value eq "%s"]`, gid, other)), nil).Must(t, 200)
	if len(r.Resources()) != 1 {
		t.Fatalf("membership probe: %s", r.Body)
	}
	// Remove by value list: only the listed member goes.
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Remove", "path": "members",
		"value": []any{map[string]any{"$ref": nil, "value": other}}})).Must(t, 204)
	assertMembers(t, st, gid, id)
	r = st.Do("GET", "/Groups?"+filterQuery(fmt.Sprintf(`id eq "%s" and members[value eq "%s"]`, gid, other)), nil).Must(t, 200)
	if len(r.Resources()) != 0 {
		t.Fatalf("removed member still matches: %s", r.Body)
	}
	// Rename.
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "Replace", "path": "displayName", "value": "Entra Engineers updated"})).Must(t, 204)
	r = st.Do("GET", "/Groups/"+gid, nil).Must(t, 200)
	if r.Str("displayName") != "Entra Engineers updated" {
		t.Fatalf("rename: %s", r.Body)
	}
	// Hard delete.
	st.Do("DELETE", "/Users/"+other, nil).Must(t, 204)
	if _, ok := emu.User(other); ok {
		t.Fatal("user still in Helix Core after DELETE")
	}
	assertMembers(t, st, gid, id)
	st.Do("GET", "/Users/"+other, nil).Must(t, 404)
	st.Do("DELETE", "/Users/"+other, nil).Must(t, 404)
	assertHelixUsers(t, st, userName)
	if u, _ := emu.User(userName); u.Email != "updatedEmail@microsoft.com" || u.FullName != "givenName familyName" {
		t.Fatalf("final Helix Core user: %+v", u)
	}
}

// assertHelixUsers checks the exact set of Helix Core users besides the
// bridge's own super user.
func assertHelixUsers(t *testing.T, st *stacktest.Stack, want ...string) {
	t.Helper()
	var got []string
	for _, u := range st.Emu.Server.Users() {
		if u.Name != st.Emu.User {
			got = append(got, u.Name)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Helix Core users = %v, want %v", got, want)
	}
}

// TestEntraOptscim062020 replays the aadOptscim062020 forms: lower-case
// ops, boolean active, path-less dotted and URN keys, member removal by
// filter, and a filtered Add that must create the element.
func TestEntraOptscim062020(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	emu := st.Emu.Server
	body := entraUser("flag.user", "flag.user@testuser.com")
	delete(body, "emails")
	id := st.Do("POST", "/Users", body).Must(t, 201).Str("id")
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{
		"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
		entSchema + ":employeeNumber": "Aklq",
	}})).Must(t, 200)
	r := st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	name := r.JSON["name"].(map[string]any)
	ext := r.JSON[entSchema].(map[string]any)
	if name["givenName"] != "Kkom" || name["familyName"] != "Unua" || ext["employeeNumber"] != "Aklq" || r.Str("displayName") != "Bjfe" {
		t.Fatalf("path-less dotted replace: %s", r.Body)
	}
	// No work email yet: a filtered Add creates it.
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "add", "path": `emails[type eq "work"].value`, "value": "created@testuser.com"})).Must(t, 200)
	if u, _ := emu.User(id); u.Email != "created@testuser.com" {
		t.Fatalf("Email after filtered Add = %q", u.Email)
	}
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "path": "active", "value": false})).Must(t, 200)
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "flag group"}).Must(t, 201).Str("id")
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})).Must(t, 204)
	assertMembers(t, st, gid, id)
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)})).Must(t, 204)
	assertMembers(t, st, gid)
	if _, ok := emu.Group(gid); !ok {
		t.Fatal("group vanished from Helix Core when its last member left")
	}
}

// TestRFCClient exercises what a plain RFC 7644 client does: projection,
// non-eq filters, errors.
func TestRFCClient(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	for _, n := range []string{"carol", "dave", "erin"} {
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": n + "@example.org",
			"name": map[string]any{"givenName": strings.ToUpper(n[:1]) + n[1:], "familyName": "Example"}}).Must(t, 201)
	}
	r := st.Do("GET", "/Users?"+filterQuery(`userName sw "d" or name.givenName eq "Erin"`)+"&attributes=userName", nil).Must(t, 200)
	if r.JSON["totalResults"] != float64(2) {
		t.Fatalf("or filter: %s", r.Body)
	}
	for _, res := range r.Resources() {
		if _, has := res["name"]; has {
			t.Fatalf("attributes=userName returned name: %v", res)
		}
		if res["id"] == nil || res["userName"] == nil {
			t.Fatalf("projection dropped id/userName: %v", res)
		}
	}
	r = st.Do("GET", "/Users?"+filterQuery(`userName eq`), nil).Must(t, 400)
	if r.Str("scimType") != "invalidFilter" {
		t.Fatalf("malformed filter: %s", r.Body)
	}
	r = st.Do("GET", "/Users?"+filterQuery(`nosuchattr eq "x"`), nil).Must(t, 400)
	if r.Str("scimType") != "invalidFilter" {
		t.Fatalf("unknown attribute: %s", r.Body)
	}
	// Invalid names never reach p4: refused with 400 before any command.
	before := len(st.Emu.Server.Invocations())
	for _, bad := range []string{"-rf@example.org", "a b@example.org", "1234@example.org", "a*b@example.org", "x,y@example.org", "a#b"} {
		r = st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": bad}).Must(t, 400)
		if r.Str("scimType") != "invalidValue" || !strings.Contains(r.Str("detail"), "Helix Core name") {
			t.Fatalf("bad name %q: %s", bad, r.Body)
		}
	}
	if after := len(st.Emu.Server.Invocations()); after != before {
		t.Fatalf("invalid names cost %d p4 commands", after-before)
	}
	// Unsupported media type.
	r = st.DoWith("POST", "/Users", `{"userName":"x"}`, map[string]string{"Authorization": "Bearer " + stacktest.Token, "Content-Type": "text/plain"})
	r.Must(t, 415)
	// Errors are SCIM errors, 401 included.
	r = st.DoWith("GET", "/Users", nil, map[string]string{"Authorization": "non-token"}).Must(t, 401)
	if r.Str("status") != "401" || r.Str("detail") == "" || r.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("401: %s %v", r.Body, r.Header)
	}
}
