package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

const testToken = "serve-test-token-0123456789abcdefghijklmnopqrstuv"

// daemon is a `p4scim serve` running in this process against an emulator.
type daemon struct {
	emu    *p4emutest.Env
	base   string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
	logs   *logLines
	env    []string // its environment
	dotenv string   // its .env file
}

// startDaemon runs serve with the environment a real deployment would
// have, and waits for its "p4scim serving" log line to learn the address.
func startDaemon(t *testing.T, extraEnv ...string) *daemon {
	t.Helper()
	return startDaemonWith(t, "", extraEnv...)
}

// startDaemonWith is startDaemon with dotenv as the daemon's .env file.
func startDaemonWith(t *testing.T, dotenv string, extraEnv ...string) *daemon {
	t.Helper()
	return startDaemonOn(t, p4emutest.Start(t, p4emu.Options{}), dotenv, extraEnv...)
}

// startDaemonOn is startDaemonWith against a given emulator, which may be
// stopped (Helix Core down at start).
func startDaemonOn(t *testing.T, emu *p4emutest.Env, dotenv string, extraEnv ...string) *daemon {
	t.Helper()
	env := append(daemonEnv(emu), "LISTEN_ADDRESS=127.0.0.1:0", "BEARER_TOKEN="+testToken, "READY_INTERVAL=1s")
	return launch(t, emu, dotenv, append(env, extraEnv...))
}

// launch runs serve with exactly env and dotenv as its .env file, and
// waits for its "p4scim serving" log line to learn the address.
func launch(t *testing.T, emu *p4emutest.Env, dotenv string, env []string) *daemon {
	t.Helper()
	envFile := filepath.Join(t.TempDir(), "daemon.env")
	if err := os.WriteFile(envFile, []byte(dotenv), 0o600); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{emu: emu, cancel: cancel, done: make(chan error, 1), client: &http.Client{Timeout: 20 * time.Second},
		logs: &logLines{}, env: env, dotenv: envFile}
	go func() {
		err := serve(ctx, []string{"--env-file", envFile}, env, io.Discard, pw)
		pw.Close()
		d.done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil {
				d.logs.add(line)
				if line["msg"] == "p4scim serving" {
					addr <- line["address"].(string)
				}
			}
		}
	}()
	select {
	case a := <-addr:
		d.base = "http://" + a
	case err := <-d.done:
		t.Fatalf("serve exited: %+v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() { d.stop(t) })
	return d
}

// daemonEnv is the environment of a daemon against emu, but for the
// listener and the tokens.
func daemonEnv(emu *p4emutest.Env) []string {
	return append(os.Environ(),
		"P4PORT="+emu.Port, "P4USER="+emu.User, "P4PASSWD="+emu.Password, "P4BIN="+emu.Bin,
		"P4TICKETS="+emu.Tickets, "P4TRUST="+emu.Trust, "SHUTDOWN_GRACE=10s", "P4_COMMAND_TIMEOUT=5s")
}

// logLines records a daemon's JSON log lines.
type logLines struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logLines) add(line map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// wait returns the n-th line (from 1) whose msg is msg, waiting for it.
func (l *logLines) wait(t *testing.T, msg string, n int) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		l.mu.Lock()
		seen := 0
		for _, line := range l.lines {
			if line["msg"] == msg {
				if seen++; seen == n {
					l.mu.Unlock()
					return line
				}
			}
		}
		l.mu.Unlock()
	}
	t.Fatalf("no log line %q (#%d)", msg, n)
	return nil
}

func (d *daemon) stop(t *testing.T) {
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
		d.done <- nil // later calls see a clean stop
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop")
	}
}

func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", d.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitForMetrics polls /metrics until every line of want is there, or
// fails the test after within (a poll, not a timing assertion).
func (d *daemon) waitForMetrics(t *testing.T, within time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, metrics := d.get(t, "/metrics")
		missing := ""
		for _, w := range want {
			if !strings.Contains(metrics, w+"\n") {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %q", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeLicenceGauges: the daemon reads the licence headroom at start
// (and then on its schedule, never per scrape) into gauges.
func TestServeLicenceGauges(t *testing.T) {
	d := startDaemon(t)
	want := []string{`p4scim_helix_license_users{server="default"} 1`, `p4scim_helix_license_user_limit{server="default"} -1`,
		`p4scim_helix_license_time_remaining_seconds{server="default"} -1`, `p4scim_helix_license_inactive_users{server="default"} 0`}
	d.waitForMetrics(t, 10*time.Second, want...)
	before := len(d.emu.Server.Invocations())
	for range 3 {
		d.get(t, "/metrics")
	}
	if n := len(d.emu.Server.Invocations()) - before; n != 0 {
		t.Fatalf("3 scrapes ran %d p4 commands, want 0", n)
	}
}

func TestServeMetricsAndReadiness(t *testing.T) {
	d := startDaemon(t)
	req, _ := http.NewRequest("POST", d.base+"/scim/v2/Users", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"m.user@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := d.client.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, _ := d.get(t, "/scim/v2/Users/nobody"); code != 404 {
		t.Fatalf("GET unknown user: %d", code)
	}
	code, metrics := d.get(t, "/metrics")
	for _, want := range []string{
		`p4scim_http_requests_total{code="201",method="POST",resource="Users"} 1`,
		`p4scim_http_requests_total{code="404",method="GET",resource="Users"} 1`,
		`p4scim_provisioning_operations_total{action="created",resource="user",server="default"} 1`,
		`p4scim_p4_commands_total{command="user",outcome="ok",server="default"}`,
		`p4scim_build_info{build_date=`, `goversion="go1.`,
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, _ := d.get(t, "/readyz"); code != 200 {
		t.Fatalf("readyz = %d", code)
	}
	if err := d.emu.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	// The daemon checks every READY_INTERVAL (1s here); probes read it.
	d.waitReady(t, 503)
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz with Helix Core down = %d, want 200 (alive)", code)
	}
	if err := d.emu.Server.Start(); err != nil {
		t.Fatal(err)
	}
	d.waitReady(t, 200)
}

// waitReady polls /readyz until it answers status, for up to 15 s.
func (d *daemon) waitReady(t *testing.T, status int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _ := d.get(t, "/readyz")
		if code == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz = %d after 15s, want %d", code, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeGracefulShutdown cancels the daemon while a request waits on a
// slow Helix Core: the request completes and serve returns cleanly.
func TestServeGracefulShutdown(t *testing.T) {
	d := startDaemon(t)
	d.emu.Server.SetFault("users", p4emu.Fault{Delay: 1500 * time.Millisecond})
	result := make(chan int, 1)
	go func() {
		code, _ := d.get(t, "/scim/v2/Users/someone")
		result <- code
	}()
	time.Sleep(300 * time.Millisecond)
	d.cancel()
	select {
	case code := <-result:
		if code != 404 {
			t.Fatalf("in-flight request got %d, want its real answer 404", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("in-flight request never answered")
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		d.done <- nil
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	d := startDaemon(t, "TLS_CERT_FILE="+certFile, "TLS_KEY_FILE="+keyFile)
	d.base = strings.Replace(d.base, "http://", "https://", 1)
	d.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if code, _ := d.get(t, "/scim/v2/ServiceProviderConfig"); code != 200 {
		t.Fatalf("over TLS: %d", code)
	}
	// A renewed certificate is served without a restart.
	first := peerSerial(t, d, pool)
	time.Sleep(20 * time.Millisecond) // a later modification time
	_, _, pool2 := selfSigned(t, dir)
	if second := peerSerial(t, d, pool2); second == first {
		t.Fatalf("certificate not reloaded (serial %v)", second)
	}
	// TLS 1.1 is refused.
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.base, "https://"), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake accepted")
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func peerSerial(t *testing.T, d *daemon, pool *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.base, "https://"), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestCheck: every line passes against a running Helix Core, and against a
// stopped one the failing line says what to fix, with a non-zero exit.
func TestCheck(t *testing.T) {
	emu := p4emutest.Start(t, p4emu.Options{})
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "BEARER_TOKEN="+testToken, "P4PORT="+emu.Port, "P4USER="+emu.User,
		"P4PASSWD="+emu.Password, "P4BIN="+emu.Bin, "P4TICKETS="+emu.Tickets, "P4TRUST="+emu.Trust)
	var out strings.Builder
	if code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out); code != 0 {
		t.Fatalf("check against a running server: exit %d\n%s", code, out.String())
	}
	if strings.Count(out.String(), "ok ") != 8 || strings.Contains(out.String(), "FAIL") ||
		!strings.Contains(out.String(), "ok   licence headroom: 1 standard users, no user limit; 0 deactivated users still hold a licence") {
		t.Fatalf("check output:\n%s", out.String())
	}
	if err := emu.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out); code == 0 {
		t.Fatalf("check against a stopped server exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "FAIL Helix Core reachable") || !strings.Contains(out.String(), "check P4PORT") {
		t.Fatalf("failure line does not say what to fix:\n%s", out.String())
	}
	if strings.Contains(out.String(), emu.Password) {
		t.Fatal("password in check output")
	}
}

// TestCheckLicence: check prints the licence headroom and fails when the
// licence is full, since no user could then be provisioned.
func TestCheckLicence(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		want  string
		exit  int
	}{
		{"headroom", 10, "ok   licence headroom: 1 of 10 licensed users taken, 9 free; 0 deactivated users still hold a licence", 0},
		{"full", 1, "FAIL licence headroom: licence full, no user can be provisioned: 1 of 1 licensed users taken, 0 free", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := p4emutest.Start(t, p4emu.Options{LicenseUsers: tt.limit})
			envFile := filepath.Join(t.TempDir(), "empty.env")
			if err := os.WriteFile(envFile, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "BEARER_TOKEN="+testToken, "P4PORT="+emu.Port, "P4USER="+emu.User,
				"P4PASSWD="+emu.Password, "P4BIN="+emu.Bin, "P4TICKETS="+emu.Tickets, "P4TRUST="+emu.Trust)
			var out strings.Builder
			if code := run(context.Background(), []string{"check", "--env-file", envFile}, env, &out, &out); code != tt.exit ||
				!strings.Contains(out.String(), tt.want) {
				t.Fatalf("check: exit %d, want %d and %q:\n%s", code, tt.exit, tt.want, out.String())
			}
		})
	}
}

// TestServeOAuthClientCredentials: an IdP configured for OAuth client
// credentials gets a short-lived token from /oauth/token and uses it, at
// any replica with the same configuration.
func TestServeOAuthClientCredentials(t *testing.T) {
	secret := "oauth-client-secret-0123456789abcdefghijkl"
	d := startDaemon(t, "OAUTH_CLIENTS=okta-app:"+secret)
	form := "grant_type=client_credentials&client_id=okta-app&client_secret=" + secret
	resp, err := d.client.Post(d.base+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") || tok.ExpiresIn <= 0 {
		t.Fatalf("token response %d %+v %v", resp.StatusCode, tok, err)
	}
	req, _ := http.NewRequest("GET", d.base+"/scim/v2/Users", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = d.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("SCIM with the issued token: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	bad := strings.Replace(form, secret, "wrong-secret-value", 1)
	resp, err = d.client.Post(d.base+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(bad))
	if err != nil || resp.StatusCode != 401 {
		t.Fatalf("wrong client secret: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	// Another replica (or this one restarted) with the same OAUTH_CLIENTS
	// accepts the token; one whose OAUTH_CLIENTS lost the client does not.
	for _, tt := range []struct {
		clients string
		want    int
	}{
		{"okta-app:" + secret, 200},
		{"other-app:" + secret, 401},
	} {
		replica := startDaemon(t, "OAUTH_CLIENTS="+tt.clients)
		req, _ := http.NewRequest("GET", replica.base+"/scim/v2/Users", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err = replica.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tt.want {
			t.Fatalf("the token at a replica with OAUTH_CLIENTS=%s...: %s, want %d", tt.clients[:9], resp.Status, tt.want)
		}
		resp.Body.Close()
	}
}
