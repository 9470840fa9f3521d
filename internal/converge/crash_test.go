package converge_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/internal/procgroup"
	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// lockTTL is the daemons' LOCK_TTL: a crash while holding a group lock
// costs the retry at most this wait. It is short because only one process
// runs at a time here: the only lock ever taken over is a dead one's.
const (
	lockTTL         = "200ms"
	lockTTLDuration = 200 * time.Millisecond
)

// daemons runs real `p4scim serve` processes against one emulator, one
// at a time: the one a crash kills is replaced by a new process (a new
// replica id, so it cannot take back the dead one's locks and must wait for
// their TTL), as a supervisor would.
type daemons struct {
	t        testing.TB
	extraEnv []string // extra environment of every process
	// helixEnv, if set, replaces the one server and token the processes
	// are given (P4PORT, P4USER, P4PASSWD, BEARER_TOKEN): the
	// [provisioning] form (provisioning_test.go).
	helixEnv []string
	env      *p4emutest.Env
	p4scim   string
	p4       string
	cur      *daemon
	hc       *http.Client
	starts   int
}

type daemon struct {
	cmd    *exec.Cmd
	stderr string // its log file
	base   string
	exited chan struct{}
}

func (d *daemons) emu() *p4emu.Server { return d.env.Server }

func (d *daemons) login(t testing.TB, user, password string) { loginAs(t, d.env, user, password) }

// running returns the current daemon, starting one if there is none.
func (d *daemons) running(t testing.TB) *daemon {
	t.Helper()
	if d.cur != nil {
		select {
		case <-d.cur.exited:
			d.cur = nil
		default:
			return d.cur
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(d.p4scim, "serve")
	cmd.Dir = t.TempDir() // no .env is read
	helix := d.helixEnv
	if helix == nil {
		helix = []string{"P4PORT=" + d.env.Port, "P4USER=" + d.env.User, "P4PASSWD=" + d.env.Password, "BEARER_TOKEN=" + stacktest.Token}
	}
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + cmd.Dir, "P4BIN=" + d.p4,
		"LISTEN_ADDRESS=" + listen, "RATE_LIMIT=0", "RATE_LIMIT_PER_CLIENT=0",
		"DEPROVISION_GROUP=" + denyGroup, "LOCK_TTL=" + lockTTL, "LOG_LEVEL=error",
		// No background p4 commands (the licence gauges' refresh at start):
		// they would be counted among the request's and shift the crash.
		"LICENSE_REFRESH=0"}, helix...)
	cmd.Env = append(cmd.Env, d.extraEnv...)
	procgroup.Isolate(cmd)
	// A file, not a pipe: a p4 child the kill leaves behind must not keep
	// Wait from returning.
	stderr, err := os.Create(cmd.Dir + "/stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = nil, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	dm := &daemon{cmd: cmd, stderr: stderr.Name(), base: "http://" + listen + "/scim/v2", exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(dm.exited) }()
	t.Cleanup(func() { dm.kill() })
	d.starts++
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := d.hc.Get("http://" + listen + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d.cur = dm
				return dm
			}
		}
		select {
		case <-dm.exited:
			t.Fatalf("p4scim exited before it was ready: %s", readFile(cmd.Dir+"/stderr"))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("p4scim not ready after 30s: %s", readFile(cmd.Dir+"/stderr"))
		}
	}
}

func policyEnv(sc scenario) []string {
	var env []string
	if sc.deletePolicy != "" {
		env = append(env, "DELETE_POLICY="+sc.deletePolicy)
	}
	if sc.deactivateDelete {
		// No sweep runs during the test: the deletion is the request's.
		env = append(env, "DEACTIVATE_POLICY=delete", "DEACTIVATE_DELETE_AFTER=0s", "RECLAIM_INTERVAL=24h")
	}
	if sc.renames {
		env = append(env, "ALLOW_USER_RENAME=true")
	}
	return env
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// kill ends the process at once (SIGKILL: no shutdown, no lock release),
// and returns once it is gone, so that it sends no further p4 command.
func (dm *daemon) kill() {
	_ = procgroup.Kill(dm.cmd)
	<-dm.exited
}

// do sends one request; a lost connection (the daemon died) is status 0.
func (d *daemons) do(t testing.TB, s step) (int, map[string]any) {
	t.Helper()
	dm := d.running(t)
	var body io.Reader
	if s.body != nil {
		b, err := json.Marshal(s.body)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(s.method, dm.base+s.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+stacktest.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := d.hc.Do(req)
	if err != nil {
		// The connection broke because the process is dying: let it
		// finish, so that the retry reaches its successor.
		select {
		case <-dm.exited:
		case <-time.After(5 * time.Second):
			t.Logf("%s %s: %v (p4scim still running)\n%s", s.method, s.path, err, readFile(dm.stderr))
		}
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestCrashAtEveryStep is the crash kind of the enumeration: for every
// lifecycle operation and every position k of its p4 commands, the p4scim
// process serving it is killed just before its k-th command, a new process
// takes over, and the IdP's retries must end as the fault-free run did
// (answer and Helix Core state). These are real `p4scim serve` processes
// (P4BIN the emulator's client), built without -race.
func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a p4scim process per case")
	}
	p4bin, p4scim := binaries(t)
	cases := 0
	for _, sc := range append(scenarios(), releaseScenarios()...) {
		t.Run(sc.name, func(t *testing.T) {
			env := p4emutest.Start(t, p4emu.Options{})
			d := &daemons{t: t, env: env, extraEnv: policyEnv(sc), p4scim: p4scim, p4: p4bin, hc: &http.Client{Timeout: 30 * time.Second,
				Transport: &http.Transport{DisableKeepAlives: true}}}
			if sc.setup != nil {
				sc.setup(t, d)
			}
			before := env.Server.Snapshot()
			// The fault-free run, counted from the request on (the daemon
			// is up and logged in before it).
			d.running(t)
			n0 := len(env.Server.Invocations())
			wantStatus, body := d.do(t, sc.op)
			n := len(env.Server.Invocations()) - n0
			if wantStatus >= 300 {
				t.Fatalf("fault-free run: status %d: %v", wantStatus, body)
			}
			want := capture(env.Server)
			for k := 1; k <= n; k++ {
				// The daemon that served the last retry serves this case:
				// its session survives the restore.
				env.Server.Restore(before, env.User)
				dm := d.running(t)
				env.Server.FaultNth(p4emu.NthFault{N: k, Kind: p4emu.FaultCrash, Crash: dm.kill})
				status, body := send(t, d, sc.op)
				if !env.Server.NthFired() {
					t.Errorf("k=%d: the crash did not happen", k)
				}
				// A crash after a DELETE's last step, before its answer:
				// nothing is left, and the retry's 404 says so (the
				// answer the issue allows).
				if status != wantStatus && !(sc.op.method == "DELETE" && status == 404 && wantStatus == 204) {
					t.Errorf("k=%d crash: final status %d, want %d: %v", k, status, wantStatus, body)
				}
				diff := want.diff(capture(env.Server))
				if strings.Contains(diff, ".lock.") {
					// A lock the killed process held and the retry did
					// not need: it is free once its TTL has passed, which
					// is all a crash may cost.
					time.Sleep(lockTTLDuration)
					diff = want.diff(capture(env.Server))
				}
				if diff != "" {
					t.Errorf("k=%d crash: Helix Core differs from the fault-free run:\n%s", k, diff)
				}
				cases++
			}
			t.Logf("%d p4 commands fault-free; %d crash cases; %d p4scim processes", n, n, d.starts)
		})
	}
	t.Logf("%d (operation, position, crash) cases", cases)
}
