package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

const (
	canineToken = "canine-Q3w5Er7Ty9Ui2Op4As6Df8Gh1Jk"
	felineToken = "feline-Z8x6Cv4Bn2Mq9Wr7Et5Yu3Io1Pa"
)

// hasConfig is a HAS config file with [provisioning] as HAS's
// example.toml lays it out, HAS's own settings included: chicago serves
// and leads canine, and serves feline; tokyo leads feline.
func hasConfig(t *testing.T, chicago, tokyo *p4emutest.Env) string {
	t.Helper()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "feline.token")
	if err := os.WriteFile(tokenFile, []byte(felineToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	server := func(e *p4emutest.Env, domains, leader string) string {
		return fmt.Sprintf(`
[[provisioning.servers]]
p4port = %q
p4user = %q
p4passwd = %q
p4tickets = %q
p4trust = %q
domains = [%s]
leader = [%s]
`, e.Port, e.User, e.Password, e.Tickets, e.Trust, domains, leader)
	}
	text := `# HAS's own settings: p4scim leaves them to HAS.
svc_base_uri = "https://has.example.com"
default_protocol = "saml"

[[auth_providers]]
label = "Acme Okta"
protocol = "saml"

[provisioning]
[[provisioning.providers]]
bearer_token = "` + canineToken + `"
domain = "canine"

[[provisioning.providers]]
bearer_token_file = "` + tokenFile + `"
domain = "feline"
` + server(chicago, `"canine", "feline"`, `"canine"`) + server(tokyo, `"feline"`, `"feline"`)
	file := filepath.Join(dir, "has.toml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func (d *daemon) as(t *testing.T, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, d.base+"/scim/v2"+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func scimUser(name string) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name + "@example.com", "name": map[string]any{"givenName": name, "familyName": "T"}, "active": true}
}

// hasHelixUser reads the emulator's users with p4 itself.
func hasHelixUser(t *testing.T, e *p4emutest.Env, name string) bool {
	t.Helper()
	e.Login(t)
	r := e.Run(t, nil, nil, "users", name)
	return r.Exit == 0 && strings.HasPrefix(string(r.Stdout), name+" <")
}

// TestServeHASProvisioning: a HAS [provisioning] config with two servers
// and two providers runs in p4scim as it is (the servers are named by
// their P4PORT, as HAS has no name for them); each domain's writes reach
// exactly its servers; a server outage answers 503 for the domain that
// needs it, not for the other, /readyz says which, and the retry converges.
func TestServeHASProvisioning(t *testing.T) {
	chicago, tokyo := p4emutest.Start(t, p4emu.Options{}), p4emutest.Start(t, p4emu.Options{})
	env := append(os.Environ(), "CONFIG_FILE="+hasConfig(t, chicago, tokyo), "P4BIN="+chicago.Bin,
		"LISTEN_ADDRESS=127.0.0.1:0", "READY_INTERVAL=1s", "SHUTDOWN_GRACE=10s", "P4_COMMAND_TIMEOUT=5s")
	d := launch(t, chicago, "", env)

	if code, body := d.as(t, canineToken, "POST", "/Users", scimUser("rex")); code != http.StatusCreated {
		t.Fatalf("canine create: %d %v", code, body)
	}
	if code, body := d.as(t, felineToken, "POST", "/Users", scimUser("tom")); code != http.StatusCreated {
		t.Fatalf("feline create: %d %v", code, body)
	}
	for _, c := range []struct {
		server *p4emutest.Env
		name   string
		user   string
		want   bool
	}{{chicago, "chicago", "rex", true}, {tokyo, "tokyo", "rex", false}, {chicago, "chicago", "tom", true}, {tokyo, "tokyo", "tom", true}} {
		if got := hasHelixUser(t, c.server, c.user); got != c.want {
			t.Errorf("%s has %s: %v, want %v", c.name, c.user, got, c.want)
		}
	}
	audit := d.logs.wait(t, "audit", 2)
	if audit["domain"] != "feline" || audit["servers"] != tokyo.Port+","+chicago.Port {
		t.Errorf("feline's audit line: %v, want domain feline and the servers written", audit)
	}

	// tokyo down: feline's writes answer 503 (tokyo leads it), canine's go on.
	if err := tokyo.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	if code, _ := d.as(t, felineToken, "POST", "/Users", scimUser("felix")); code != http.StatusServiceUnavailable {
		t.Errorf("feline create with its leader down: %d, want 503", code)
	}
	if code, body := d.as(t, canineToken, "POST", "/Users", scimUser("fido")); code != http.StatusCreated {
		t.Errorf("canine create with tokyo down: %d %v, want 201 (canine does not need tokyo)", code, body)
	}
	waitFor(t, func() (bool, string) {
		code, body := d.get(t, "/readyz")
		return code == http.StatusOK && strings.Contains(body, "server "+tokyo.Port) && strings.Contains(body, "domain feline"), fmt.Sprint(code, body)
	})
	if code, body := d.get(t, "/readyz?domain=feline"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz?domain=feline with tokyo down: %d %s, want 503", code, body)
	}
	if code, body := d.get(t, "/readyz?domain=canine"); code != http.StatusOK {
		t.Errorf("/readyz?domain=canine with tokyo down: %d %s, want 200", code, body)
	}

	if err := tokyo.Server.Start(); err != nil {
		t.Fatal(err)
	}
	if code, body := d.as(t, felineToken, "POST", "/Users", scimUser("felix")); code != http.StatusCreated {
		t.Fatalf("feline retry: %d %v", code, body)
	}
	for _, e := range []*p4emutest.Env{chicago, tokyo} {
		if !hasHelixUser(t, e, "felix") {
			t.Errorf("%s lacks felix after the retry", e.Port)
		}
	}
	d.waitForMetrics(t, 10*time.Second, `p4scim_ready{server="`+chicago.Port+`"} 1`, `p4scim_ready{server="`+tokyo.Port+`"} 1`)
	_, metrics := d.get(t, "/metrics")
	for _, e := range []*p4emutest.Env{chicago, tokyo} {
		if !strings.Contains(metrics, `p4scim_p4_commands_total{command="user",outcome="ok",server="`+e.Port+`"}`) {
			t.Errorf("no p4 user command counted for server %s", e.Port)
		}
	}

	// check tests each server.
	var out strings.Builder
	if code := run(context.Background(), []string{"check"}, env, &out, &out); code != 0 {
		t.Fatalf("check: exit %d\n%s", code, out.String())
	}
	for _, want := range []string{"ok   server " + chicago.Port + ": logged in as", "ok   server " + tokyo.Port + ": keys writable"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
}

func waitFor(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("condition not met in time; last: %s", last)
}
