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

	"github.com/p4scim/p4scim/scimhandlers/auth"
)

const (
	tokOld = "old-token-0123456789abcdefghijklmnopqrstuvwxyz"
	tokNew = "new-token-9876543210zyxwvutsrqponmlkjihgfedcba"
)

// TestServeTokenFileRotation: a running daemon picks up a rotated
// BEARER_TOKEN_FILE without a restart: the new token is accepted, the
// removed one refused, and BEARER_TOKEN stays valid throughout.
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
}

// TestTokenReloader: a change the reloader cannot use keeps the previous
// tokens and logs a warning that shows no secret; a good change replaces
// them; the file is looked at no more often than tokenFileCheckEvery.
func TestTokenReloader(t *testing.T) {
	const fixed = "fixed-token-0123456789abcdefghijklmnopqrstu"
	tests := []struct {
		name     string
		change   func(path string) error
		accepted []string
		refused  []string
		warn     string // "" = no warning, an info line "reloaded"
	}{
		{"rotated", write("okta-2026=" + tokNew + "\n"), []string{tokNew, fixed}, []string{tokOld}, ""},
		{"both tokens during a rotation", write("a=" + tokOld + "\nb=" + tokNew + "\n"), []string{tokOld, tokNew, fixed}, nil, ""},
		{"emptied (half written)", write(""), []string{tokOld, fixed}, []string{tokNew}, "holds no token"},
		{"weak token", write("okta=" + tokNew + "\nweak=xq7wk\n"), []string{tokOld, fixed}, []string{tokNew}, `token \"weak\" is shorter than`},
		{"secret of the fixed token", write("copy=" + fixed + "\n"), []string{tokOld, fixed}, nil, "same secret"},
		{"removed", func(p string) error { return os.Remove(p) }, []string{tokOld, fixed}, []string{tokNew}, "cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tokens")
			if err := os.WriteFile(path, []byte("okta-2025="+tokOld+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := Config{TokenFile: path, fixedTokens: []auth.Token{{Name: "default", Secret: fixed}},
				Tokens: []auth.Token{{Name: "default", Secret: fixed}, {Name: "okta-2025", Secret: tokOld}}}
			var logs bytes.Buffer
			keys := auth.NewKeyring(cfg.Tokens)
			r := newTokenReloader(cfg, keys, slog.New(slog.NewJSONHandler(&logs, nil)))
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
			switch {
			case tt.warn == "" && !strings.Contains(out, `"msg":"BEARER_TOKEN_FILE reloaded"`):
				t.Errorf("no reload line: %s", out)
			case tt.warn != "" && (!strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, tt.warn)):
				t.Errorf("no warning with %q: %s", tt.warn, out)
			}
			// A failed change is not retried until the file changes again.
			if tt.warn != "" {
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
