//go:build unix

package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangUp sends the test process (and so the daemon in it) SIGHUP, and
// waits for the daemon's n-th reload to be logged.
func hangUp(t *testing.T, d *daemon, n int, msg string) map[string]any {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	return d.logs.wait(t, msg, n)
}

func (d *daemon) status(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", d.base+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSIGHUPReloads: SIGHUP applies new tokens (from the .env and the
// token file) and a new LOG_LEVEL, says which changes need a restart, keeps
// everything as it was when the new configuration is invalid, and never
// stops the daemon.
func TestSIGHUPReloads(t *testing.T) {
	dir := t.TempDir()
	tokA, tokB, tokC := "rotate-A-7f3K9qLm2Xv8Rt4Wz1Np6Yb0Hc5Jd", "rotate-B-Q8w2Er5Ty7Ui1Op3As6Df9Gh0Jk4", "rotate-C-Zx4Cv7Bn1Mq8Wr2Et5Yu9Io3Pa6S"
	tokenFile := filepath.Join(dir, "tokens")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(tokenFile, "file="+tokC+"\n")
	d := startDaemonWith(t, "BEARER_TOKENS=rot="+tokA+"\nLOG_LEVEL=info\n", "BEARER_TOKEN_FILE="+tokenFile)
	if d.status(t, tokA) != 200 || d.status(t, tokB) != 401 || d.status(t, tokC) != 200 {
		t.Fatal("tokens at start")
	}

	// Rotation in the .env, a new log level, and a setting that needs a
	// restart. The token file is rewritten with its old modification
	// time, which only SIGHUP's forced read notices.
	write(d.dotenv, "BEARER_TOKENS=rot="+tokB+"\nLOG_LEVEL=debug\nMAX_IN_FLIGHT=7\n")
	st, _ := os.Stat(tokenFile)
	write(tokenFile, "file="+tokA+"\n")
	if err := os.Chtimes(tokenFile, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	line := hangUp(t, d, 1, "SIGHUP: configuration reloaded")
	if line["log_level"] != "DEBUG" {
		t.Errorf("reload line %v", line)
	}
	if got := d.logs.wait(t, "SIGHUP: changed settings take effect only on a restart", 1); got["settings"] != "MAX_IN_FLIGHT" {
		t.Errorf("restart-needed line %v", got)
	}
	if d.status(t, tokB) != 200 || d.status(t, tokA) != 200 || d.status(t, tokC) != 401 || d.status(t, testToken) != 200 {
		t.Fatal("tokens after SIGHUP: want the .env's new one, the file's new one and the environment's")
	}

	// An invalid configuration changes nothing.
	write(d.dotenv, "BEARER_TOKENS=rot=short\n")
	hangUp(t, d, 1, "SIGHUP: the configuration is invalid; nothing reloaded, serving on as before")
	if d.status(t, tokB) != 200 {
		t.Fatal("an invalid reload dropped the tokens")
	}

	// The daemon is still serving, and stops cleanly.
	time.Sleep(50 * time.Millisecond)
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz after SIGHUP: %d", code)
	}
}

// TestSIGHUPReloadsCertificate: SIGHUP reads the certificate again even
// when its modification time did not change (a copy that kept it).
func TestSIGHUPReloadsCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	d := startDaemon(t, "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)
	d.base = strings.Replace(d.base, "http://", "https://", 1)
	first := peerSerial(t, d, pool)
	st, _ := os.Stat(certFile)
	_, _, pool2 := selfSigned(t, dir)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, st.ModTime(), st.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if peerSerial(t, d, pool) != first {
		t.Fatal("certificate changed before SIGHUP: the test proves nothing")
	}
	hangUp(t, d, 1, "SIGHUP: configuration reloaded")
	if second := peerSerial(t, d, pool2); second == first {
		t.Fatalf("certificate not reloaded on SIGHUP (serial %v)", second)
	}
}
