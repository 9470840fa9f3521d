package scimhandlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

// TestHostileInput sends inputs an attacker or a broken IdP might: each
// gets a 4xx SCIM error, and Helix Core's users, groups and keys are
// exactly what they were.
func TestHostileInput(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "target"}).Must(t, 201).Str("id")
	uid := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "victim@example.com"}).Must(t, 201).Str("id")
	before := helixState(st)

	user := func(kv ...any) string {
		m := map[string]any{"schemas": []string{userSchema}, "userName": "ok.user@example.com"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return jsonOf(t, m)
	}
	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	tests := []struct {
		name, method, path, body string
	}{
		{"leading dash", "POST", "/Users", user("userName", "-rf@example.com")},
		{"at sign only", "POST", "/Users", user("userName", "@")},
		{"hash", "POST", "/Users", user("userName", "a#b")},
		{"star", "POST", "/Users", user("userName", "a*b")},
		{"percent", "POST", "/Users", user("userName", "a%b")},
		{"dots", "POST", "/Users", user("userName", "a...b")},
		{"comma", "POST", "/Users", user("userName", "a,b")},
		{"newline in userName", "POST", "/Users", user("userName", "a\nb")},
		{"tab in userName", "POST", "/Users", user("userName", "a\tb")},
		{"newline in displayName", "POST", "/Users", user("displayName", "Eve\nUser: root")},
		{"control char in name", "POST", "/Users", user("name", map[string]any{"givenName": "E\x00ve"})},
		{"tab in email", "POST", "/Users", user("emails", []any{map[string]any{"value": "e\t@x.com"}})},
		{"huge string", "POST", "/Users", user("displayName", strings.Repeat("x", 200<<10))},
		{"deeply nested", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":"n@x.com","name":` + deep + `}`},
		{"wrong type", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":42}`},
		{"active not boolean", "POST", "/Users", user("active", "maybe")},
		{"duplicate attribute by case", "POST", "/Users", `{"userName":"a@x.com","USERNAME":"b@x.com"}`},
		{"not json", "POST", "/Users", `{"userName":`},
		{"array body", "POST", "/Users", `[1,2]`},
		{"group name control char", "POST", "/Groups", `{"schemas":["` + groupSchema + `"],"displayName":"ops\u0007"}`},
		{"group blank name", "POST", "/Groups", `{"schemas":["` + groupSchema + `"],"displayName":"   "}`},
		{"member not an id", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "-x"}}}))},
		{"member that does not exist", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "ghost"}}}))},
		{"patch groups read-only", "PATCH", "/Users/" + uid, jsonOf(t, patch(map[string]any{"op": "add", "path": "groups", "value": []any{map[string]any{"value": gid}}}))},
		{"patch unknown path", "PATCH", "/Users/" + uid, jsonOf(t, patch(map[string]any{"op": "replace", "path": "nosuch", "value": "x"}))},
		{"patch newline", "PATCH", "/Users/" + uid, jsonOf(t, patch(map[string]any{"op": "replace", "path": "displayName", "value": "a\nb"}))},
		{"patch wrong schema", "PATCH", "/Users/" + uid, `{"schemas":["urn:wrong"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`},
		{"patch bad op", "PATCH", "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"move","path":"displayName","value":"x"}]}`},
		{"id with slash", "GET", "/Users/a%2F..%2Fb", ""},
		{"filter injection", "GET", "/Users?" + filterQuery(`userName eq "x" or 1 eq 1`), ""},
		{"oversized body", "POST", "/Users", `{"userName":"` + strings.Repeat("x", 2<<20) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := st.Do(tt.method, tt.path, body)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d, want 4xx: %.300s", r.Status, r.Body)
			}
			if r.Str("status") == "" || r.Header.Get("Content-Type") != "application/scim+json" {
				t.Fatalf("not a SCIM error: %d %.300s", r.Status, r.Body)
			}
		})
	}
	if after := helixState(st); after != before {
		t.Fatalf("Helix Core changed:\nbefore %s\nafter  %s", before, after)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// helixState renders Helix Core's users, groups and keys for comparison,
// leaving out the Access and Update times that every command moves.
func helixState(st *stacktest.Stack) string {
	emu := st.Emu.Server
	var b strings.Builder
	for _, u := range emu.Users() {
		fmt.Fprintf(&b, "user %s %s %q %q %s %v %v\n", u.Name, u.Type, u.Email, u.FullName, u.AuthMethod, u.Reviews, u.HasPassword)
	}
	for _, g := range emu.Groups() {
		fmt.Fprintf(&b, "group %+v\n", g)
	}
	fmt.Fprintf(&b, "keys %v\n", emu.Keys())
	return b.String()
}
