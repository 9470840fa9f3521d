// Package p4emutest runs the Helix Core emulator for tests: it starts an
// in-process p4emu.Server and makes the test binary itself the `p4`
// executable (a symlink named p4 to os.Executable), so code under test
// execs a real process through the same path it uses in production.
//
// A test package wires it with:
//
//	func TestMain(m *testing.M) { p4emutest.Main(m) }
package p4emutest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/p4/p4emu"
)

// Main runs the `p4` client when the binary was invoked as p4, else the
// tests.
func Main(m *testing.M) {
	if p4emu.IsClient(os.Args[0]) {
		os.Exit(p4emu.RunClient(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
	}
	// A -race binary sleeps a second at exit by default. Every p4 the code
	// under test execs is this binary, and it inherits this environment
	// whatever the code under test builds from os.Environ.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	os.Exit(m.Run())
}

// Env is a running emulator and the files a p4 client needs.
type Env struct {
	Server   *p4emu.Server
	Bin      string // path of the p4 executable (a symlink to the test binary)
	Dir      string // directory holding Bin; prefix PATH with it
	Port     string // P4PORT
	User     string // the bootstrap super user
	Password string // its password
	Tickets  string // P4TICKETS path (not created until a login)
	Trust    string // P4TRUST path
}

// Start starts a server on 127.0.0.1:0, stopped at the end of the test.
func Start(t testing.TB, opts p4emu.Options) *Env {
	t.Helper()
	srv := p4emu.New(opts)
	if err := srv.Listen("127.0.0.1:0"); err != nil {
		t.Fatalf("p4emu listen: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	bin, err := p4emu.InstallClient(dir)
	if err != nil {
		t.Fatalf("install p4: %v", err)
	}
	home := t.TempDir()
	eff := srv.Options()
	return &Env{Server: srv, Bin: bin, Dir: dir, Port: srv.Addr(), User: eff.SuperUser, Password: eff.SuperPassword,
		Tickets: filepath.Join(home, "p4tickets"), Trust: filepath.Join(home, "p4trust")}
}

// Environ returns os.Environ with PATH prefixed by Dir and P4PORT, P4USER,
// P4TICKETS, P4TRUST set; P4PASSWD, P4CONFIG and P4CLIENT are removed so
// the developer's own settings cannot leak in.
func (e *Env) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "P4PORT", "P4USER", "P4TICKETS", "P4TRUST", "P4PASSWD", "P4CONFIG", "P4CLIENT", "P4ENVIRO", "GORACE":
			continue
		}
		out = append(out, kv)
	}
	// A -race test binary sleeps 1 s at exit (atexit_sleep_ms); as the p4
	// executable it would cost a second per command.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append(out, "GORACE="+gorace, "PATH="+e.Dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"P4PORT="+e.Port, "P4USER="+e.User, "P4TICKETS="+e.Tickets, "P4TRUST="+e.Trust)
}

// Result is the outcome of one p4 run.
type Result struct {
	Stdout, Stderr []byte
	Exit           int
}

// Run execs `p4 args...` with Environ plus extraEnv and the given stdin.
func (e *Env) Run(t testing.TB, stdin []byte, extraEnv []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(e.Bin, args...)
	cmd.Env = append(e.Environ(), extraEnv...)
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("exec p4: %v", err)
		}
		code = ee.ExitCode()
	}
	return Result{Stdout: so.Bytes(), Stderr: se.Bytes(), Exit: code}
}

// Login logs the super user in, writing the ticket to Tickets.
func (e *Env) Login(t testing.TB) {
	t.Helper()
	r := e.Run(t, []byte(e.Password+"\n"), nil, "login")
	if r.Exit != 0 {
		t.Fatalf("p4 login: exit %d: %s%s", r.Exit, r.Stdout, r.Stderr)
	}
}

// TrustFiles makes two P4TRUST files in a fresh directory for the server's
// ssl: port: trusted holds the server (written by `p4 trust -y`), empty
// holds nothing. It returns the ssl: port with them.
func (e *Env) TrustFiles(t testing.TB) (port, trusted, empty string) {
	t.Helper()
	port = "ssl:" + e.Port
	dir := t.TempDir()
	trusted = filepath.Join(dir, "trusted")
	if r := e.Run(t, nil, []string{"P4PORT=" + port, "P4TRUST=" + trusted}, "trust", "-y"); r.Exit != 0 {
		t.Fatalf("p4 trust -y: exit %d: %s%s", r.Exit, r.Stdout, r.Stderr)
	}
	empty = filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return port, trusted, empty
}
