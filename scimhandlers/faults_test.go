package scimhandlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/scimhandlers"
)

// TestHelixCoreErrors checks that every Helix Core refusal reaches the IdP
// as a SCIM error with the right status and an actionable detail, and
// nothing half-made stays behind.
func TestHelixCoreErrors(t *testing.T) {
	t.Run("licence quota", func(t *testing.T) {
		st := stacktest.Start(t, stacktest.Options{Emulator: p4emu.Options{LicenseUsers: 2}})
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "one@example.com"}).Must(t, 201)
		r := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "two@example.com"}).Must(t, 403)
		if !strings.Contains(r.Str("detail"), "licence") {
			t.Fatalf("quota detail: %s", r.Body)
		}
		// Nothing half-made: the userName is free again once a licence is.
		if _, ok := st.Emu.Server.Key("p4scim.user.two"); ok {
			t.Fatal("record left behind after a refused create")
		}
		st.Do("GET", "/Users?"+filterQuery(`userName eq "two@example.com"`), nil).Must(t, 200)
	})
	t.Run("password policy", func(t *testing.T) {
		st := stacktest.Start(t, stacktest.Options{})
		r := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "weak@example.com", "password": "abc"}).Must(t, 400)
		if r.Str("scimType") != "invalidValue" || !strings.Contains(r.Str("detail"), "password") {
			t.Fatalf("policy: %s", r.Body)
		}
		if _, ok := st.Emu.Server.User("weak"); ok {
			t.Fatal("user left in Helix Core after its password was refused")
		}
		// The retry with a good password converges.
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "weak@example.com", "password": "G00d-Password"}).Must(t, 201)
	})
	t.Run("collision", func(t *testing.T) {
		st := stacktest.Start(t, stacktest.Options{})
		st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "sam@a.example"}).Must(t, 201)
		r := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "sam@b.example"}).Must(t, 409)
		if r.Str("scimType") != "uniqueness" || !strings.Contains(r.Str("detail"), "sam@a.example") {
			t.Fatalf("collision detail: %s", r.Body)
		}
	})
	t.Run("server down", func(t *testing.T) {
		st := stacktest.Start(t, stacktest.Options{})
		id := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "down@example.com"}).Must(t, 201).Str("id")
		if err := st.Emu.Server.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, req := range []struct{ method, path string }{{"GET", "/Users/" + id}, {"GET", "/Users"}, {"PATCH", "/Users/" + id}, {"DELETE", "/Users/" + id}} {
			var body any
			if req.method == "PATCH" {
				body = patch(map[string]any{"op": "replace", "path": "displayName", "value": "x"})
			}
			r := st.Do(req.method, req.path, body).Must(t, 503)
			if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n <= 0 {
				t.Fatalf("%s %s: Retry-After %q", req.method, req.path, r.Header.Get("Retry-After"))
			}
			if r.Str("status") != "503" || strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "connect") {
				t.Fatalf("%s %s: body leaks or is not SCIM: %s", req.method, req.path, r.Body)
			}
		}
		if err := st.Emu.Server.Start(); err != nil {
			t.Fatal(err)
		}
		st.Do("GET", "/Users/"+id, nil).Must(t, 200)
	})
	t.Run("hanging server", func(t *testing.T) {
		// TestHelixCoreFaults covers hangs, delays and single failing
		// commands in depth; this is the quick end-to-end check.
		st := stacktest.Start(t, stacktest.Options{CommandTimeout: 2 * time.Second})
		st.Emu.Server.SetFault("users", p4emu.Fault{Hang: true})
		start := time.Now()
		r := st.Do("GET", "/Users/anyone", nil)
		if r.Status != 503 {
			t.Fatalf("hang: status %d body %s", r.Status, r.Body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("hang answered after %v", d)
		}
		st.Emu.Server.ClearFaults()
	})
}

// TestNoSecretOnArgv drives creates, password syncs and deactivations and
// proves from the emulator's record that no password or ticket appeared in
// any p4 command line.
func TestNoSecretOnArgv(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{})
	secrets := []string{st.Emu.Password, "S3cret-Passw0rd", "0ther-Passw0rd"}
	id := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "sec@example.com", "password": secrets[1]}).Must(t, 201).Str("id")
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"password": secrets[2]}})).Must(t, 200)
	st.Do("PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}})).Must(t, 200)
	st.Do("DELETE", "/Users/"+id, nil).Must(t, 204)
	inv := st.Emu.Server.Invocations()
	if len(inv) == 0 {
		t.Fatal("no invocations recorded")
	}
	for _, in := range inv {
		line := strings.Join(in.Args, " ")
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("secret on argv: %q", line)
			}
		}
		for _, a := range in.Args {
			if a == "-P" || strings.HasPrefix(a, "-P") && len(a) > 2 {
				t.Fatalf("-P on argv: %q", line)
			}
			if isTicketLike(a) {
				t.Fatalf("ticket-like value on argv: %q", line)
			}
		}
	}
}

func isTicketLike(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'F' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// TestSyncConvergesAfterOutage: Helix Core goes down in the middle of an
// initial sync and comes back; the IdP retries what failed and the final
// state is exact, with no p4 process or goroutine left behind.
func TestSyncConvergesAfterOutage(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{CommandTimeout: 2 * time.Second})
	noLeaks := leakCheck(t)
	var want []string
	var failed []int
	for i := range 20 {
		if i == 8 {
			if err := st.Emu.Server.Stop(); err != nil {
				t.Fatal(err)
			}
		}
		if i == 14 {
			// Back, but hanging on spec writes for two requests.
			st.Emu.Server.SetFault("user", p4emu.Fault{Hang: true})
			if err := st.Emu.Server.Start(); err != nil {
				t.Fatal(err)
			}
		}
		if i == 16 {
			st.Emu.Server.ClearFaults()
		}
		name := fmt.Sprintf("sync%02d", i)
		want = append(want, name)
		r := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": name + "@example.com"})
		switch r.Status {
		case 201:
		case 503:
			if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n <= 0 {
				t.Fatalf("503 without integer Retry-After: %v", r.Header)
			}
			failed = append(failed, i)
		default:
			t.Fatalf("POST %s: %d %s", name, r.Status, r.Body)
		}
	}
	if len(failed) == 0 {
		t.Fatal("the outage failed no request")
	}
	st.Emu.Server.ClearFaults()
	// The IdP retries the failures: each converges to 201, or to 409 when
	// the first attempt got as far as creating the user.
	for _, i := range failed {
		r := st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": fmt.Sprintf("sync%02d@example.com", i)})
		if r.Status != 201 && r.Status != 409 {
			t.Fatalf("retry %d: %d %s", i, r.Status, r.Body)
		}
	}
	assertHelixUsers(t, st, want...)
	for _, name := range want {
		st.Do("GET", "/Users/"+name, nil).Must(t, 200)
	}
	// Nothing left behind: no p4 child, no goroutine that was not there
	// before the outage.
	noLeaks()
}

// leakCheck records the goroutines running now. The function it returns
// fails the test if, once connections are closed and hung p4 processes
// killed, a goroutine started since is still running (goleak retries while
// they wind down) or the test process still has a child process.
func leakCheck(t *testing.T) func() {
	t.Helper()
	before := goleak.IgnoreCurrent()
	return func() {
		t.Helper()
		http.DefaultClient.CloseIdleConnections()
		// goleak retries for about a second; a killed p4's pipes may take
		// longer to close on a loaded machine.
		// A restarted emulator's accept loop is the test's Helix Core, not
		// something the bridge left; its connection handlers do count.
		emulator := goleak.IgnoreAnyFunction("github.com/p4scim/p4scim/p4/p4emu.(*Server).serve")
		err := goleak.Find(before, emulator)
		for deadline := time.Now().Add(5 * time.Second); err != nil && time.Now().Before(deadline); {
			err = goleak.Find(before, emulator)
		}
		if err != nil {
			t.Errorf("goroutines left behind: %v", err)
		}
		var kids []string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if kids = childProcesses(t); len(kids) == 0 || time.Now().After(deadline) {
				break
			}
		}
		if len(kids) > 0 {
			t.Errorf("child processes left behind: %v", kids)
		}
	}
}

// childProcesses lists "pid command" of every process whose parent is this
// test process, from /proc/*/stat. (A thread's /proc/self/task/N/children
// only lists what that one thread forked; Go forks from any thread.)
func childProcesses(t *testing.T) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var out []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			out = append(out, string(b[:i+1]))
		}
	}
	return out
}

// TestChildProcessesSeesChildren proves the leak check can fail: a child
// this process starts is listed until it is reaped.
func TestChildProcessesSeesChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	found := slices.ContainsFunc(childProcesses(t), func(s string) bool {
		return strings.HasPrefix(s, strconv.Itoa(cmd.Process.Pid)+" ")
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !found {
		t.Fatalf("child %d not listed: %v", cmd.Process.Pid, childProcesses(t))
	}
}

// mustSCIMError checks that r is a SCIM error with the given status that
// shows nothing of what Helix Core said (addresses, p4 message texts).
func mustSCIMError(t *testing.T, r stacktest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	schemas, _ := r.JSON["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != scimhandlers.ErrorSchema || r.Str("status") != strconv.Itoa(status) ||
		r.Str("detail") == "" || r.Header.Get("Content-Type") != "application/scim+json" {
		t.Fatalf("not a SCIM error: %d %v %s", r.Status, r.Header, r.Body)
	}
	for _, leak := range []string{"127.0.0.1", "Partner exited", "validation failed", "db.", "Database", "TCP", "p4 "} {
		if strings.Contains(string(r.Body), leak) {
			t.Fatalf("body shows Helix Core internals (%q): %s", leak, r.Body)
		}
	}
}

// mustRetryAfter checks for an integer Retry-After of at least a second.
func mustRetryAfter(t *testing.T, r stacktest.Response) {
	t.Helper()
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n <= 0 {
		t.Fatalf("%d without an integer Retry-After: %q", r.Status, r.Header.Get("Retry-After"))
	}
}

// TestHelixCoreFaults injects one fault at a time into Helix Core and
// checks what the IdP sees, that the bridge recovers by itself once the
// fault is gone (same process, no restart), that the IdP's retry converges
// to exactly one resource, and that no goroutine or p4 process is left.
//
// Status: Helix Core unreachable, a dropped connection, and a command past
// its deadline (CommandTimeout) all answer 503 with Retry-After: 30, never
// 504: p4scim is the origin server the IdP talks to, not a gateway, and one
// status with one Retry-After lets Okta's and Entra's backoff treat every
// outage alike (bridge/helix.go maps p4.KindUnavailable and p4.KindTimeout
// to EUnavailable; scimhandlers/errors.go answers it; README "Errors").
// A server that fails inside (EV_FAULT 33, EV_ADMIN 35, a fatal error: a
// database or disk problem) is 503 with Retry-After too, with a detail that
// says so: nothing the IdP sent caused it.
func TestHelixCoreFaults(t *testing.T) {
	// Generous enough for a p4 process to start on a loaded 2-core CI machine;
	// the hang and past-the-deadline cases scale with it.
	const timeout = 2 * time.Second
	user := func(name string, kv ...any) map[string]any {
		m := map[string]any{"schemas": []string{userSchema}, "userName": name + "@example.com", "externalId": "ext-" + name}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	group := map[string]any{"schemas": []string{groupSchema}, "displayName": "Fault Group", "externalId": "ext-fg"}
	tests := []struct {
		name    string
		command string // the faulty p4 command ("" = every command)
		fault   p4emu.Fault
		method  string
		path    string
		body    any
		status  int           // what the IdP gets during the fault
		within  time.Duration // and how soon
		// After the fault: the IdP's retry of the same request, and the
		// Helix Core state it must leave.
		retry      []int
		users      []string
		groups     []string
		hasPasswd  string // a user whose password must be set
		otherWorks bool   // while the fault lasts, a request using other commands succeeds
		// claimKept: the create failed after its spec was saved, and
		// keeps its pending claim and user for the retry to finish
		// (bridge/lifecycle.go); otherwise a refused write leaves nothing.
		claimKept bool
	}{
		{name: "slow within the deadline", fault: p4emu.Fault{Delay: 150 * time.Millisecond},
			method: "POST", path: "/Users", body: user("slow"), status: 201, within: 10 * time.Second,
			retry: []int{409}, users: []string{"slow"}},
		{name: "slow past the deadline", fault: p4emu.Fault{Delay: 3 * timeout},
			method: "POST", path: "/Users", body: user("slower"), status: 503, within: 3 * timeout,
			retry: []int{201, 409}, users: []string{"slower"}},
		{name: "hanging", fault: p4emu.Fault{Hang: true},
			method: "GET", path: "/Users?" + filterQuery(`userName eq "x@example.com"`), status: 503, within: 3 * timeout,
			retry: []int{200}},
		{name: "hanging spec save", command: "user", fault: p4emu.Fault{Hang: true, Flag: "-i"},
			method: "POST", path: "/Users", body: user("hung"), status: 503, within: 3 * timeout,
			retry: []int{201}, users: []string{"hung"}},
		{name: "only group fails: connection dropped", command: "group", fault: p4emu.Fault{Drop: true},
			method: "POST", path: "/Groups", body: group, status: 503, within: 3 * timeout,
			retry: []int{201}, groups: []string{"Fault_Group"}, otherWorks: true},
		{name: "only group fails: hangs", command: "group", fault: p4emu.Fault{Hang: true},
			method: "POST", path: "/Groups", body: group, status: 503, within: 3 * timeout,
			retry: []int{201}, groups: []string{"Fault_Group"}, otherWorks: true},
		{name: "only passwd fails: connection dropped", command: "passwd", fault: p4emu.Fault{Drop: true},
			method: "POST", path: "/Users", body: user("pw", "password", "G00d-Passw0rd"), status: 503, within: 3 * timeout,
			retry: []int{201}, users: []string{"pw"}, hasPasswd: "pw", claimKept: true},
		{name: "only passwd fails: server fault", command: "passwd", fault: p4emu.Fault{Fail: "Operation 'db.user' failed."},
			method: "POST", path: "/Users", body: user("pwf", "password", "G00d-Passw0rd"), status: 503, within: 3 * timeout,
			retry: []int{201}, users: []string{"pwf"}, hasPasswd: "pwf", claimKept: true},
		{name: "only key fails", command: "key", fault: p4emu.Fault{Drop: true},
			method: "POST", path: "/Users", body: user("keyless"), status: 503, within: 3 * timeout,
			retry: []int{201}, users: []string{"keyless"}},
		{name: "user saved, answer lost", command: "user", fault: p4emu.Fault{Drop: true, Flag: "-i", AfterCommit: true},
			method: "POST", path: "/Users", body: user("lost"), status: 201, within: 3 * timeout,
			retry: []int{409}, users: []string{"lost"}},
		{name: "group saved, answer lost", command: "group", fault: p4emu.Fault{Drop: true, Flag: "-i", AfterCommit: true},
			method: "POST", path: "/Groups", body: group, status: 201, within: 3 * timeout,
			retry: []int{409}, groups: []string{"Fault_Group"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stacktest.Start(t, stacktest.Options{CommandTimeout: timeout})
			// A first request before the fault: connections and the
			// bridge's session exist, as in a running daemon.
			st.Do("GET", "/Users?count=1", nil).Must(t, 200)
			noLeaks := leakCheck(t)
			before := resourceState(st)

			st.Emu.Server.SetFault(tt.command, tt.fault)
			start := time.Now()
			r := st.Do(tt.method, tt.path, tt.body)
			if d := time.Since(start); d > tt.within {
				t.Errorf("answered after %v, want within %v", d, tt.within)
			}
			if tt.status >= 400 {
				mustSCIMError(t, r, tt.status)
				if tt.status == 503 {
					mustRetryAfter(t, r)
				} else if r.Header.Get("Retry-After") != "" {
					t.Errorf("%d with Retry-After %q", r.Status, r.Header.Get("Retry-After"))
				}
				// A refused write left nothing: no user, group or key.
				if after := resourceState(st); after != before && !tt.claimKept {
					t.Errorf("Helix Core changed by a failed request:\nbefore %s\nafter  %s", before, after)
				}
			} else {
				r.Must(t, tt.status)
			}
			if tt.otherWorks {
				st.Do("POST", "/Users", user("bystander")).Must(t, 201)
				tt.users = append(tt.users, "bystander")
			}

			// Helix Core is back: the same process serves again, and the
			// IdP's retry converges.
			st.Emu.Server.ClearFaults()
			r = st.Do(tt.method, tt.path, tt.body)
			if !slices.Contains(tt.retry, r.Status) {
				t.Fatalf("retry: %d %s, want one of %v", r.Status, r.Body, tt.retry)
			}
			if r.Status == 409 && r.Str("scimType") != "uniqueness" {
				t.Fatalf("retry 409 without uniqueness: %s", r.Body)
			}
			assertHelixUsers(t, st, tt.users...)
			var groups []string
			for _, g := range st.Emu.Server.Groups() {
				groups = append(groups, g.Name)
			}
			if fmt.Sprint(groups) != fmt.Sprint(slices.Sorted(slices.Values(tt.groups))) {
				t.Errorf("Helix Core groups = %v, want %v", groups, tt.groups)
			}
			// Each resource is whole: the IdP finds it by its externalId,
			// the one it sent.
			for _, u := range tt.users {
				found := st.Do("GET", "/Users?"+filterQuery(`externalId eq "ext-`+u+`"`), nil).Must(t, 200).Resources()
				if len(found) != 1 || found[0]["id"] != u {
					t.Errorf("user %s by externalId: %v", u, found)
				}
			}
			for _, g := range tt.groups {
				found := st.Do("GET", "/Groups?"+filterQuery(`displayName eq "Fault Group"`), nil).Must(t, 200).Resources()
				if len(found) != 1 || found[0]["id"] != g || found[0]["externalId"] != "ext-fg" {
					t.Errorf("group %s by displayName: %v", g, found)
				}
			}
			if tt.hasPasswd != "" && !st.Emu.Server.CheckPassword(tt.hasPasswd, "G00d-Passw0rd") {
				t.Errorf("password of %s not set after the retry", tt.hasPasswd)
			}
			assertLocksFree(t, st)
			noLeaks()
		})
	}
}

// assertLocksFree: no cross-replica lock is left held (a held lock holds
// "<replica>/<expiry>", a free one a number).
func assertLocksFree(t *testing.T, st *stacktest.Stack) {
	t.Helper()
	for k, v := range st.Emu.Server.Keys() {
		if strings.HasPrefix(k, "p4scim.lock.") && strings.Contains(v, "/") {
			t.Errorf("lock %s left held: %s", k, v)
		}
	}
}

// resourceState is helixState without free lock keys: taking and
// releasing a lock leaves its key holding a number, which is no resource.
func resourceState(st *stacktest.Stack) string {
	keys := st.Emu.Server.Keys()
	for k, v := range keys {
		if strings.HasPrefix(k, "p4scim.lock.") && !strings.Contains(v, "/") {
			delete(keys, k)
		}
	}
	return renderHelix(st, keys)
}

// TestTriggerFailsAfterSave: a form-commit trigger fails after p4d saved
// the spec, so `user -i` / `group -i` answer an error although the user
// or group exists (p4emu.Fault.AfterCommit). The IdP must not end up with
// a duplicate or a half-made resource: the first answer is 201 or a 5xx,
// the IdP's retry of the same POST is 201 or 409 uniqueness, and a GET by
// filter finds the one resource, with the externalId the IdP sent.
func TestTriggerFailsAfterSave(t *testing.T) {
	const trigger = "'ldap-sync' validation failed: sync script exited 1"
	tests := []struct {
		name, command, path, id, filter string
		body                            map[string]any
	}{
		{"user", "user", "/Users", "trig", `userName eq "trig@example.com"`,
			map[string]any{"schemas": []string{userSchema}, "userName": "trig@example.com", "externalId": "ext-trig",
				"name": map[string]any{"givenName": "Tri", "familyName": "Gger"}}},
		{"group", "group", "/Groups", "Trigger_Group", `displayName eq "Trigger Group"`,
			map[string]any{"schemas": []string{groupSchema}, "displayName": "Trigger Group", "externalId": "ext-trig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := stacktest.Start(t, stacktest.Options{})
			st.Emu.Server.SetFault(tt.command, p4emu.Fault{Fail: trigger, Generic: 5, Flag: "-i", AfterCommit: true})
			r := st.Do("POST", tt.path, tt.body)
			if r.Status != 201 && r.Status < 500 {
				t.Fatalf("first POST: %d %s", r.Status, r.Body)
			}
			if r.Status != 201 {
				mustSCIMError(t, r, r.Status)
			} else if r.Str("id") != tt.id {
				t.Fatalf("first POST made %q, want %q", r.Str("id"), tt.id)
			}
			// The trigger keeps failing: the IdP's retry must still see
			// the resource it made, not a stranger.
			r = st.Do("POST", tt.path, tt.body)
			switch {
			case r.Status == 201 && r.Str("id") == tt.id:
			case r.Status == 409 && r.Str("scimType") == "uniqueness" && !strings.Contains(r.Str("detail"), "not linked"):
			default:
				t.Fatalf("retry: %d %s", r.Status, r.Body)
			}
			st.Emu.Server.ClearFaults()
			found := st.Do("GET", tt.path+"?"+filterQuery(tt.filter), nil).Must(t, 200).Resources()
			if len(found) != 1 || found[0]["id"] != tt.id || found[0]["externalId"] != "ext-trig" {
				t.Fatalf("by filter %s: %v", tt.filter, found)
			}
			got := st.Do("GET", tt.path+"/"+tt.id, nil).Must(t, 200)
			if got.Str("externalId") != "ext-trig" {
				t.Fatalf("GET %s: %s", tt.id, got.Body)
			}
			var n int
			if tt.command == "user" {
				assertHelixUsers(t, st, tt.id)
				n = len(st.Do("GET", "/Users?"+filterQuery(`externalId eq "ext-trig"`), nil).Must(t, 200).Resources())
			} else {
				n = len(st.Do("GET", "/Groups", nil).Must(t, 200).Resources())
			}
			if n != 1 {
				t.Fatalf("%d resources, want exactly 1", n)
			}
		})
	}
}

// TestResumedSyncConverges runs an IdP's initial sync (users, groups,
// memberships, a removal, a deactivation) through a schedule of faults:
// Helix Core down, spec saves whose answer is lost, failing key writes,
// hanging group saves. Like Entra, the IdP keeps the order of operations
// per object and retries what failed on its next cycle. Helix Core must end
// in exactly the state the IdP asked for, with no stray key, held lock,
// goroutine or p4 process.
func TestResumedSyncConverges(t *testing.T) {
	st := stacktest.Start(t, stacktest.Options{CommandTimeout: time.Second})
	st.Do("GET", "/Users?count=1", nil).Must(t, 200)
	noLeaks := leakCheck(t)
	emu := st.Emu.Server

	type op struct {
		objects      []string // the objects it touches, for per-object order
		method, path string
		body         any
		ok           []int
	}
	var ops []op
	var users []string
	for i := range 10 {
		u := fmt.Sprintf("s%02d", i)
		users = append(users, u)
		ops = append(ops, op{[]string{u}, "POST", "/Users", map[string]any{"schemas": []string{userSchema},
			"userName": u + "@example.com", "externalId": "ext-" + u}, []int{201, 409}})
	}
	for _, g := range []string{"Sync A", "Sync B"} {
		ops = append(ops, op{[]string{g}, "POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": g}, []int{201, 409}})
	}
	add := func(g, gid string, members ...string) {
		ops = append(ops, op{append([]string{g}, members...), "PATCH", "/Groups/" + gid,
			patch(map[string]any{"op": "add", "path": "members", "value": membersOf(members)}), []int{204}})
	}
	add("Sync A", "Sync_A", "s00", "s01", "s02")
	add("Sync A", "Sync_A", "s03", "s04")
	add("Sync B", "Sync_B", "s05", "s06", "s07", "s08", "s09")
	ops = append(ops, op{[]string{"Sync A"}, "PATCH", "/Groups/Sync_A",
		patch(map[string]any{"op": "remove", "path": `members[value eq "s02"]`}), []int{204}})
	ops = append(ops, op{[]string{"s09"}, "PATCH", "/Users/s09",
		patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), []int{200}})

	faults := map[int]func(){
		2: func() { _ = emu.Stop() },
		4: func() {
			_ = emu.Start()
			emu.SetFault("user", p4emu.Fault{Drop: true, Flag: "-i", AfterCommit: true})
		},
		6:  func() { emu.ClearFaults(); emu.SetFault("key", p4emu.Fault{Drop: true}) },
		8:  func() { emu.ClearFaults() },
		10: func() { emu.SetFault("group", p4emu.Fault{Drop: true, Flag: "-i", AfterCommit: true}) },
		11: func() { emu.ClearFaults() },
		13: func() { _ = emu.Stop() },
		14: func() { _ = emu.Start(); emu.SetFault("group", p4emu.Fault{Hang: true, Flag: "-i"}) },
		15: func() { emu.ClearFaults() },
	}
	pending := ops
	failures := 0
	for cycle := 0; len(pending) > 0; cycle++ {
		if cycle == 4 {
			t.Fatalf("not converged after %d cycles; left: %v", cycle, pending)
		}
		blocked := map[string]bool{}
		var next []op
		for i, o := range pending {
			if f := faults[i]; cycle == 0 && f != nil {
				f()
			}
			postpone := func() {
				for _, obj := range o.objects {
					blocked[obj] = true
				}
				next = append(next, o)
			}
			if slices.ContainsFunc(o.objects, func(obj string) bool { return blocked[obj] }) {
				postpone()
				continue
			}
			r := st.Do(o.method, o.path, o.body)
			if slices.Contains(o.ok, r.Status) {
				continue
			}
			if r.Status < 500 && cycle == 0 {
				t.Fatalf("%s %s: %d %s (a fault must answer 5xx)", o.method, o.path, r.Status, r.Body)
			}
			if r.Status >= 500 {
				mustSCIMError(t, r, r.Status)
				if r.Status == 503 {
					mustRetryAfter(t, r)
				}
			}
			failures++
			postpone()
		}
		emu.ClearFaults() // every Stop above has its Start within the cycle
		pending = next
	}
	if failures == 0 {
		t.Fatal("the faults failed no request")
	}

	assertHelixUsers(t, st, users...)
	assertMembers(t, st, "Sync_A", "s00", "s01", "s03", "s04")
	assertMembers(t, st, "Sync_B", "s05", "s06", "s07", "s08", "s09")
	if n := len(emu.Groups()); n != 2 {
		t.Errorf("%d Helix Core groups, want 2", n)
	}
	for _, u := range users {
		found := st.Do("GET", "/Users?"+filterQuery(`externalId eq "ext-`+u+`"`), nil).Must(t, 200).Resources()
		if len(found) != 1 || found[0]["id"] != u || found[0]["active"] != (u != "s09") {
			t.Errorf("user %s: %v", u, found)
		}
		if spec, _ := emu.User(u); spec.Email != u+"@example.com" {
			t.Errorf("user %s Email %q", u, spec.Email)
		}
	}
	// Every index key points at a user or group that exists; every record
	// belongs to one.
	for k, v := range emu.Keys() {
		switch {
		case strings.HasPrefix(k, "p4scim.username."), strings.HasPrefix(k, "p4scim.extid."), strings.HasPrefix(k, "p4scim.email."):
			if _, ok := emu.User(v); !ok {
				t.Errorf("index %s points at missing user %q", k, v)
			}
		case strings.HasPrefix(k, "p4scim.user."):
			if _, ok := emu.User(strings.TrimPrefix(k, "p4scim.user.")); !ok {
				t.Errorf("record %s of a missing user", k)
			}
		case strings.HasPrefix(k, "p4scim.group."), strings.HasPrefix(k, "p4scim.groupname."):
			name := strings.TrimPrefix(k, "p4scim.group.")
			if strings.HasPrefix(k, "p4scim.groupname.") {
				name = v
			}
			if _, ok := emu.Group(name); !ok {
				t.Errorf("key %s of a missing group", k)
			}
		}
	}
	assertLocksFree(t, st)
	noLeaks()
}
