package scimhandlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/scimhandlers"
)

// memHelix is an in-memory Helix Core for fuzzing the request path: an
// exec per iteration would make the fuzzer a hundred times slower. It
// checks every value the bridge hands it as the real client would put it
// on a p4 argv or in a spec, and records what would be unsafe there.
type memHelix struct {
	mu     sync.Mutex
	users  map[string]p4.User
	groups map[string]p4.Group
	keys   map[string]string
	bad    []string
}

func newMemHelix() *memHelix {
	h := &memHelix{}
	h.reset()
	return h
}

func (h *memHelix) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users = map[string]p4.User{"super": {Name: "super", Email: "super@example.com", FullName: "super"},
		"seed": {Name: "seed", Email: "seed@example.com", FullName: "Seed"}}
	h.groups = map[string]p4.Group{"seedgroup": {Name: "seedgroup", Users: []string{"seed"}, Owners: []string{"super"}}}
	h.keys = map[string]string{}
	h.bad = nil
}

func (h *memHelix) problems() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bad)
}

// name checks a user or group name: it is an argv word or a spec word.
func (h *memHelix) name(what, n string) {
	if err := bridge.ValidateName(n); err != nil {
		h.bad = append(h.bad, fmt.Sprintf("%s: %v", what, err))
	}
}

// field checks a spec value: '#' starts a comment and a line break ends
// the field in the form p4 builds from the marshalled dict.
func (h *memHelix) field(what, v string, word bool) {
	if strings.ContainsAny(v, "#\r\n") || strings.IndexFunc(v, func(r rune) bool {
		return !unicode.IsPrint(r) || (word && unicode.IsSpace(r))
	}) >= 0 {
		h.bad = append(h.bad, fmt.Sprintf("%s: unsafe spec value %q", what, v))
	}
}

// key checks a key name: an argv word that must not read as a flag.
func (h *memHelix) key(k string) {
	if k == "" || strings.HasPrefix(k, "-") || strings.IndexFunc(k, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		h.bad = append(h.bad, fmt.Sprintf("unsafe key name %q", k))
	}
}

func notFound() error { return &p4.Error{Kind: p4.KindNotFound} }

func (h *memHelix) Users(_ context.Context, names ...string) ([]p4.User, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []p4.User
	if len(names) == 0 {
		for _, u := range h.users {
			out = append(out, u)
		}
		slices.SortFunc(out, func(a, b p4.User) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	}
	for _, n := range names {
		h.name("users", n)
		if u, ok := h.users[n]; ok {
			out = append(out, u)
		}
	}
	return out, nil
}

func (h *memHelix) UserSpec(_ context.Context, name string) (p4.User, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("user -o", name)
	u, ok := h.users[name]
	if !ok {
		return p4.User{Name: name}, false, nil
	}
	return u, true, nil
}

func (h *memHelix) SaveUser(_ context.Context, u p4.User) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("user -i", u.Name)
	h.field("Email", u.Email, true)
	h.field("FullName", u.FullName, false)
	h.users[u.Name] = u
	return nil
}

func (h *memHelix) DeleteUser(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("user -d", name)
	if _, ok := h.users[name]; !ok {
		return notFound()
	}
	delete(h.users, name)
	return nil
}

// RenameUser moves the user; the fuzzed handlers run with renames off,
// so it is here only to satisfy bridge.Helix.
func (h *memHelix) RenameUser(_ context.Context, from, to string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("renameuser", from)
	u, ok := h.users[from]
	if !ok {
		return notFound()
	}
	delete(h.users, from)
	u.Name = to
	h.users[to] = u
	return nil
}

func (h *memHelix) SetPassword(_ context.Context, name, _ string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("passwd", name)
	return nil
}

func (h *memHelix) Logout(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("logout", name)
	return nil
}

func (h *memHelix) Group(_ context.Context, name string) (p4.Group, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("group -o", name)
	g, ok := h.groups[name]
	if !ok {
		return p4.Group{}, notFound()
	}
	return g, nil
}

func (h *memHelix) Groups(context.Context) ([]p4.Group, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []p4.Group
	for _, g := range h.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b p4.Group) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (h *memHelix) GroupExists(_ context.Context, name string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("groups", name)
	_, ok := h.groups[name]
	return ok, nil
}

func (h *memHelix) SaveGroup(_ context.Context, g p4.Group) (p4.GroupSaveResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("group -i", g.Name)
	for _, list := range [][]string{g.Users, g.Subgroups, g.Owners} {
		for _, m := range list {
			h.name("group -i member", m)
		}
	}
	_, existed := h.groups[g.Name]
	h.groups[g.Name] = g
	if existed {
		return p4.GroupUpdated, nil
	}
	return p4.GroupCreated, nil
}

func (h *memHelix) DeleteGroup(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("group -d", name)
	delete(h.groups, name)
	return nil
}

func (h *memHelix) Key(_ context.Context, name string) (string, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key(name)
	v, ok := h.keys[name]
	return v, ok, nil
}

func (h *memHelix) SetKey(_ context.Context, name, value string) error {
	return h.SetKeys(context.Background(), map[string]string{name: value})
}

func (h *memHelix) SetKeys(_ context.Context, kv map[string]string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, v := range kv {
		h.key(k)
		h.keys[k] = v
	}
	return nil
}

func (h *memHelix) DeleteKey(_ context.Context, name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key(name)
	if _, ok := h.keys[name]; !ok {
		return notFound()
	}
	delete(h.keys, name)
	return nil
}

func (h *memHelix) Keys(_ context.Context, pattern string, keep func(string) bool) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key(pattern)
	out := map[string]string{}
	for k, v := range h.keys {
		if ok, _ := path.Match(pattern, k); ok && (keep == nil || keep(k)) {
			out[k] = v
		}
	}
	return out, nil
}

func (h *memHelix) CompareAndSetKey(_ context.Context, name, from, to string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key(name)
	cur, ok := h.keys[name]
	if !ok {
		cur = "0"
	}
	if cur != from || !ok {
		return &p4.Error{Kind: p4.KindConflict, Current: cur}
	}
	h.keys[name] = to
	return nil
}

func (h *memHelix) IncrementKey(_ context.Context, name string) (int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.key(name)
	n, err := strconv.ParseInt(h.keys[name], 10, 64)
	if err != nil && h.keys[name] != "" {
		return 0, &p4.Error{Kind: p4.KindOther}
	}
	h.keys[name] = strconv.FormatInt(n+1, 10)
	return n + 1, nil
}

// License reports no user limit: the in-memory server never refuses a
// create for the licence.
func (h *memHelix) License(context.Context) (p4.License, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return p4.License{Users: int64(len(h.users)), UserLimit: -1, TimeRemaining: -1}, nil
}

// fuzzTargets are the request shapes that carry a body.
var fuzzTargets = []struct{ method, path string }{
	{"POST", "/Users"}, {"POST", "/Groups"}, {"PUT", "/Users/seed"}, {"PATCH", "/Users/seed"},
	{"PUT", "/Groups/seedgroup"}, {"PATCH", "/Groups/seedgroup"},
}

// FuzzRequestBody sends arbitrary bodies through the real SCIM handler
// (library decoding, compat middleware, PATCH engine, bridge validation and
// mapping) against memHelix. Whatever the body: no 5xx, a 4xx is a SCIM
// error, and nothing unsafe reaches what would be a p4 argv or spec.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []struct {
		target int
		body   string
	}{
		{0, `{"schemas":["` + userSchema + `"],"userName":"ada@example.com","name":{"givenName":"Ada","familyName":"Lovelace"},"emails":[{"value":"ada@example.com","type":"work","primary":true}]}`},
		{0, `{"schemas":["` + userSchema + `","` + entSchema + `"],"userName":"-x@y","externalId":"e\n","` + entSchema + `":{"manager":"boss"}}`},
		{1, `{"schemas":["` + groupSchema + `"],"displayName":"Test SCIMv2","members":[{"value":"seed"}]}`},
		{1, `{"schemas":["` + groupSchema + `"],"displayName":"a#b*c","DISPLAYNAME":"x"}`},
		{2, `{"schemas":["` + userSchema + `"],"userName":"seed@example.com","active":"False","displayName":"S"}`},
		{3, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"n@x.com"}]}`},
		{3, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false,"name.givenName":"G"}}]}`},
		{5, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"seed"},{"value":"-rf"}]}]}`},
		{5, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"seed\"]"}]}`},
		{4, `{"schemas":["` + groupSchema + `"],"displayName":"seedgroup","members":[{"value":"seed"}]}`},
	} {
		f.Add(uint8(s.target), s.body)
	}
	helix := newMemHelix()
	h := memHandler(f, helix)
	f.Fuzz(func(t *testing.T, target uint8, body string) {
		helix.reset()
		tg := fuzzTargets[int(target)%len(fuzzTargets)]
		req := httptest.NewRequest(tg.method, scimhandlers.BasePath+tg.path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		t.Logf("%s %s: %d", tg.method, tg.path, rec.Code)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", tg.method, tg.path, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct {
				Schemas []string `json:"schemas"`
				Status  string   `json:"status"`
				Detail  string   `json:"detail"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Schemas) != 1 || e.Schemas[0] != scimhandlers.ErrorSchema ||
				e.Status != strconv.Itoa(rec.Code) || rec.Header().Get("Content-Type") != "application/scim+json" {
				t.Fatalf("%s %s: %d is not a SCIM error: %s", tg.method, tg.path, rec.Code, rec.Body)
			}
		}
		if p := helix.problems(); len(p) > 0 {
			t.Fatalf("%s %s %q: unsafe value reached Helix Core: %v", tg.method, tg.path, body, p)
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusCreated && rec.Code != http.StatusNoContent && rec.Code < 400 {
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

// UserMaxAccess: the fuzzed directory grants no one more than write.
func (h *memHelix) UserMaxAccess(_ context.Context, user string) (p4.Access, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("protects -u", user)
	return p4.AccessWrite, nil
}

// GroupMaxAccess: no group line in the fuzzed directory.
func (h *memHelix) GroupMaxAccess(_ context.Context, group string) (p4.Access, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.name("protects -g", group)
	return p4.AccessNone, nil
}
