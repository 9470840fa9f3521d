package converge_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// pair is real p4scim processes serving one domain of two servers, lead
// (its leader) and follow, from a [provisioning] config file: the client
// of the scenarios, whose users log in on both servers.
type pair struct {
	*daemons
	lead, follow *p4emutest.Env
}

func (p *pair) login(t testing.TB, user, password string) {
	loginAs(t, p.lead, user, password)
	loginAs(t, p.follow, user, password)
}

func provisioningEnv(t testing.TB, lead, follow *p4emutest.Env) []string {
	t.Helper()
	server := func(name string, e *p4emutest.Env, leads string) string {
		return fmt.Sprintf("[[provisioning.servers]]\nname = %q\np4port = %q\np4user = %q\np4passwd = %q\ndomains = [\"d\"]\nleader = [%s]\n",
			name, e.Port, e.User, e.Password, leads)
	}
	text := "[[provisioning.providers]]\nbearer_token = \"" + stacktest.Token + "\"\ndomain = \"d\"\n" +
		server("lead", lead, `"d"`) + server("follow", follow, "")
	file := filepath.Join(t.TempDir(), "provisioning.toml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"CONFIG_FILE=" + file}
}

// TestCrashAtEveryStepOfTwoServers is TestCrashAtEveryStep for a domain of
// two servers: for every lifecycle operation, the process is killed just
// before each p4 command it sends the leader, and each it sends the
// follower; a new process takes over and the IdP's retries must end with
// the fault-free answer, and each server in its fault-free state.
func TestCrashAtEveryStepOfTwoServers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a p4scim process per case")
	}
	p4bin, p4scim := binaries(t)
	cases := 0
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			lead, follow := p4emutest.Start(t, p4emu.Options{}), p4emutest.Start(t, p4emu.Options{})
			p := &pair{lead: lead, follow: follow, daemons: &daemons{t: t, env: lead, extraEnv: policyEnv(sc), helixEnv: provisioningEnv(t, lead, follow),
				p4scim: p4scim, p4: p4bin, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}}
			if sc.setup != nil {
				sc.setup(t, p)
			}
			servers := []*p4emutest.Env{lead, follow}
			var before []*p4emu.State
			for _, e := range servers {
				before = append(before, e.Server.Snapshot())
			}
			p.running(t)
			n0 := []int{len(lead.Server.Invocations()), len(follow.Server.Invocations())}
			wantStatus, body := p.do(t, sc.op)
			if wantStatus >= 300 {
				t.Fatalf("fault-free run: status %d: %v", wantStatus, body)
			}
			var want []helixState
			var sent []int // p4 commands of the fault-free run, per server
			for i, e := range servers {
				want = append(want, capture(e.Server))
				sent = append(sent, len(e.Server.Invocations())-n0[i])
			}
			for i, target := range servers {
				n := sent[i]
				if n == 0 {
					t.Fatalf("the fault-free run sent server %d no command", i)
				}
				for k := 1; k <= n; k++ {
					for j, e := range servers {
						e.Server.Restore(before[j], e.User)
					}
					dm := p.running(t)
					target.Server.FaultNth(p4emu.NthFault{N: k, Kind: p4emu.FaultCrash, Crash: dm.kill})
					status, body := send(t, p, sc.op)
					if !target.Server.NthFired() {
						t.Errorf("server %d, k=%d: the crash did not happen", i, k)
					}
					if status != wantStatus && !(sc.op.method == "DELETE" && status == 404 && wantStatus == 204) {
						t.Errorf("server %d, k=%d crash: final status %d, want %d: %v", i, k, status, wantStatus, body)
					}
					for j, e := range servers {
						diff := want[j].diff(capture(e.Server))
						if strings.Contains(diff, ".lock.") {
							time.Sleep(lockTTLDuration) // a dead process's lock is free after its TTL
							diff = want[j].diff(capture(e.Server))
						}
						if diff != "" {
							t.Errorf("server %d, k=%d crash: server %d differs from the fault-free run:\n%s", i, k, j, diff)
						}
					}
					cases++
				}
			}
		})
	}
	t.Logf("%d (operation, server, position, crash) cases", cases)
}
