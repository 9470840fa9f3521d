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

// TestCheckWarnsExposure: check warns, with the command that fixes it, for
// each security configurable left weak (§5.6) and while
// ALLOW_PRIVILEGED_USERS is on; warnings do not fail it.
func TestCheckWarnsExposure(t *testing.T) {
	tests := []struct {
		name     string
		opts     p4emu.Options
		set      map[string]string
		extra    []string
		grant    *p4emu.ProtectLine // added to the protections
		wantWarn []string           // each a WARN line's fix
		wantOK   []string
	}{
		{
			name:     "server defaults",
			opts:     p4emu.Options{SecurityLevel: -1}, // level 0, p4d's default
			wantWarn: []string{"p4 configure set security=4", "p4 configure set dm.user.setinitialpasswd=0", "p4 configure set dm.keys.hide=2"},
		},
		{
			name:   "hardened",
			opts:   p4emu.Options{SecurityLevel: 4},
			set:    map[string]string{"dm.keys.hide": "2", "dm.user.setinitialpasswd": "0"},
			wantOK: []string{"security is 4", "dm.keys.hide is 2", "dm.user.setinitialpasswd is 0", "ALLOW_PRIVILEGED_USERS=false"},
		},
		{
			name:     "keys hidden from keys only",
			opts:     p4emu.Options{SecurityLevel: 3},
			set:      map[string]string{"dm.keys.hide": "1", "dm.user.setinitialpasswd": "0"},
			wantWarn: []string{"dm.keys.hide: is 1", "p4 configure set dm.keys.hide=2"},
			wantOK:   []string{"security is 3"},
		},
		{
			name:     "privileged users handed to the IdP",
			opts:     p4emu.Options{SecurityLevel: 4},
			set:      map[string]string{"dm.keys.hide": "2", "dm.user.setinitialpasswd": "0"},
			extra:    []string{"ALLOW_PRIVILEGED_USERS=true"},
			wantWarn: []string{"ALLOW_PRIVILEGED_USERS is on", "set ALLOW_PRIVILEGED_USERS=false"},
		},
		{
			name:     "deprovision group given admin",
			opts:     p4emu.Options{SecurityLevel: 4},
			set:      map[string]string{"dm.keys.hide": "2", "dm.user.setinitialpasswd": "0"},
			extra:    []string{"DEPROVISION_GROUP=p4scim-denied"},
			grant:    &p4emu.ProtectLine{Perm: "admin", Group: true, Name: "p4scim-denied"},
			wantWarn: []string{"DEPROVISION_GROUP p4scim-denied: the protections give it admin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := p4emutest.Start(t, tt.opts)
			if tt.grant != nil {
				if err := emu.Server.SetProtections(append(emu.Server.Protections(), *tt.grant)); err != nil {
					t.Fatal(err)
				}
			}
			for k, v := range tt.set {
				if err := emu.Server.SetConfigurable(k, v); err != nil {
					t.Fatal(err)
				}
			}
			envFile := filepath.Join(t.TempDir(), "empty.env")
			if err := os.WriteFile(envFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "BEARER_TOKEN="+testToken, "P4PORT="+emu.Port, "P4USER="+emu.User,
				"P4PASSWD="+emu.Password, "P4BIN="+emu.Bin, "P4TICKETS="+emu.Tickets, "P4TRUST="+emu.Trust)
			env = append(env, tt.extra...)
			var out strings.Builder
			if code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out); code != 0 {
				t.Fatalf("check exit %d:\n%s", code, out.String())
			}
			var warns, oks []string
			for _, l := range strings.Split(out.String(), "\n") {
				switch {
				case strings.HasPrefix(l, "WARN configuration: "):
					// The settings' own warnings (plain HTTP, ...) are
					// TestCheckShowsWarnings' subject.
				case strings.HasPrefix(l, "WARN "):
					warns = append(warns, l)
				case strings.HasPrefix(l, "ok   "):
					oks = append(oks, l)
				}
			}
			joined := strings.Join(warns, "\n")
			for _, w := range tt.wantWarn {
				if !strings.Contains(joined, w) {
					t.Errorf("no warning with %q:\n%s", w, out.String())
				}
			}
			if len(tt.wantWarn) == 0 && len(warns) > 0 {
				t.Errorf("unexpected warnings:\n%s", joined)
			}
			for _, o := range tt.wantOK {
				if !strings.Contains(strings.Join(oks, "\n"), o) {
					t.Errorf("no ok line with %q:\n%s", o, out.String())
				}
			}
		})
	}
}
