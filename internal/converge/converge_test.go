package converge_test

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

// inProcess is the whole stack in this process (HTTP handler, bridge,
// p4 exec'ing the emulator).
type inProcess struct{ st *stacktest.Stack }

func (c inProcess) do(t testing.TB, s step) (int, map[string]any) {
	r := c.st.Do(s.method, s.path, s.body)
	return r.Status, r.JSON
}

func (c inProcess) emu() *p4emu.Server { return c.st.Emu.Server }

func (c inProcess) login(t testing.TB, user, password string) {
	t.Helper()
	loginAs(t, c.st.Emu, user, password)
}

// loginAs gives user a session, as `p4 login` on the user's machine does.
func loginAs(t testing.TB, env *p4emutest.Env, user, password string) {
	t.Helper()
	tickets := filepath.Join(t.TempDir(), "tickets")
	cmd := exec.Command(env.Bin, "login")
	cmd.Env = append(env.Environ(), "P4USER="+user, "P4TICKETS="+tickets)
	cmd.Stdin = bytes.NewBufferString(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("p4 login %s: %v: %s", user, err, out)
	}
	if env.Server.Tickets(user) == 0 {
		t.Fatalf("p4 login %s: no session", user)
	}
}

// binaries builds the emulator's p4 client and p4scim, without -race: the
// enumeration runs thousands of p4 commands, and a race-instrumented p4
// takes several times longer to start. The code under test in
// TestFaultAtEveryStep (handler, bridge, p4 package) still runs in this
// race-instrumented test binary.
func binaries(t testing.TB) (p4, p4scim string) {
	t.Helper()
	dir := t.TempDir()
	p4, p4scim = filepath.Join(dir, "p4"), filepath.Join(dir, "p4scim")
	for _, b := range []struct{ pkg, out string }{{"../../cmd/p4emu", p4}, {"../../cmd/p4scim", p4scim}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return p4, p4scim
}

// TestFaultAtEveryStep is the enumeration: for every lifecycle operation,
// every position k of its p4 commands, and the two kinds of fault a
// running process sees (the command not run; run with its answer lost),
// the IdP's retries end with the fault-free run's answer and Helix Core's
// fault-free state: users, which passwords work, sessions, groups' Users
// and Owners, the bridge's keys. The crash kind is TestCrashAtEveryStep.
func TestFaultAtEveryStep(t *testing.T) {
	p4bin, _ := binaries(t)
	cases := 0
	for _, sc := range append(scenarios(), releaseScenarios()...) {
		t.Run(sc.name, func(t *testing.T) {
			st := stacktest.Start(t, stacktest.Options{P4Bin: p4bin, Bridge: bridge.Config{DenyGroup: denyGroup, Delete: bridge.DeletePolicy(sc.deletePolicy),
				Deactivate: deactivatePolicy(sc), AllowUserRename: sc.renames}})
			c := inProcess{st}
			if sc.setup != nil {
				sc.setup(t, c)
			}
			emu := st.Emu.Server
			before := emu.Snapshot()

			before0 := len(emu.Invocations())
			wantStatus, body := c.do(t, sc.op)
			n := len(emu.Invocations()) - before0
			if wantStatus >= 300 {
				t.Fatalf("fault-free run: status %d: %v", wantStatus, body)
			}
			want := capture(emu)
			checkPromise(t, sc, want)

			for k := 1; k <= n; k++ {
				for _, kind := range []p4emu.FaultKind{p4emu.FaultNotRun, p4emu.FaultReplyLost} {
					emu.Restore(before)
					emu.FaultNth(p4emu.NthFault{N: k, Kind: kind})
					status, body := send(t, c, sc.op)
					if !emu.NthFired() {
						t.Errorf("k=%d %s: the fault did not fire", k, kind)
					}
					if status != wantStatus {
						t.Errorf("k=%d %s: final status %d, want %d: %v", k, kind, status, wantStatus, body)
					}
					if d := want.diff(capture(emu)); d != "" {
						t.Errorf("k=%d %s: Helix Core differs from the fault-free run:\n%s", k, kind, d)
					}
					cases++
				}
			}
			t.Logf("%d p4 commands fault-free; %d cases", n, 2*n)
		})
	}
	t.Logf("%d (operation, position, kind) cases", cases)
}

// checkPromise checks the fault-free run itself against what the
// operation promises, so that the comparison above compares with a right
// state, not merely a repeatable one.
func checkPromise(t *testing.T, sc scenario, st helixState) {
	t.Helper()
	if sc.promise != nil {
		sc.promise(t, st)
	}
	has := func(m map[string]string, k, sub string) {
		t.Helper()
		if !bytes.Contains([]byte(m[k]), []byte(sub)) {
			t.Errorf("fault-free %s: %s is %q, want it to hold %q", sc.name, k, m[k], sub)
		}
	}
	switch sc.name {
	case "create with password":
		has(st.Users, "ada", "passwordIs=["+createPassword+"]")
	case "create without password":
		has(st.Users, "bob", "hasPassword=true passwordIs=[]")
	case "PATCH active=false", "PUT active=false", "POST active=false":
		name := map[string]string{"PATCH active=false": "carol", "PUT active=false": "dan", "POST active=false": "eve"}[sc.name]
		has(st.Users, name, "hasPassword=true passwordIs=[] sessions=0")
		has(st.Groups, denyGroup, name)
	case "reactivate with password":
		has(st.Users, "fay", "passwordIs=["+reactPassword+"]")
		if bytes.Contains([]byte(st.Groups[denyGroup]), []byte("fay")) {
			t.Errorf("fay still in the deny group: %s", st.Groups[denyGroup])
		}
	case "DELETE user, policy deactivate":
		has(st.Users, "ola", "hasPassword=true passwordIs=[] sessions=0")
		has(st.Groups, denyGroup, "ola")
		has(st.Keys, keyPrefix+"hidden.ola", "ola")
	case "rename PUT", "rename PATCH":
		from, to := "lee", "leo"
		if sc.name == "rename PATCH" {
			from, to = "max", "maxine"
		}
		if _, ok := st.Users[from]; ok {
			t.Errorf("%s not renamed", from)
		}
		has(st.Users, to, "passwordIs=["+createPassword+"] sessions=1")
		has(st.Groups, "Eng_"+from, "users=["+to+"]")
		has(st.Groups, "Leads_"+from, to)
		has(st.Keys, keyPrefix+"renamed."+from, to)
		has(st.Keys, keyPrefix+"user."+to, `"id":"`+from+`"`)
		for k, v := range st.Keys {
			if k == keyPrefix+"user."+from || strings.Contains(v, `"pending"`) || (!strings.HasPrefix(k, keyPrefix+"user.") && v == from) {
				t.Errorf("key %s = %q left by the rename", k, v)
			}
		}
	case "DELETE user":
		if _, ok := st.Users["gus"]; ok {
			t.Error("gus not deleted")
		}
		for g, m := range st.Groups {
			if bytes.Contains([]byte(m), []byte("gus")) {
				t.Errorf("group %s still names gus: %s", g, m)
			}
		}
		for _, k := range []string{keyPrefix + "user.gus", keyPrefix + "username." + hex.EncodeToString([]byte("gus@example.com")),
			keyPrefix + "email." + hex.EncodeToString([]byte("gus@example.com")), keyPrefix + "extid." + hex.EncodeToString([]byte("ext-gus"))} {
			if _, ok := st.Keys[k]; ok {
				t.Errorf("key %s of gus left", k)
			}
		}
	}
}
