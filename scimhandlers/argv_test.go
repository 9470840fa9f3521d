package scimhandlers_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestProfileValuesOffArgv: the profile an IdP sends (phone numbers,
// addresses, manager, title, ...) reaches Helix Core only in the user's
// record, on stdin: no value of it is on the argv of any p4 command, on
// create, update, replace or a filtered read (p4-cli.md §5.7), in plain
// or hex form (the index keys are named after the hex of the userName,
// externalId and e-mail address), and the IdP reads it back intact.
func TestProfileValuesOffArgv(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	profile := func(tag string) map[string]any {
		return map[string]any{
			"schemas":      []string{userSchema, entSchema},
			"userName":     "prof@zqidp.example.com",
			"externalId":   "zqext" + tag,
			"emails":       []any{map[string]any{"value": "zqmail" + tag + "@example.com", "type": "work", "primary": true}},
			"title":        "zqtitle" + tag,
			"nickName":     "zqnick" + tag,
			"phoneNumbers": []any{map[string]any{"value": "+1 555 01" + tag, "type": "work"}},
			"addresses": []any{map[string]any{"streetAddress": "zqstreet " + tag, "locality": "zqcity" + tag,
				"postalCode": "zq9" + tag, "type": "work"}},
			entSchema: map[string]any{"department": "zqdept" + tag, "costCenter": "zqcc" + tag,
				"manager": map[string]any{"value": "zqboss" + tag}},
		}
	}
	markers := func(tag string) []string {
		var out []string
		for _, m := range []string{"zqidp", "zqext" + tag, "zqmail" + tag, "555 01" + tag, "zqtitle" + tag, "zqnick" + tag, "zqstreet " + tag, "zqcity" + tag,
			"zq9" + tag, "zqdept" + tag, "zqcc" + tag, "zqboss" + tag} {
			out = append(out, m, hex.EncodeToString([]byte(m)))
		}
		return out
	}
	check := func(step, tag string) {
		t.Helper()
		for _, inv := range st.Emu.Server.Invocations() {
			line := strings.Join(inv.Args, " ")
			for _, m := range markers(tag) {
				if strings.Contains(line, m) {
					t.Fatalf("%s: profile value %q on argv: %q", step, m, inv.Args)
				}
			}
		}
		got := st.Do("GET", "/Users/prof", nil).Must(t, 200)
		if !strings.Contains(string(got.Body), "+1 555 01"+tag) || !strings.Contains(string(got.Body), "zqboss"+tag) {
			t.Fatalf("%s: the profile was not stored: %s", step, got.Body)
		}
	}
	st.Do("POST", "/Users", profile("11")).Must(t, 201)
	check("create", "11")
	st.Emu.Server.ResetInvocations()
	for _, f := range []string{`userName eq "prof@zqidp.example.com"`, `externalId eq "zqext11"`, `emails.value eq "zqmail11@example.com"`} {
		if r := st.Do("GET", "/Users?"+filterQuery(f), nil).Must(t, 200); r.JSON["totalResults"] != float64(1) {
			t.Fatalf("%s: %s", f, r.Body)
		}
	}
	check("filtered read", "11")
	st.Emu.Server.ResetInvocations()
	st.Do("PATCH", "/Users/prof", patch(
		map[string]any{"op": "replace", "path": "phoneNumbers", "value": []any{map[string]any{"value": "+1 555 0122", "type": "work"}}},
		map[string]any{"op": "replace", "path": "title", "value": "zqtitle22"},
		map[string]any{"op": "replace", "path": "nickName", "value": "zqnick22"},
		map[string]any{"op": "replace", "path": "addresses", "value": profile("22")["addresses"]},
		map[string]any{"op": "replace", "path": entSchema + ":department", "value": "zqdept22"},
		map[string]any{"op": "replace", "path": entSchema + ":costCenter", "value": "zqcc22"},
		map[string]any{"op": "replace", "path": entSchema + ":manager", "value": map[string]any{"value": "zqboss22"}},
	)).Must(t, 200)
	check("patch", "22")
	st.Emu.Server.ResetInvocations()
	st.Do("PUT", "/Users/prof", profile("33")).Must(t, 200)
	check("put", "33")
}

// TestPatchThousandsOfMembers: a PATCH adding 3,000 members whose names,
// together, are more than argv can hold (2 MiB on Linux) succeeds: the
// names are resolved on stdin (p4 -x - users -a) and the group spec goes
// on stdin too. Before, it failed with 500 "argument list too long".
func TestPatchThousandsOfMembers(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	const n = 3000
	names := make([]string, n)
	members := make([]any, n)
	for i := range names {
		names[i] = fmt.Sprintf("m%04d%s", i, strings.Repeat("x", 795))
		if err := st.Emu.Server.CreateUser(p4emu.User{Name: names[i]}, ""); err != nil {
			t.Fatal(err)
		}
		members[i] = map[string]any{"value": names[i]}
	}
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "everyone"}).Must(t, 201).Str("id")
	st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": members})).Must(t, 204)
	g, ok := st.Emu.Server.Group(gid)
	if !ok || len(g.Users) != n {
		t.Fatalf("group has %d users, want %d", len(g.Users), n)
	}
}
