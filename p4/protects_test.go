package p4_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/p4scim/p4scim/p4"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestMaxAccess: the levels `protects -u/-g -m` report, through groups and
// subgroups, and which of them are privileged.
func TestMaxAccess(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	for _, g := range []p4emu.Group{
		{Name: "p4admins", Users: []string{"ada"}, Subgroups: []string{"ops"}},
		{Name: "ops", Users: []string{"dee"}},
		{Name: "devs", Users: []string{"bob"}},
	} {
		if err := env.Server.SaveGroup(g); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.SetProtections([]p4emu.ProtectLine{
		{Perm: "write", Name: "*"}, {Perm: "super", Name: env.User},
		{Perm: "super", Group: true, Name: "p4admins"}, {Perm: "admin", Name: "cy"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		who, name  string
		want       p4.Access
		privileged bool
	}{
		{"user", "ada", p4.AccessSuper, true},
		{"user", "dee", p4.AccessSuper, true},
		{"user", "cy", p4.AccessAdmin, true},
		{"user", "bob", p4.AccessWrite, false},
		{"group", "ops", p4.AccessSuper, true},
		{"group", "devs", p4.AccessNone, false},
	}
	for _, tt := range tests {
		get := c.UserMaxAccess
		if tt.who == "group" {
			get = c.GroupMaxAccess
		}
		got, err := get(ctx, tt.name)
		if err != nil || got != tt.want || got.Privileged() != tt.privileged {
			t.Errorf("%s %s: %q (privileged %v), %v; want %q", tt.who, tt.name, got, got.Privileged(), err, tt.want)
		}
	}
	if !p4.Access("owner").Privileged() {
		t.Error("an unknown level must count as privileged")
	}
	// Only a super user may ask about others.
	if err := env.Server.CreateUser(p4emu.User{Name: "plain"}, "Plain-Passw0rd"); err != nil {
		t.Fatal(err)
	}
	plain, err := p4.New(p4.Config{Bin: env.Bin, Port: env.Port, User: "plain", Password: "Plain-Passw0rd", Tickets: t.TempDir() + "/t", CommandTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.UserMaxAccess(ctx, "ada"); !errors.Is(err, p4.ErrPermission) {
		t.Errorf("non-super protects -u: %v", err)
	}
}

// TestConfigurable reads a set value and a documented default.
func TestConfigurable(t *testing.T) {
	ctx := context.Background()
	c, env := newClient(t, p4emu.Options{}, nil)
	if err := env.Server.SetConfigurable("dm.keys.hide", "2"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"dm.keys.hide": "2", "dm.user.setinitialpasswd": "1", "security": "3"} {
		if got, ok, err := c.Configurable(ctx, name); err != nil || !ok || got != want {
			t.Errorf("%s = %q, %v, %v; want %q", name, got, ok, err, want)
		}
	}
	if _, ok, err := c.Configurable(ctx, "no.such"); err != nil || ok {
		t.Errorf("unknown configurable: %v, %v", ok, err)
	}
}
