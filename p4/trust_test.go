package p4_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// TestTrustFile: for an ssl: port, an operator-provided P4TRUST file is a
// valid way to trust the server, used as is; when the server is not in it,
// p4's own refusal reads as KindUntrusted (a trust problem), never as
// credentials or an unreachable server.
func TestTrustFile(t *testing.T) {
	ctx := context.Background()
	env := p4emutest.Start(t, p4emu.Options{})
	port, trusted, empty := env.TrustFiles(t)
	wrong := strings.Repeat("AB:", 19) + "AB"
	tests := []struct {
		name        string
		trust       string // P4TRUST; "" = the client's private default
		fingerprint string
		trustErr    p4.ErrorKind // -1: Trust succeeds
		infoErr     p4.ErrorKind // -1: Info (and Login) succeed
		mentions    string       // in the first error's text
	}{
		{name: "trust file holding the server", trust: trusted, trustErr: -1, infoErr: -1},
		{name: "trust file without the server", trust: empty, trustErr: -1, infoErr: p4.KindUntrusted, mentions: "can't be established"},
		{name: "no trust file, no fingerprint", trustErr: p4.KindUntrusted, infoErr: p4.KindUntrusted, mentions: "P4TRUST"},
		{name: "wrong fingerprint", fingerprint: wrong, trustErr: p4.KindUntrusted, infoErr: p4.KindUntrusted},
		{name: "right fingerprint", fingerprint: env.Server.Fingerprint(), trustErr: -1, infoErr: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trust := tt.trust
			if trust != "" {
				// A copy per case: p4 may write to it.
				b, err := os.ReadFile(tt.trust)
				if err != nil {
					t.Fatal(err)
				}
				trust = filepath.Join(t.TempDir(), "p4trust")
				if err := os.WriteFile(trust, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			c, err := p4.New(p4.Config{Bin: env.Bin, Port: port, User: env.User, Password: env.Password,
				Trust: trust, TrustFingerprint: tt.fingerprint, CommandTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			mentions := tt.mentions
			check := func(what string, err error, want p4.ErrorKind) {
				t.Helper()
				defer func() { mentions = "" }()
				switch {
				case want < 0 && err != nil:
					t.Fatalf("%s: %v", what, err)
				case want >= 0 && p4.KindOf(err) != want:
					t.Fatalf("%s: kind %v (%v), want %v", what, p4.KindOf(err), err, want)
				case want >= 0 && mentions != "" && !strings.Contains(err.Error(), mentions):
					t.Fatalf("%s: %v does not mention %q", what, err, mentions)
				}
			}
			check("trust", c.Trust(ctx), tt.trustErr)
			_, err = c.Info(ctx)
			check("info", err, tt.infoErr)
			if tt.infoErr < 0 {
				check("login", c.Login(ctx), -1)
				_, err := c.Keys(ctx, "*", nil)
				check("keys", err, -1)
			}
		})
	}
}
