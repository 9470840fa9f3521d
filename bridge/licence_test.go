package bridge_test

import (
	"context"
	"slices"
	"testing"

	"github.com/p4scim/p4scim/bridge"
	"github.com/p4scim/p4scim/p4/p4emu"
)

// TestLicenceHeadroom: Helix Core's figures, and the deactivated users that
// still hold a licence (not the active ones, not service users, not users
// an admin made outside SCIM).
func TestLicenceHeadroom(t *testing.T) {
	ctx := context.Background()
	svc, env, _ := newService(t, bridge.Config{})
	for _, name := range []string{"ada", "bob", "cy"} {
		if _, err := svc.CreateUser(ctx, map[string]any{"userName": name + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"bob", "cy"} {
		if _, err := svc.PatchUser(ctx, id, func(doc map[string]any) error { doc["active"] = false; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.CreateUser(p4emu.User{Name: "build", Type: "service"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := env.Server.CreateUser(p4emu.User{Name: "manual"}, ""); err != nil {
		t.Fatal(err)
	}
	lic, err := svc.Licence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// super, ada, bob, cy and manual are standard users; build takes none.
	if lic.Users != 5 || lic.Limit != -1 || lic.Free() != -1 || !slices.Equal(lic.InactiveHolding, []string{"bob", "cy"}) {
		t.Fatalf("licence = %+v", lic)
	}
	// A deactivated user deleted in Helix Core no longer holds one.
	if err := env.Server.DeleteUser("cy"); err != nil {
		t.Fatal(err)
	}
	lic, err = svc.Licence(ctx)
	if err != nil || lic.Users != 4 || !slices.Equal(lic.InactiveHolding, []string{"bob"}) {
		t.Fatalf("after delete: %+v, %v", lic, err)
	}
}
