package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// TestCheckSSLTrustFile: for an ssl: P4PORT, a P4TRUST file that holds the
// server is enough (no P4_TRUST_FINGERPRINT, no P4_TRUST_ANY): check passes
// every line, so serve starts. One that does not hold it fails as a trust
// problem that names the fix, not as credentials.
func TestCheckSSLTrustFile(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	port, trusted, empty := emu.TrustFiles(t)
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		trust   string
		ok      bool
		want    []string // in the output
		notWant []string
	}{
		{name: "trust file holding the server", trust: trusted, ok: true,
			want: []string{"ok   Helix Core reachable at " + port, "ok   logged in as " + emu.User, "ok   keys writable"}},
		{name: "trust file without the server", trust: empty,
			want:    []string{"FAIL Helix Core reachable at " + port + ": the server's SSL certificate is not trusted", "P4_TRUST_FINGERPRINT", "P4TRUST"},
			notWant: []string{"credentials refused", "check P4PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(os.Environ(), "BEARER_TOKEN="+testToken, "P4PORT="+port, "P4USER="+emu.User,
				"P4PASSWD="+emu.Password, "P4BIN="+emu.Bin, "P4TICKETS="+filepath.Join(t.TempDir(), "tickets"), "P4TRUST="+tt.trust)
			var out strings.Builder
			code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out)
			if (code == 0) != tt.ok {
				t.Fatalf("exit %d, want ok=%v:\n%s", code, tt.ok, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
