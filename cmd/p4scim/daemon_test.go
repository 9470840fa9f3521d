package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

// freePort returns a loopback address nothing listens on (for a daemon
// whose address must be known before it starts).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestHealthcheck: the healthcheck command reads the settings as serve
// does, so it finds the daemon however its address is set, and speaks TLS
// when the daemon does.
func TestHealthcheck(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	tests := []struct {
		name   string
		dotenv func(addr string) string
		env    []string
		scheme string
	}{
		{"TLS, address in the .env", func(addr string) string { return "LISTEN_ADDRESS=" + addr + "\n" },
			[]string{"TLS_CERT_FILE=" + certFile, "TLS_KEY_FILE=" + keyFile}, "https"},
		{"plain HTTP, address in the config file", func(addr string) string {
			file := filepath.Join(t.TempDir(), "p4scim.yaml")
			if err := os.WriteFile(file, []byte("listen_address: \""+addr+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return "CONFIG_FILE=" + file + "\n"
		}, nil, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freePort(t)
			// LISTEN_ADDRESS= unsets startDaemon's own choice of address.
			d := startDaemonWith(t, tt.dotenv(addr), append([]string{"LISTEN_ADDRESS="}, tt.env...)...)
			args := []string{"healthcheck", "--env-file", d.dotenv}
			var out strings.Builder
			if code := run(context.Background(), args, d.env, &out, &out); code != 0 {
				t.Fatalf("healthcheck: exit %d: %s", code, out.String())
			}
			if want := "ok " + tt.scheme + "://" + addr + "/healthz"; !strings.Contains(out.String(), want) {
				t.Fatalf("healthcheck said %q, want %q", out.String(), want)
			}
			d.stop(t)
			out.Reset()
			if code := run(context.Background(), args, d.env, &out, &out); code == 0 {
				t.Fatalf("healthcheck of a stopped daemon: exit 0: %s", out.String())
			}
		})
	}
}

// TestServeMetricsAddressBusy: a METRICS_ADDRESS that cannot be listened
// on stops the daemon at start, as a busy LISTEN_ADDRESS does.
func TestServeMetricsAddressBusy(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(daemonEnv(emu), "LISTEN_ADDRESS=127.0.0.1:0", "BEARER_TOKEN="+testToken, "METRICS_ADDRESS="+busy.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = serve(ctx, []string{"--env-file", envFile}, env, &strings.Builder{}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "METRICS_ADDRESS "+busy.Addr().String()) {
		t.Fatalf("serve with a busy METRICS_ADDRESS returned %v, want the METRICS_ADDRESS error", err)
	}
}

// TestCheckShowsWarnings: check prints the warnings serve logs, the typo
// of a setting's name among them, before its checks.
func TestCheckShowsWarnings(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	envFile := filepath.Join(t.TempDir(), "p4scim.env")
	if err := os.WriteFile(envFile, []byte("DELETE_POLCY=deactivate\nDRY_RUN=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	env := append(daemonEnv(emu), "BEARER_TOKEN="+testToken)
	if code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out.String())
	}
	for _, want := range []string{
		"WARN configuration: " + envFile + " sets DELETE_POLCY, which is not a setting: did you mean DELETE_POLICY?",
		"WARN configuration: DRY_RUN is on",
		"WARN configuration: plain HTTP on :8080",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Index(out.String(), "WARN configuration: ") > strings.Index(out.String(), "ok   configuration") {
		t.Errorf("warnings come after the checks:\n%s", out.String())
	}
}

// TestCommandHelp: each command's --help is its own, and exits 0.
func TestCommandHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "check", "healthcheck"} {
		for _, flag := range []string{"--help", "-h"} {
			var out strings.Builder
			if code := run(context.Background(), []string{cmd, flag}, nil, &out, &out); code != 0 {
				t.Errorf("%s %s: exit %d", cmd, flag, code)
			}
			if !strings.HasPrefix(out.String(), "usage: p4scim "+cmd+" ") || !strings.Contains(out.String(), "LISTEN_ADDRESS") {
				t.Errorf("%s %s printed:\n%.200s", cmd, flag, out.String())
			}
		}
	}
}

// TestVersionStamped builds the binary as the Dockerfile does and runs
// `p4scim version`: the stamped version, commit and date are what it says.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "p4scim")
	ldflags := "-X main.version=1.2.3 -X main.commit=0123abcd -X main.buildDate=2026-12-03T08:00:00Z"
	build := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if want := "p4scim 1.2.3 (commit 0123abcd, built 2026-12-03T08:00:00Z, go"; !strings.HasPrefix(string(out), want) {
		t.Fatalf("version printed %q, want %q…", out, want)
	}
}
