package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// deactivatedUsers provisions users through a bridge with the default
// policy (keep) and deactivates those named in inactive, as an IdP would
// before p4scim's deletion policy applies to them.
func deactivatedUsers(t *testing.T, emu *p4emutest.Env, active, inactive []string) {
	t.Helper()
	ctx := context.Background()
	c, err := p4.New(p4.Config{Bin: emu.Bin, Port: emu.Port, User: emu.User, Password: emu.Password,
		Tickets: emu.Tickets, Trust: emu.Trust, CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := bridge.New(c, bridge.Config{P4User: emu.User})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(active, inactive...) {
		if _, err := svc.CreateUser(ctx, map[string]any{"userName": n + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range inactive {
		if _, err := svc.PatchUser(ctx, n, func(doc map[string]any) error { doc["active"] = false; return nil }); err != nil {
			t.Fatal(err)
		}
	}
}

func emuEnv(t *testing.T, emu *p4emutest.Env, extra ...string) (env []string, envFile string) {
	envFile = filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "BEARER_TOKEN="+testToken, "P4PORT="+emu.Port, "P4USER="+emu.User,
		"P4PASSWD="+emu.Password, "P4BIN="+emu.Bin, "P4TICKETS="+emu.Tickets, "P4TRUST="+emu.Trust, "LOG_LEVEL=error")
	return append(env, extra...), envFile
}

// TestReclaimCommand: `p4scim reclaim` lists the deactivated users past
// their grace period and what deleting them frees, deletes nothing
// without --apply, deletes them with it, reports a user Helix Core keeps
// (opened files) and then exits 1; it has its own --help.
func TestReclaimCommand(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	deactivatedUsers(t, emu, []string{"cat"}, []string{"ada", "bob"})
	if err := emu.Server.SetOpenedFiles("bob", 1); err != nil {
		t.Fatal(err)
	}
	exists := func(n string) bool { _, ok := emu.Server.User(n); return ok }
	tests := []struct {
		name  string
		grace string
		args  []string
		exit  int
		want  []string
		gone  []string
		kept  []string
	}{
		{"within the grace period", "1h", nil, 0,
			[]string{"reclaim: 0 to delete, freeing 0 licences, 0 cannot be deleted, 2 within their grace period"}, nil, []string{"ada", "bob"}},
		{"dry run", "0s", nil, 0,
			[]string{"due      ada (deactivated ", "deleting it frees 1 licence(s)", "due      bob", "reclaim: 2 to delete, freeing 2 licences"},
			nil, []string{"ada", "bob"}},
		{"apply", "0s", []string{"--apply"}, 1,
			[]string{"deleted  ada", "opened_files bob", "p4 opened -u bob",
				"reclaim: 1 deleted, 1 licences freed, 1 not deleted (1 failed), 0 within their grace period"},
			[]string{"ada"}, []string{"bob", "cat"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, envFile := emuEnv(t, emu, "DEACTIVATE_DELETE_AFTER="+tt.grace)
			var out, errOut strings.Builder
			code := run(context.Background(), append([]string{"reclaim", "--env-file", envFile}, tt.args...), env, &out, &errOut)
			if code != tt.exit {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.exit, out.String(), errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, n := range tt.gone {
				if exists(n) {
					t.Errorf("%s not deleted", n)
				}
			}
			for _, n := range tt.kept {
				if !exists(n) {
					t.Errorf("%s deleted", n)
				}
			}
			if strings.Contains(out.String(), "@example.com") || strings.Contains(out.String()+errOut.String(), emu.Password) {
				t.Errorf("personal data or a secret in the output:\n%s%s", out.String(), errOut.String())
			}
		})
	}

	var out strings.Builder
	if code := run(context.Background(), []string{"reclaim", "--help"}, nil, &out, &out); code != 0 ||
		!strings.Contains(out.String(), "usage: p4scim reclaim [--apply]") || !strings.Contains(out.String(), "DEACTIVATE_DELETE_AFTER") {
		t.Fatalf("reclaim --help: exit %d\n%s", code, out.String())
	}
}

// TestServeReclaimSweep: with DEACTIVATE_POLICY=delete the daemon deletes
// the deactivated users past their grace period on its schedule, counts
// it, and the licence gauges follow at once.
func TestServeReclaimSweep(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{LicenseUsers: 5})
	deactivatedUsers(t, emu, []string{"cat"}, []string{"ada"})
	d := startDaemonOn(t, emu, "DEACTIVATE_POLICY=delete", "DEACTIVATE_DELETE_AFTER=0s", "RECLAIM_INTERVAL=1s")
	want := []string{`p4scim_reclaim_users_total{result="deleted",server="default"} 1`, `p4scim_reclaim_runs_total{outcome="done",server="default"} 1`,
		`p4scim_helix_license_inactive_users{server="default"} 0`, `p4scim_helix_license_users{server="default"} 2`}
	d.waitForMetrics(t, 60*time.Second, want...)
	if _, ok := emu.Server.User("ada"); ok {
		t.Fatal("ada not deleted by the sweep")
	}
	if code, body := d.get(t, "/scim/v2/Users/ada"); code != 200 || !strings.Contains(body, `"active":false`) {
		t.Fatalf("GET the released user: %d %s", code, body)
	}
}
