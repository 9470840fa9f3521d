package scimhandlers_test

import (
	"fmt"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

// BenchmarkSCIMOperations measures each SCIM operation end to end (HTTP,
// bridge, p4 exec, emulator) and reports the p4 commands it costs, which is
// what matters against a remote Helix Core:
//
//	go test -run '^$' -bench SCIMOperations -benchtime 50x ./scimhandlers/
func BenchmarkSCIMOperations(b *testing.B) {
	st := stacktest.Start(b, stacktest.Options{})
	// A directory to look things up in.
	for i := range 20 {
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": fmt.Sprintf("seed%02d@example.com", i),
			"externalId": fmt.Sprintf("ext-seed%02d", i),
			"emails":     []any{map[string]any{"value": fmt.Sprintf("seed%02d@example.com", i), "type": "work", "primary": true}}}).Must(b, 201)
	}
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "bench group"}).Must(b, 201).Str("id")

	seq := 0
	next := func() string { seq++; return fmt.Sprintf("bench%06d", seq) }
	cases := []struct {
		name   string
		status int
		// setup runs outside the timer and returns the request to measure.
		setup func() (method, path string, body any)
	}{
		{"CreateUser", 201, func() (string, string, any) {
			return "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": next() + "@example.com"}
		}},
		{"CreateUserWithPassword", 201, func() (string, string, any) {
			return "POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": next() + "@example.com", "password": "Passw0rd-1"}
		}},
		{"GetUser", 200, func() (string, string, any) { return "GET", "/Users/seed01", nil }},
		{"FilterUserName", 200, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`userName eq "seed02@example.com"`), nil
		}},
		{"FilterUserNameMiss", 200, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`userName eq "nobody@example.com"`), nil
		}},
		{"FilterExternalID", 200, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`externalId eq "ext-seed04"`), nil
		}},
		{"FilterEmail", 200, func() (string, string, any) {
			return "GET", "/Users?" + filterQuery(`emails[type eq "work"].value eq "seed05@example.com"`), nil
		}},
		{"ListPage", 200, func() (string, string, any) { return "GET", "/Users?startIndex=1&count=10", nil }},
		{"PutUser", 200, func() (string, string, any) {
			return "PUT", "/Users/seed03", map[string]any{"schemas": []string{userSchema}, "userName": "seed03@example.com", "displayName": next()}
		}},
		{"PatchUserDeactivate", 200, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "PATCH", "/Users/" + id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
		}},
		{"DeleteUser", 204, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "DELETE", "/Users/" + id, nil
		}},
		{"CreateGroup", 201, func() (string, string, any) {
			return "POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": next() + " group"}
		}},
		{"FilterDisplayName", 200, func() (string, string, any) {
			return "GET", "/Groups?" + filterQuery(`displayName eq "bench group"`), nil
		}},
		{"PatchGroupAddMember", 204, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			return "PATCH", "/Groups/" + gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})
		}},
		{"PatchGroupRemoveMember", 204, func() (string, string, any) {
			id := next()
			st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": id}).Must(b, 201)
			st.Do("PATCH", "/Groups/"+gid, patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}})).Must(b, 204)
			return "PATCH", "/Groups/" + gid, patch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, id)})
		}},
	}
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
