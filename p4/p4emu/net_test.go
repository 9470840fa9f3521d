package p4emu_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4/marshal"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestConnectionRefusedAndRestart(t *testing.T) {
	env := start(t, p4emu.Options{})
	if err := env.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	want := "Perforce client error:\n\tConnect to server failed; check $P4PORT.\n\tTCP connect to " + env.Port +
		" failed.\n\tconnect: " + env.Port + ": Connection refused\n"
	for _, mode := range [][]string{nil, {"-G"}, {"-ztag", "-Mj"}, {"-s"}} {
		r := env.Run(t, nil, nil, append(mode, "info")...)
		if string(r.Stderr) != want || r.Exit != 1 || (len(r.Stdout) != 0 && !slices.Contains(mode, "-s")) {
			t.Errorf("%v: stdout %q stderr %q exit %d", mode, r.Stdout, r.Stderr, r.Exit)
		}
	}
	if err := env.Server.Start(); err != nil {
		t.Fatal(err)
	}
	// State (and the ticket) survived.
	r := env.Run(t, nil, nil, "-G", "protects", "-m")
	wantBytes(t, r.Stdout, d("code", "stat", "permMax", "super"))
}

func TestFaults(t *testing.T) {
	env := start(t, p4emu.Options{})
	env.Server.SetFault("users", p4emu.Fault{Fail: "Database is locked.", Generic: 35})
	r := env.Run(t, nil, nil, "-G", "users")
	wantBytes(t, r.Stdout, errDict("Database is locked.", 3, 35))
	if r.Exit != 1 {
		t.Errorf("exit %d", r.Exit)
	}
	env.Server.SetFault("", p4emu.Fault{Delay: 150 * time.Millisecond})
	t0 := time.Now()
	r = env.Run(t, nil, nil, "-G", "key", "x")
	if time.Since(t0) < 150*time.Millisecond || r.Exit != 0 {
		t.Errorf("delay not applied (%v, exit %d)", time.Since(t0), r.Exit)
	}
	env.Server.ClearFaults()
	env.Server.SetFault("info", p4emu.Fault{Drop: true})
	r = env.Run(t, nil, nil, "-G", "info")
	if string(r.Stderr) != "Perforce client error:\n\tPartner exited unexpectedly.\n" || r.Exit != 1 {
		t.Errorf("drop: %q %d", r.Stderr, r.Exit)
	}
	env.Server.SetFault("info", p4emu.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.Bin, "-G", "info")
	cmd.Env = env.Environ()
	if err := cmd.Run(); ctx.Err() == nil {
		t.Errorf("hang returned early: %v", err)
	}
	// Close must release the hung handler (checked by Close returning).
	done := make(chan struct{})
	go func() { _ = env.Server.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked on a hung handler")
	}
}

func TestInvocationsNeverHoldStdin(t *testing.T) {
	env := start(t, p4emu.Options{})
	env.Server.ResetInvocations()
	secret := "Xyzzy-Secret-99"
	env.Run(t, []byte(secret+"\n"+secret+"\n"), nil, "-G", "-zprog=p4scim", "passwd", "super")
	env.Run(t, input(t, "User", "bob", "Email", "b@x", "FullName", secret), nil, "-G", "user", "-i", "-f")
	invs := env.Server.Invocations()
	if len(invs) != 2 {
		t.Fatalf("invocations %+v", invs)
	}
	want := []string{"-G", "-zprog=p4scim", "passwd", "super"}
	if !slices.Equal(invs[0].Args, want) || invs[0].User != "super" || invs[0].Command != "passwd" {
		t.Errorf("invocation %+v", invs[0])
	}
	for _, inv := range invs {
		if strings.Contains(strings.Join(inv.Args, " "), secret) {
			t.Errorf("stdin leaked into %+v", inv)
		}
	}
}

func TestTrust(t *testing.T) {
	env := start(t, p4emu.Options{Fingerprint: "AA:BB:CC"})
	ssl := []string{"P4PORT=ssl:" + env.Port}
	r := env.Run(t, nil, ssl, "-G", "info")
	want := "The authenticity of '" + env.Port + "' can't be established,\nthis may be your first attempt to connect to this P4PORT.\n" +
		"The fingerprint for the key sent to your client is\nAA:BB:CC\nTo allow connection use the 'p4 trust' command."
	wantBytes(t, r.Stdout, errDict(want, 3, 38))
	if r.Exit != 1 {
		t.Errorf("exit %d", r.Exit)
	}
	r = env.Run(t, nil, ssl, "trust", "-f", "-y")
	if !strings.HasSuffix(string(r.Stdout), "Added trust for P4PORT 'ssl:"+env.Port+"' ("+env.Port+")\n") || r.Exit != 0 {
		t.Errorf("trust -y: %q", r.Stdout)
	}
	r = env.Run(t, nil, ssl, "-G", "trust", "-y")
	wantBytes(t, r.Stdout, d("code", "text", "data", "Trust already established.\n"))
	r = env.Run(t, nil, ssl, "-G", "protects", "-m")
	wantBytes(t, r.Stdout, d("code", "stat", "permMax", "super"))
	b, _ := os.ReadFile(env.Trust)
	if string(b) != env.Port+"=**++**:AA:BB:CC\n" {
		t.Errorf("trust file %q", b)
	}
	r = env.Run(t, nil, nil, "trust", "-y")
	if string(r.Stdout) != "Only SSL connections require trust\n" {
		t.Errorf("non-ssl trust: %q", r.Stdout)
	}
	// A changed key needs -f.
	if err := os.WriteFile(env.Trust, []byte(env.Port+"=**++**:11:22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = env.Run(t, nil, ssl, "trust", "-y")
	if r.Exit != 1 || !strings.Contains(string(r.Stderr), "Can't trust mismatched P4PORT key without the '-f' force option.") {
		t.Errorf("mismatch: %q %q", r.Stdout, r.Stderr)
	}
}

func TestBatchAndRetry(t *testing.T) {
	env := start(t, p4emu.Options{})
	for _, n := range []string{"a1", "a2", "a3"} {
		if err := env.Server.CreateUser(p4emu.User{Name: n}, ""); err != nil {
			t.Fatal(err)
		}
	}
	env.Server.ResetInvocations()
	r := env.Run(t, []byte("a1\na2\nzz\n"), nil, "-x", "-", "-b", "2", "-G", "users")
	ds := decode(t, r.Stdout)
	if len(ds) != 3 || ds[1].String("User") != "a2" || ds[2].String("data") != "zz - no such user(s).\n" {
		t.Errorf("-x: %v", ds)
	}
	if n := len(env.Server.Invocations()); n != 2 {
		t.Errorf("-b 2 over 3 lines: %d invocations", n)
	}
	// -r retries a refused connection.
	env.Server.Stop()
	go func() { time.Sleep(50 * time.Millisecond); _ = env.Server.Start() }()
	r = env.Run(t, nil, nil, "-r", "50", "-G", "info")
	if r.Exit != 0 {
		t.Errorf("-r: %q", r.Stderr)
	}
}

// TestBatchFromFile: -x FILE appends the file's lines to the command's
// arguments, -b at a time (§1.1, §5.7): key -m with name/value lines and an
// even batch sets every key, none of the values on argv; a file that
// cannot be opened is a client error.
func TestBatchFromFile(t *testing.T) {
	env := start(t, p4emu.Options{})
	env.Login(t)
	file := filepath.Join(t.TempDir(), "args")
	if err := os.WriteFile(file, []byte("k1\n{\"phone\":\"555-0101\"}\nk2\nv 2\nk3\nv3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env.Server.ResetInvocations()
	r := env.Run(t, nil, nil, "-x", file, "-b", "4", "-G", "key", "-m")
	if r.Exit != 0 {
		t.Fatalf("exit %d: %q %q", r.Exit, r.Stdout, r.Stderr)
	}
	for k, v := range map[string]string{"k1": `{"phone":"555-0101"}`, "k2": "v 2", "k3": "v3"} {
		if got, _ := env.Server.Key(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	invs := env.Server.Invocations()
	if len(invs) != 2 {
		t.Errorf("-b 4 over 6 lines: %d invocations", len(invs))
	}
	for _, inv := range invs {
		if strings.Contains(strings.Join(inv.Args, " "), "555") {
			t.Errorf("a value on argv: %q", inv.Args)
		}
	}
	r = env.Run(t, nil, nil, "-x", file+".missing", "-G", "key", "-m")
	if r.Exit != 1 || !strings.Contains(string(r.Stderr), "Open for read") {
		t.Errorf("missing file: exit %d %q", r.Exit, r.Stderr)
	}
}

func TestCaseInsensitiveAndSecurity0(t *testing.T) {
	env := start(t, p4emu.Options{CaseInsensitive: true, SecurityLevel: -1})
	if err := env.Server.CreateUser(p4emu.User{Name: "Bob"}, ""); err != nil {
		t.Fatal(err)
	}
	r := env.Run(t, nil, []string{"P4USER=bob"}, "-G", "user", "-o", "BOB")
	ds := decode(t, r.Stdout)
	if len(ds) != 1 || ds[0].String("User") != "Bob" {
		t.Errorf("insensitive lookup: %v", ds)
	}
	r = env.Run(t, nil, []string{"P4PASSWD=" + env.Password, "P4TICKETS=" + env.Dir + "/none"}, "-G", "protects", "-m")
	wantBytes(t, r.Stdout, d("code", "stat", "permMax", "super"))
	r = env.Run(t, nil, nil, "-G", "info")
	if ds := decode(t, r.Stdout); ds[0].String("caseHandling") != "insensitive" {
		t.Errorf("caseHandling %v", ds)
	}
}

func TestInProcessClient(t *testing.T) {
	srv := p4emu.New(p4emu.Options{SecurityLevel: -1})
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var out, errb strings.Builder
	code := p4emu.RunClient([]string{"-G", "-p", srv.Addr(), "-u", "super", "users"}, []string{"HOME=" + t.TempDir()},
		strings.NewReader(""), &out, &errb)
	ds, err := marshal.DecodeAll(strings.NewReader(out.String()))
	if code != 0 || err != nil || len(ds) != 1 {
		t.Errorf("code %d err %v ds %v stderr %q", code, err, ds, errb.String())
	}
	_ = net.ErrClosed
}

var _ = p4emutest.Start
