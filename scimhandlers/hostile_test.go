package scimhandlers_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/scimhandlers"
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
		if len(kv) > 0 && kv[0] == "userName" {
			m["emails"] = []any{map[string]any{"value": "ok.user@example.com"}}
		}
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
		// Each value under the per-value limit, the whole over what one
		// record (a key value) may hold: 400, not a failed command.
		{"document too large to store", "POST", "/Users", user("addresses", manyAddresses(20, 15000))},
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
	// Every string attribute that reaches a Helix Core spec field, a name
	// or an index, with each control character: 400 (a newline or tab
	// would end or split a spec field). Free text (free: true) may hold
	// them (TestControlCharactersInFreeText); it is checked here for size.
	type attr struct {
		name, path string
		set        func(v string) string
		free       bool
	}
	userAttrs := []attr{
		{"userName", "/Users", func(v string) string { return user("userName", v) }, false},
		{"displayName", "/Users", func(v string) string { return user("displayName", v) }, false},
		{"name.givenName", "/Users", func(v string) string { return user("name", map[string]any{"givenName": v}) }, false},
		{"name.familyName", "/Users", func(v string) string { return user("name", map[string]any{"familyName": v}) }, false},
		{"name.formatted", "/Users", func(v string) string { return user("name", map[string]any{"formatted": v}) }, false},
		{"emails.value", "/Users", func(v string) string { return user("emails", []any{map[string]any{"value": v, "type": "work"}}) }, false},
		{"emails.type", "/Users", func(v string) string { return user("emails", []any{map[string]any{"value": "e@x.com", "type": v}}) }, true},
		{"externalId", "/Users", func(v string) string { return user("externalId", v) }, false},
		{"nickName", "/Users", func(v string) string { return user("nickName", v) }, true},
		{"title", "/Users", func(v string) string { return user("title", v) }, true},
		{"employeeNumber", "/Users", func(v string) string {
			return user("schemas", []string{userSchema, entSchema}, entSchema, map[string]any{"employeeNumber": v})
		}, true},
		{"phoneNumbers.value", "/Users", func(v string) string {
			return user("phoneNumbers", []any{map[string]any{"value": v, "type": "work"}})
		}, true},
		{"addresses.streetAddress", "/Users", func(v string) string {
			return user("addresses", []any{map[string]any{"streetAddress": v, "type": "work"}})
		}, true},
		{"manager.value", "/Users", func(v string) string {
			return user("schemas", []string{userSchema, entSchema}, entSchema, map[string]any{"manager": map[string]any{"value": v}})
		}, true},
		{"group displayName", "/Groups", func(v string) string {
			return jsonOf(t, map[string]any{"schemas": []string{groupSchema}, "displayName": v})
		}, false},
		{"group externalId", "/Groups", func(v string) string {
			return jsonOf(t, map[string]any{"schemas": []string{groupSchema}, "displayName": "ok group", "externalId": v})
		}, false},
		{"group member value", "/Groups", func(v string) string {
			return jsonOf(t, map[string]any{"schemas": []string{groupSchema}, "displayName": "ok group", "members": []any{map[string]any{"value": v}}})
		}, false},
		{"patch member value", "/Groups/" + gid, func(v string) string {
			return jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": v}}}))
		}, false},
		{"patch displayName", "/Users/" + uid, func(v string) string {
			return jsonOf(t, patch(map[string]any{"op": "replace", "path": "displayName", "value": v}))
		}, false},
	}
	controls := map[string]string{"newline": "\n", "carriage return": "\r", "tab": "\t", "NUL": "\x00", "escape": "\x1b",
		"DEL": "\x7f", "C1 NEL": "\u0085"}
	for _, a := range userAttrs {
		for cname, c := range controls {
			if a.free {
				break
			}
			method := "POST"
			if strings.Contains(a.path, "/Users/") || strings.Contains(a.path, "/Groups/") {
				method = "PATCH"
			}
			tests = append(tests, struct{ name, method, path, body string }{
				a.name + " with " + cname, method, a.path, a.set("zq" + c + "zq@example.com")})
		}
		method := "POST"
		if strings.Contains(a.path, "/Users/") || strings.Contains(a.path, "/Groups/") {
			method = "PATCH"
		}
		// 1 MB: over the body limit for POST; the 200 kB case above is under
		// it and is refused by the bridge's own string limit.
		tests = append(tests, struct{ name, method, path, body string }{
			a.name + " of 1 MB", method, a.path, a.set(strings.Repeat("x", 1<<20))})
	}
	tests = append(tests, []struct{ name, method, path, body string }{
		{"userName starting with dash and an at sign", "POST", "/Users", user("userName", "-zq@example.com")},
		{"userName with two at signs", "POST", "/Users", user("userName", "zq@b@example.com")},
		{"userName with a space", "POST", "/Users", user("userName", "zq b@example.com")},
		{"userName purely numeric", "POST", "/Users", user("userName", "12345@example.com")},
		{"userName slash dot dot", "POST", "/Users", user("userName", "zq//b@example.com")},
		{"userName wrong type", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":["a@x.com"]}`},
		{"userName null", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":null}`},
		{"name wrong type", "POST", "/Users", user("name", "Ada")},
		{"emails wrong type", "POST", "/Users", user("emails", "a@x.com")},
		{"displayName number", "POST", "/Users", user("displayName", 7)},
		{"unknown schema only", "POST", "/Users", `{"schemas":["urn:evil:schema"],"userName":"zq@example.com"}`},
		// (A body with no schemas at all is accepted: the library fills
		// them, and no IdP omits them.)
		{"core schema missing", "POST", "/Groups", `{"schemas":["` + userSchema + `"],"displayName":"zq"}`},
		{"schemas not a list", "POST", "/Users", `{"schemas":"` + userSchema + `","userName":"zq@example.com"}`},
		{"duplicate userName by case", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":"zq1@example.com","USERNAME":"zq2@example.com"}`},
		{"duplicate displayName by case", "POST", "/Groups", `{"schemas":["` + groupSchema + `"],"displayName":"zq one","DisplayName":"zq two"}`},
		{"duplicate key exactly", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":"zq1@example.com","userName":"zq2@example.com"}`},
		{"deeply nested array", "POST", "/Users", `{"schemas":["` + userSchema + `"],"userName":"zq@example.com","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`},
		{"group member a filter", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": `x" or "1"="1`}}}))},
		{"group member a path", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "../" + uid}}}))},
		{"group member a number", "PATCH", "/Groups/" + gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":42}]}]}`},
		{"group member wildcard", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "..."}}}))},
		{"group member comma list", "PATCH", "/Groups/" + gid, jsonOf(t, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid + "," + uid}}}))},
	}...)
	hostile := []string{"zq", "-zq", "12345"} // markers every hostile value above carries
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			st.Emu.Server.ResetInvocations()
			r := st.Do(tt.method, tt.path, body)
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("status %d, want 4xx: %.300s", r.Status, r.Body)
			}
			schemas, _ := r.JSON["schemas"].([]any)
			if len(schemas) != 1 || schemas[0] != scimhandlers.ErrorSchema || r.Str("status") != strconv.Itoa(r.Status) ||
				r.Str("detail") == "" || r.Header.Get("Content-Type") != "application/scim+json" {
				t.Fatalf("not a SCIM error: %d %.300s", r.Status, r.Body)
			}
			// Nothing of the hostile value reached a p4 command line.
			for _, inv := range st.Emu.Server.Invocations() {
				for _, arg := range inv.Args {
					for _, h := range hostile {
						if strings.Contains(arg, h) {
							t.Fatalf("hostile value on argv: %q", inv.Args)
						}
					}
				}
			}
		})
	}
	if after := helixState(st); after != before {
		t.Fatalf("Helix Core changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestHostileInputMapped: values that are hostile as Helix Core names but
// legitimate as what they are. A group's displayName is free text that the
// default rule (replace) maps to a name, and a user's display name, name
// parts and externalId are free text that never become names. Each gets
// 201, and then only if what reaches Helix Core is safe: the name is valid,
// no spec field holds '#' (a form comment) or a line break, and no p4
// argument starts with '-' unless it is one of the bridge's own flags.
func TestHostileInputMapped(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	flags := map[string]bool{"-G": true, "-p": true, "-u": true, "-i": true, "-f": true, "-o": true, "-d": true,
		"-m": true, "-a": true, "-e": true, "-F": true, "-t": true, "-g": true, "-x": true, "-b": true}
	tests := []struct {
		name, path string
		body       map[string]any
		wantID     string // the Helix Core name it must map to
	}{
		{"group with leading dash", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "-rf all"}, "_rf_all"},
		{"group with at and hash", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "a@b#c"}, "a_b_c"},
		{"group with wildcards", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "x*y%z...w"}, "x_y_z_w"},
		{"group with comma", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "eng,ops"}, "eng_ops"},
		{"group purely numeric", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "1234"}, "g_1234"},
		{"group with hostile externalId", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "ext group",
			"externalId": "-x#y@z*%,..."}, "ext_group"},
		{"user free text", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "free@example.com",
			"displayName": "-rf #1 @home *%, ...", "externalId": "-x#y@z*%,...",
			"name": map[string]any{"givenName": "-G", "familyName": "#hash"}}, "free"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.Emu.Server.ResetInvocations()
			r := st.Do("POST", tt.path, tt.body).Must(t, 201)
			if r.Str("id") != tt.wantID {
				t.Fatalf("id %q, want %q", r.Str("id"), tt.wantID)
			}
			if err := bridge.ValidateName(tt.wantID); err != nil {
				t.Fatalf("mapped name is invalid: %v", err)
			}
			for _, inv := range st.Emu.Server.Invocations() {
				for i, arg := range inv.Args {
					prev := ""
					if i > 0 {
						prev = inv.Args[i-1]
					}
					if strings.HasPrefix(arg, "-") && !flags[arg] && !strings.HasPrefix(arg, "--from=") &&
						!strings.HasPrefix(arg, "--to=") && prev != "-p" && prev != "-u" && prev != "-x" {
						t.Fatalf("argument %q looks like a flag: %q", arg, inv.Args)
					}
				}
			}
			for _, u := range st.Emu.Server.Users() {
				if strings.ContainsAny(u.Email+u.FullName, "#\n\r\t") || strings.Contains(u.Email, " ") {
					t.Fatalf("unsafe spec field: %+v", u)
				}
			}
			// The IdP reads back exactly what it wrote.
			got := st.Do("GET", tt.path+"/"+tt.wantID, nil).Must(t, 200)
			for k, v := range tt.body {
				if k != "schemas" && k != "name" && fmt.Sprint(got.JSON[k]) != fmt.Sprint(v) {
					t.Fatalf("%s = %v, want %v", k, got.JSON[k], v)
				}
			}
		})
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
func helixState(st *stacktest.Stack) string { return renderHelix(st, st.Emu.Server.Keys()) }

// renderHelix renders Helix Core's users and groups, and the given keys.
func renderHelix(st *stacktest.Stack, keys map[string]string) string {
	emu := st.Emu.Server
	var b strings.Builder
	for _, u := range emu.Users() {
		fmt.Fprintf(&b, "user %s %s %q %q %s %v %v\n", u.Name, u.Type, u.Email, u.FullName, u.AuthMethod, u.Reviews, u.HasPassword)
	}
	for _, g := range emu.Groups() {
		fmt.Fprintf(&b, "group %+v\n", g)
	}
	fmt.Fprintf(&b, "keys %v\n", keys)
	return b.String()
}

func manyAddresses(n, size int) []any {
	var out []any
	for range n {
		out = append(out, map[string]any{"type": "work", "streetAddress": strings.Repeat("x", size)})
	}
	return out
}
