package routing_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestEveryFaultOfAWriteConverges breaks each p4 command of each write in
// turn, on the leader and on the follower, both ways a step fails (not run;
// run with its reply lost), and retries the request as an IdP does: every
// server of the domain must end as the write without a fault leaves it.
func TestEveryFaultOfAWriteConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("hundreds of requests")
	}
	opts := stacktest.MultiOptions{Servers: []string{"lead", "follow"}, Domains: map[string][]string{"d": {"lead", "follow"}}}
	m := stacktest.StartMulti(t, opts)
	m.Do("d", "POST", "/Users", user("felix")).Must(t, http.StatusCreated)
	m.Do("d", "POST", "/Users", user("rex")).Must(t, http.StatusCreated)
	m.Do("d", "POST", "/Groups", group("pets")).Must(t, http.StatusCreated)
	setup := map[string]*p4emu.State{}
	for name, b := range m.Backends {
		setup[name] = b.Emu.Server.Snapshot()
	}
	restore := func() {
		for name, b := range m.Backends {
			b.Emu.Server.ClearFaults()
			b.Emu.Server.FaultNth(p4emu.NthFault{}) // disarm
			b.Emu.Server.Restore(setup[name], b.Emu.User)
		}
	}
	// state is what each server's bridge shows of the resources.
	state := func() string {
		var b strings.Builder
		for _, s := range []string{"lead", "follow"} {
			svc := m.Backends[s].Service
			for _, id := range []string{"felix", "rex", "tom"} {
				u, err := svc.GetUser(context.Background(), id)
				if err != nil {
					fmt.Fprintf(&b, "%s/%s: absent; ", s, id)
					continue
				}
				fmt.Fprintf(&b, "%s/%s: active=%v displayName=%v; ", s, id, u.Doc["active"], u.Doc["displayName"])
			}
			g, err := svc.GetGroup(context.Background(), "pets")
			if err != nil {
				fmt.Fprintf(&b, "%s/pets: absent; ", s)
				continue
			}
			var members []string
			list, _ := g.Doc["members"].([]any)
			for _, e := range list {
				if mm, ok := e.(map[string]any); ok {
					members = append(members, fmt.Sprint(mm["value"]))
				}
			}
			slices.Sort(members)
			fmt.Fprintf(&b, "%s/pets: %v; ", s, members)
		}
		return b.String()
	}
	replaced := user("rex")
	replaced["displayName"] = "Rex the Dog"
	writes := []struct {
		name         string
		method, path string
		body         any
		done         []int // what an answer to a retry may be once the write is done
	}{
		{"create user", "POST", "/Users", user("tom"), []int{201, 409}},
		{"add member", "PATCH", "/Groups/pets", patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "felix"}}}), []int{200, 204}},
		{"deactivate", "PATCH", "/Users/felix", patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), []int{200}},
		{"replace user", "PUT", "/Users/rex", replaced, []int{200}},
		{"delete user", "DELETE", "/Users/rex", nil, []int{204, 404}},
		{"delete group", "DELETE", "/Groups/pets", nil, []int{204, 404}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			restore()
			m.Do("d", w.method, w.path, w.body)
			want := state()
			runs := 0
			for _, target := range []string{"lead", "follow"} {
				for _, kind := range []p4emu.FaultKind{p4emu.FaultNotRun, p4emu.FaultReplyLost} {
					for n := 1; ; n++ {
						restore()
						emu := m.Backends[target].Emu.Server
						emu.FaultNth(p4emu.NthFault{N: n, Kind: kind})
						first := m.Do("d", w.method, w.path, w.body)
						if !emu.NthFired() {
							break // the write has fewer than n commands on target
						}
						runs++
						status := first.Status
						for retry := 0; retry < 3 && !slices.Contains(w.done, status); retry++ {
							status = m.Do("d", w.method, w.path, w.body).Status
						}
						if !slices.Contains(w.done, status) {
							t.Errorf("%s, command %d %s: retries end with %d, want one of %v", target, n, kind, status, w.done)
						}
						if got := state(); got != want {
							t.Errorf("%s, command %d %s: after the retry\n got %s\nwant %s", target, n, kind, got, want)
						}
					}
				}
			}
			if runs < 4 {
				t.Fatalf("only %d faulted runs: the enumeration did not reach the servers", runs)
			}
		})
	}
}
