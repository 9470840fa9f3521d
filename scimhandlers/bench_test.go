package scimhandlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

// BenchmarkSCIMOperations measures each SCIM operation end to end (HTTP,
// bridge, p4 exec, emulator) and reports the p4 commands it costs, which is
// what matters against a remote Helix Core:
//
//	go test -run '^$' -bench SCIMOperations -benchtime 50x ./scimhandlers/
//
// operation is one SCIM request whose p4 cost is measured.
type operation struct {
	name   string
	status int
	p4     int // p4 commands it costs, as README.md's table says
	// setup runs outside the timer and returns the request to measure.
	setup func() (method, path string, body any)
}

// operations seeds a directory in st and returns the measured requests.
func operations(b testing.TB, st *stacktest.Stack) []operation {
	// A directory to look things up in.
	for i := range 20 {
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": fmt.Sprintf("seed%02d@example.com", i),
			"externalId": fmt.Sprintf("ext-seed%02d", i),
			"emails":     []any{map[string]any{"value": fmt.Sprintf("seed%02d@example.com", i), "type": "work", "primary": true}}}).Must(b, 201)
	}
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "bench group"}).Must(b, 201).Str("id")

	seq := 0
	next := func() string { seq++; return fmt.Sprintf("bench%06d", seq) }
	return []operation{
		{"CreateUser", 201, 9, func() (string, string, any) {
			return "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": next() + "@example.com"}
		}},
		{"CreateUserWithPassword", 201, 9, func() (string, string, any) {
			return "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": next() + "@example.com", "password": "Passw0rd-1"}
		}},
		{"GetUser", 200, 3, func() (string, string, any) { return "GET", "/Users/seed01", nil }},
		{"FilterUserName", 200, 4, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`userName eq "seed02@example.com"`), nil
		}},
		{"FilterUserNameMiss", 200, 2, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`userName eq "nobody@example.com"`), nil
		}},
		{"FilterExternalID", 200, 4, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`externalId eq "ext-seed04"`), nil
		}},
		{"FilterEmail", 200, 4, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`emails[type eq "work"].value eq "seed05@example.com"`), nil
		}},
		{"ListPage", 200, 5, func() (string, string, any) { return "GET", "/Users?startIndex=1&count=10", nil }},
		// The groups attribute is one command (groups -u, or one groups
		// listing per page); a client that leaves it out saves it.
		{"GetUserWithoutGroups", 200, 2, func() (string, string, any) { return "GET", "/Users/seed01?excludedAttributes=groups", nil }},
		{"GetGroup", 200, 2, func() (string, string, any) { return "GET", "/Groups/" + gid, nil }},
		// POST .search costs what the GET it stands for costs; at the root,
		// the Users page and the Groups listing.
		{"SearchUsers", 200, 4, func() (string, string, any) {
			return "POST", "/Users/.search", map[string]any{"schemas": []string{searchSchema}, "filter": `userName eq "seed06@example.com"`}
		}},
		{"SearchRoot", 200, 7, func() (string, string, any) {
			return "POST", "/.search", map[string]any{"schemas": []string{searchSchema}, "startIndex": 1, "count": 10}
		}},
		{"PutUser", 200, 5, func() (string, string, any) {
			// The whole profile again, as an IdP sends it, with a new displayName.
			return "PUT", "/Users/seed03", map[string]any{"schemas": []string{userSchema}, "userName": "seed03@example.com", "displayName": next(),
				"externalId": "ext-seed03", "emails": []any{map[string]any{"value": "seed03@example.com", "type": "work", "primary": true}}}
		}},
		{"PatchUserDeactivate", 200, 6, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
		}},
		{"DeleteUser", 204, 9, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "DELETE", "/Users/" + id, nil
		}},
		{"CreateGroup", 201, 9, func() (string, string, any) {
			return "POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": next() + " group"}
		}},
		{"FilterDisplayName", 200, 3, func() (string, string, any) {
			return "GET", "/Groups?" + filterQuery(`displayName eq "bench group"`), nil
		}},
		{"PatchGroupSameName", 204, 4, func() (string, string, any) {
			// Okta renames a group to its own name before each push: no
			// member changes, so no protections check either.
			return "PATCH", "/Groups/" + gid, patch(map[string]any{"op": "replace", "value": map[string]any{"displayName": "bench group"}})
		}},
		{"PatchGroupAddMember", 204, 7, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "PATCH", "/Groups/" + gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})
		}},
		{"PatchGroupRemoveMember", 204, 6, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})).Must(b, 204)
			return "PATCH", "/Groups/" + gid, patch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)})
		}},
	}
}

func BenchmarkSCIMOperations(b *testing.B) {
	st := stacktest.Start(b, stacktest.Options{})
	cases := operations(b, st)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			invocations := 0
			for range b.N {
				b.StopTimer()
				method, path, body := c.setup()
				before := len(st.Emu.Server.Invocations())
				b.StartTimer()
				st.Do(method, path, body).Must(b, c.status)
				b.StopTimer()
				invocations += len(st.Emu.Server.Invocations()) - before
				b.StartTimer()
			}
			b.ReportMetric(float64(invocations)/float64(b.N), "p4-invocations/op")
		})
	}
}

// TestP4CommandsPerOperation pins the p4 cost of each SCIM operation (the
// README's table): a change that adds a command to an operation fails
// here, and the table is updated on purpose or the command removed.
func TestP4CommandsPerOperation(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	for _, c := range operations(t, st) {
		method, path, body := c.setup()
		before := len(st.Emu.Server.Invocations())
		st.Do(method, path, body).Must(t, c.status)
		if got := st.Emu.Server.Invocations()[before:]; len(got) != c.p4 {
			var cmds []string
			for _, inv := range got {
				cmds = append(cmds, inv.Command)
			}
			t.Errorf("%s: %d p4 commands (%s), want %d", c.name, len(got), strings.Join(cmds, ", "), c.p4)
		}
	}
}
