package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// do sends one SCIM request with token and returns its status and
// Retry-After.
func (d *daemon) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// parallel runs n calls of f on conc goroutines and counts the statuses.
func parallel(n, conc int, f func(i int) int) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	idx := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				s := f(i)
				mu.Lock()
				counts[s]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		idx <- i
	}
	close(idx)
	wg.Wait()
	return counts
}

func only2xx(counts map[int]int) bool {
	for s := range counts {
		if s < 200 || s > 299 {
			return false
		}
	}
	return true
}

// TestServeBurstsWithDefaults: with the shipped defaults, a 200-request
// burst at concurrency 32 from one address and a push of 60 concurrent
// PATCHes to one group are all served: they wait for capacity, none is
// refused. With the previous fixed rates (RATE_LIMIT=50,
// RATE_LIMIT_PER_CLIENT=25) most of both got 429.
func TestServeBurstsWithDefaults(t *testing.T) {
	// The shipped command timeout too: startDaemon's 5 s, which includes a
	// command's wait for a p4 process, is short for a burst on a loaded
	// machine under -race.
	d := startDaemon(t, "P4_COMMAND_TIMEOUT=30s")
	d.client.Timeout = 0 // the daemon's own bounds decide
	counts := parallel(200, 32, func(i int) int {
		s, _ := d.do(t, "POST", "/scim/v2/Users", testToken,
			fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"burst%03d@example.com"}`, i))
		return s
	})
	if !only2xx(counts) || counts[201] != 200 {
		t.Fatalf("200 creates at concurrency 32: statuses %v, want 200 × 201", counts)
	}
	if s, _ := d.do(t, "POST", "/scim/v2/Groups", testToken,
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"push"}`); s != 201 {
		t.Fatalf("group create: %d", s)
	}
	counts = parallel(60, 60, func(i int) int {
		s, _ := d.do(t, "PATCH", "/scim/v2/Groups/push", testToken, fmt.Sprintf(
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"burst%03d"}]}]}`, i))
		return s
	})
	if !only2xx(counts) {
		t.Fatalf("60 concurrent group PATCHes: statuses %v, want all 2xx", counts)
	}
	g, ok := d.emu.Server.Group("push")
	if !ok || len(g.Users) != 60 {
		t.Fatalf("group push holds %d users, want 60", len(g.Users))
	}
}

// TestServeFloodsStartNoP4: wrong tokens and probes start no p4 command; a
// flood of wrong tokens from one address is limited (429) without costing
// the valid token from the same address anything.
func TestServeFloodsStartNoP4(t *testing.T) {
	// No periodic check during the test: every p4 command counted would
	// come from the requests. No probe budget: every probe is answered.
	// The daemon's own schedules (readiness, the licence gauges) are what
	// runs p4 without a request; set far apart, any command seen is the
	// flood's.
	d := startDaemon(t, "READY_INTERVAL=1h", "PROBE_LIMIT=0", "LICENSE_REFRESH=0")
	d.emu.Server.ResetInvocations()
	wrong := parallel(60, 8, func(i int) int {
		token := "wrong-token-0123456789abcdefghijklmnopqrstuvwxyz"
		if i%4 == 0 {
			token = ""
		}
		s, _ := d.do(t, "GET", "/scim/v2/Users?filter=userName%20eq%20%22x%22", token, "")
		return s
	})
	// The budget refills at AUTH_FAILURE_LIMIT (2/s), and a limited answer is
	// held until it has: of three failures in a row, every other one finds
	// the refilled token.
	limitedAfter := 0
	for range 3 {
		s, ra := d.do(t, "GET", "/scim/v2/Users", "still-wrong-0123456789abcdefghijklmnopqrstuvwxyz", "")
		if s == 429 && ra != "" {
			limitedAfter++
		}
	}
	if limitedAfter < 1 {
		t.Fatalf("wrong tokens after the flood: none of 3 limited (429 with Retry-After)")
	}
	probes := parallel(300, 8, func(i int) int {
		s, _ := d.do(t, "GET", []string{"/readyz", "/healthz", "/metrics"}[i%3], "", "")
		return s
	})
	if n := len(d.emu.Server.Invocations()); n != 0 {
		t.Fatalf("wrong tokens and probes started %d p4 commands, want 0: %v", n, d.emu.Server.Invocations())
	}
	if wrong[401]+wrong[429] != 60 || wrong[429] == 0 || wrong[401] < 20 {
		t.Fatalf("wrong tokens: statuses %v, want 401 for the burst of 20, then 429", wrong)
	}
	if probes[200] != 300 {
		t.Fatalf("probes: statuses %v, want 300 × 200", probes)
	}
	// The valid token from the same address spent nothing of that budget.
	if s, _ := d.do(t, "GET", "/scim/v2/Users", testToken, ""); s != 200 {
		t.Fatalf("the IdP after the flood: %d, want 200", s)
	}
}

// TestServeHelixDownAtStart: the daemon starts although Helix Core does
// not answer, says so on /readyz and to SCIM requests (503 with
// Retry-After), and serves once Helix Core comes up.
func TestServeHelixDownAtStart(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	if err := emu.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	d := startDaemonOn(t, emu, "")
	if code, _ := d.get(t, "/readyz"); code != 503 {
		t.Fatalf("readyz with Helix Core down at start = %d, want 503", code)
	}
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz = %d, want 200 (alive)", code)
	}
	if s, ra := d.do(t, "GET", "/scim/v2/Users", testToken, ""); s != 503 || ra == "" {
		t.Fatalf("SCIM before Helix Core answers: %d Retry-After %q, want 503 with Retry-After", s, ra)
	}
	if err := emu.Server.Start(); err != nil {
		t.Fatal(err)
	}
	d.waitReady(t, 200)
	if s, _ := d.do(t, "GET", "/scim/v2/Users", testToken, ""); s != 200 {
		t.Fatalf("SCIM once Helix Core answers: %d", s)
	}
}
