package scimhandlers_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/p4scim/p4scim/internal/stacktest"
	"github.com/p4scim/p4scim/scimhandlers"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestDryRunChangesNothing sends writes through a dry-run bridge: each is
// validated and answered, the log names the p4 commands, and Helix Core's
// state is exactly what it was.
func TestDryRunChangesNothing(t *testing.T) {
	var log syncBuffer
	st := stacktest.Start(t, stacktest.Options{DryRun: slog.New(slog.NewTextHandler(&log, nil))})
	before := helixState(st)

	r := st.Do("POST", "/Users", oktaUser("dry.user@example.com", "Dry", "Run", "S3cret-Passw0rd")).Must(t, 201)
	if r.Str("id") != "dry.user" {
		t.Fatalf("dry-run create: %s", r.Body)
	}
	st.Do("POST", "/Groups", map[string]any{"schemas": []string{groupSchema}, "displayName": "Dry Group"}).Must(t, 201)
	// Invalid input is still refused: a dry run validates.
	st.Do("POST", "/Users", map[string]any{"schemas": []string{userSchema}, "userName": "-bad@example.com"}).Must(t, 400)

	if after := helixState(st); after != before {
		t.Fatalf("dry run changed Helix Core:\nbefore %s\nafter  %s", before, after)
	}
	out := log.String()
	for _, want := range []string{`p4="user -i -f"`, `User=\"dry.user\"`, `p4="passwd dry.user"`, `p4="group -i"`, `Owners0=\"` + st.Emu.User} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "S3cret-Passw0rd") {
		t.Fatal("dry-run log holds the password")
	}
}

// TestAuditLine checks one audit line per change with the token's name,
// the p4 commands the request ran and the result, and no secret.
func TestAuditLine(t *testing.T) {
	var log syncBuffer
	st := stacktest.Start(t, stacktest.Options{Handler: scimhandlers.Options{Logger: slog.New(slog.NewJSONHandler(&log, nil))}})
	st.Do("POST", "/Users", oktaUser("audit.user@example.com", "Au", "Dit", "Aud1t-Secret!")).Must(t, 201)
	st.Do("POST", "/Users", oktaUser("audit.user@example.com", "Au", "Dit", "Aud1t-Secret!")).Must(t, 409)
	var lines []map[string]any
	for _, l := range strings.Split(log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "audit" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("audit lines = %d:\n%s", len(lines), log.String())
	}
	ok, refused := lines[0], lines[1]
	if ok["token"] != "test" || ok["operation"] != "create" || ok["id"] != "audit.user" || ok["result"] != "ok" ||
		!strings.Contains(ok["p4"].(string), "user -i -f") || !strings.Contains(ok["p4"].(string), "passwd") || ok["p4_count"] != float64(9) {
		t.Fatalf("audit line: %v", ok)
	}
	if !strings.HasPrefix(refused["result"].(string), "conflict") {
		t.Fatalf("refused create audit: %v", refused)
	}
	if strings.Contains(log.String(), "Aud1t-Secret!") || strings.Contains(log.String(), stacktest.Token) {
		t.Fatal("secret in the log")
	}
}

// TestRequestLogP4Time checks that every request's log line says how many
// p4 commands it ran, matching the audit line, and how much of its
// duration they took.
func TestRequestLogP4Time(t *testing.T) {
	var log syncBuffer
	st := stacktest.Start(t, stacktest.Options{Handler: scimhandlers.Options{Logger: slog.New(slog.NewJSONHandler(&log, nil))}})
	st.Do("POST", "/Users", oktaUser("timed.user@example.com", "Ti", "Med", "T1med-Secret!")).Must(t, 201)
	st.Do("GET", "/Users/timed.user", nil).Must(t, 200)
	st.Do("GET", "/Users/no-such-user-here", nil).Must(t, 404)
	var requests, audits []map[string]any
	for _, l := range strings.Split(log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			continue
		}
		switch m["msg"] {
		case "request":
			requests = append(requests, m)
		case "audit":
			audits = append(audits, m)
		}
	}
	if len(requests) != 3 || len(audits) != 1 {
		t.Fatalf("request lines %d, audit lines %d:\n%s", len(requests), len(audits), log.String())
	}
	// GET user: users, key, and groups -u for its groups attribute. A
	// missing id: users, the key of a released user's record, and the
	// alias of a renamed user's id.
	for i, wantCmds := range []float64{audits[0]["p4_count"].(float64), 3, 3} {
		r := requests[i]
		dur, _ := r["duration_ms"].(float64)
		inP4, _ := r["p4_ms"].(float64)
		if r["p4_commands"] != wantCmds || inP4 <= 0 || inP4 > dur {
			t.Errorf("request line %d: p4_commands=%v (want %v) p4_ms=%v duration_ms=%v", i, r["p4_commands"], wantCmds, inP4, dur)
		}
	}
}
