package p4_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestChildEnvironment: a p4 child sees the variables p4 needs and the
// P4 settings the client sets, never the daemon's secrets or the host's
// own P4 settings. The p4 here is a script that saves the environment it
// was exec'd with (/proc/PID/environ: what execve passed, before any shell
// adds its own).
func TestChildEnvironment(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	saved := filepath.Join(dir, "environ")
	bin := filepath.Join(dir, "p4")
	script := "#!/bin/sh\ncat /proc/$$/environ > '" + saved + "'\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"BEARER_TOKEN":          "bearer-secret-0123456789abcdefghijklmnop",
		"OAUTH_CLIENTS":         "okta:oauth-secret-0123456789abcdefghijkl",
		"AWS_SECRET_ACCESS_KEY": "aws-secret-0123456789abcdefghijklmnopq",
		"P4PASSWD":              "host-p4passwd-0123456789",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("LANG", "C.UTF-8")
	c, err := p4.New(p4.Config{Bin: bin, Port: "127.0.0.1:1", User: "p4scim", Password: "pw-not-a-ticket",
		Charset: "utf8", RunDir: t.TempDir(), CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Info(context.Background()) // the script prints nothing: an error, and the file
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatalf("the script did not run: %v", err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00") {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range secrets {
		if strings.Contains(string(raw), v) {
			t.Errorf("the value of %s reached the child", k)
		}
	}
	allowed := []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "GORACE",
		"P4PORT", "P4USER", "P4TICKETS", "P4TRUST", "P4CONFIG", "P4ENVIRO", "P4CHARSET"}
	for k := range env {
		if !slices.Contains(allowed, k) {
			t.Errorf("%s reached the child", k)
		}
	}
	want := map[string]string{"P4PORT": "127.0.0.1:1", "P4USER": "p4scim", "P4CHARSET": "utf8", "P4CONFIG": "",
		"LANG": "C.UTF-8", "PATH": os.Getenv("PATH")}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
}

// TestValuesOffArgv: key values (a user's record) and user names go to
// p4 on stdin (p4 -x -, §5.7): none is on any argv, they arrive intact,
// and a value with a line break, which would split into two arguments,
// is refused before anything runs.
func TestValuesOffArgv(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	record := `{"phoneNumbers":[{"value":"+1 555 0100"}],"addresses":[{"streetAddress":"1 Secret Lane"}]}`
	if err := c.SetKey(ctx, "p4scim.u.ada", record); err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{"p4scim.u.bob": `{"phone":"+1 555 0199"}`, "p4scim.e.bob": "bob"}
	for i := range 70 { // more than one -b batch of pairs
		kv[fmt.Sprintf("p4scim.t.%02d", i)] = fmt.Sprintf(`{"manager":"Mgr %02d"}`, i)
	}
	if err := c.SetKeys(ctx, kv); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"p4scim.u.ada": record, "p4scim.u.bob": kv["p4scim.u.bob"], "p4scim.t.69": kv["p4scim.t.69"]} {
		if got, _ := env.Server.Key(k); got != v {
			t.Fatalf("%s = %q, want %q", k, got, v)
		}
	}
	for _, inv := range env.Server.Invocations() {
		line := strings.Join(inv.Args, " ")
		for _, s := range []string{"555", "Secret Lane", "Mgr"} {
			if strings.Contains(line, s) {
				t.Fatalf("a value on argv: %q", inv.Args)
			}
		}
	}

	env.Server.ResetInvocations()
	for _, v := range []string{"a\nb", "a\rb", ""} {
		err := c.SetKeys(ctx, map[string]string{"p4scim.u.eve": `{"x":1}`, "p4scim.e.eve": v})
		if p4.KindOf(err) != p4.KindInvalidSpec || (v != "" && strings.Contains(err.Error(), v)) {
			t.Fatalf("value %q: err %v, want KindInvalidSpec", v, err)
		}
		if err := c.SetKey(ctx, "p4scim.u.eve", v); p4.KindOf(err) != p4.KindInvalidSpec {
			t.Fatalf("SetKey %q: err %v, want KindInvalidSpec", v, err)
		}
	}
	if n := len(env.Server.Invocations()); n != 0 {
		t.Fatalf("%d commands ran for refused values", n)
	}
}

// TestUsersManyNames: Users resolves more names than argv could hold (the
// kernel's limit is 2 MiB for argv and environment together): 3,000 names
// of 1,000 bytes go on stdin, in -b batches, and every one is found.
func TestUsersManyNames(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	names := make([]string, 3000)
	for i := range names {
		names[i] = fmt.Sprintf("u%04d%s", i, strings.Repeat("x", 995))
		if err := env.Server.CreateUser(p4emu.User{Name: names[i]}, ""); err != nil {
			t.Fatal(err)
		}
	}
	env.Server.ResetInvocations()
	users, err := c.Users(ctx, append(names, "nobody")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(names) {
		t.Fatalf("%d users found, want %d", len(users), len(names))
	}
	for _, inv := range env.Server.Invocations() {
		if n := len(strings.Join(inv.Args, " ")); n > 200 {
			t.Fatalf("argv of %d bytes: names on it", n)
		}
	}
}
