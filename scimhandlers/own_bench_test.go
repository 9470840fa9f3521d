package scimhandlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers"
)

// BenchmarkOwnTime measures p4scim's own time per request, without p4:
// the real handler and bridge against memHelix, an in-memory Helix Core
// stand-in, so ns/op is HTTP decoding, the SCIM library, the PATCH engine,
// the bridge and JSON, and nothing else. Group PATCHes are measured at
// several group sizes, since their documents carry every member:
//
//	go test -run '^$' -bench OwnTime -benchmem ./scimhandlers/
func BenchmarkOwnTime(b *testing.B) {
	for _, members := range []int{10, 200, 2000} {
		b.Run(fmt.Sprintf("PatchGroupAddMember/members=%d", members), func(b *testing.B) {
			helix := newMemHelix()
			h := memHandler(b, helix)
			names := make([]string, 0, members)
			for i := range members + b.N {
				name := fmt.Sprintf("u%06d", i)
				helix.addUser(name)
				if i < members {
					names = append(names, name)
				}
			}
			helix.setGroupUsers("seedgroup", names)
			b.ResetTimer()
			for i := range b.N {
				body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"u%06d"}]}]}`, members+i)
				serve(b, h, "PATCH", "/Groups/seedgroup", body, http.StatusNoContent)
				b.StopTimer()
				helix.setGroupUsers("seedgroup", names) // the same size every time
				b.StartTimer()
			}
		})
	}
	for _, members := range []int{200, 2000} {
		b.Run(fmt.Sprintf("PatchGroupRemoveMember/members=%d", members), func(b *testing.B) {
			helix := newMemHelix()
			h := memHandler(b, helix)
			names := make([]string, 0, members)
			for i := range members {
				name := fmt.Sprintf("u%06d", i)
				helix.addUser(name)
				names = append(names, name)
			}
			helix.setGroupUsers("seedgroup", names)
			b.ResetTimer()
			for i := range b.N {
				body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members[value eq \"u%06d\"]"}]}`, i%members)
				serve(b, h, "PATCH", "/Groups/seedgroup", body, http.StatusNoContent)
				b.StopTimer()
				helix.setGroupUsers("seedgroup", names) // the same size every time
				b.StartTimer()
			}
		})
	}
	b.Run("CreateUser", func(b *testing.B) {
		h := memHandler(b, newMemHelix())
		for i := range b.N {
			serve(b, h, "POST", "/Users", fmt.Sprintf(`{"schemas":["`+userSchema+`"],"userName":"own%06d@example.com","name":{"givenName":"O","familyName":"T"},"emails":[{"value":"own%06d@example.com","type":"work","primary":true}]}`, i, i), http.StatusCreated)
		}
	})
	b.Run("FilterUserName", func(b *testing.B) {
		h := memHandler(b, newMemHelix())
		serve(b, h, "POST", "/Users", `{"schemas":["`+userSchema+`"],"userName":"find@example.com"}`, http.StatusCreated)
		for range b.N {
			serve(b, h, "GET", "/Users?filter=userName+eq+%22find@example.com%22", "", http.StatusOK)
		}
	})
}

// memHandler is the SCIM handler on a bridge over helix.
func memHandler(b testing.TB, helix *memHelix) http.Handler {
	b.Helper()
	svc, err := bridge.New(helix, bridge.Config{P4User: "super"})
	if err != nil {
		b.Fatal(err)
	}
	h, err := scimhandlers.New(svc, scimhandlers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func serve(b *testing.B, h http.Handler, method, path, body string, want int) {
	req := httptest.NewRequest(method, scimhandlers.BasePath+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
	}
}

func (h *memHelix) addUser(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users[name] = p4.User{Name: name, Email: name + "@example.com", FullName: name}
}

func (h *memHelix) setGroupUsers(group string, users []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.groups[group]
	g.Users = append([]string(nil), users...)
	h.groups[group] = g
}
