package routing_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
)

// BenchmarkWrites measures a user's create and deactivation through HTTP,
// on a domain of one server (the bridge itself) and of two (leader, then
// follower): the second costs the follower's p4 commands, no more.
//
//	go test ./routing -run '^$' -bench Writes -benchtime 200x
func BenchmarkWrites(b *testing.B) {
	for _, servers := range [][]string{{"lead"}, {"lead", "follow"}} {
		b.Run(fmt.Sprintf("servers=%d", len(servers)), func(b *testing.B) {
			m := stacktest.StartMulti(b, stacktest.MultiOptions{Servers: servers, Domains: map[string][]string{"d": servers}})
			deactivate := patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("u%06d", i)
				m.Do("d", "POST", "/Users", user(name)).Must(b, http.StatusCreated)
				m.Do("d", "PATCH", "/Users/"+name, deactivate).Must(b, http.StatusOK)
			}
		})
	}
}
