package main

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// build builds a command of this module, without the race detector even
// under go test -race: the daemon and the p4 client are measured as they
// ship (a race-instrumented p4 client takes several times longer to
// start, which is not what a load test is for).
func build(t *testing.T, pkg, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

var perRequest = regexp.MustCompile(`(?m)^(\S.*?)\s+requests=(\d+) errors=(\d+) .* p4/request=([0-9.]+)`)

// phases maps each phase's name to its p4 invocations per request.
func phases(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, f := range perRequest.FindAllStringSubmatch(out, -1) {
		if f[3] != "0" {
			t.Errorf("phase %q: %s failed requests", f[1], f[3])
		}
		m[strings.TrimSpace(f[1])] = f[4]
	}
	return m
}

// TestLoadShort is the load, contention and convergence suite in short
// form: two p4scim processes on one Helix Core (emulator with 1 ms per
// command), the whole IdP scenario at two directory sizes. run fails on
// any failed request or if Helix Core's final state (users, e-mails, every
// group's exact membership after 100 concurrent adds and removes across
// both processes, deactivations) is not what the traffic made. The daemons
// run with their shipped defaults, so a 429 in the sync, the burst of 200
// at concurrency 32 or the contention phase fails it too. The p4 cost of a
// look-up and of a page must not grow with the directory.
func TestLoadShort(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	daemon := build(t, "../p4scim", "p4scim")
	p4 := build(t, "../p4emu", "p4") // the emulator's client, as p4
	costs := map[string]map[string]string{}
	for _, users := range []string{"100", "400"} {
		var out, errOut bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		err := run(ctx, []string{"-daemon", daemon, "-p4", p4, "-replicas", "2", "-users", users, "-groups", "5", "-members", "150",
			"-updates", "20", "-contention", "100", "-entra-cycles", "10", "-entra-rate", "50", "-p4-latency", "1ms", "-flood-lookups", "60"}, &out, &errOut)
		cancel()
		t.Logf("users=%s:\n%s", users, out.String())
		if err != nil {
			t.Fatalf("users=%s: %v\n%s", users, err, errOut.String())
		}
		if !strings.Contains(out.String(), "Helix Core state: as the traffic should have made it") {
			t.Fatalf("users=%s: no state verdict", users)
		}
		costs[users] = phases(t, out.String())
	}
	for _, phase := range []string{"lookup: filter userName", "lookup: filter externalId", "import: GET /Users page",
		"sync: POST /Users", "incr: PUT /Users", "incr: PATCH active=false"} {
		small, large := costs["100"][phase], costs["400"][phase]
		a, aerr := strconv.ParseFloat(small, 64)
		b, berr := strconv.ParseFloat(large, 64)
		// The emulator counts every command, also the daemons' own
		// scheduled ones (a readiness check, the licence gauges) that fall
		// in a phase: a few in hundreds of requests. A cost that grows with
		// the directory (a scan) is a whole command or more per request.
		if aerr != nil || berr != nil || math.Abs(a-b) > 0.05 {
			t.Errorf("%s: %s p4 commands per request at 100 users, %s at 400", phase, small, large)
		}
	}
}

func TestParseFlagsRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{},                                 // no -daemon
		{"-daemon", "x", "-users", "0"},    // no users
		{"-daemon", "x", "-replicas", "0"}, // no daemon
		{"-daemon", "x", "-groups", "0"},   // memberships without groups
		{"-daemon", "x", "-users", "10", "-contention", "11"},
		{"-daemon", "x", "-entra-rate", "0"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-daemon", "x"}, &bytes.Buffer{}); err != nil {
		t.Errorf("defaults refused: %v", err)
	}
}
