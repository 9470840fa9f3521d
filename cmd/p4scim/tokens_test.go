package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/config"
	"github.com/p4scim/p4scim/scimhandlers/auth"
)

const (
	tokOld = "old-token-0123456789abcdefghijklmnopqrstuvwxyz"
	tokNew = "new-token-9876543210zyxwvutsrqponmlkjihgfedcba"
)

// TestServeTokenFileRotation: a running daemon picks up a rotated
// BEARER_TOKEN_FILE without a restart: the new token is accepted, the
// removed one refused, and BEARER_TOKEN stays valid throughout. Removing
// the file refuses its tokens.
func TestServeTokenFileRotation(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte("okta-2025="+tokOld+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The poll below fails many times from one address: above the default
	// failure budget, which answers 429 instead of 401.
	d := startDaemon(t, "BEARER_TOKEN_FILE="+file, "AUTH_FAILURE_LIMIT=0")
	status := func(token string) int {
		req, _ := http.NewRequest("GET", d.base+"/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := d.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(tokOld); s != 200 {
		t.Fatalf("old token before the rotation: %d", s)
	}
	if s := status(tokNew); s != 401 {
		t.Fatalf("new token before the rotation: %d", s)
	}
	if err := os.WriteFile(file, []byte("# rotated\nokta-2026="+tokNew+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The daemon looks at the file at most every tokenFileCheckEvery.
	deadline := time.Now().Add(tokenFileCheckEvery + 5*time.Second)
	for status(tokNew) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the new token was not accepted after the file changed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := status(tokOld); s != 401 {
		t.Fatalf("removed token after the rotation: %d", s)
	}
	if s := status(testToken); s != 200 {
		t.Fatalf("BEARER_TOKEN after the rotation: %d", s)
	}
	// Removing the file revokes its tokens (fail closed), and says so in
	// the metrics; BEARER_TOKEN still works.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(tokenFileCheckEvery + 5*time.Second)
	for status(tokNew) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the token of a removed file is still accepted")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if s := status(testToken); s != 200 {
		t.Fatalf("BEARER_TOKEN after the file was removed: %d", s)
	}
	if _, metrics := d.get(t, "/metrics"); !strings.Contains(metrics, `p4scim_token_file_reloads_total{outcome="revoked"} 1`) {
		t.Fatalf("no revoked reload in the metrics:\n%s", metrics)
	}
}

// TestTokenReloader: a good change replaces the tokens; a file removed or
// emptied fails closed (its tokens refused, BEARER_TOKEN(S) kept, an
// error logged); a file with a bad token adds nothing and keeps only the
// tokens it still lists. Each outcome is logged without a secret and
// reported for the metric; the file is looked at no more often than
// tokenFileCheckEvery.
func TestTokenReloader(t *testing.T) {
	const fixed = "fixed-token-0123456789abcdefghijklmnopqrstu"
	tests := []struct {
		name     string
		change   func(path string) error
		accepted []string
		refused  []string
		level    string // of the line logged
		msg      string // in the line logged
		outcome  string // reported for the metric
	}{
		{"rotated", write("okta-2026=" + tokNew + "\n"), []string{tokNew, fixed}, []string{tokOld}, "INFO", "BEARER_TOKEN_FILE reloaded", tokenFileReloaded},
		{"both tokens during a rotation", write("a=" + tokOld + "\nb=" + tokNew + "\n"), []string{tokOld, tokNew, fixed}, nil, "INFO", "BEARER_TOKEN_FILE reloaded", tokenFileReloaded},
		{"emptied", write(""), []string{fixed}, []string{tokOld, tokNew}, "ERROR", "holds no token", tokenFileRevoked},
		{"only comments left", write("# okta-2025 revoked\n\n"), []string{fixed}, []string{tokOld}, "ERROR", "holds no token", tokenFileRevoked},
		{"removed", func(p string) error { return os.Remove(p) }, []string{fixed}, []string{tokOld, tokNew}, "ERROR", "cannot be read", tokenFileRevoked},
		{"unreadable", func(p string) error { return os.Chmod(p, 0) }, []string{fixed}, []string{tokOld}, "ERROR", "cannot be read", tokenFileRevoked},
		{"weak token beside the old one", write("okta-2025=" + tokOld + "\nweak=xq7wk\n"), []string{tokOld, fixed}, []string{"xq7wk"}, "WARN", `token \"weak\" is shorter than`, tokenFileRejected},
		{"weak token replacing the old one", write("okta=" + tokNew + "\nweak=xq7wk\n"), []string{fixed}, []string{tokOld, tokNew, "xq7wk"}, "WARN", `token \"weak\" is shorter than`, tokenFileRejected},
		{"secret of the fixed token", write("copy=" + fixed + "\n"), []string{fixed}, []string{tokOld}, "WARN", "same secret", tokenFileRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte("okta-2025="+tokOld+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := config.Config{TokenFile: path, FixedTokens: []auth.Token{{Name: "default", Secret: fixed}},
				Tokens: []auth.Token{{Name: "default", Secret: fixed}, {Name: "okta-2025", Secret: tokOld}}}
			var logs bytes.Buffer
			keys := auth.NewKeyring(cfg.Tokens)
			var outcomes []string
			r := newTokenReloader(cfg, keys, slog.New(slog.NewJSONHandler(&logs, nil)), func(o string) { outcomes = append(outcomes, o) })
			now := time.Now()
			r.now = func() time.Time { return now }
			h := auth.NewWithKeyring(keys, auth.Options{Refresh: r.Refresh})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			status := func(token string) int {
				req := httptest.NewRequest("GET", "/scim/v2/Users", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				return w.Code
			}
			if err := tt.change(path); err != nil {
				t.Fatal(err)
			}
			if status(tokOld) != 200 {
				t.Fatal("the file was looked at again before tokenFileCheckEvery passed")
			}
			now = now.Add(tokenFileCheckEvery)
			for _, tok := range tt.accepted {
				if s := status(tok); s != 200 {
					t.Errorf("token %.8s...: %d, want 200", tok, s)
				}
			}
			for _, tok := range tt.refused {
				if s := status(tok); s != 401 {
					t.Errorf("token %.8s...: %d, want 401", tok, s)
				}
			}
			out := logs.String()
			for _, secret := range []string{tokOld, tokNew, fixed, "xq7wk"} {
				if strings.Contains(out, secret) {
					t.Fatalf("a secret in the log: %s", out)
				}
			}
			if !strings.Contains(out, `"level":"`+tt.level+`"`) || !strings.Contains(out, tt.msg) {
				t.Errorf("no %s line with %q: %s", tt.level, tt.msg, out)
			}
			if len(outcomes) != 1 || outcomes[0] != tt.outcome {
				t.Errorf("outcomes %v, want [%s]", outcomes, tt.outcome)
			}
			// A failed change is not retried until the file changes again.
			if tt.outcome != tokenFileReloaded {
				logs.Reset()
				now = now.Add(tokenFileCheckEvery)
				status(tokOld)
				if logs.Len() != 0 {
					t.Errorf("warned again for the same file: %s", logs.String())
				}
			}
		})
	}
}

func write(text string) func(string) error {
	return func(p string) error { return os.WriteFile(p, []byte(text), 0o600) }
}
