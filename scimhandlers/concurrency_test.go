package scimhandlers_test

import (
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/scimhandlers"
)

// TestConcurrentMemberPatches sends 100 concurrent member adds and removes
// to one group, split across two bridge replicas sharing one Helix Core,
// and checks the exact final membership (DESIGN §9).
func TestConcurrentMemberPatches(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	// A second replica: its own bridge and handler, same Helix Core.
	svc2, err := bridge.New(st.Client, bridge.Config{P4User: st.Emu.User, ReplicaID: "replica-2"})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := scimhandlers.New(svc2, scimhandlers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(h2)
	defer srv2.Close()
	replica2 := *st
	replica2.URL = srv2.URL + scimhandlers.BasePath

	const n = 50
	ids := make([]string, 2*n)
	for i := range ids {
		// Members need only exist in Helix Core; creating them directly keeps
		// the test about the PATCHes.
		ids[i] = fmt.Sprintf("u%03d", i)
		if err := st.Emu.Server.CreateUser(p4emu.User{Name: ids[i], Email: ids[i] + "@example.com", FullName: ids[i]}, ""); err != nil {
			t.Fatal(err)
		}
	}
	gid := st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "contended",
		"members": membersOf(ids[n:])}).Must(t, 201).Str("id")

	// 100 requests: add ids[0:n], remove ids[n:2n], alternating replicas.
	var wg sync.WaitGroup
	errs := make(chan string, 2*n)
	for i := range 2 * n {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			target := st
			if i%2 == 1 {
				target = &replica2
			}
			var body map[string]any
			if i < n {
				body = patch(map[string]any{"op": "add", "path": "members", "value": membersOf(ids[i : i+1])})
			} else {
				body = patch(map[string]any{"op": "remove", "path": fmt.Sprintf(`members[value eq "%s"]`, ids[i])})
			}
			if r := target.Do("PATCH", "/Groups/"+gid, body); r.Status != 204 {
				errs <- fmt.Sprintf("request %d: %d %s", i, r.Status, r.Body)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	assertMembers(t, st, gid, ids[:n]...)
}

func membersOf(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}
