package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestStaticPrivilege: the reasons that need no protections look-up, each
// refused with the setting that would allow it, and the creates they must
// not block.
func TestStaticPrivilege(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		cfg     bridge.Config
		setup   func(t *testing.T, env *p4emu.Server)
		write   func(svc *bridge.Service) error
		want    bridge.Code // "" = allowed
		because string
	}{
		{
			name:  "service user",
			setup: func(t *testing.T, s *p4emu.Server) { mustCreate(t, s, p4emu.User{Name: "ci", Type: "service"}) },
			write: func(svc *bridge.Service) error {
				_, err := svc.PatchUser(ctx, "ci", func(doc map[string]any) error { doc["displayName"] = "x"; return nil })
				return err
			},
			want: bridge.EForbidden, because: "is a service user",
		},
		{
			name:  "operator user deleted",
			setup: func(t *testing.T, s *p4emu.Server) { mustCreate(t, s, p4emu.User{Name: "ops", Type: "operator"}) },
			write: func(svc *bridge.Service) error { return svc.DeleteUser(ctx, "ops") },
			want:  bridge.EForbidden, because: "is an operator user",
		},
		{
			name: "PROTECTED_USERS before the user exists",
			cfg:  bridge.Config{Protected: []string{"build"}},
			write: func(svc *bridge.Service) error {
				_, err := svc.CreateUser(ctx, map[string]any{"userName": "build@example.com"})
				return err
			},
			want: bridge.EForbidden, because: "remove it from PROTECTED_USERS",
		},
		{
			// A user about to be created is no service user yet, whatever
			// NEW_USER_TYPE will make it.
			name: "create with NEW_USER_TYPE=service",
			cfg:  bridge.Config{NewUserType: "service"},
			write: func(svc *bridge.Service) error {
				_, err := svc.CreateUser(ctx, map[string]any{"userName": "robot@example.com"})
				return err
			},
		},
		{
			// The opt-in does not open the static reasons.
			name:  "P4USER with ALLOW_PRIVILEGED_USERS",
			cfg:   bridge.Config{AllowPrivilegedUsers: true},
			write: func(svc *bridge.Service) error { return svc.DeleteUser(ctx, p4emu.DefaultSuperUser) },
			want:  bridge.EForbidden, because: "bridge's own P4USER",
		},
		{
			name: "PROTECTED_GROUPS create",
			cfg:  bridge.Config{ProtectedGroups: []string{"release"}},
			write: func(svc *bridge.Service) error {
				_, err := svc.CreateGroup(ctx, map[string]any{"displayName": "release"})
				return err
			},
			want: bridge.EForbidden, because: "listed in PROTECTED_GROUPS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, env, _ := newService(t, tt.cfg)
			if tt.setup != nil {
				tt.setup(t, env.Server)
			}
			err := tt.write(svc)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (bridge.ErrorCode(err) != tt.want || !strings.Contains(err.Error(), tt.because)):
				t.Fatalf("err = %v (%s), want %s naming %q", err, bridge.ErrorCode(err), tt.want, tt.because)
			}
		})
	}
}

func mustCreate(t *testing.T, s *p4emu.Server, u p4emu.User) {
	t.Helper()
	if err := s.CreateUser(u, ""); err != nil {
		t.Fatal(err)
	}
}
