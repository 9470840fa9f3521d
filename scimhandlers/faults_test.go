package scimhandlers_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/p4/p4emu"
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
	st := stacktest.Start(t, stacktest.Options{CommandTimeout: time.Second})
	goroutines := runtime.NumGoroutine()
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
	// Nothing left behind: no p4 child, goroutines back to where they were.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines+5 {
		t.Fatalf("goroutines: %d before, %d after", goroutines, n)
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/children", os.Getpid())); err == nil && len(strings.TrimSpace(string(data))) > 0 {
		t.Fatalf("p4 children left: %s", data)
	}
}
