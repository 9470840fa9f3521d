package routing_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
	"github.com/p4scim/p4scim/routing"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

// Three servers and two IdPs, as in HAS's example: canine is served by
// chicago (its leader) and tokyo; feline by tokyo (its leader) and paris.
var threeServers = stacktest.MultiOptions{
	Servers: []string{"chicago", "tokyo", "paris"},
	Domains: map[string][]string{
		"canine": {"chicago", "tokyo"},
		"feline": {"tokyo", "paris"},
	},
}

// syncBuffer is a log destination the handlers' goroutines share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func user(name string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name + "@example.com",
		"name":     map[string]any{"givenName": name, "familyName": "Test"},
		"emails":   []any{map[string]any{"value": name + "@example.com", "primary": true}},
		"active":   true,
	}
}

func group(name string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
	}
}

func patch(ops ...map[string]any) map[string]any {
	list := make([]any, 0, len(ops))
	for _, op := range ops {
		list = append(list, op)
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": list}
}

// hasUser reports whether a server has the Helix Core user, read with p4
// directly, not through the bridge.
func hasUser(t *testing.T, m *stacktest.Multi, server, name string) bool {
	t.Helper()
	users, err := m.Backends[server].Client.Users(context.Background(), name)
	if err != nil {
		t.Fatalf("%s: users %s: %v", server, name, err)
	}
	return len(users) == 1
}

// where lists the servers that have the user, in server order.
func where(t *testing.T, m *stacktest.Multi, name string) []string {
	t.Helper()
	var out []string
	for _, s := range []string{"chicago", "tokyo", "paris"} {
		if _, ok := m.Backends[s]; ok && hasUser(t, m, s, name) {
			out = append(out, s)
		}
	}
	return out
}

func TestEachDomainWritesExactlyItsServers(t *testing.T) {
	m := stacktest.StartMulti(t, threeServers)
	m.Do("canine", "POST", "/Users", user("rex")).Must(t, http.StatusCreated)
	m.Do("feline", "POST", "/Users", user("tom")).Must(t, http.StatusCreated)
	if got := where(t, m, "rex"); !slices.Equal(got, []string{"chicago", "tokyo"}) {
		t.Errorf("canine's user is on %v, want chicago and tokyo", got)
	}
	if got := where(t, m, "tom"); !slices.Equal(got, []string{"tokyo", "paris"}) {
		t.Errorf("feline's user is on %v, want tokyo and paris", got)
	}

	// Reads come from the domain's leader: chicago has no tom.
	if r := m.Do("canine", "GET", "/Users/tom", nil); r.Status != http.StatusNotFound {
		t.Errorf("canine GET of feline's user: %d, want 404 (chicago, canine's leader, has none)", r.Status)
	}
	got := m.Do("feline", "GET", "/Users/tom", nil).Must(t, http.StatusOK)
	if got.Str("userName") != "tom@example.com" {
		t.Errorf("feline GET: userName %q", got.Str("userName"))
	}

	// A group, and its membership, reach exactly the domain's servers.
	g := m.Do("feline", "POST", "/Groups", group("cats")).Must(t, http.StatusCreated)
	m.Do("feline", "PATCH", "/Groups/"+g.Str("id"), patch(map[string]any{
		"op": "add", "path": "members", "value": []any{map[string]any{"value": "tom"}},
	})).Must(t, http.StatusNoContent)
	for server, want := range map[string]bool{"chicago": false, "tokyo": true, "paris": true} {
		grp, err := m.Backends[server].Client.Group(context.Background(), "cats")
		has := err == nil && slices.Contains(grp.Users, "tom")
		if has != want {
			t.Errorf("%s: group cats with tom = %v, want %v (err %v)", server, has, want, err)
		}
	}
}

func TestAFollowerDownAnswers503AndTheRetryFinishes(t *testing.T) {
	var logs syncBuffer
	opts := threeServers
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	m := stacktest.StartMulti(t, opts)
	paris := m.Backends["paris"].Emu.Server

	// Create: tokyo takes it, paris is down.
	if err := paris.Stop(); err != nil {
		t.Fatal(err)
	}
	r := m.Do("feline", "POST", "/Users", user("felix"))
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("create with a follower down: %d (Retry-After %q), want 503 with Retry-After; %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if detail := r.Str("detail"); !strings.Contains(detail, "tokyo") || !strings.Contains(detail, "not on paris") {
		t.Errorf("detail %q does not say where the write is done and where not", detail)
	}
	if audit := logs.String(); !strings.Contains(audit, `"domain":"feline"`) || !strings.Contains(audit, `"servers":"tokyo"`) ||
		!strings.Contains(audit, `"servers_missing":"paris"`) {
		t.Errorf("the audit line of the partial create does not name the domain and the servers written and missed:\n%s", audit)
	}
	// The other domain does not need paris: it is not blocked.
	m.Do("canine", "POST", "/Users", user("rex")).Must(t, http.StatusCreated)
	if err := paris.Start(); err != nil {
		t.Fatal(err)
	}
	if got := where(t, m, "felix"); !slices.Equal(got, []string{"tokyo"}) {
		t.Fatalf("after the partial create felix is on %v, want tokyo only", got)
	}
	m.Do("feline", "POST", "/Users", user("felix")).Must(t, http.StatusCreated)
	if got := where(t, m, "felix"); !slices.Equal(got, []string{"tokyo", "paris"}) {
		t.Fatalf("after the retry felix is on %v, want tokyo and paris", got)
	}
	// Done everywhere: a third create is the IdP's create of an existing user.
	m.Do("feline", "POST", "/Users", user("felix")).Must(t, http.StatusConflict)

	// Deactivate with paris down, then retry.
	_ = paris.Stop()
	deactivate := patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})
	m.Do("feline", "PATCH", "/Users/felix", deactivate).Must(t, http.StatusServiceUnavailable)
	_ = paris.Start()
	m.Do("feline", "PATCH", "/Users/felix", deactivate).Must(t, http.StatusOK)
	for _, s := range []string{"tokyo", "paris"} {
		u, err := m.Backends[s].Service.GetUser(context.Background(), "felix")
		if err != nil || u.Doc["active"] != false {
			t.Errorf("%s: felix active = %v (err %v), want false", s, u.Doc["active"], err)
		}
	}

	// Delete with paris down, then retry; then nothing is left to delete.
	_ = paris.Stop()
	m.Do("feline", "DELETE", "/Users/felix", nil).Must(t, http.StatusServiceUnavailable)
	_ = paris.Start()
	m.Do("feline", "DELETE", "/Users/felix", nil).Must(t, http.StatusNoContent)
	for _, s := range []string{"tokyo", "paris"} {
		if _, err := m.Backends[s].Service.GetUser(context.Background(), "felix"); err == nil {
			t.Errorf("%s: felix still visible after the retried delete", s)
		}
	}
	m.Do("feline", "DELETE", "/Users/felix", nil).Must(t, http.StatusNotFound)
}

func TestALeaderDownWritesNothing(t *testing.T) {
	m := stacktest.StartMulti(t, threeServers)
	tokyo := m.Backends["tokyo"].Emu.Server
	_ = tokyo.Stop()
	r := m.Do("feline", "POST", "/Users", user("felix"))
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Str("detail"), "tokyo") {
		t.Fatalf("create with the leader down: %d %s, want 503 naming tokyo", r.Status, r.Body)
	}
	m.Do("feline", "GET", "/Users/felix", nil).Must(t, http.StatusServiceUnavailable)
	// canine's leader, chicago, is up: its write lands there, 503 for
	// tokyo, and the retry finishes it once tokyo is back.
	m.Do("canine", "POST", "/Users", user("rex")).Must(t, http.StatusServiceUnavailable)
	_ = tokyo.Start()
	if got := where(t, m, "felix"); len(got) != 0 {
		t.Fatalf("a create the leader refused reached %v", got)
	}
	m.Do("canine", "POST", "/Users", user("rex")).Must(t, http.StatusCreated)
	if got := where(t, m, "rex"); !slices.Equal(got, []string{"chicago", "tokyo"}) {
		t.Fatalf("rex is on %v after the retry, want chicago and tokyo", got)
	}
}

// A server that missed a user's create gets it from a later PUT or PATCH.
func TestAWriteCreatesWhatAServerMissed(t *testing.T) {
	m := stacktest.StartMulti(t, threeServers)
	paris := m.Backends["paris"].Emu.Server
	_ = paris.Stop()
	m.Do("feline", "POST", "/Users", user("felix")).Must(t, http.StatusServiceUnavailable)
	m.Do("feline", "POST", "/Groups", group("cats")).Must(t, http.StatusServiceUnavailable)
	_ = paris.Start()

	// The IdP does not retry the create but sends the next change.
	m.Do("feline", "PATCH", "/Users/felix", patch(map[string]any{
		"op": "replace", "path": "displayName", "value": "Felix the Cat",
	})).Must(t, http.StatusOK)
	u, err := m.Backends["paris"].Service.GetUser(context.Background(), "felix")
	if err != nil || u.Doc["displayName"] != "Felix the Cat" {
		t.Fatalf("paris: felix = %v (err %v), want created with the patched displayName", u.Doc, err)
	}
	m.Do("feline", "PATCH", "/Groups/cats", patch(map[string]any{
		"op": "add", "path": "members", "value": []any{map[string]any{"value": "felix"}},
	})).Must(t, http.StatusNoContent)
	g, err := m.Backends["paris"].Client.Group(context.Background(), "cats")
	if err != nil || !slices.Contains(g.Users, "felix") {
		t.Fatalf("paris: group cats = %+v (err %v), want created with felix", g, err)
	}
}

// Two replicas patch one group's members at once, each request on either:
// every server of the domain ends with every member.
func TestConcurrentGroupPatchesOnTwoReplicasConverge(t *testing.T) {
	opts := threeServers
	m := stacktest.StartMulti(t, opts)
	second := m.Serve(opts)
	const n = 12
	for i := range n {
		m.Do("canine", "POST", "/Users", user(fmt.Sprintf("dog%02d", i))).Must(t, http.StatusCreated)
	}
	g := m.Do("canine", "POST", "/Groups", group("dogs")).Must(t, http.StatusCreated)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := []*httptest.Server{m.Server, second}[i%2]
			r := m.DoAt(srv, "canine", "PATCH", "/Groups/"+g.Str("id"), patch(map[string]any{
				"op": "add", "path": "members", "value": []any{map[string]any{"value": fmt.Sprintf("dog%02d", i)}},
			}))
			if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
				errs <- fmt.Sprintf("patch %d: %d %s", i, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for _, s := range []string{"chicago", "tokyo"} {
		grp, err := m.Backends[s].Client.Group(context.Background(), "dogs")
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if len(grp.Users) != n {
			t.Errorf("%s: group has %d members %v, want all %d", s, len(grp.Users), grp.Users, n)
		}
	}
}

// TestP4CommandsPerServer pins what a write costs each server of a
// two-server domain: the leader pays what one server alone pays (the
// numbers of scimhandlers' TestP4CommandsPerOperation), the follower the
// same, and a read costs the follower nothing. Routing adds no command.
func TestP4CommandsPerServer(t *testing.T) {
	m := stacktest.StartMulti(t, stacktest.MultiOptions{Servers: []string{"lead", "follow"}, Domains: map[string][]string{"d": {"lead", "follow"}}})
	m.Do("d", "POST", "/Users", user("rex")).Must(t, http.StatusCreated)
	m.Do("d", "POST", "/Groups", group("dogs")).Must(t, http.StatusCreated)
	cases := []struct {
		name           string
		method, path   string
		body           any
		status         int
		leader, follow int
	}{
		{"create user", "POST", "/Users", user("fido"), http.StatusCreated, 9, 9},
		{"get user", "GET", "/Users/rex", nil, http.StatusOK, 3, 0},
		{"deactivate user", "PATCH", "/Users/fido", patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), http.StatusOK, -1, -1},
		{"add member", "PATCH", "/Groups/dogs", patch(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "rex"}}}), http.StatusNoContent, -1, -1},
		{"list users", "GET", "/Users", nil, http.StatusOK, -1, 0},
	}
	for _, c := range cases {
		lead, follow := m.Backends["lead"].Emu.Server, m.Backends["follow"].Emu.Server
		l0, f0 := len(lead.Invocations()), len(follow.Invocations())
		m.Do("d", c.method, c.path, c.body).Must(t, c.status)
		l, f := len(lead.Invocations())-l0, len(follow.Invocations())-f0
		switch {
		case c.leader >= 0 && l != c.leader:
			t.Errorf("%s: %d p4 commands on the leader, want %d", c.name, l, c.leader)
		case c.follow >= 0 && f != c.follow:
			t.Errorf("%s: %d p4 commands on the follower, want %d", c.name, f, c.follow)
		case c.leader < 0 && c.follow < 0 && l != f:
			// Where the count is not pinned here, the follower replays the
			// leader's request and pays exactly what the leader pays.
			t.Errorf("%s: %d p4 commands on the leader, %d on the follower; want the same", c.name, l, f)
		}
	}
}

// A request whose domain is not (yet) in the router is answered 503 and
// reaches no server: never another domain's.
func TestRouterNeverLendsADomainsServers(t *testing.T) {
	b := stacktest.StartBackend(t, "only", stacktest.Options{})
	r := routing.New(func(context.Context) string { return "feline" }, map[string]bridge.Provisioner{"canine": b.Service})
	before := len(b.Emu.Server.Invocations())
	_, err := r.CreateUser(context.Background(), user("tom"))
	if bridge.ErrorCode(err) != bridge.EUnavailable || !strings.Contains(bridge.ErrorMessage(err), `"feline"`) {
		t.Fatalf("create in a domain the router lacks: %v, want unavailable naming the domain", err)
	}
	if err := r.DeleteGroup(context.Background(), "cats"); bridge.ErrorCode(err) != bridge.EUnavailable {
		t.Fatalf("delete in a domain the router lacks: %v, want unavailable", err)
	}
	if n := len(b.Emu.Server.Invocations()) - before; n != 0 {
		t.Fatalf("%d p4 commands reached another domain's server", n)
	}
}
