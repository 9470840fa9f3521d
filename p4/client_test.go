package p4_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
	"github.com/p4scim/p4scim/p4/p4emu/p4emutest"
)

func TestMain(m *testing.M) { p4emutest.Main(m) }

// newClient starts an emulator and a logged-in client for it.
func newClient(t testing.TB, opts p4emu.Options, mod func(*p4.Config)) (*p4.Client, *p4emutest.Env) {
	t.Helper()
	env := p4emutest.Start(t, opts)
	cfg := p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: env.Password,
		Tickets: env.Tickets, Trust: env.Trust, CommandTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := p4.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Login(context.Background()); err != nil {
		t.Fatalf("login: %v", err)
	}
	return c, env
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	if err := c.SaveUser(ctx, p4.User{Name: "ada", Email: "ada@example.com", FullName: "Ada Lovelace", Reviews: []string{"//depot/a/...", "//depot/b/..."}}); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveUser(ctx, p4.User{Name: "svc", Email: "svc@example.com", FullName: "Service", Type: "service"}); err != nil {
		t.Fatal(err)
	}
	u, err := c.User(ctx, "ada")
	if err != nil || u.Email != "ada@example.com" || u.FullName != "Ada Lovelace" || u.Type != "standard" || u.Update.IsZero() {
		t.Fatalf("User = %+v, %v", u, err)
	}
	all, err := c.Users(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("Users() = %v, %v (want super, ada, svc)", all, err)
	}
	some, err := c.Users(ctx, "ada", "nobody", "sv*")
	if err != nil || len(some) != 2 {
		t.Fatalf("Users(ada, nobody, sv*) = %v, %v", some, err)
	}
	if _, err := c.User(ctx, "nobody"); !errors.Is(err, p4.ErrNotFound) {
		t.Fatalf("User(nobody) err = %v", err)
	}
	spec, exists, err := c.UserSpec(ctx, "ada")
	if err != nil || !exists || len(spec.Reviews) != 2 || spec.AuthMethod == "" {
		t.Fatalf("UserSpec = %+v, %v, %v", spec, exists, err)
	}
	if _, exists, err := c.UserSpec(ctx, "ghost"); err != nil || exists {
		t.Fatalf("UserSpec(ghost) exists=%v err=%v", exists, err)
	}
	// Read-modify-write keeps Reviews.
	spec.FullName = "Ada King"
	if err := c.SaveUser(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if eu, _ := env.Server.User("ada"); eu.FullName != "Ada King" || len(eu.Reviews) != 2 {
		t.Fatalf("after update: %+v", eu)
	}
	// Unchanged save is a success too.
	if err := c.SaveUser(ctx, spec); err != nil {
		t.Fatalf("unchanged save: %v", err)
	}
	if err := c.RenameUser(ctx, "ada", "ada2"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, "ada2", "Passw0rd-x"); err != nil {
		t.Fatal(err)
	}
	if !env.Server.CheckPassword("ada2", "Passw0rd-x") {
		t.Fatal("password not set")
	}
	if err := c.Logout(ctx, "ada2"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, "ada2"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, "ada2"); !errors.Is(err, p4.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestTypedErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, p4emu.Options{LicenseUsers: 2}, nil)
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"invalid name", func() error { return c.SaveUser(ctx, p4.User{Name: "a@b", Email: "x", FullName: "x"}) }, p4.ErrInvalidName},
		{"numeric name", func() error { return c.SaveUser(ctx, p4.User{Name: "1234", Email: "x", FullName: "x"}) }, p4.ErrInvalidName},
		{"bad auth method", func() error {
			return c.SaveUser(ctx, p4.User{Name: "x1", Email: "x", FullName: "x", AuthMethod: "kerberos"})
		}, p4.ErrInvalidSpec},
		{"quota", func() error {
			if err := c.SaveUser(ctx, p4.User{Name: "u1", Email: "u1", FullName: "u1"}); err != nil {
				return err
			}
			return c.SaveUser(ctx, p4.User{Name: "u2", Email: "u2", FullName: "u2"})
		}, p4.ErrLicenseQuota},
		{"password policy", func() error { return c.SetPassword(ctx, "u1", "short") }, p4.ErrPasswordPolicy},
		{"password not mixed", func() error { return c.SetPassword(ctx, "u1", "alllowercase") }, p4.ErrPasswordPolicy},
		{"delete missing group", func() error { return c.DeleteGroup(ctx, "nogroup") }, p4.ErrNotFound},
		{"missing group", func() error { _, err := c.Group(ctx, "nogroup"); return err }, p4.ErrNotFound},
		{"cas conflict", func() error {
			if err := c.SetKey(ctx, "lock", "held"); err != nil {
				return err
			}
			return c.CompareAndSetKey(ctx, "lock", "free", "me")
		}, p4.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	var pe *p4.Error
	if err := c.CompareAndSetKey(ctx, "lock", "free", "me"); !errors.As(err, &pe) || pe.Current != "held" {
		t.Fatalf("conflict current = %+v", pe)
	}
}

func TestLDAPPasswordUnsupported(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, p4emu.Options{}, nil)
	if err := c.SaveUser(ctx, p4.User{Name: "dir", Email: "dir@x", FullName: "Dir", AuthMethod: "ldap"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPassword(ctx, "dir", "Passw0rd-x"); !errors.Is(err, p4.ErrUnsupported) {
		t.Fatalf("err = %v, want unsupported", err)
	}
}

func TestPermissionAndAuth(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	if err := env.Server.CreateUser(p4emu.User{Name: "plain", Email: "p@x", FullName: "P"}, "Plain-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	weak, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: "plain", Password: "Plain-Passw0rd", CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer weak.Close()
	if _, err := weak.Keys(ctx, "*", nil); !errors.Is(err, p4.ErrPermission) {
		t.Fatalf("non-super keys: %v", err)
	}
	if ok, err := weak.IsSuper(ctx); err != nil || ok {
		t.Fatalf("IsSuper(plain) = %v, %v", ok, err)
	}
	if ok, err := c.IsSuper(ctx); err != nil || !ok {
		t.Fatalf("IsSuper(super) = %v, %v", ok, err)
	}
	bad, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: "wrong-password", CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if err := bad.Login(ctx); !errors.Is(err, p4.ErrAuthFailed) {
		t.Fatalf("bad login: %v", err)
	}
	if _, err := bad.Keys(ctx, "*", nil); !errors.Is(err, p4.ErrAuthFailed) {
		t.Fatalf("bad credentials: %v", err)
	}
}

func TestGroups(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	res, err := c.SaveGroup(ctx, p4.Group{Name: "devs", Users: []string{"a", "b"}, Owners: []string{"super"},
		Fields: map[string]string{"Description": "keep me", "Timeout": "43200", "MaxResults": "50000"}})
	if err != nil || res != p4.GroupCreated {
		t.Fatalf("create: %v, %v", res, err)
	}
	if res, err := c.SaveGroup(ctx, p4.Group{Name: "empty"}); err != nil || res != p4.GroupNotCreated {
		t.Fatalf("empty create: %v, %v", res, err)
	}
	g, err := c.Group(ctx, "devs")
	if err != nil || len(g.Users) != 2 || strings.TrimSpace(g.Fields["Description"]) != "keep me" || g.Fields["MaxResults"] != "50000" {
		t.Fatalf("Group = %+v, %v", g, err)
	}
	if res, err := c.SaveGroup(ctx, g); err != nil || res != p4.GroupNotChanged {
		t.Fatalf("unchanged: %v, %v", res, err)
	}
	g.Users = append(g.Users, "c")
	g.Subgroups = []string{"other"}
	if res, err := c.SaveGroup(ctx, g); err != nil || res != p4.GroupUpdated {
		t.Fatalf("update: %v, %v", res, err)
	}
	if eg, _ := env.Server.Group("devs"); strings.TrimSpace(eg.Description) != "keep me" || eg.MaxResults != "50000" || len(eg.Users) != 3 {
		t.Fatalf("fields disturbed: %+v", eg)
	}
	ok, err := c.GroupExists(ctx, "devs")
	if err != nil || !ok {
		t.Fatalf("exists: %v %v", ok, err)
	}
	if ok, err := c.GroupExists(ctx, "nope"); err != nil || ok {
		t.Fatalf("exists(nope): %v %v", ok, err)
	}
	all, err := c.Groups(ctx)
	if err != nil || len(all) != 1 || len(all[0].Users) != 3 || len(all[0].Owners) != 1 || len(all[0].Subgroups) != 1 {
		t.Fatalf("Groups = %+v, %v", all, err)
	}
	g.Users, g.Subgroups, g.Owners = nil, nil, nil
	if res, err := c.SaveGroup(ctx, g); err != nil || res != p4.GroupDeleted {
		t.Fatalf("emptying: %v, %v", res, err)
	}
	if _, err := c.SaveGroup(ctx, p4.Group{Name: "bad name", Users: []string{"a"}}); !errors.Is(err, p4.ErrInvalidName) && !errors.Is(err, p4.ErrInvalidSpec) {
		t.Fatalf("space in group name: %v", err)
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	c, _ := newClient(t, p4emu.Options{}, nil)
	if _, ok, err := c.Key(ctx, "p4scim.x"); err != nil || ok {
		t.Fatalf("unset key: %v %v", ok, err)
	}
	if err := c.SetKey(ctx, "p4scim.x", `{"a": "b c"}`); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := c.Key(ctx, "p4scim.x"); err != nil || !ok || v != `{"a": "b c"}` {
		t.Fatalf("key = %q %v %v", v, ok, err)
	}
	if n, err := c.IncrementKey(ctx, "p4scim.n"); err != nil || n != 1 {
		t.Fatalf("incr = %d %v", n, err)
	}
	if err := c.CompareAndSetKey(ctx, "p4scim.n", "1", "2"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetKeys(ctx, map[string]string{"p4scim.a": "1", "p4scim.b": `{"x": "y z"}`}); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := c.Key(ctx, "p4scim.b"); v != `{"x": "y z"}` {
		t.Fatalf("SetKeys wrote %q", v)
	}
	keys, err := c.Keys(ctx, "p4scim.*", nil)
	if err != nil || len(keys) != 4 || keys["p4scim.n"] != "2" {
		t.Fatalf("keys = %v %v", keys, err)
	}
	if err := c.DeleteKey(ctx, "p4scim.x"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Key(ctx, "p4scim.x"); ok {
		t.Fatal("deleted key still set")
	}
}

func TestInfo(t *testing.T) {
	c, env := newClient(t, p4emu.Options{CaseInsensitive: true}, nil)
	info, err := c.Info(context.Background())
	if err != nil || info.CaseHandling != "insensitive" || info.ServerVersion == "" || info.UserName != env.User {
		t.Fatalf("info = %+v, %v", info, err)
	}
	d, err := c.TicketStatus(context.Background())
	if err != nil || d <= 0 {
		t.Fatalf("ticket status = %v, %v", d, err)
	}
}

func TestServerDown(t *testing.T) {
	c, env := newClient(t, p4emu.Options{}, nil)
	if err := env.Server.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users(context.Background(), "x"); !errors.Is(err, p4.ErrUnavailable) {
		t.Fatalf("down: %v", err)
	}
	if err := env.Server.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Users(context.Background(), "x"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// TestHangingServerKillsChild checks the deadline: the command fails with
// ErrTimeout soon after it, and the p4 process is gone.
func TestHangingServerKillsChild(t *testing.T) {
	var pids []int
	var mu sync.Mutex
	c, env := newClient(t, p4emu.Options{}, func(cfg *p4.Config) { cfg.CommandTimeout = 500 * time.Millisecond })
	env.Server.SetFault("keys", p4emu.Fault{Hang: true})
	before := childPIDs(t)
	start := time.Now()
	_, err := c.Keys(context.Background(), "*", nil)
	elapsed := time.Since(start)
	if !errors.Is(err, p4.ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if elapsed > 3*time.Second {
		t.Fatalf("timeout took %v", elapsed)
	}
	mu.Lock()
	defer mu.Unlock()
	pids = childPIDs(t)
	if len(pids) > len(before) {
		t.Fatalf("children left behind: before %v after %v", before, pids)
	}
	env.Server.ClearFaults()
}

// childPIDs lists this process's live children (zombies included: a
// child that was not reaped is a leak too).
func childPIDs(t *testing.T) []int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/task/" + itoa(os.Getpid()) + "/children")
	if err != nil {
		t.Skipf("cannot read /proc children: %v", err)
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		out = append(out, atoi(f))
	}
	return out
}

func TestTicketExpiryRelogin(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	env.Server.ResetInvocations()
	env.Server.ExpireTickets()
	if _, err := c.Keys(ctx, "*", nil); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	var cmds []string
	for _, in := range env.Server.Invocations() {
		cmds = append(cmds, in.Command)
	}
	if strings.Join(cmds, ",") != "keys,login,keys" {
		t.Fatalf("commands = %v, want one failed keys, one login, one retry", cmds)
	}
	// A wrong password is not retried in a loop.
	bad, _ := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: "wrong", CommandTimeout: 5 * time.Second})
	defer bad.Close()
	env.Server.ResetInvocations()
	if _, err := bad.Keys(ctx, "*", nil); !errors.Is(err, p4.ErrAuthFailed) {
		t.Fatalf("bad password: %v", err)
	}
	if n := len(env.Server.Invocations()); n != 2 {
		t.Fatalf("bad password cost %d commands, want 2 (command, login)", n)
	}
}

func TestTicketAsPassword(t *testing.T) {
	ctx := context.Background()
	env := p4emutest.Start(t, p4emu.Options{})
	r := env.Run(t, []byte(env.Password+"\n"), nil, "login", "-p")
	lines := strings.Fields(string(r.Stdout))
	ticket := ""
	if len(lines) > 0 {
		ticket = lines[len(lines)-1]
	}
	if len(ticket) != 32 {
		t.Skipf("login -p did not print a ticket: %q", r.Stdout)
	}
	c, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: env.User, Password: ticket, CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Keys(ctx, "*", nil); err != nil {
		t.Fatalf("with ticket in P4PASSWD: %v", err)
	}
	for _, in := range env.Server.Invocations() {
		if strings.Contains(strings.Join(in.Args, " "), ticket) {
			t.Fatalf("ticket on argv: %v", in.Args)
		}
	}
}

// TestNoSecretsOnArgv runs every password-bearing operation and proves from
// the emulator's record that no password or ticket reached a command line.
func TestNoSecretsOnArgv(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	secrets := []string{env.Password, "N3w-Secret-pw", "An0ther-Secret"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.SaveUser(ctx, p4.User{Name: "bob", Email: "bob@x", FullName: "Bob"}))
	must(c.SetPassword(ctx, "bob", secrets[1]))
	must(c.SetPassword(ctx, "bob", secrets[2]))
	must(c.Logout(ctx, "bob"))
	env.Server.ExpireTickets()
	must(c.SetKey(ctx, "k", "v")) // forces a re-login
	inv := env.Server.Invocations()
	if len(inv) < 6 {
		t.Fatalf("only %d invocations recorded", len(inv))
	}
	for _, in := range inv {
		line := strings.Join(in.Args, "\x00")
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Fatalf("secret on argv: %q", in.Args)
			}
		}
		for _, a := range in.Args {
			if strings.HasPrefix(a, "-P") {
				t.Fatalf("-P on argv: %q", in.Args)
			}
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, func(cfg *p4.Config) {
		cfg.MaxConcurrent = 2
	})
	env.Server.SetFault("key", p4emu.Fault{Delay: 50 * time.Millisecond})
	env.Server.ResetInvocations()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = c.Key(ctx, "x")
		}()
	}
	wg.Wait()
	// The server saw at most 2 commands at once: measure from its record.
	inv := env.Server.Invocations()
	maxOverlap := 0
	for i := range inv {
		overlap := 0
		for j := range inv {
			d := inv[j].Time.Sub(inv[i].Time)
			if d >= 0 && d < 40*time.Millisecond {
				overlap++
			}
		}
		maxOverlap = max(maxOverlap, overlap)
	}
	if maxOverlap > 2 {
		t.Fatalf("server saw %d overlapping commands with MaxConcurrent=2", maxOverlap)
	}
}

func TestObserver(t *testing.T) {
	var events []p4.CommandEvent
	var mu sync.Mutex
	c, _ := newClient(t, p4emu.Options{}, func(cfg *p4.Config) {
		cfg.Observer = func(e p4.CommandEvent) { mu.Lock(); events = append(events, e); mu.Unlock() }
	})
	_, _ = c.User(context.Background(), "nobody")
	_ = c.DeleteGroup(context.Background(), "nogroup")
	mu.Lock()
	defer mu.Unlock()
	if len(events) < 2 || events[len(events)-1].Outcome != "not_found" || events[len(events)-1].Command != "group" {
		t.Fatalf("events = %+v", events)
	}
}

func TestNewValidates(t *testing.T) {
	_, err := p4.New(p4.Config{Bin: "/nonexistent/p4"})
	if err == nil || !strings.Contains(err.Error(), "P4PORT") || !strings.Contains(err.Error(), "P4BIN") {
		t.Fatalf("err = %v", err)
	}
}

// TestTrustSSL checks that an ssl: port is trusted only with the
// configured fingerprint (or an explicit blind trust).
func TestTrustSSL(t *testing.T) {
	ctx := context.Background()
	env := p4emutest.Start(t, p4emu.Options{})
	port := "ssl:" + env.Port
	newSSL := func(fp string, any bool) *p4.Client {
		c, err := p4.New(p4.Config{Bin: env.Bin, Port: port, User: env.User, Password: env.Password,
			TrustFingerprint: fp, TrustAny: any, CommandTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	if err := newSSL("", false).Trust(ctx); err == nil || !strings.Contains(err.Error(), "P4_TRUST_FINGERPRINT") {
		t.Fatalf("no fingerprint: %v", err)
	}
	untrusted := newSSL("", false)
	if _, err := untrusted.Info(ctx); err == nil {
		t.Fatal("untrusted ssl connection accepted")
	}
	good := newSSL(env.Server.Fingerprint(), false)
	if err := good.Trust(ctx); err != nil {
		t.Fatalf("trust with the right fingerprint: %v", err)
	}
	if err := good.Login(ctx); err != nil {
		t.Fatalf("login after trust: %v", err)
	}
	if _, err := good.Keys(ctx, "*", nil); err != nil {
		t.Fatalf("command after trust: %v", err)
	}
	wrong := strings.Repeat("AB:", 19) + "AB"
	if err := newSSL(wrong, false).Trust(ctx); err == nil {
		t.Fatal("a wrong fingerprint was trusted")
	}
	if err := newSSL("", true).Trust(ctx); err != nil {
		t.Fatalf("blind trust: %v", err)
	}
}

// TestServerFault: a server that fails inside (EV_FAULT, EV_ADMIN) is a
// KindServerFault, which the bridge answers with 503 and Retry-After;
// other failures of the same command are not.
func TestServerFault(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	if err := c.SaveUser(ctx, p4.User{Name: "u1", Email: "u1", FullName: "u1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		generic int
		want    p4.ErrorKind
	}{
		{"program fault", p4.GenericFault, p4.KindServerFault},
		{"needs admin attention", p4.GenericAdmin, p4.KindServerFault},
		{"usage", p4.GenericUsage, p4.KindOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.Server.SetFault("passwd", p4emu.Fault{Fail: "Operation 'db.user' failed.", Generic: tt.generic})
			defer env.Server.ClearFaults()
			err := c.SetPassword(ctx, "u1", "G00d-Passw0rd")
			if got := p4.KindOf(err); got != tt.want {
				t.Fatalf("kind %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}
